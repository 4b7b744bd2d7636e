import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import {
  ClientFactory,
  Factory,
  Protocol,
  ReconnectingClientFactory,
} from "../../src/internet/protocol.ts";
import { IPv4Address } from "../../src/internet/address.ts";
import { Clock } from "../../src/internet/task/clock.ts";
import { Reactor } from "../../src/internet/reactor.ts";
import { ConnectionDone } from "../../src/internet/error.ts";
import { Failure } from "../../src/internet/failure.ts";
import type { IConnector } from "../../src/internet/interfaces.ts";
import { log } from "../../src/logger.ts";
import { withTimeout } from "../_helpers.ts";

const addr = new IPv4Address("TCP", "127.0.0.1", 1);
const reason = new Failure(new ConnectionDone());

Deno.test("Factory: forProtocol, buildProtocol sets factory, doStart/doStop count ports", () => {
  const calls: string[] = [];
  class Counting extends Factory {
    override startFactory(): void {
      calls.push("start");
    }
    override stopFactory(): void {
      calls.push("stop");
    }
  }
  const f = Counting.forProtocol(Protocol);
  f.noisy = false;
  const p = f.buildProtocol(addr) as Protocol;
  assertStrictEquals(p.factory, f);
  f.doStart();
  f.doStart();
  assertEquals(f.numPorts, 2);
  f.doStop();
  assertEquals(calls, ["start"]);
  f.doStop();
  f.doStop(); // an extra stop is ignored
  assertEquals(calls, ["start", "stop"]);
  assertThrows(
    () => new Factory().buildProtocol(addr),
    TypeError,
    "has no protocol",
  );
});

Deno.test("Factory: a noisy factory logs starting and stopping", () => {
  using logs = log.capture();
  const f = Factory.forProtocol(Protocol);
  f.doStart();
  f.doStop();
  assertEquals(logs.events.map((e) => e.message), [
    "Starting factory Factory",
    "Stopping factory Factory",
  ]);
});

Deno.test("Protocol: makeConnection sets transport and connected, then calls connectionMade", () => {
  const seen: string[] = [];
  class P extends Protocol {
    override connectionMade(): void {
      seen.push(`made ${this.connected}`);
    }
  }
  const p = new P();
  assertEquals(p.connected, false);
  const transport = {} as Protocol["transport"];
  p.makeConnection(transport);
  assertStrictEquals(p.transport, transport);
  assertEquals(seen, ["made true"]);
  assertEquals(p.logPrefix(), "P");
  assert(new ClientFactory() instanceof Factory);
});

/** A connector that only counts connect() calls. */
function fakeConnector(): IConnector & { connects: number; stops: number } {
  return {
    connects: 0,
    stops: 0,
    connect() {
      this.connects++;
    },
    stopConnecting() {
      this.stops++;
    },
    disconnect() {},
    getDestination: () => addr,
  };
}

function reconnecting(clock: Clock): ReconnectingClientFactory {
  const f = new ReconnectingClientFactory();
  f.noisy = false;
  f.clock = clock;
  return f;
}

Deno.test("ReconnectingClientFactory: delays follow Twisted's formula step by step, capped at maxDelay", () => {
  const clock = new Clock();
  const f = reconnecting(clock);
  f.jitter = 0;
  f.maxDelay = 100;
  const c = fakeConnector();
  const expected = [Math.E, Math.E ** 2, Math.E ** 3, Math.E ** 4, 100, 100];
  for (let i = 0; i < expected.length; i++) {
    f.clientConnectionFailed(c, reason);
    assertAlmostEquals(f.delay, expected[i], 1e-9);
    assertEquals(f.retries, i + 1);
    assertEquals(clock.getDelayedCalls().length, 1);
    clock.advance(f.delay);
    assertEquals(c.connects, i + 1);
  }
});

