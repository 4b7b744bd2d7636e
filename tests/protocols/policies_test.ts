import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  IdleTimeout,
  LimitConnectionsByPeer,
  LimitTotalConnectionsFactory,
  ProtocolWrapper,
  SpewingFactory,
  ThrottlingFactory,
  ThrottlingProtocol,
  TimeoutFactory,
  TimeoutMixin,
  TimeoutProtocol,
  type TrafficLog,
  TrafficLoggingFactory,
  type TrafficLoggingProtocol,
  WrappingFactory,
} from "../../src/protocols/policies.ts";
import { LineReceiver } from "../../src/protocols/basic.ts";
import {
  ClientFactory,
  Factory,
  Protocol,
  ServerFactory,
} from "../../src/internet/protocol.ts";
import { Reactor, reactor } from "../../src/internet/reactor.ts";
import { IPv4Address } from "../../src/internet/address.ts";
import { Clock } from "../../src/internet/task/clock.ts";
import { ConnectionDone } from "../../src/internet/error.ts";
import { Failure } from "../../src/internet/failure.ts";
import { log } from "../../src/logger.ts";
import type {
  IConnector,
  IDelayedCall,
  IProtocol,
  IPushProducer,
  ITCPTransport,
} from "../../src/internet/interfaces.ts";
import {
  AccumulatingProtocol,
  connectedServerAndClient,
  StringTransport,
  StringTransportWithDisconnection,
} from "../../src/testing/mod.ts";
import { decode, encode, withTimeout } from "../_helpers.ts";

const addr = (host = "10.0.0.1", port = 1234): IPv4Address =>
  new IPv4Address("TCP", host, port);
const done = (): Failure => new Failure(new ConnectionDone());

/** Twisted's SimpleProtocol: records connection, loss and data. */
class SimpleProtocol extends Protocol {
  made = false;
  disconnected = false;
  reason: Failure | undefined;
  buffer = "";
  override connectionMade(): void {
    this.made = true;
  }
  override connectionLost(reason: Failure): void {
    this.disconnected = true;
    this.reason = reason;
  }
  override dataReceived(data: Uint8Array): void {
    this.buffer += decode(data);
  }
}

/** Twisted's EchoProtocol: echoes, and is a push producer that records pauses. */
class EchoProtocol extends Protocol implements IPushProducer {
  paused = false;
  pauseProducing(): void {
    this.paused = true;
  }
  resumeProducing(): void {
    this.paused = false;
  }
  stopProducing(): void {}
  override dataReceived(data: Uint8Array): void {
    this.transport.write(data);
  }
}

class Server extends ServerFactory {
  override protocol = EchoProtocol;
  override noisy = false;
}

/** Records the protocol events and the half-close. */
class Recorder extends Protocol {
  events: string[] = [];
  override connectionMade(): void {
    this.events.push("made");
  }
  override dataReceived(d: Uint8Array): void {
    this.events.push(`data ${decode(d)}`);
  }
  override connectionLost(reason: Failure): void {
    this.events.push(`lost ${reason.type?.name}`);
  }
  readConnectionLost(): void {
    this.events.push("readConnectionLost");
  }
  writeConnectionLost(): void {
    this.events.push("writeConnectionLost");
  }
}

/** Builds a wrapper with `factory` and connects it to a disconnecting transport. */
function connectWrapper<W extends ProtocolWrapper>(
  factory: WrappingFactory,
  from = addr(),
): { wrapper: W; transport: StringTransportWithDisconnection } {
  const wrapper = factory.buildProtocol(from) as W;
  const transport = new StringTransportWithDisconnection({ peerAddress: from });
  transport.protocol = wrapper;
  wrapper.makeConnection(transport);
  return { wrapper, transport };
}

// -- ProtocolWrapper and WrappingFactory ---------------------------------------

Deno.test("WrappingFactory: the wrapped protocol's factory is the wrapped factory, the wrapper's the wrapping one", () => {
  const server = new Server();
  const factory = new WrappingFactory(server);
  const wrapper = factory.buildProtocol(addr())!;
  assertInstanceOf(wrapper, ProtocolWrapper);
  assertStrictEquals((wrapper.wrappedProtocol as Protocol).factory, server);
  assertStrictEquals(wrapper.factory, factory);
  assertStrictEquals(wrapper.wrappingFactory, factory);
});

Deno.test("ProtocolWrapper is the wrapped protocol's transport and forwards every transport call", () => {
  const { wrapper, transport } = connectWrapper(
    new WrappingFactory(Factory.forProtocol(Recorder)),
  );
  const wrapped = wrapper.wrappedProtocol as Recorder;
  const t: ITCPTransport = wrapped.transport;
  assertStrictEquals(t, wrapper);
  t.write("out");
  t.write(encode("-"));
  t.writeSequence(["a", encode("b")]);
  assertEquals(decode(transport.value()), "out-ab");
  assertStrictEquals(t.getPeer(), transport.getPeer());
  assertStrictEquals(t.getHost(), transport.getHost());
  t.setTcpNoDelay(true);
  assert(transport.getTcpNoDelay() && t.getTcpNoDelay());
  t.setTcpKeepAlive(true);
  assert(transport.getTcpKeepAlive() && t.getTcpKeepAlive());
  t.setWriteBufferLimits({ high: 10, low: 5 });
  assertEquals(transport.writeBufferLimits, { high: 10, low: 5 });
  assertEquals(t.getWriteBufferSize(), 0);
  const producer: IPushProducer = {
    pauseProducing() {},
    resumeProducing() {},
    stopProducing() {},
  };
  t.registerProducer(producer, true);
  assertStrictEquals(transport.producer, producer);
  assertEquals(transport.streaming, true);
  t.unregisterProducer();
  assertEquals(transport.producer, undefined);
  assertEquals(transport.streaming, undefined);
  t.pauseProducing();
  assertEquals(transport.producerState, "paused");
  t.resumeProducing();
  assertEquals(transport.producerState, "producing");
  t.loseWriteConnection();
  assert(transport.writeDisconnected);
  assertFalse(t.disconnecting);
  t.abortConnection();
  assert(transport.aborted && t.disconnecting);
});

