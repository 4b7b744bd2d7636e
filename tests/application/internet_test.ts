import {
  assert,
  assertEquals,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import {
  MultiService,
  StreamServerEndpointService,
  TimerService,
} from "../../src/application/mod.ts";
import {
  type IStreamServerEndpoint,
  TCP4ServerEndpoint,
} from "../../src/internet/endpoints.ts";
import { CancelledError, Deferred } from "../../src/internet/defer.ts";
import { Clock } from "../../src/internet/task.ts";
import { Factory } from "../../src/internet/protocol.ts";
import { CannotListenError } from "../../src/internet/error.ts";
import type {
  IListeningPort,
  IProtocolFactory,
} from "../../src/internet/interfaces.ts";
import { IPv4Address } from "../../src/internet/address.ts";
import { Reactor } from "../../src/internet/reactor.ts";
import { Echo } from "../../src/protocols/wire.ts";
import { log } from "../../src/logger.ts";
import { decode, encode, withTimeout } from "../_helpers.ts";

Deno.test("TimerService calls at once, then every step, until stopped; it can start again", () => {
  const clock = new Clock();
  const calls: [number, string][] = [];
  const timer = new TimerService(
    5,
    (tag: string) => calls.push([clock.seconds(), tag]),
    "tick",
  );
  timer.clock = clock;
  timer.startService();
  assert(timer.running);
  clock.pump([5, 5, 5]);
  let stopped = false;
  timer.stopService().addCallback(() => {
    stopped = true;
  });
  assert(stopped && !timer.running);
  clock.advance(100);
  assertEquals(calls.map(([t]) => t), [0, 5, 10, 15]);
  assertEquals(calls[0][1], "tick");
  assertEquals(clock.getDelayedCalls().length, 0);
  // Started again, it calls again.
  timer.startService();
  clock.advance(5);
  assertEquals(calls.map(([t]) => t), [0, 5, 10, 15, 115, 120]);
  timer.stopService();
  // Stopping a service that never started is harmless.
  assert(new TimerService(1, () => {}).stopService().called);
  assertThrows(
    () => new TimerService(-1, () => {}),
    RangeError,
    'Invalid TimerService step "-1"',
  );
});

Deno.test("TimerService's stop waits for a call under way", () => {
  const clock = new Clock();
  let pending: Deferred<void> | undefined;
  const timer = new TimerService(1, () => (pending = new Deferred<void>()));
  timer.clock = clock;
  timer.startService();
  let stopped = false;
  timer.stopService().addCallback(() => {
    stopped = true;
  });
  assert(!stopped && timer.running);
  pending!.callback();
  assert(stopped && !timer.running);
});

Deno.test("A TimerService call that throws is logged and ends the calls, as in Twisted", () => {
  using logs = log.capture();
  const clock = new Clock();
  let n = 0;
  const timer = new TimerService(1, function flaky() {
    if (++n === 2) throw new Error("flaky");
  });
  timer.clock = clock;
  timer.startService();
  clock.pump([1, 1, 1]);
  assertEquals(n, 2);
  assertEquals(logs.flushErrors(Error).length, 1);
  assertEquals(
    logs.events.at(-1)?.message,
    "TimerService: flaky failed: flaky",
  );
  let stopped = false;
  timer.stopService().addCallback(() => {
    stopped = true;
  });
  assert(stopped);
});

Deno.test("TimerService starts and stops with its MultiService", () => {
  const clock = new Clock();
  const app = new MultiService();
  let calls = 0;
  const timer = new TimerService(60, () => calls++);
  timer.clock = clock;
  timer.setServiceParent(app);
  app.startService();
  clock.pump([60, 60]);
  app.stopService();
  assert(!timer.running);
  clock.pump([60, 60]);
  assertEquals(calls, 3);
});

/** A server endpoint whose listens the test settles by hand. */
class FakeServerEndpoint implements IStreamServerEndpoint {
  listens: {
    factory: IProtocolFactory;
    d: Deferred<IListeningPort>;
    cancelled: boolean;
  }[] = [];
  listen(factory: IProtocolFactory): Deferred<IListeningPort> {
    const entry = {
      factory,
      cancelled: false,
      d: new Deferred<IListeningPort>(() => {
        entry.cancelled = true;
      }),
    };
    this.listens.push(entry);
    return entry.d;
  }
}

function fakePort(): IListeningPort & { stopped: Deferred<void> | undefined } {
  const port = {
    stopped: undefined as Deferred<void> | undefined,
    startListening() {},
    stopListening(): Deferred<void> {
      return (port.stopped = new Deferred<void>());
    },
    getHost: () => new IPv4Address("TCP", "127.0.0.1", 8080),
  };
  return port as unknown as IListeningPort & {
    stopped: Deferred<void> | undefined;
  };
}

Deno.test("StreamServerEndpointService listens once, in privilegedStartService, and its stop waits for the port to close", () => {
  const endpoint = new FakeServerEndpoint();
  const factory = Factory.forProtocol(Echo);
  const service = new StreamServerEndpointService(endpoint, factory);
  assertStrictEquals(service.endpoint, endpoint);
  service.privilegedStartService();
  service.startService();
  assertEquals(endpoint.listens.length, 1);
  assertStrictEquals(endpoint.listens[0].factory, factory);
  const port = fakePort();
  let seen: IListeningPort | undefined;
  service.whenListening().addCallback((p) => {
    seen = p;
  });
  endpoint.listens[0].d.callback(port);
  assertStrictEquals(seen, port);
  assertStrictEquals(service.whenListening().result, port);
  let stopped = false;
  service.stopService().addCallback(() => {
    stopped = true;
  });
  assert(!endpoint.listens[0].cancelled);
  assert(!stopped && service.running);
  port.stopped!.callback();
  assert(stopped && !service.running);
  // Started again, it listens again (Twisted's would not).
  service.startService();
  assertEquals(endpoint.listens.length, 2);
  endpoint.listens[1].d.callback(fakePort());
});

Deno.test("StreamServerEndpointService's stop cancels a listen under way, quietly", () => {
  using logs = log.capture();
  const endpoint = new FakeServerEndpoint();
  const service = new StreamServerEndpointService(
    endpoint,
    Factory.forProtocol(Echo),
  );
  service.startService();
  let failure = "";
  service.whenListening().addErrback((f) => {
    failure = (f.value as Error).name;
  });
  let stopped = false;
  service.stopService().addCallback(() => {
    stopped = true;
  });
  assert(endpoint.listens[0].cancelled);
  assert(stopped && !service.running);
  assertEquals(failure, "CancelledError");
  assertEquals(logs.errors(), []);
});

Deno.test("StreamServerEndpointService logs a failed listen, or throws it with raiseSynchronously", () => {
  {
    using logs = log.capture();
    const endpoint = new FakeServerEndpoint();
    const service = new StreamServerEndpointService(
      endpoint,
      Factory.forProtocol(Echo),
    );
    service.startService();
    endpoint.listens[0].d.errback(
      new CannotListenError("127.0.0.1", 80, "in use"),
    );
    assertEquals(logs.flushErrors(CannotListenError).length, 1);
    assertEquals(logs.events[0].why, "Cannot listen with Factory");
    assert(service.running); // as Twisted's: the rest of the program runs on
    assert(service.stopService().called);
  }
  {
    using logs = log.capture();
    const failing: IStreamServerEndpoint = {
      listen: () => {
        const d = new Deferred<IListeningPort>();
        d.errback(new CannotListenError("127.0.0.1", 80, "in use"));
        return d;
      },
    };
    const service = new StreamServerEndpointService(
      failing,
      Factory.forProtocol(Echo),
      { raiseSynchronously: true },
    );
    assertThrows(() => service.startService(), CannotListenError);
    assertEquals(logs.errors(), []);
    // Nothing to stop.
    assert(service.stopService().called);
  }
});

Deno.test("StreamServerEndpointService serves over a real socket, and stops listening when stopped", async () => {
  const reactor = new Reactor();
  const factory = Factory.forProtocol(Echo);
  factory.noisy = false;
  const app = new MultiService();
  const service = new StreamServerEndpointService(
    new TCP4ServerEndpoint(reactor, 0, { interface: "127.0.0.1" }),
    factory,
  );
  service.setServiceParent(app);
  app.privilegedStartService();
  app.startService();
  const port = await withTimeout(service.whenListening(), 5_000, "listening");
  const address = port.getHost() as IPv4Address;
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: address.port,
  });
  await conn.write(encode("ping"));
  const buf = new Uint8Array(16);
  const n = await withTimeout(conn.read(buf), 5_000, "the echo");
  assertEquals(decode(buf.subarray(0, n!)), "ping");
  conn.close();
  await withTimeout(app.stopService(), 5_000, "the service to stop");
  await assertRejects(
    () => Deno.connect({ hostname: "127.0.0.1", port: address.port }),
    Deno.errors.ConnectionRefused,
  );
  // whenListening after the stop waits for the next start.
  const next = service.whenListening();
  assert(!next.called);
  next.cancel();
  next.addErrback((f) => f.trap(CancelledError));
});