Deno.test("ReconnectingClientFactory: jitter is a normal variate around the delay, clamped to [0, maxDelay]", () => {
  const clock = new Clock();
  const f = reconnecting(clock);
  f.maxDelay = 10;
  // u = 1 - random(); a u near 0 pushes the variate far out.
  const values = [0.5, 0.25]; // u = 0.5, v = 0.25: cos(pi/2) = 0, so the variate is the mean
  f.random = () => values.shift() ?? 0.5;
  f.clientConnectionLost(fakeConnector(), reason);
  assertAlmostEquals(f.delay, Math.E, 1e-9);
  // A variate far below zero is clamped to 0; far above, to maxDelay.
  f.jitter = 100;
  f.random = (() => {
    const seq = [1 - 1e-12, 0.5]; // u = 1e-12 and cos(pi) = -1: far negative
    return () => seq.shift() ?? 0.5;
  })();
  f.retry();
  assertEquals(f.delay, 0);
  f.delay = 5;
  f.random = (() => {
    const seq = [1 - 1e-12, 0]; // u = 1e-12 and cos(0) = 1: far positive
    return () => seq.shift() ?? 0.5;
  })();
  f.retry();
  assertEquals(f.delay, 10);
  for (const call of clock.getDelayedCalls()) call.cancel();
});

Deno.test("ReconnectingClientFactory: maxRetries, stopTrying and resetDelay", () => {
  const clock = new Clock();
  const f = reconnecting(clock);
  f.jitter = 0;
  f.maxRetries = 2;
  const c = fakeConnector();
  f.clientConnectionFailed(c, reason);
  clock.advance(f.delay);
  f.clientConnectionFailed(c, reason);
  clock.advance(f.delay);
  f.clientConnectionFailed(c, reason); // third retry: over the limit
  assertEquals(clock.getDelayedCalls(), []);
  assertEquals(c.connects, 2);
  f.resetDelay();
  assertEquals([f.delay, f.retries], [1, 0]);
  f.clientConnectionFailed(c, reason);
  assertEquals(clock.getDelayedCalls().length, 1);
  f.stopTrying();
  assertEquals(clock.getDelayedCalls(), []);
  assertEquals(c.stops, 1);
  f.clientConnectionFailed(c, reason);
  assertEquals(clock.getDelayedCalls(), []);
  assertThrows(
    () => new ReconnectingClientFactory().retry(),
    Error,
    "No connector",
  );
});

Deno.test("ReconnectingClientFactory reconnects over loopback once a server appears", async () => {
  const reactor = new Reactor();
  const probe = reactor.listenTCP(0, Factory.forProtocol(Protocol), {
    interface: "127.0.0.1",
  });
  const port = probe.getHost().port;
  await probe.stopListening();
  const connected = Promise.withResolvers<void>();
  let failures = 0;
  class Client extends ReconnectingClientFactory {
    override clientConnectionFailed(c: IConnector, r: Failure): void {
      failures++;
      if (failures === 2) {
        // The server comes up after the second failure.
        const f = Factory.forProtocol(Protocol);
        f.noisy = false;
        server = reactor.listenTCP(port, f, { interface: "127.0.0.1" });
      }
      super.clientConnectionFailed(c, r);
    }
    override buildProtocol(a: IPv4Address): Protocol {
      this.resetDelay();
      connected.resolve();
      return super.buildProtocol(a) as Protocol;
    }
  }
  let server: ReturnType<Reactor["listenTCP"]> | undefined;
  const factory = new Client();
  factory.protocol = Protocol;
  factory.noisy = false;
  factory.clock = reactor;
  factory.initialDelay = factory.delay = 0.005;
  factory.factor = 1;
  factory.jitter = 0;
  const connector = reactor.connectTCP("127.0.0.1", port, factory);
  await withTimeout(connected.promise, 10_000, "the reconnection");
  assertEquals(failures, 2);
  assertEquals(factory.retries, 0);
  factory.stopTrying();
  connector.disconnect();
  await new Promise<void>((r) => reactor.callLater(0.02, () => r()));
  await server!.stopListening();
});