Deno.test("ProtocolWrapper: loseConnection and stopProducing reach the real transport, whose connectionLost reaches the wrapped protocol", () => {
  const factory = new WrappingFactory(Factory.forProtocol(Recorder));
  const { wrapper, transport } = connectWrapper(factory);
  const wrapped = wrapper.wrappedProtocol as Recorder;
  assert(wrapped.connected);
  assertEquals(factory.protocols, new Set([wrapper]));
  wrapper.dataReceived(encode("in"));
  wrapped.transport.loseConnection();
  assert(transport.disconnecting && wrapped.transport.disconnecting);
  assertEquals(factory.protocols.size, 0);
  assertEquals(wrapped.events, ["made", "data in", "lost ConnectionDone"]);
  assertFalse(wrapped.connected);

  const second = connectWrapper(factory);
  second.wrapper.stopProducing();
  assertEquals(second.transport.producerState, "stopped");
});

Deno.test("ProtocolWrapper passes half-closes to a half-closeable wrapped protocol, and closes for any other", () => {
  const factory = new WrappingFactory(Factory.forProtocol(Recorder));
  const { wrapper, transport } = connectWrapper(factory);
  wrapper.readConnectionLost();
  wrapper.writeConnectionLost();
  assertFalse(transport.disconnecting);
  assertEquals((wrapper.wrappedProtocol as Recorder).events, [
    "made",
    "readConnectionLost",
    "writeConnectionLost",
  ]);

  const plain = connectWrapper(
    new WrappingFactory(Factory.forProtocol(SimpleProtocol)),
  );
  plain.wrapper.writeConnectionLost(); // nothing to tell
  plain.wrapper.readConnectionLost();
  assert(plain.transport.disconnecting);
  assert((plain.wrapper.wrappedProtocol as SimpleProtocol).disconnected);
});

Deno.test("ProtocolWrapper forwards startTLS and negotiatedProtocol, and refuses startTLS without TLS support", () => {
  const { wrapper, transport } = connectWrapper(
    new WrappingFactory(Factory.forProtocol(Protocol)),
  );
  assertEquals(wrapper.negotiatedProtocol, null);
  assertThrows(
    () => wrapper.startTLS({ hostname: "example.com" }),
    TypeError,
    "does not support it",
  );
  const started: unknown[] = [];
  const tls = transport as unknown as {
    startTLS(o: unknown): void;
    negotiatedProtocol: string | null;
  };
  tls.startTLS = (o) => started.push(o);
  tls.negotiatedProtocol = "h2";
  wrapper.startTLS({ hostname: "example.com" });
  assertEquals(started, [{ hostname: "example.com" }]);
  assertEquals(wrapper.negotiatedProtocol, "h2");
});

Deno.test("ProtocolWrapper and WrappingFactory log prefixes name both sides, falling back to class names", () => {
  const server = new Server();
  const factory = new WrappingFactory(server);
  assertEquals(factory.logPrefix(), "Server (WrappingFactory)");
  assertEquals(
    factory.buildProtocol(addr())!.logPrefix(),
    "EchoProtocol (ProtocolWrapper)",
  );
  class NoFactory {
    buildProtocol(): IProtocol {
      return new NoProtocol();
    }
    doStart(): void {}
    doStop(): void {}
  }
  class NoProtocol {
    makeConnection(): void {}
    connectionMade(): void {}
    dataReceived(): void {}
    connectionLost(): void {}
  }
  const bare = new WrappingFactory(new NoFactory());
  assertEquals(bare.logPrefix(), "NoFactory (WrappingFactory)");
  assertEquals(
    bare.buildProtocol(addr())!.logPrefix(),
    "NoProtocol (ProtocolWrapper)",
  );
});

Deno.test("WrappingFactory forwards doStart/doStop and the client events, and refuses when the wrapped factory does", () => {
  const seen: string[] = [];
  const connector = {} as IConnector;
  class Inner extends ClientFactory {
    override noisy = false;
    refuse = false;
    override startFactory(): void {
      seen.push("start");
    }
    override stopFactory(): void {
      seen.push("stop");
    }
    override startedConnecting(c: IConnector): void {
      seen.push(`startedConnecting ${c === connector}`);
    }
    override clientConnectionFailed(_c: IConnector, r: Failure): void {
      seen.push(`failed ${r.getErrorMessage()}`);
    }
    override clientConnectionLost(_c: IConnector, r: Failure): void {
      seen.push(`lost ${r.getErrorMessage()}`);
    }
    override buildProtocol(): IProtocol | null {
      return this.refuse ? null : new Protocol();
    }
  }
  const inner = new Inner();
  const factory = new WrappingFactory(inner);
  factory.noisy = false;
  factory.doStart();
  factory.doStart(); // two ports: the wrapped factory starts once
  assertEquals(inner.numPorts, 2);
  assertEquals(factory.numPorts, 2);
  factory.startedConnecting(connector);
  factory.clientConnectionFailed(connector, new Failure(new Error("no")));
  factory.clientConnectionLost(connector, new Failure(new Error("gone")));
  factory.doStop();
  assertEquals(inner.numPorts, 1);
  factory.doStop();
  assertEquals(seen, [
    "start",
    "startedConnecting true",
    "failed no",
    "lost gone",
    "stop",
  ]);
  assert(factory.buildProtocol(addr()) !== null);
  inner.refuse = true;
  assertEquals(factory.buildProtocol(addr()), null);

  // A server factory has no client events: forwarding them is harmless.
  const serverSide = new WrappingFactory(new Server());
  serverSide.startedConnecting(connector);
  serverSide.clientConnectionFailed(connector, done());
  serverSide.clientConnectionLost(connector, done());
});

Deno.test("WrappingFactory builds wrappers of wrapperClass", () => {
  class Upper extends ProtocolWrapper {
    override write(data: string | Uint8Array): void {
      super.write(typeof data === "string" ? data.toUpperCase() : data);
    }
  }
  const factory = new WrappingFactory(Factory.forProtocol(Protocol));
  factory.wrapperClass = Upper;
  const { wrapper, transport } = connectWrapper(factory);
  assertInstanceOf(wrapper, Upper);
  (wrapper.wrappedProtocol as Protocol).transport.write("shout");
  assertEquals(decode(transport.value()), "SHOUT");
});

