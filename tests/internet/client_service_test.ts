import { assert, assertEquals, assertStrictEquals } from "@std/assert";
import {
  backoffPolicy,
  ClientService,
} from "../../src/internet/client_service.ts";
import type { IStreamClientEndpoint } from "../../src/internet/endpoints.ts";
import { CancelledError, Deferred } from "../../src/internet/defer.ts";
import { Clock } from "../../src/internet/task/clock.ts";
import {
  ClientFactory,
  Factory,
  Protocol,
} from "../../src/internet/protocol.ts";
import { IPv4Address } from "../../src/internet/address.ts";
import { ConnectionRefusedError } from "../../src/internet/error.ts";
import type { Failure } from "../../src/internet/failure.ts";
import type {
  IProtocol,
  IProtocolFactory,
} from "../../src/internet/interfaces.ts";
import { StringTransportWithDisconnection } from "../../src/testing/mod.ts";
import { Reactor } from "../../src/internet/reactor.ts";
import { TCP4ClientEndpoint } from "../../src/internet/endpoints.ts";
import { withTimeout } from "../_helpers.ts";

/** An endpoint whose attempts the test settles by hand. */
class FakeEndpoint implements IStreamClientEndpoint {
  attempts: { factory: IProtocolFactory; d: Deferred<IProtocol> }[] = [];
  connect(factory: IProtocolFactory): Deferred<IProtocol> {
    const d = new Deferred<IProtocol>();
    this.attempts.push({ factory, d });
    return d;
  }
  /** Completes the last attempt with a connected protocol. */
  succeed(): Protocol {
    const { factory, d } = this.attempts.at(-1)!;
    const p = factory.buildProtocol(
      new IPv4Address("TCP", "127.0.0.1", 1),
    ) as Protocol;
    const t = new StringTransportWithDisconnection();
    t.protocol = p;
    p.makeConnection(t);
    d.callback(p);
    return p;
  }
  fail(): void {
    this.attempts.at(-1)!.d.errback(new ConnectionRefusedError());
  }
}

const noJitter = backoffPolicy({ jitter: () => 0 });

Deno.test("backoffPolicy grows by the factor up to maxDelay, plus jitter", () => {
  assertEquals([0, 1, 2].map(noJitter), [1, 1.5, 2.25]);
  assertEquals(noJitter(50), 60);
  assertEquals(
    backoffPolicy({
      initialDelay: 2,
      factor: 2,
      maxDelay: 10,
      jitter: () => 0.5,
    })(3),
    10.5,
  );
});

Deno.test("ClientService retries failed attempts with the policy and hands out the connection", () => {
  const clock = new Clock();
  const endpoint = new FakeEndpoint();
  const service = new ClientService(
    endpoint,
    ClientFactory.forProtocol(Protocol),
    { clock, retryPolicy: noJitter },
  );
  const connected = service.whenConnected();
  service.startService();
  assertEquals(endpoint.attempts.length, 1);
  endpoint.fail();
  assertEquals(clock.getDelayedCalls()[0].getTime(), 1.5); // policy(1)
  clock.advance(1.5);
  endpoint.fail();
  clock.advance(2.25); // policy(2)
  assertEquals(endpoint.attempts.length, 3);
  const p = endpoint.succeed();
  assertStrictEquals(connected.result, p);
  assertStrictEquals(service.whenConnected().result, p);
});

Deno.test("ClientService reconnects after the connection is lost, and whenConnected waits for the new one", () => {
  const clock = new Clock();
  const endpoint = new FakeEndpoint();
  const service = new ClientService(
    endpoint,
    ClientFactory.forProtocol(Protocol),
    { clock, retryPolicy: noJitter },
  );
  service.startService();
  const first = endpoint.succeed();
  first.transport.loseConnection();
  const next = service.whenConnected();
  assertEquals(next.called, false);
  clock.advance(1.5);
  assertEquals(endpoint.attempts.length, 2);
  const second = endpoint.succeed();
  assertStrictEquals(next.result, second);
});

Deno.test("whenConnected with failAfterFailures fails after that many failed attempts in a row", () => {
  const clock = new Clock();
  const endpoint = new FakeEndpoint();
  const service = new ClientService(
    endpoint,
    ClientFactory.forProtocol(Protocol),
    { clock, retryPolicy: noJitter },
  );
  service.startService();
  let reason: Failure | undefined;
  service.whenConnected({ failAfterFailures: 2 }).addErrback((f) => {
    reason = f;
  });
  endpoint.fail();
  assertEquals(reason, undefined);
  clock.advance(1.5);
  endpoint.fail();
  assert(reason?.check(ConnectionRefusedError));
  service.stopService();
  assertEquals(clock.getDelayedCalls(), []);
});

Deno.test("stopService closes the connection, cancels retries and fails waiters", async () => {
  const clock = new Clock();
  const endpoint = new FakeEndpoint();
  const service = new ClientService(
    endpoint,
    ClientFactory.forProtocol(Protocol),
    { clock, retryPolicy: noJitter },
  );
  service.startService();
  const p = endpoint.succeed();
  const stopped = service.stopService();
  await stopped;
  assertEquals(p.connected, false);
  assertEquals(clock.getDelayedCalls(), []);
  const waiting = new ClientService(new FakeEndpoint(), new ClientFactory(), {
    clock,
  });
  waiting.startService();
  let reason: Failure | undefined;
  waiting.whenConnected().addErrback((f) => {
    reason = f;
  });
  waiting.stopService();
  assert(reason?.check(CancelledError));
});

Deno.test("ClientService over real TCP: connects once the server is up", async () => {
  const reactor = new Reactor();
  const probe = reactor.listenTCP(0, Factory.forProtocol(Protocol), {
    interface: "127.0.0.1",
  });
  const port = probe.getHost().port;
  await probe.stopListening();
  const clientFactory = ClientFactory.forProtocol(Protocol);
  clientFactory.noisy = false;
  let tries = 0;
  let server: ReturnType<Reactor["listenTCP"]> | undefined;
  const service = new ClientService(
    new TCP4ClientEndpoint(reactor, "127.0.0.1", port),
    clientFactory,
    {
      clock: reactor,
      retryPolicy: () => {
        if (++tries === 2) {
          const f = Factory.forProtocol(Protocol);
          f.noisy = false;
          server = reactor.listenTCP(port, f, { interface: "127.0.0.1" });
        }
        return 0.005;
      },
    },
  );
  service.startService();
  const p = await withTimeout(
    service.whenConnected(),
    10_000,
    "the connection",
  );
  assert((p as Protocol).connected);
  await service.stopService();
  await server!.stopListening();
});
