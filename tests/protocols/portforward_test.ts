import { assertEquals, assertLessOrEqual } from "@std/assert";
import { ProxyFactory } from "../../src/protocols/portforward.ts";
import { TCP4ClientEndpoint } from "../../src/internet/endpoints.ts";
import { Reactor } from "../../src/internet/reactor.ts";
import { Factory, Protocol } from "../../src/internet/protocol.ts";
import type { IAddress } from "../../src/internet/interfaces.ts";
import { withTimeout } from "../_helpers.ts";

Deno.test("portforward: a slow reader pauses the other side, so the proxy's buffers stay bounded", async () => {
  const reactor = new Reactor();
  // The destination streams 32 MiB as fast as it is allowed to.
  const TOTAL = 32 * 1024 * 1024;
  class Firehose extends Protocol {
    sent = 0;
    override connectionMade(): void {
      this.transport.registerProducer({
        resumeProducing: () => {
          if (this.sent >= TOTAL) {
            this.transport.unregisterProducer();
            this.transport.loseConnection();
            return;
          }
          this.transport.write(new Uint8Array(64 * 1024));
          this.sent += 64 * 1024;
        },
        stopProducing: () => {},
      }, false);
    }
  }
  const fire = Factory.forProtocol(Firehose);
  fire.noisy = false;
  const dest = reactor.listenTCP(0, fire, { interface: "127.0.0.1" });
  // Watch the buffers of the proxy's connections.
  let maxBuffered = 0;
  const proxies: Protocol[] = [];
  class Watching extends ProxyFactory {
    override buildProtocol(addr: IAddress) {
      const p = super.buildProtocol(addr);
      proxies.push(p);
      return p;
    }
  }
  const factory = new Watching(
    new TCP4ClientEndpoint(reactor, "127.0.0.1", dest.getHost().port),
  );
  factory.noisy = false;
  const proxy = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: proxy.getHost().port,
  });
  let received = 0;
  const buf = new Uint8Array(16 * 1024);
  while (received < TOTAL) {
    const n = await withTimeout(
      conn.read(buf),
      20_000,
      "data through the proxy",
    );
    if (n === null) break;
    received += n;
    for (const p of proxies) {
      maxBuffered = Math.max(maxBuffered, p.transport.getWriteBufferSize());
    }
    if (received % (2 * 1024 * 1024) < n) {
      await new Promise((r) => setTimeout(r, 10)); // read slowly
    }
  }
  conn.close();
  assertEquals(received, TOTAL);
  // Bounded by the high-water mark plus what one read can bring in.
  assertLessOrEqual(maxBuffered, 64 * 1024 + 256 * 1024);
  await new Promise<void>((r) => reactor.callLater(0.05, () => r()));
  await proxy.stopListening();
  await dest.stopListening();
});
