import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { Reactor } from "../../src/internet/reactor.ts";
import {
  ClientFactory,
  Factory,
  Protocol,
} from "../../src/internet/protocol.ts";
import type { Failure } from "../../src/internet/failure.ts";
import type { IProtocolFactory } from "../../src/internet/interfaces.ts";
import {
  LimitConnectionsByPeer,
  SpewingFactory,
  ThrottlingFactory,
  TimeoutFactory,
  WrappingFactory,
} from "../../src/protocols/policies.ts";
import { ProcessProtocol } from "../../src/internet/process.ts";
import { DatagramProtocol } from "../../src/internet/udp.ts";
import { log, type LogEvent } from "../../src/logger.ts";
import { decode, DENO, denoFlags, encode, withTimeout } from "../_helpers.ts";
import { spawn } from "../_processes.ts";

/** Reads from `conn` until `want` arrives or the peer closes; returns what came. */
async function readUntil(conn: Deno.Conn, want: string): Promise<string> {
  const buf = new Uint8Array(1024);
  let text = "";
  for (let i = 0; i < 100 && !text.includes(want); i++) {
    const n = await withTimeout(conn.read(buf), 10_000, `"${want}"`);
    if (n === null) break;
    text += decode(buf.subarray(0, n));
  }
  return text;
}

Deno.test("A rejected promise in protocol code is logged and the server process goes on", async () => {
  await using server = spawn(DENO, [
    "run",
    ...denoFlags(),
    "--allow-net=127.0.0.1",
    "tests/fixtures/async_reject_server.ts",
  ]);
  const out = await server.waitForOutput(/port (\d+)\n/, 20_000);
  const port = Number(out.match(/port (\d+)/)![1]);

  // An async dataReceived that throws drops that connection, and only it.
  const bystander = await Deno.connect({ hostname: "127.0.0.1", port });
  const victim = await Deno.connect({ hostname: "127.0.0.1", port });
  await victim.write(encode("boom\n"));
  assertEquals(await readUntil(victim, "never"), "");
  victim.close();
  await server.waitForStderr("async dataReceived blew up");
  assertStringIncludes(server.stderr(), "Unhandled error in dataReceived");

  // A stray rejection is logged; the connection and the process carry on.
  await bystander.write(encode("stray\n"));
  assertEquals(await readUntil(bystander, "ok\n"), "ok\n");
  await server.waitForStderr("a stray rejection nobody awaited");
  await bystander.write(encode("still here\n"));
  assertEquals(await readUntil(bystander, "here\n"), "still here\n");
  bystander.close();

  server.process.kill("SIGINT");
  const status = await server.wait();
  assertEquals(status.code, 0, server.stderr());
  assertStringIncludes(server.stdout(), "shutdown complete");
});

/** Runs `protocol` as the server side of one loopback connection; resolves with its connectionLost reason. */
async function serveOne(
  makeProtocol: () => Protocol,
  send: string,
  wrap: (factory: Factory) => IProtocolFactory = (f) => f,
): Promise<{ reason: Failure; logged: LogEvent[] }> {
  const reactor = new Reactor();
  const lost = Promise.withResolvers<Failure>();
  const factory = new Factory();
  factory.noisy = false;
  factory.buildProtocol = () => {
    const p = makeProtocol();
    const original = p.connectionLost.bind(p);
    p.connectionLost = (reason: Failure) => {
      lost.resolve(reason);
      return original(reason);
    };
    return p;
  };
  using _capture = log.capture();
  const logged = collectErrors();
  const port = reactor.listenTCP(0, wrap(factory), {
    interface: "127.0.0.1",
  });
  try {
    const clientLost = Promise.withResolvers<void>();
    class Sender extends Protocol {
      override connectionMade(): void {
        this.transport.write(send);
      }
      override connectionLost(): void {
        clientLost.resolve();
      }
    }
    const cf = ClientFactory.forProtocol(Sender);
    cf.noisy = false;
    reactor.connectTCP("127.0.0.1", port.getHost().port, cf);
    const reason = await withTimeout(lost.promise, 10_000, "connectionLost");
    await withTimeout(clientLost.promise, 10_000, "the client to lose it");
    // The rejection of an async callback is reported a few turns later.
    await logged.count(1);
    return { reason, logged: logged.errors };
  } finally {
    await port.stopListening();
  }
}

/** Collects the errors logged from now on; `count(n)` resolves once `n` have been. */
function collectErrors(): {
  errors: LogEvent[];
  count(n: number): Promise<void>;
} {
  const errors: LogEvent[] = [];
  const waiting: { n: number; resolve: () => void }[] = [];
  log.addObserver((e) => {
    if (e.level !== "error") return;
    errors.push(e);
    for (const w of waiting) if (errors.length >= w.n) w.resolve();
  });
  return {
    errors,
    count(n) {
      if (errors.length >= n) return Promise.resolve();
      const w = Promise.withResolvers<void>();
      waiting.push({ n, resolve: w.resolve });
      return withTimeout(w.promise, 10_000, `${n} logged errors`);
    },
  };
}

class Oops extends Error {
  override name = "Oops";
}