Deno.test("WrappingFactory works end to end over iosim", () => {
  const factory = new WrappingFactory(
    Factory.forProtocol(AccumulatingProtocol),
  );
  const { client, server, pump } = connectedServerAndClient<
    ProtocolWrapper,
    AccumulatingProtocol
  >(factory, AccumulatingProtocol);
  const wrapped = server.wrappedProtocol as AccumulatingProtocol;
  client.transport.write("through the wrapper");
  pump.flush();
  assertEquals(wrapped.text(), "through the wrapper");
  wrapped.transport.write("and back");
  pump.flush();
  assertEquals(client.text(), "and back");
  client.transport.loseConnection();
  pump.flush();
  assert(wrapped.closed);
  assertEquals(factory.protocols.size, 0);
});

// -- ThrottlingFactory ---------------------------------------------------------

Deno.test("ThrottlingFactory counts writeSequence's bytes and writes them", () => {
  const factory = new ThrottlingFactory(new Server(), { clock: new Clock() });
  const { wrapper, transport } = connectWrapper(factory);
  wrapper.writeSequence(new Array(4).fill(encode("bytes")));
  assertEquals(decode(transport.value()), "bytesbytesbytesbytes");
  assertEquals(factory.writtenThisSecond, 20);
  wrapper.write("é€😀"); // 2 + 3 + 4 bytes in UTF-8
  assertEquals(factory.writtenThisSecond, 29);
  transport.loseConnection();
});

Deno.test("ThrottlingFactory pauses a producer's writes after a second over writeLimit and resumes it after the excess time", () => {
  const clock = new Clock();
  const factory = new ThrottlingFactory(new Server(), {
    writeLimit: 10,
    clock,
  });
  const { wrapper, transport } = connectWrapper<ThrottlingProtocol>(factory);
  assertInstanceOf(wrapper, ThrottlingProtocol);
  const echo = wrapper.wrappedProtocol as EchoProtocol;
  echo.transport.registerProducer(echo, true);
  assertStrictEquals(wrapper.producer, echo);
  wrapper.dataReceived(encode("0123456789"));
  wrapper.dataReceived(encode("abcdefghij"));
  assertEquals(decode(transport.value()), "0123456789abcdefghij");
  assertEquals(factory.writtenThisSecond, 20);
  assertFalse(echo.paused);
  // 20 bytes is 10 over: paused at the check, for 20 / 10 - 1 = 1 second.
  clock.advance(1.05);
  assertEquals(factory.writtenThisSecond, 0);
  assert(echo.paused);
  clock.advance(1.05);
  assertEquals(factory.writtenThisSecond, 0);
  assertFalse(echo.paused);
  echo.transport.unregisterProducer();
  assertEquals(wrapper.producer, undefined);
  transport.loseConnection();
  assertEquals(clock.getDelayedCalls(), []);
});

Deno.test("ThrottlingFactory pauses reading after a second over readLimit and resumes at the next, every time", () => {
  const clock = new Clock();
  const factory = new ThrottlingFactory(new Server(), { readLimit: 10, clock });
  const { wrapper, transport } = connectWrapper(factory);
  for (let round = 0; round < 2; round++) {
    transport.clear();
    wrapper.dataReceived(encode("0123456789"));
    wrapper.dataReceived(encode("abcdefghij"));
    assertEquals(decode(transport.value()), "0123456789abcdefghij");
    assertEquals(factory.readThisSecond, 20);
    clock.advance(1.05);
    assertEquals(factory.readThisSecond, 0);
    assertEquals(transport.producerState, "paused");
    clock.advance(1.05);
    assertEquals(factory.readThisSecond, 0);
    assertEquals(transport.producerState, "producing");
  }
  transport.loseConnection();
  assertEquals(clock.getDelayedCalls(), []);
});

Deno.test("ThrottlingFactory pauses for as long as the excess takes at the limit, and not at all under it", () => {
  const clock = new Clock();
  const factory = new ThrottlingFactory(new Server(), { readLimit: 10, clock });
  const { wrapper, transport } = connectWrapper(factory);
  wrapper.dataReceived(new Uint8Array(25)); // 2.5x the limit
  clock.advance(1);
  assertEquals(transport.producerState, "paused");
  clock.advance(1.4);
  assertEquals(transport.producerState, "paused");
  clock.advance(0.1);
  assertEquals(transport.producerState, "producing");
  wrapper.dataReceived(new Uint8Array(10)); // exactly the limit
  clock.advance(1);
  assertEquals(transport.producerState, "producing");
  transport.loseConnection();
});

Deno.test("ThrottlingFactory counts bandwidth over all connections and throttles each of them", () => {
  const clock = new Clock();
  const factory = new ThrottlingFactory(new Server(), { readLimit: 10, clock });
  const a = connectWrapper(factory, addr("10.0.0.1"));
  const b = connectWrapper(factory, addr("10.0.0.2"));
  a.wrapper.dataReceived(new Uint8Array(6));
  b.wrapper.dataReceived(new Uint8Array(6)); // 12 in all: over
  clock.advance(1);
  assertEquals(a.transport.producerState, "paused");
  assertEquals(b.transport.producerState, "paused");
  clock.advance(0.2);
  assertEquals(a.transport.producerState, "producing");
  assertEquals(b.transport.producerState, "producing");
  a.transport.loseConnection();
  assertEquals(clock.getDelayedCalls().length, 1); // b still checks
  b.transport.loseConnection();
  assertEquals(clock.getDelayedCalls(), []);
});

Deno.test("ThrottlingFactory: the last connection cancels the checks, including a pending unthrottle", () => {
  const clock = new Clock();
  const factory = new ThrottlingFactory(new Server(), {
    readLimit: 10,
    writeLimit: 10,
    clock,
  });
  const { wrapper, transport } = connectWrapper(factory);
  assertEquals(clock.getDelayedCalls().length, 2); // the read and write checks
  wrapper.dataReceived(new Uint8Array(50)); // echoed: 50 read, 50 written
  clock.advance(1);
  assertEquals(clock.getDelayedCalls().length, 4); // + both unthrottles
  transport.loseConnection();
  assertEquals(clock.getDelayedCalls(), []);
  const again = connectWrapper(factory);
  assertEquals(clock.getDelayedCalls().length, 2); // a new first connection restarts them
  again.transport.loseConnection();
});

