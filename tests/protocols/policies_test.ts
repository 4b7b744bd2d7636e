import { assert, assertEquals, assertInstanceOf } from "@std/assert";
import {
  LimitConnectionsByPeer,
  LimitTotalConnectionsFactory,
  type ProtocolWrapper,
  ThrottlingFactory,
  TimeoutFactory,
  TimeoutMixin,
  WrappingFactory,
} from "../../src/protocols/policies.ts";
import {
  ClientFactory,
  Factory,
  Protocol,
} from "../../src/internet/protocol.ts";
import { IPv4Address } from "../../src/internet/address.ts";
import { Clock } from "../../src/internet/_clock.ts";
import { ConnectionDone } from "../../src/internet/error.ts";
import { Failure } from "../../src/internet/failure.ts";
import type {
  IConnector,
  IProtocol,
  IPushProducer,
} from "../../src/internet/interfaces.ts";
import {
  AccumulatingProtocol,
  connectedServerAndClient,
  StringTransport,
} from "../../src/testing/mod.ts";
import { decode, encode } from "../_helpers.ts";

const addr = (host = "10.0.0.1", port = 1234) =>
  new IPv4Address("TCP", host, port);
const done = () => new Failure(new ConnectionDone());

class Recorder extends Protocol {
  events: string[] = [];
  override connectionMade(): void {
    this.events.push("made");
  }
  override dataReceived(d: Uint8Array): void {
    this.events.push(`data ${decode(d)}`);
  }
  override connectionLost(): void {
    this.events.push("lost");
  }
  readConnectionLost(): void {
    this.events.push("readConnectionLost");
  }
}

Deno.test("ProtocolWrapper: the wrapped protocol sees the wrapper as its transport and everything is forwarded", () => {
  const inner = Factory.forProtocol(Recorder);
  const factory = new WrappingFactory(inner);
  const wrapper = factory.buildProtocol(addr())!;
  const transport = new StringTransport();
  wrapper.makeConnection(transport);
  const wrapped = wrapper.wrappedProtocol as Recorder;
  assertInstanceOf(wrapped, Recorder);
  assertEquals(wrapped.transport, wrapper);
  wrapper.dataReceived(encode("in"));
  wrapped.transport.write("out");
  wrapped.transport.writeSequence(["a", "b"]);
  assertEquals(decode(transport.value()), "outab");
  assertEquals(wrapped.transport.getPeer(), transport.getPeer());
  assertEquals(wrapped.transport.getHost(), transport.getHost());
  wrapped.transport.setTcpNoDelay(true);
  assert(transport.getTcpNoDelay());
  const producer: IPushProducer = {
    pauseProducing() {},
    resumeProducing() {},
    stopProducing() {},
  };
  wrapped.transport.registerProducer(producer, true);
  assertEquals(transport.producer, producer);
  wrapped.transport.unregisterProducer();
  wrapped.transport.pauseProducing();
  assertEquals(transport.producerState, "paused");
  wrapped.transport.loseConnection();
  assert(transport.disconnecting && wrapped.transport.disconnecting);
  assertEquals(factory.protocols.size, 1);
  wrapper.readConnectionLost();
  wrapper.connectionLost(done());
  assertEquals(factory.protocols.size, 0);
  assertEquals(wrapped.events, [
    "made",
    "data in",
    "readConnectionLost",
    "lost",
  ]);
  assertEquals(wrapped.connected, false);
});

Deno.test("WrappingFactory forwards start/stop and client events, and refuses when the wrapped factory does", () => {
  const seen: string[] = [];
  class Inner extends ClientFactory {
    override startFactory(): void {
      seen.push("start");
    }
    override stopFactory(): void {
      seen.push("stop");
    }
    override startedConnecting(_c: IConnector): void {
      seen.push("startedConnecting");
    }
    override clientConnectionFailed(): void {
      seen.push("failed");
    }
    override clientConnectionLost(): void {
      seen.push("lost");
    }
    override buildProtocol(): IProtocol | null {
      return null;
    }
  }
  const inner = new Inner();
  inner.noisy = false;
  const factory = new WrappingFactory(inner);
  factory.doStart();
  factory.startedConnecting({} as IConnector);
  factory.clientConnectionFailed({} as IConnector, done());
  factory.clientConnectionLost({} as IConnector, done());
  factory.doStop();
  assertEquals(seen, ["start", "startedConnecting", "failed", "lost", "stop"]);
  assertEquals(factory.buildProtocol(addr()), null);
});

Deno.test("WrappingFactory works end to end over iosim", () => {
  const factory = new WrappingFactory(
    Factory.forProtocol(AccumulatingProtocol),
  );
  const { client, server, pump } = connectedServerAndClient<
    ProtocolWrapper,
    AccumulatingProtocol
  >(
    factory,
    AccumulatingProtocol,
  );
  client.transport.write("through the wrapper");
  pump.flush();
  assertEquals(
    (server.wrappedProtocol as AccumulatingProtocol).text(),
    "through the wrapper",
  );
  client.transport.loseConnection();
  pump.flush();
  assert((server.wrappedProtocol as AccumulatingProtocol).closed);
  assertEquals(factory.protocols.size, 0);
});