Deno.test("An async dataReceived that rejects closes that connection with the error as reason, logged", async () => {
  class AsyncThrower extends Protocol {
    override async dataReceived(): Promise<void> {
      await Promise.resolve();
      throw new Oops("rejected in dataReceived");
    }
  }
  const { reason, logged } = await serveOne(() => new AsyncThrower(), "x");
  assert(reason.check(Oops), `${reason}`);
  assertEquals(logged.length, 1);
  assertStringIncludes(logged[0].message, "Unhandled error in dataReceived");
});

Deno.test("Behind a policy wrapper, an async dataReceived or connectionMade that rejects still closes the connection with the error as reason", async () => {
  const quiet = <F extends { noisy: boolean }>(f: F): F => {
    f.noisy = false;
    return f;
  };
  const policies: Record<string, (f: Factory) => IProtocolFactory> = {
    WrappingFactory: (f) => quiet(new WrappingFactory(f)),
    TimeoutFactory: (f) => quiet(new TimeoutFactory(f, { timeoutPeriod: 30 })),
    ThrottlingFactory: (f) => quiet(new ThrottlingFactory(f)),
    SpewingFactory: (f) => quiet(new SpewingFactory(f)),
    LimitConnectionsByPeer: (f) => quiet(new LimitConnectionsByPeer(f)),
  };
  class AsyncThrower extends Protocol {
    override async dataReceived(): Promise<void> {
      await Promise.resolve();
      throw new Oops("rejected in dataReceived");
    }
  }
  class AsyncMade extends Protocol {
    override async connectionMade(): Promise<void> {
      await Promise.resolve();
      throw new Oops("rejected in connectionMade");
    }
  }
  for (const [name, wrap] of Object.entries(policies)) {
    for (const make of [() => new AsyncThrower(), () => new AsyncMade()]) {
      const { reason, logged } = await serveOne(make, "x", wrap);
      assert(reason.check(Oops), `${name}: ${reason}`);
      assertEquals(logged.length, 1, name);
      assertStringIncludes(logged[0].message, "Unhandled error in", name);
    }
  }
});

Deno.test("An async connectionMade that rejects closes the connection with the error as reason, logged", async () => {
  class AsyncMade extends Protocol {
    override async connectionMade(): Promise<void> {
      await Promise.resolve();
      throw new Oops("rejected in connectionMade");
    }
  }
  const { reason, logged } = await serveOne(() => new AsyncMade(), "x");
  assert(reason.check(Oops), `${reason}`);
  assertEquals(logged.length, 1);
  assertStringIncludes(logged[0].message, "Unhandled error in connectionMade");
});

Deno.test("An async connectionLost that rejects is logged", async () => {
  class AsyncLost extends Protocol {
    override dataReceived(): void {
      this.transport.loseConnection();
    }
    override async connectionLost(): Promise<void> {
      await Promise.resolve();
      throw new Oops("rejected in connectionLost");
    }
  }
  const { logged } = await serveOne(() => new AsyncLost(), "x");
  assertEquals(logged.length, 1);
  assertStringIncludes(logged[0].message, "Unhandled error in connectionLost");
});

Deno.test("A process protocol's async outReceived that rejects is logged; the process still ends", async () => {
  const reactor = new Reactor();
  using _capture = log.capture();
  const logged = collectErrors();
  const ended = Promise.withResolvers<void>();
  class AsyncOut extends ProcessProtocol {
    override async outReceived(): Promise<void> {
      await Promise.resolve();
      throw new Oops("rejected in outReceived");
    }
    override processEnded(): void {
      ended.resolve();
    }
  }
  const transport = reactor.spawnProcess(new AsyncOut(), "cat", ["cat"]);
  transport.write("hello");
  transport.closeStdin();
  await withTimeout(ended.promise, 10_000, "processEnded");
  await logged.count(1);
  const { errors } = logged;
  assertEquals(errors.length, 1);
  assertStringIncludes(
    errors[0].message,
    "Unhandled error in childDataReceived",
  );
  assert(errors[0].failure?.check(Oops));
});

Deno.test("A datagram protocol's async datagramReceived that rejects is logged; the port goes on", async () => {
  const reactor = new Reactor();
  using _capture = log.capture();
  const logged = collectErrors();
  const got: string[] = [];
  const second = Promise.withResolvers<void>();
  class AsyncDatagrams extends DatagramProtocol {
    override async datagramReceived(data: Uint8Array): Promise<void> {
      got.push(decode(data));
      if (got.length === 2) second.resolve();
      await Promise.resolve();
      throw new Oops("rejected in datagramReceived");
    }
  }
  const port = reactor.listenUDP(0, new AsyncDatagrams(), {
    interface: "127.0.0.1",
  });
  await port.listening;
  const to: [string, number] = ["127.0.0.1", port.getHost().port];
  port.write("one", to);
  port.write("two", to);
  await withTimeout(second.promise, 10_000, "both datagrams");
  await logged.count(2);
  await port.stopListening();
  assertEquals(got.toSorted(), ["one", "two"]); // UDP keeps no order
  const { errors } = logged;
  assertEquals(errors.length, 2);
  assertStringIncludes(
    errors[0].message,
    "Unhandled error in datagramReceived",
  );
});