Deno.test("ThrottlingFactory refuses connections over maxConnectionCount and frees a slot on disconnect", () => {
  const clock = new Clock();
  const factory = new ThrottlingFactory(new Server(), {
    maxConnectionCount: 2,
    readLimit: 100,
    clock,
  });
  using logs = log.capture();
  const a = connectWrapper(factory);
  connectWrapper(factory);
  assertEquals(factory.connectionCount, 2);
  assertEquals(factory.buildProtocol(addr()), null);
  assertStringIncludes(logs.events.at(-1)!.message, "Max connection count");
  a.transport.loseConnection();
  assertEquals(factory.connectionCount, 1);
  assert(factory.buildProtocol(addr()) !== null);
  assertEquals(factory.connectionCount, 2);
});

Deno.test("ThrottlingFactory schedules nothing for a connection it or the wrapped factory refuses", () => {
  const clock = new Clock();
  const none = new ThrottlingFactory(new Server(), {
    maxConnectionCount: 0,
    readLimit: 10,
    clock,
  });
  using _logs = log.capture();
  assertEquals(none.buildProtocol(addr()), null);
  class Refusing extends ServerFactory {
    override buildProtocol(): null {
      return null;
    }
  }
  const refused = new ThrottlingFactory(new Refusing(), {
    readLimit: 10,
    clock,
  });
  assertEquals(refused.buildProtocol(addr()), null);
  assertEquals(refused.connectionCount, 0);
  assertEquals(clock.getDelayedCalls(), []);
  assertThrows(
    () => new ThrottlingFactory(new Server(), { readLimit: 0 }),
    RangeError,
    'Invalid readLimit "0"',
  );
  assertThrows(
    () => new ThrottlingFactory(new Server(), { writeLimit: -5 }),
    RangeError,
    'Invalid writeLimit "-5"',
  );
});

Deno.test("ThrottlingFactory.callLater can be overridden, as in Twisted's tests", () => {
  const clock = new Clock();
  const scheduled: number[] = [];
  class Testable extends ThrottlingFactory {
    override callLater(period: number, f: () => void): IDelayedCall {
      scheduled.push(period);
      return clock.callLater(period, f);
    }
  }
  const factory = new Testable(new Server(), { readLimit: 10 });
  const { wrapper, transport } = connectWrapper(factory);
  wrapper.dataReceived(new Uint8Array(15));
  clock.advance(1);
  assertEquals(scheduled, [1, 0.5, 1]);
  transport.loseConnection();
  assertEquals(clock.getDelayedCalls(), []);
});