Deno.test("TimeoutMixin: fires after the period, resets on activity, returns the previous period, null disarms", () => {
  const clock = new Clock();
  let fired = 0;
  const t = new TimeoutMixin({ onTimeout: () => fired++, clock });
  assertEquals(t.setTimeout(10), null);
  clock.advance(9);
  t.resetTimeout();
  clock.advance(9);
  assertEquals(fired, 0);
  clock.advance(1);
  assertEquals(fired, 1);
  assertEquals(t.setTimeout(5), 10);
  assertEquals(t.setTimeout(7), 5); // changing the period re-arms from now
  clock.advance(6);
  assertEquals(fired, 1);
  assertEquals(t.setTimeout(null), 7);
  clock.advance(100);
  assertEquals(fired, 1);
  assertEquals(clock.getDelayedCalls(), []);
});

Deno.test("TimeoutFactory loses idle connections; traffic either way resets; connectionLost cancels", () => {
  const clock = new Clock();
  const factory = new TimeoutFactory(Factory.forProtocol(Recorder), {
    timeoutPeriod: 10,
    clock,
  });
  const p = factory.buildProtocol(addr())!;
  const transport = new StringTransport();
  p.makeConnection(transport);
  clock.advance(9);
  p.dataReceived(encode("x"));
  clock.advance(9);
  (p.wrappedProtocol as Recorder).transport.write("y");
  clock.advance(9);
  assert(!transport.disconnecting);
  clock.advance(1);
  assert(transport.disconnecting);
  const q = factory.buildProtocol(addr())!;
  q.makeConnection(new StringTransport());
  q.connectionLost(done());
  assertEquals(clock.getDelayedCalls(), []);
});

Deno.test("ThrottlingFactory throttles reads over the limit and resumes after the excess time", () => {
  const clock = new Clock();
  const factory = new ThrottlingFactory(Factory.forProtocol(Recorder), {
    readLimit: 10,
    clock,
  });
  const p = factory.buildProtocol(addr())!;
  const transport = new StringTransport();
  p.makeConnection(transport);
  p.dataReceived(new Uint8Array(25)); // 2.5x the limit
  clock.advance(1);
  assertEquals(transport.producerState, "paused");
  clock.advance(1.4);
  assertEquals(transport.producerState, "paused");
  clock.advance(0.1);
  assertEquals(transport.producerState, "producing");
  p.dataReceived(new Uint8Array(5)); // under the limit
  clock.advance(1);
  assertEquals(transport.producerState, "producing");
  p.connectionLost(done());
  assertEquals(clock.getDelayedCalls(), []);
});

Deno.test("ThrottlingFactory throttles a producer's writes over the limit", () => {
  const clock = new Clock();
  const factory = new ThrottlingFactory(Factory.forProtocol(Recorder), {
    writeLimit: 100,
    clock,
  });
  const p = factory.buildProtocol(addr())!;
  const transport = new StringTransport();
  p.makeConnection(transport);
  const events: string[] = [];
  const wrapped = p.wrappedProtocol as Recorder;
  wrapped.transport.registerProducer({
    pauseProducing: () => events.push("pause"),
    resumeProducing: () => events.push("resume"),
    stopProducing: () => events.push("stop"),
  }, true);
  wrapped.transport.write(new Uint8Array(300));
  clock.advance(1);
  assertEquals(events, ["pause"]);
  clock.advance(2);
  assertEquals(events, ["pause", "resume"]);
  p.connectionLost(done());
});

Deno.test("ThrottlingFactory refuses connections over maxConnectionCount and frees slots on disconnect", () => {
  const factory = new ThrottlingFactory(Factory.forProtocol(Recorder), {
    maxConnectionCount: 2,
    clock: new Clock(),
  });
  const a = factory.buildProtocol(addr())!;
  a.makeConnection(new StringTransport());
  const b = factory.buildProtocol(addr())!;
  b.makeConnection(new StringTransport());
  assertEquals(factory.buildProtocol(addr()), null);
  a.connectionLost(done());
  assert(factory.buildProtocol(addr()) !== null);
});

Deno.test("LimitConnectionsByPeer counts each peer separately", () => {
  const factory = new LimitConnectionsByPeer(Factory.forProtocol(Recorder));
  factory.maxConnectionsPerPeer = 2;
  const make = (host: string) => {
    const p = factory.buildProtocol(addr(host));
    p?.makeConnection(new StringTransport({ peerAddress: addr(host) }));
    return p;
  };
  const a1 = make("10.0.0.1")!;
  make("10.0.0.1");
  assertEquals(make("10.0.0.1"), null);
  assert(make("10.0.0.2") !== null);
  a1.connectionLost(done());
  assert(make("10.0.0.1") !== null);
  assertEquals(factory.peerConnections.get("10.0.0.1"), 2);
});

Deno.test("LimitTotalConnectionsFactory refuses or serves the overflow protocol over the limit", () => {
  class Busy extends Protocol {
    override connectionMade(): void {
      this.transport.write("too busy\r\n");
      this.transport.loseConnection();
    }
  }
  const factory = new LimitTotalConnectionsFactory();
  factory.protocol = Recorder;
  factory.connectionLimit = 1;
  const first = factory.buildProtocol(addr())!;
  first.makeConnection(new StringTransport());
  assertEquals(factory.connectionCount, 1);
  assertEquals(factory.buildProtocol(addr()), null);
  factory.overflowProtocol = Busy;
  const overflow = factory.buildProtocol(addr())!;
  const t = new StringTransport();
  overflow.makeConnection(t);
  assertEquals(decode(t.value()), "too busy\r\n");
  overflow.connectionLost(done());
  first.connectionLost(done());
  assertEquals(factory.connectionCount, 0);
});