/** A client protocol for real connections, with promises for its events. */
class Client extends Protocol {
  readonly made = Promise.withResolvers<void>();
  readonly lost = Promise.withResolvers<Failure>();
  readonly received: string[] = [];
  #waiters: (() => void)[] = [];
  override connectionMade(): void {
    this.made.resolve();
  }
  override dataReceived(data: Uint8Array): void {
    this.received.push(decode(data));
    for (const w of this.#waiters.splice(0)) w();
  }
  override connectionLost(reason: Failure): void {
    this.lost.resolve(reason);
  }
  /** Writes `text` and waits until it has all come back. */
  async echo(text: string): Promise<void> {
    const before = this.received.join("").length;
    this.transport.write(text);
    while (this.received.join("").length < before + text.length) {
      await withTimeout(
        new Promise<void>((r) => this.#waiters.push(r)),
        5000,
        `the echo of "${text}"`,
      );
    }
  }
}

class OneClient extends ClientFactory {
  override noisy = false;
  constructor(readonly client: Client) {
    super();
  }
  override buildProtocol(): Client {
    return this.client;
  }
}

Deno.test("ThrottlingFactory over TCP: a connection over the cap is closed at once; a freed slot admits the next", async () => {
  const reactor = new Reactor();
  const serversLost: Promise<void>[] = [];
  class TrackedEcho extends EchoProtocol {
    readonly #lost = Promise.withResolvers<void>();
    constructor() {
      super();
      serversLost.push(this.#lost.promise);
    }
    override connectionLost(): void {
      this.#lost.resolve();
    }
  }
  const inner = new Server();
  inner.protocol = TrackedEcho;
  const factory = new ThrottlingFactory(inner, {
    maxConnectionCount: 2,
    clock: reactor,
  });
  factory.noisy = false;
  using _logs = log.capture();
  const port = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
  const portNumber = (port.getHost() as IPv4Address).port;
  const connect = (c: Client): void => {
    reactor.connectTCP("127.0.0.1", portNumber, new OneClient(c));
  };
  const clients = [0, 1, 2, 3].map(() => new Client());
  const [c1, c2, c3, c4] = clients;
  try {
    connect(c1);
    await withTimeout(c1.made.promise, 5000, "c1 connected");
    await c1.echo("one"); // the server has accepted c1
    connect(c2);
    await withTimeout(c2.made.promise, 5000, "c2 connected");
    await c2.echo("two");
    assertEquals(factory.connectionCount, 2);

    connect(c3);
    await withTimeout(c3.lost.promise, 5000, "c3 closed by the server");
    assertEquals(c3.received, []);
    assertEquals(factory.protocols.size, 2);

    c1.transport.loseConnection();
    await withTimeout(c1.lost.promise, 5000, "c1 closed");
    await withTimeout(serversLost[0], 5000, "the server side of c1 closed");
    assertEquals(factory.connectionCount, 1);

    connect(c4);
    await withTimeout(c4.made.promise, 5000, "c4 connected");
    await c4.echo("four");
    assertEquals(factory.connectionCount, 2);
  } finally {
    try {
      const open = clients.filter((c) => c.connected);
      for (const c of open) c.transport.loseConnection();
      await withTimeout(
        Promise.all([...open.map((c) => c.lost.promise), ...serversLost]),
        5000,
        "every connection closed",
      );
    } finally {
      await port.stopListening();
    }
  }
  assertEquals(factory.connectionCount, 0);
});

// -- LimitConnectionsByPeer and LimitTotalConnectionsFactory -------------------

Deno.test("LimitConnectionsByPeer allows maxConnectionsPerPeer per host, counting hosts separately, and frees slots on disconnect", () => {
  const factory = new LimitConnectionsByPeer(new Server());
  assertEquals(factory.maxConnectionsPerPeer, 5);
  factory.maxConnectionsPerPeer = 2;
  const a1 = connectWrapper(factory, addr("10.0.0.1", 1));
  connectWrapper(factory, addr("10.0.0.1", 2));
  assertEquals(factory.buildProtocol(addr("10.0.0.1", 3)), null);
  const b1 = connectWrapper(factory, addr("10.0.0.2", 1));
  assertEquals(
    factory.peerConnections,
    new Map([["10.0.0.1", 2], ["10.0.0.2", 1]]),
  );
  a1.transport.loseConnection();
  assertEquals(factory.peerConnections.get("10.0.0.1"), 1);
  connectWrapper(factory, addr("10.0.0.1", 4));
  assertEquals(factory.buildProtocol(addr("10.0.0.1", 5)), null);
  b1.transport.loseConnection();
  assertFalse(factory.peerConnections.has("10.0.0.2"));
  assertEquals(factory.protocols.size, 2);
});

Deno.test("LimitConnectionsByPeer counts by the address it was given, whatever getPeer says, and not refused connections", () => {
  const factory = new LimitConnectionsByPeer(new Server(), {
    maxConnectionsPerPeer: 1,
  });
  assertEquals(factory.maxConnectionsPerPeer, 1);
  const p = factory.buildProtocol(addr("10.0.0.9"))!;
  const transport = new StringTransportWithDisconnection(); // another peer address
  transport.protocol = p;
  p.makeConnection(transport);
  transport.loseConnection();
  assertEquals(factory.peerConnections.size, 0);

  class Refusing extends ServerFactory {
    override buildProtocol(): null {
      return null;
    }
  }
  const refusing = new LimitConnectionsByPeer(new Refusing());
  assertEquals(refusing.buildProtocol(addr()), null);
  assertEquals(refusing.peerConnections.size, 0);
});

Deno.test("LimitTotalConnectionsFactory counts connections up as they are built and down as they are lost", () => {
  const factory = new LimitTotalConnectionsFactory();
  factory.protocol = Protocol;
  assertEquals(factory.connectionCount, 0);
  const p1 = factory.buildProtocol(addr())!;
  assertEquals(factory.connectionCount, 1);
  const p2 = factory.buildProtocol(addr())!;
  assertEquals(factory.connectionCount, 2);
  assertStrictEquals((p1.wrappedProtocol as Protocol).factory, factory);
  p1.connectionLost(done());
  assertEquals(factory.connectionCount, 1);
  p2.connectionLost(done());
  assertEquals(factory.connectionCount, 0);
  assertThrows(
    () => new LimitTotalConnectionsFactory().buildProtocol(addr()),
    TypeError,
    "has no protocol",
  );
});

Deno.test("LimitTotalConnectionsFactory refuses over connectionLimit, or serves overflowProtocol, which counts too", () => {
  let overflowed = false;
  class OverflowProtocol extends Protocol {
    override connectionMade(): void {
      overflowed = true;
      this.transport.write("Too busy\r\n");
      this.transport.loseConnection();
    }
  }
  const factory = new LimitTotalConnectionsFactory({
    protocol: SimpleProtocol,
    connectionLimit: 1,
  });
  assertEquals(factory.overflowProtocol, undefined);
  const first = factory.buildProtocol(addr())!;
  first.makeConnection(new StringTransport());
  assertEquals(factory.connectionCount, 1);
  assertEquals(factory.buildProtocol(addr()), null);
  assertEquals(factory.connectionCount, 1);

  factory.overflowProtocol = OverflowProtocol;
  const op = factory.buildProtocol(addr())!;
  assertInstanceOf(
    new LimitTotalConnectionsFactory({
      protocol: SimpleProtocol,
      connectionLimit: 0,
      overflowProtocol: OverflowProtocol,
    }).buildProtocol(addr())!.wrappedProtocol,
    OverflowProtocol,
  );
  const t = new StringTransportWithDisconnection();
  t.protocol = op;
  assertEquals(factory.connectionCount, 2);
  op.makeConnection(t);
  assert(overflowed);
  assertEquals(decode(t.value()), "Too busy\r\n");
  assertEquals(factory.connectionCount, 1); // its loseConnection freed its slot
  first.connectionLost(done());
  assertEquals(factory.connectionCount, 0);
  assertInstanceOf(
    factory.buildProtocol(addr())!.wrappedProtocol,
    SimpleProtocol,
  );
});

// -- TimeoutProtocol and TimeoutFactory ----------------------------------------

/** A TimeoutFactory over SimpleProtocol with one connection made. */
function timeoutSetup(timeoutPeriod: number | null = 3): {
  clock: Clock;
  factory: TimeoutFactory;
  proto: TimeoutProtocol;
  wrapped: SimpleProtocol;
} {
  const clock = new Clock();
  const factory = new TimeoutFactory(Factory.forProtocol(SimpleProtocol), {
    timeoutPeriod,
    clock,
  });
  const { wrapper } = connectWrapper<TimeoutProtocol>(factory);
  return {
    clock,
    factory,
    proto: wrapper,
    wrapped: wrapper.wrappedProtocol as SimpleProtocol,
  };
}

Deno.test("TimeoutFactory times out a connection with no traffic within the period", () => {
  const { clock, wrapped } = timeoutSetup(3);
  clock.pump([0, 0.5, 1, 1, 0.4]);
  assertFalse(wrapped.disconnected);
  clock.pump([0, 0.2]);
  assert(wrapped.disconnected);
  assert(wrapped.reason?.check(ConnectionDone));
  assertEquals(clock.getDelayedCalls(), []);
});

Deno.test("TimeoutFactory: writing (write and writeSequence) resets the countdown", () => {
  const { clock, proto, wrapped } = timeoutSetup(3);
  clock.pump([0, 0.5, 1]);
  assertFalse(wrapped.disconnected);
  wrapped.transport.write("bytes bytes bytes");
  clock.pump([0, 1, 1]);
  assertFalse(wrapped.disconnected);
  proto.writeSequence(["bytes", "bytes", "bytes"]);
  clock.pump([0, 1, 1]);
  assertFalse(wrapped.disconnected);
  clock.pump([0, 2]);
  assert(wrapped.disconnected);
});

Deno.test("TimeoutFactory: receiving data resets the countdown", () => {
  const { clock, proto, wrapped } = timeoutSetup(3);
  clock.pump([0, 1, 0.5]);
  assertFalse(wrapped.disconnected);
  proto.dataReceived(encode("bytes bytes bytes"));
  assertEquals(wrapped.buffer, "bytes bytes bytes");
  clock.pump([0, 1, 1]);
  assertFalse(wrapped.disconnected);
  clock.pump([0, 1, 1]);
  assert(wrapped.disconnected);
});

Deno.test("TimeoutFactory defaults to 30 minutes and cancels the countdown when the connection is lost", () => {
  const clock = new Clock();
  const factory = new TimeoutFactory(Factory.forProtocol(SimpleProtocol), {
    clock,
  });
  assertEquals(factory.timeoutPeriod, 1800);
  const { wrapper, transport } = connectWrapper<TimeoutProtocol>(factory);
  assertEquals(wrapper.timeoutPeriod, 1800);
  assertEquals(clock.getDelayedCalls()[0].getTime(), 1800);
  transport.loseConnection();
  assertEquals(wrapper.timeoutCall, null);
  assertEquals(clock.getDelayedCalls(), []);
  assertThrows(
    () =>
      new TimeoutFactory(Factory.forProtocol(Protocol), { timeoutPeriod: -1 }),
    RangeError,
    'Invalid timeout "-1"',
  );
});

Deno.test("TimeoutProtocol: the countdown starts with the connection, not when the wrapper is built", () => {
  const clock = new Clock();
  const factory = new TimeoutFactory(Factory.forProtocol(Protocol), {
    timeoutPeriod: 5,
    clock,
  });
  const built = factory.buildProtocol(addr()) as TimeoutProtocol;
  assertEquals(clock.getDelayedCalls(), []);
  clock.advance(4);
  built.makeConnection(new StringTransport());
  clock.advance(4);
  assertFalse(built.transport.disconnecting);
  clock.advance(1);
  assert(built.transport.disconnecting);

  // A period chosen before the connection stands; so does a cancelled one.
  const chosen = new TimeoutProtocol(factory, new Protocol(), 5);
  chosen.setTimeout(60);
  chosen.makeConnection(new StringTransport());
  assertEquals(chosen.timeoutPeriod, 60);
  chosen.cancelTimeout();
  const cancelled = new TimeoutProtocol(factory, new Protocol());
  cancelled.cancelTimeout();
  cancelled.makeConnection(new StringTransport());
  assertEquals(cancelled.timeoutCall, null);
  assertEquals(clock.getDelayedCalls(), []);
});

Deno.test("TimeoutProtocol.cancelTimeout cancels a running countdown", () => {
  const { clock, proto, wrapped } = timeoutSetup(null);
  assertEquals(proto.timeoutCall, null);
  proto.setTimeout(3);
  assert(proto.timeoutCall !== null);
  clock.advance(1);
  proto.cancelTimeout();
  assertEquals(proto.timeoutCall, null);
  assertEquals(proto.timeoutPeriod, null);
  clock.advance(3);
  assertFalse(wrapped.disconnected);
});

Deno.test("TimeoutProtocol.cancelTimeout does nothing with no countdown, one that has run, or one cancelled elsewhere", () => {
  const none = timeoutSetup(null);
  none.proto.cancelTimeout();
  assertFalse(none.wrapped.disconnected);

  const ran = timeoutSetup(null);
  ran.proto.setTimeout(3);
  ran.clock.advance(3);
  assert(ran.wrapped.disconnected);
  ran.proto.cancelTimeout();
  ran.proto.resetTimeout(); // and writes after it are harmless

  const elsewhere = timeoutSetup(null);
  elsewhere.proto.setTimeout(3);
  elsewhere.proto.timeoutCall!.cancel();
  elsewhere.proto.cancelTimeout();
  assertFalse(elsewhere.wrapped.disconnected);
});

Deno.test("TimeoutProtocol.timeoutFunc can be overridden", () => {
  const clock = new Clock();
  const fired: string[] = [];
  class Warn extends TimeoutProtocol {
    override timeoutFunc(): void {
      fired.push("timeout");
      this.write("idle\r\n");
    }
  }
  const factory = new TimeoutFactory(Factory.forProtocol(Protocol), {
    timeoutPeriod: 2,
    clock,
  });
  factory.wrapperClass = Warn;
  const { transport } = connectWrapper(factory);
  clock.advance(2);
  assertEquals(fired, ["timeout"]);
  assertEquals(decode(transport.value()), "idle\r\n");
  assertFalse(transport.disconnecting);
});

// -- TimeoutMixin and IdleTimeout ----------------------------------------------

/** Twisted's TimeoutTester: times out after 3 s, reset by data. */
class TimeoutTester extends TimeoutMixin(Protocol) {
  override timeOut: number | null = 3;
  timedOut = false;
  constructor(clock: Clock) {
    super();
    this.clock = clock;
  }
  override connectionMade(): void {
    this.setTimeout(this.timeOut);
  }
  override dataReceived(_data: Uint8Array): void {
    this.resetTimeout();
  }
  override connectionLost(): void {
    this.setTimeout(null);
  }
  override timeoutConnection(): void {
    this.timedOut = true;
  }
}

Deno.test("TimeoutMixin schedules on the injected clock", () => {
  const clock = new Clock();
  const proto = new TimeoutTester(clock);
  proto.setTimeout(10);
  assertEquals(clock.calls.length, 1);
  proto.setTimeout(null);
});

Deno.test("TimeoutMixin times out at timeOut seconds", () => {
  const clock = new Clock();
  const proto = new TimeoutTester(clock);
  proto.makeConnection(new StringTransport());
  clock.pump([0, 0.5, 1, 1]);
  assertFalse(proto.timedOut);
  clock.pump([0, 1]);
  assert(proto.timedOut);
});

Deno.test("TimeoutMixin: receiving data delays the timeout", () => {
  const clock = new Clock();
  const proto = new TimeoutTester(clock);
  proto.makeConnection(new StringTransport());
  clock.pump([0, 0.5, 1, 1]);
  assertFalse(proto.timedOut);
  proto.dataReceived(encode("hello there"));
  clock.pump([0, 1, 1, 0.5]);
  assertFalse(proto.timedOut);
  clock.pump([0, 1]);
  assert(proto.timedOut);
});

Deno.test("TimeoutMixin: setTimeout replaces the period and restarts the countdown", () => {
  const clock = new Clock();
  const proto = new TimeoutTester(clock);
  proto.timeOut = null;
  proto.makeConnection(new StringTransport());
  assertEquals(clock.calls, []);
  proto.setTimeout(1);
  assertEquals(proto.timeOut, 1);
  clock.pump([0, 0.9]);
  assertFalse(proto.timedOut);
  clock.pump([0, 0.2]);
  assert(proto.timedOut);
});

Deno.test("TimeoutMixin: setTimeout(null) cancels the timeout", () => {
  const clock = new Clock();
  const proto = new TimeoutTester(clock);
  proto.timeOut = 5;
  proto.makeConnection(new StringTransport());
  proto.setTimeout(null);
  assertEquals(proto.timeOut, null);
  clock.pump([0, 5, 5, 5]);
  assertFalse(proto.timedOut);
  assertEquals(clock.calls, []);
});

Deno.test("TimeoutMixin: setTimeout returns the previous period", () => {
  const clock = new Clock();
  const proto = new TimeoutTester(clock);
  proto.timeOut = 5;
  assertEquals(proto.setTimeout(10), 5);
  assertEquals(proto.setTimeout(null), 10);
  assertEquals(proto.setTimeout(1), null);
  assertEquals(proto.timeOut, 1);
  proto.setTimeout(null);
  assertEquals(clock.calls, []);
});

Deno.test("TimeoutMixin: setTimeout(null) after the call was cancelled elsewhere does not throw, and it can be armed again", () => {
  const clock = new Clock();
  const proto = new TimeoutTester(clock);
  proto.setTimeout(3);
  clock.getDelayedCalls()[0].cancel();
  assertEquals(proto.timeOut, 3);
  proto.resetTimeout(); // nothing to reset
  proto.setTimeout(null);
  assertEquals(proto.timeOut, null);
  proto.setTimeout(2);
  clock.advance(2);
  assert(proto.timedOut);
  proto.timedOut = false;
  proto.setTimeout(2); // armed again after firing
  clock.advance(2);
  assert(proto.timedOut);
});

Deno.test("TimeoutMixin: the default timeoutConnection loses the connection; connectionLost disarms", () => {
  const clock = new Clock();
  class Idle extends TimeoutMixin(LineReceiver) {
    lines: string[] = [];
    override connectionMade(): void {
      this.setTimeout(10);
    }
    override lineReceived(line: Uint8Array): void {
      this.resetTimeout();
      this.lines.push(decode(line));
    }
    override connectionLost(): void {
      this.setTimeout(null);
    }
  }
  const p = new Idle();
  p.clock = clock;
  const transport = new StringTransport();
  p.makeConnection(transport);
  clock.advance(9);
  p.dataReceived(encode("still here\r\n"));
  assertEquals(p.lines, ["still here"]);
  clock.advance(9);
  assertFalse(transport.disconnecting);
  clock.advance(1);
  assert(transport.disconnecting);
  assertFalse(transport.aborted);

  const q = new Idle();
  q.clock = clock;
  q.makeConnection(new StringTransport());
  q.connectionLost();
  assertEquals(clock.calls, []);
});

Deno.test("TimeoutMixin moves a running countdown to a clock set after makeConnection", () => {
  class Idle extends TimeoutMixin(Protocol) {
    override timeOut: number | null = 10;
    override connectionMade(): void {
      this.setTimeout(this.timeOut); // armed before the test sets its clock
    }
    override dataReceived(_data: Uint8Array): void {
      this.resetTimeout();
    }
  }
  const before = reactor.getDelayedCalls().length;
  const p = new Idle();
  const transport = new StringTransport();
  p.makeConnection(transport);
  const clock = new Clock();
  p.clock = clock;
  assertStrictEquals(p.clock, clock);
  assertEquals(reactor.getDelayedCalls().length, before); // nothing left behind
  assertEquals(clock.calls.length, 1);
  clock.advance(9);
  p.dataReceived(encode("x"));
  clock.advance(9);
  assertFalse(transport.disconnecting);
  clock.advance(1);
  assert(transport.disconnecting);
  assertEquals(clock.calls, []);
});

Deno.test("TimeoutMixin: a countdown moved to another clock keeps the time it had left", () => {
  const first = new Clock();
  const p = new TimeoutTester(first);
  p.setTimeout(10);
  first.advance(4);
  const second = new Clock();
  p.clock = second;
  assertEquals(first.calls, []);
  assertEquals(second.getDelayedCalls().map((c) => c.getTime()), [6]);
  second.advance(5.9);
  assertFalse(p.timedOut);
  second.advance(0.1);
  assert(p.timedOut);
});

Deno.test("TimeoutMixin keeps a clock the base class set, and callLater can be overridden", () => {
  const clock = new Clock();
  class Clocked extends Protocol {
    clock: Clock = clock;
  }
  const timed = new (TimeoutMixin(Clocked))();
  assertStrictEquals(timed.clock, clock);
  timed.setTimeout(1);
  assertEquals(clock.calls.length, 1);
  timed.setTimeout(null);

  // Assigned in the base constructor, before the mixin's own state exists.
  class Assigning extends Protocol {
    declare clock: Clock;
    constructor() {
      super();
      this.clock = clock;
    }
  }
  const assigned = new (TimeoutMixin(Assigning))();
  assertStrictEquals(assigned.clock, clock);
  assertFalse(Object.hasOwn(assigned, "clock")); // the accessor is in charge
  assigned.setTimeout(1);
  assertEquals(clock.calls.length, 1);
  assigned.clock = new Clock(); // moves the countdown
  assertEquals(clock.calls, []);
  assigned.setTimeout(null);

  const periods: number[] = [];
  class Hooked extends TimeoutMixin(Protocol) {
    override callLater(period: number, f: () => void): IDelayedCall {
      periods.push(period);
      return clock.callLater(period, f);
    }
  }
  const hooked = new Hooked();
  hooked.setTimeout(7);
  assertEquals(periods, [7]);
  hooked.setTimeout(null);
  assertThrows(() => hooked.setTimeout(-1), RangeError, 'Invalid timeout "-1"');
  assertThrows(() => hooked.setTimeout(NaN), RangeError);
});

Deno.test("IdleTimeout fires once after its period, is reset by activity, and returns the previous period", () => {
  const clock = new Clock();
  let fired = 0;
  const t = new IdleTimeout({ onTimeout: () => fired++, clock });
  assertFalse(t.active);
  t.resetTimeout(); // disarmed: nothing to reset
  assertEquals(clock.calls, []);
  assertEquals(t.setTimeout(10), null);
  assert(t.active);
  clock.advance(9);
  t.resetTimeout();
  clock.advance(9);
  assertEquals(fired, 0);
  clock.advance(1);
  assertEquals(fired, 1);
  assertFalse(t.active);
  clock.advance(100);
  assertEquals(fired, 1);
  assertEquals(t.setTimeout(5), 10); // armed again
  assertEquals(t.setTimeout(7), 5); // a new period restarts from now
  clock.advance(6);
  assertEquals(fired, 1);
  assertEquals(t.setTimeout(null), 7);
  clock.advance(100);
  assertEquals(fired, 1);
  assertEquals(clock.getDelayedCalls(), []);
});

// -- TrafficLoggingFactory and SpewingFactory ----------------------------------

class WriteSequenceEcho extends EchoProtocol {
  override dataReceived(data: Uint8Array): void {
    if (decode(data).includes("vector!")) this.transport.writeSequence([data]);
    else super.dataReceived(data);
  }
}

class MemoryLoggingFactory extends TrafficLoggingFactory {
  logs: Map<string, string> = new Map();
  closed: string[] = [];
  override open(name: string): TrafficLog {
    this.logs.set(name, "");
    return {
      write: (text) => this.logs.set(name, this.logs.get(name) + text),
      close: () => this.closed.push(name),
    };
  }
}

Deno.test("TrafficLoggingFactory logs connection, data both ways, writeSequence, close and loss in Twisted's format", () => {
  const server = new Server();
  server.protocol = WriteSequenceEcho;
  const factory = new MemoryLoggingFactory(server, "test");
  const { wrapper, transport } = connectWrapper<TrafficLoggingProtocol>(
    factory,
  );
  const text = (): string => factory.logs.get("test-1")!;
  assertEquals(text(), "*\n");
  assertEquals(transport.value().length, 0);
  wrapper.dataReceived(encode("here are some bytes"));
  assertStringIncludes(text(), "C 1: b'here are some bytes'\n");
  assertStringIncludes(text(), "S 1: b'here are some bytes'\n");
  assertEquals(decode(transport.value()), "here are some bytes");
  transport.clear();
  wrapper.dataReceived(encode("prepare for vector! to the extreme"));
  assertStringIncludes(
    text(),
    "SV 1: [b'prepare for vector! to the extreme']\n",
  );
  assertEquals(decode(transport.value()), "prepare for vector! to the extreme");
  assertEquals(factory.closed, []);
  wrapper.loseConnection();
  assertStringIncludes(text(), "S 1: *\n");
  assertStringIncludes(text(), "C 1: [Failure instance: ConnectionDone:");
  assertEquals(factory.closed, ["test-1"]);
});

Deno.test("TrafficLoggingFactory numbers connections, resetCounter starts again, and lengthLimit elides", () => {
  const factory = new MemoryLoggingFactory(new Server(), "test", {
    lengthLimit: 20,
  });
  assertEquals(factory.counter, 0);
  factory.buildProtocol(addr());
  assertEquals(factory.counter, 1);
  const { wrapper } = connectWrapper(factory);
  assertEquals(factory.counter, 2);
  assertEquals([...factory.logs.keys()], ["test-1", "test-2"]);
  wrapper.dataReceived(encode("0123456789abcdefghijklmnop"));
  assertStringIncludes(
    factory.logs.get("test-2")!,
    "C 2: b'01234567<... elided>'\n",
  );
  wrapper.dataReceived(encode('it\'s "quoted"\t\x00\xff'));
  assertStringIncludes(
    factory.logs.get("test-2")!,
    "C 2: b'it\\'s \"quoted\"\\t\\x00\\xc3\\xbf'\n",
  );
  factory.resetCounter();
  assertEquals(factory.counter, 0);
});

Deno.test({
  name: "TrafficLoggingFactory writes each connection's log to its own file",
  ignore: Deno.permissions.querySync({
        name: "write",
        path: "/tmp/twist-tests",
      }).state !== "granted" ||
    Deno.permissions.querySync({ name: "read", path: "/tmp/twist-tests" })
        .state !== "granted",
  fn() {
    Deno.mkdirSync("/tmp/twist-tests", { recursive: true });
    const prefix = `/tmp/twist-tests/traffic-${crypto.randomUUID()}`;
    const factory = new TrafficLoggingFactory(new Server(), prefix);
    try {
      const first = connectWrapper(factory);
      const second = connectWrapper(factory);
      first.wrapper.dataReceived(encode("ping"));
      first.transport.loseConnection();
      second.transport.loseConnection();
      const one = Deno.readTextFileSync(`${prefix}-1`);
      assert(one.startsWith("*\nC 1: b'ping'\nS 1: b'ping'\nC 1: [Failure"));
      assertEquals(
        Deno.readTextFileSync(`${prefix}-2`).split("\n")[0],
        "*",
      );
    } finally {
      for (const n of [1, 2]) Deno.removeSync(`${prefix}-${n}`);
    }
  },
});

Deno.test("SpewingFactory logs what each connection receives and sends", () => {
  using logs = log.capture();
  const factory = new SpewingFactory(new Server());
  const { wrapper } = connectWrapper(factory);
  wrapper.dataReceived(encode("echo\r\n"));
  assertEquals(
    logs.events.map((e) => e.message).filter((m) => /^(Rec|Send)/.test(m)),
    ["Received: b'echo\\r\\n'", "Sending: b'echo\\r\\n'"],
  );
});
