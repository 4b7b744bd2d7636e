import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertLessOrEqual,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { Reactor } from "../../src/internet/reactor.ts";
import {
  ClientFactory,
  Factory,
  Protocol,
} from "../../src/internet/protocol.ts";
import type { Failure } from "../../src/internet/failure.ts";
import { Clock } from "../../src/internet/task/clock.ts";
import type { DelayedCall } from "../../src/internet/base.ts";
import type {
  IConnector,
  IPushProducer,
} from "../../src/internet/interfaces.ts";
import { IPv4Address, IPv6Address } from "../../src/internet/address.ts";
import {
  CannotListenError,
  ConnectError,
  ConnectionAborted,
  ConnectionDone,
  ConnectionLost,
  ConnectionRefusedError,
  DNSLookupError,
  NoRouteError,
  TCPTimedOutError,
  TimeoutError,
  UserError,
} from "../../src/internet/error.ts";
import { log } from "../../src/logger.ts";
import { connectError, listenErrorDetail } from "../../src/internet/tcp.ts";
import { Port, type StreamBinding } from "../../src/internet/stream/port.ts";
import {
  setStreamBackend,
  streamBackend,
} from "../../src/internet/stream/backend.ts";
import {
  Connector,
  type StreamDialer,
} from "../../src/internet/stream/connector.ts";
import { decode, DENO, denoFlags, encode, withTimeout } from "../_helpers.ts";
import { freePort } from "../_processes.ts";

const portOf = (port: { getHost(): unknown }): number =>
  (port.getHost() as IPv4Address).port;

/** A protocol that records everything that happens to it. */
class Recorder extends Protocol {
  events: string[] = [];
  received: Uint8Array[] = [];
  reason: Failure | undefined;
  readonly made = Promise.withResolvers<void>();
  readonly lost = Promise.withResolvers<Failure>();

  override connectionMade(): void {
    this.events.push("connectionMade");
    this.made.resolve();
  }

  override dataReceived(data: Uint8Array): void {
    if (this.events.at(-1) !== "dataReceived") this.events.push("dataReceived");
    this.received.push(data);
  }

  override connectionLost(reason: Failure): void {
    this.events.push("connectionLost");
    this.reason = reason;
    this.lost.resolve(reason);
  }

  text(): string {
    return this.received.map(decode).join("");
  }
}

class Echo extends Protocol {
  override dataReceived(data: Uint8Array): void {
    this.transport.write(data);
  }
}

/** A factory that remembers the protocols it builds and its start/stop calls. */
class RecordingFactory<P extends Protocol> extends ClientFactory {
  built: P[] = [];
  calls: string[] = [];
  failed = Promise.withResolvers<Failure>();
  lostReason = Promise.withResolvers<Failure>();
  /** Resolves with the first protocol built. */
  readonly first = Promise.withResolvers<P>();
  readonly #make: () => P;

  constructor(make: () => P) {
    super();
    this.#make = make;
    this.noisy = false;
  }

  override buildProtocol(): P {
    const p = this.#make();
    p.factory = this;
    this.built.push(p);
    this.first.resolve(p);
    return p;
  }

  override startFactory(): void {
    this.calls.push("startFactory");
  }

  override stopFactory(): void {
    this.calls.push("stopFactory");
  }

  override startedConnecting(_c: IConnector): void {
    this.calls.push("startedConnecting");
  }

  override clientConnectionFailed(_c: IConnector, reason: Failure): void {
    this.calls.push("clientConnectionFailed");
    this.failed.resolve(reason);
  }

  override clientConnectionLost(_c: IConnector, reason: Failure): void {
    this.calls.push("clientConnectionLost");
    this.lostReason.resolve(reason);
  }
}

Deno.test("TCP: call order from factory start to stop, with connectionLost once and ConnectionDone", async () => {
  const reactor = new Reactor();
  const serverFactory = new RecordingFactory(() => new Recorder());
  const port = reactor.listenTCP(0, serverFactory, { interface: "127.0.0.1" });
  assertEquals(serverFactory.calls, ["startFactory"]);
  const clientFactory = new RecordingFactory(() => new Recorder());
  const connector = reactor.connectTCP(
    "127.0.0.1",
    portOf(port),
    clientFactory,
  );
  assertEquals(clientFactory.calls, ["startFactory", "startedConnecting"]);
  assertEquals(connector.state, "connecting");
  assertEquals(
    connector.getDestination(),
    new IPv4Address("TCP", "127.0.0.1", portOf(port)),
  );
  const client = await connectionOf(clientFactory, "client connectionMade");
  client.transport.write("hello");
  await waitFor(() =>
    serverFactory.built[0]?.received.length ? true : undefined
  );
  const server = serverFactory.built[0];
  client.transport.loseConnection();
  client.transport.loseConnection(); // idempotent
  const [serverReason, clientReason] = await withTimeout(
    Promise.all([server.lost.promise, client.lost.promise]),
    5000,
    "both sides' connectionLost",
  );
  assert(clientReason.check(ConnectionDone), `client: ${clientReason}`);
  assert(serverReason.check(ConnectionDone), `server: ${serverReason}`);
  assertEquals(server.events, [
    "connectionMade",
    "dataReceived",
    "connectionLost",
  ]);
  assertEquals(client.events, ["connectionMade", "connectionLost"]);
  assertEquals(server.text(), "hello");
  assertEquals(client.connected, false);
  await clientFactory.lostReason.promise;
  assertEquals(clientFactory.calls, [
    "startFactory",
    "startedConnecting",
    "clientConnectionLost",
    "stopFactory",
  ]);
  assertEquals(connector.state, "disconnected");
  await port.stopListening();
  assertEquals(serverFactory.calls, ["startFactory", "stopFactory"]);
});

/**
 * The first protocol `factory` builds, once its connection is made (a
 * protocol is connected as soon as it is built; a `Recorder` is waited on
 * until its `connectionMade` too).
 */
function connectionOf<P extends Protocol>(
  factory: RecordingFactory<P>,
  what = "a connection",
): Promise<P> {
  return withTimeout(
    factory.first.promise.then(async (p) => {
      if (p instanceof Recorder) await p.made.promise;
      return p;
    }),
    5000,
    what,
  );
}

/**
 * Polls `f` (each macrotask) until it returns something, for at most 5 s:
 * for conditions no callback announces (bytes echoed, log lines, timers).
 */
async function waitFor<T>(
  f: () => T | undefined | false,
  ms = 5000,
): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (performance.now() > deadline) {
      throw new Error("Timed out waiting for a condition");
    }
    await new Promise((r) => setTimeout(r, 1));
  }
}

async function connectedPair<S extends Protocol, C extends Protocol>(
  reactor: Reactor,
  makeServer: () => S,
  makeClient: () => C,
  host = "127.0.0.1",
): Promise<
  {
    server: S;
    client: C;
    port: Port;
    serverFactory: RecordingFactory<S>;
    clientFactory: RecordingFactory<C>;
  }
> {
  const serverFactory = new RecordingFactory(makeServer);
  const port = reactor.listenTCP(0, serverFactory, { interface: host }) as Port;
  const clientFactory = new RecordingFactory(makeClient);
  reactor.connectTCP(host, portOf(port), clientFactory);
  const client = await connectionOf(clientFactory, "the client side");
  const server = await connectionOf(serverFactory, "the server side");
  return { server, client, port, serverFactory, clientFactory };
}

/** A Twist client connected to a plain `Deno.Conn` (`raw`) on loopback. */
async function connectToRawPeer(reactor: Reactor): Promise<
  { listener: Deno.TcpListener; raw: Deno.Conn; client: Recorder }
> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const factory = new RecordingFactory(() => new Recorder());
  reactor.connectTCP("127.0.0.1", listener.addr.port, factory);
  const raw = await listener.accept();
  const client = await connectionOf(factory);
  return { listener, raw, client };
}

Deno.test("TCP: abortConnection reports ConnectionAborted locally; the peer sees a clean close (ConnectionDone) on Linux", async () => {
  const reactor = new Reactor();
  const { server, client, port } = await connectedPair(
    reactor,
    () => new Recorder(),
    () => new Recorder(),
  );
  client.transport.write("this is dropped or sent, but never waited for");
  client.transport.abortConnection();
  const [clientReason, serverReason] = await withTimeout(
    Promise.all([client.lost.promise, server.lost.promise]),
    5000,
    "connectionLost after abort",
  );
  assert(clientReason.check(ConnectionAborted), `client: ${clientReason}`);
  // Deno cannot send a reset (no SO_LINGER), and a pending read reports one
  // as the end of stream anyway: the peer sees the close as clean.
  assert(serverReason.check(ConnectionDone), `server: ${serverReason}`);
  assertEquals(client.events.filter((e) => e === "connectionLost").length, 1);
  await port.stopListening();
});

Deno.test("TCP: a peer reset during a write reaches connectionLost as ConnectionLost", async () => {
  // Deno reports a reset seen by a pending read() as end of stream (null);
  // a write in progress sees it as a reset or broken pipe.
  const reactor = new Reactor();
  const { listener, raw, client } = await connectToRawPeer(reactor);
  client.transport.write(new Uint8Array(16 * 1024 * 1024).fill(7)); // far more than the socket buffers hold
  // Read one byte so the rest is known to sit unread in the kernel: closing
  // with unread data sends a reset.
  await raw.read(new Uint8Array(1));
  raw.close();
  const reason = await withTimeout(
    client.lost.promise,
    5000,
    "connectionLost after reset",
  );
  assert(reason.check(ConnectionLost), `got ${reason}`);
  listener.close();
});

/** A pattern of bytes: byte i of the stream is (i * 7 + (i >> 13)) & 0xff. */
function fillPattern(buf: Uint8Array, offset: number): void {
  for (let i = 0; i < buf.length; i++) {
    buf[i] = ((offset + i) * 7 + ((offset + i) >> 13)) & 0xff;
  }
}

Deno.test("TCP: 64 MiB echoed and checked byte for byte, with a streaming producer", async () => {
  const TOTAL = 64 * 1024 * 1024;
  const CHUNK = 256 * 1024;
  const reactor = new Reactor();
  class Sender extends Recorder implements IPushProducer {
    sent = 0;
    paused = false;
    checked = 0;
    mismatch = -1;
    maxBuffered = 0;
    done = Promise.withResolvers<void>();
    expected = new Uint8Array(0);
    override connectionMade(): void {
      super.connectionMade();
      this.transport.registerProducer(this, true);
      this.#produce();
    }
    #produce(): void {
      while (!this.paused && this.sent < TOTAL) {
        const chunk = new Uint8Array(Math.min(CHUNK, TOTAL - this.sent));
        fillPattern(chunk, this.sent);
        this.sent += chunk.length;
        this.transport.write(chunk);
        const transport = this.transport as unknown as {
          getWriteBufferSize(): number;
        };
        this.maxBuffered = Math.max(
          this.maxBuffered,
          transport.getWriteBufferSize(),
        );
      }
      if (this.sent >= TOTAL) this.transport.unregisterProducer();
    }
    pauseProducing(): void {
      this.paused = true;
    }
    resumeProducing(): void {
      this.paused = false;
      queueMicrotask(() => this.#produce());
    }
    stopProducing(): void {
      this.paused = true;
    }
    override dataReceived(data: Uint8Array): void {
      if (this.expected.length < data.length) {
        this.expected = new Uint8Array(data.length);
      }
      const want = this.expected.subarray(0, data.length);
      fillPattern(want, this.checked);
      if (this.mismatch < 0) {
        for (let i = 0; i < data.length; i++) {
          if (data[i] !== want[i]) {
            this.mismatch = this.checked + i;
            break;
          }
        }
      }
      this.checked += data.length;
      if (this.checked >= TOTAL) this.done.resolve();
    }
  }
  const { client, port } = await connectedPair(
    reactor,
    () => new Echo(),
    () => new Sender(),
  );
  await withTimeout(client.done.promise, 60_000, "64 MiB to come back");
  assertEquals(client.mismatch, -1);
  assertEquals(client.checked, TOTAL);
  // The producer was paused: the buffer never held more than the high-water
  // mark plus one chunk.
  assertLessOrEqual(client.maxBuffered, 65_536 + CHUNK);
  client.transport.loseConnection();
  await client.lost.promise;
  await port.stopListening();
});

Deno.test("TCP: many small writes arrive in order", async () => {
  const reactor = new Reactor();
  const { server, client, port } = await connectedPair(
    reactor,
    () => new Recorder(),
    () => new Recorder(),
  );
  const expected: string[] = [];
  for (let i = 0; i < 5000; i++) {
    const s = `${i},`;
    expected.push(s);
    if (i % 3 === 0) {
      client.transport.writeSequence([s.slice(0, 1), s.slice(1)]);
    } else client.transport.write(encode(s));
  }
  client.transport.loseConnection();
  await withTimeout(server.lost.promise, 5000, "server connectionLost");
  assertEquals(server.text(), expected.join(""));
  await port.stopListening();
});

Deno.test("TCP: half-close both ways with half-closeable protocols", async () => {
  const reactor = new Reactor();
  class HalfServer extends Recorder {
    override dataReceived(data: Uint8Array): void {
      super.dataReceived(data);
    }
    readConnectionLost(): void {
      this.events.push("readConnectionLost");
      // The peer finished sending: answer, then close.
      this.transport.write(`got ${this.text()}`);
      this.transport.loseConnection();
    }
    writeConnectionLost(): void {
      this.events.push("writeConnectionLost");
    }
  }
  class HalfClient extends Recorder {
    override connectionMade(): void {
      super.connectionMade();
      this.transport.write("request");
      this.transport.loseWriteConnection();
      // As in Twisted, the write half closes once the buffer is sent: a write
      // made before that still goes out.
      this.transport.write(", and more");
    }
    readConnectionLost(): void {
      this.events.push("readConnectionLost");
    }
    writeConnectionLost(): void {
      this.events.push("writeConnectionLost");
      this.transport.write("dropped after the half-close");
    }
  }
  const { server, client, port } = await connectedPair(
    reactor,
    () => new HalfServer(),
    () => new HalfClient(),
  );
  const [s, c] = await withTimeout(
    Promise.all([server.lost.promise, client.lost.promise]),
    5000,
    "both closed",
  );
  assert(s.check(ConnectionDone), `server: ${s}`);
  assert(c.check(ConnectionDone), `client: ${c}`);
  assertEquals(server.text(), "request, and more");
  assertEquals(client.text(), "got request, and more");
  assertEquals(server.events, [
    "connectionMade",
    "dataReceived",
    "readConnectionLost",
    "connectionLost",
  ]);
  assertEquals(client.events, [
    "connectionMade",
    "writeConnectionLost",
    "dataReceived",
    "readConnectionLost",
    "connectionLost",
  ]);
  await port.stopListening();
});

Deno.test("TCP: a protocol that is not half-closeable still sends its answer when the peer half-closes", async () => {
  const reactor = new Reactor();
  class Answer extends Recorder {
    override dataReceived(data: Uint8Array): void {
      super.dataReceived(data);
      this.transport.write(new Uint8Array(1024 * 1024).fill(1)); // more than one write's worth
    }
  }
  const { server, port } = await connectedPair(
    reactor,
    () => new Answer(),
    () => new Recorder(),
  );
  const raw = await Deno.connect({ hostname: "127.0.0.1", port: portOf(port) });
  await raw.write(encode("question"));
  await raw.closeWrite();
  let total = 0;
  const buf = new Uint8Array(65536);
  for (let n = await raw.read(buf); n !== null; n = await raw.read(buf)) {
    total += n;
  }
  raw.close();
  assertEquals(total, 1024 * 1024);
  server.transport.loseConnection();
  await port.stopListening();
});

Deno.test("TCP: a slow reader pauses a streaming producer and memory stays bounded", async () => {
  const reactor = new Reactor();
  const CHUNK = 16 * 1024;
  const TOTAL = 32 * 1024 * 1024;
  class Producer extends Recorder implements IPushProducer {
    sent = 0;
    paused = false;
    pauses = 0;
    maxBuffered = 0;
    override connectionMade(): void {
      super.connectionMade();
      this.transport.registerProducer(this, true);
      this.resumeProducing();
    }
    pauseProducing(): void {
      this.paused = true;
      this.pauses++;
    }
    resumeProducing(): void {
      this.paused = false;
      while (!this.paused && this.sent < TOTAL) {
        this.transport.write(new Uint8Array(CHUNK));
        this.sent += CHUNK;
        this.maxBuffered = Math.max(
          this.maxBuffered,
          this.transport.getWriteBufferSize(),
        );
      }
      if (this.sent >= TOTAL) {
        this.transport.unregisterProducer();
        this.transport.loseConnection();
      }
    }
    stopProducing(): void {
      this.paused = true;
    }
  }
  /** Reads slowly: pauses after every chunk and resumes a turn later. */
  class SlowReader extends Recorder {
    count = 0;
    override dataReceived(data: Uint8Array): void {
      this.count += data.length;
      this.transport.pauseProducing();
      reactor.callLater(0, () => this.transport.resumeProducing());
    }
  }
  const { server, client, port } = await connectedPair(
    reactor,
    () => new Producer(),
    () => new SlowReader(),
  );
  await withTimeout(client.lost.promise, 60_000, "the whole stream");
  assertEquals(client.count, TOTAL);
  assert(server.pauses > 0, "the producer was never paused");
  assertLessOrEqual(server.maxBuffered, 65_536 + CHUNK);
  await port.stopListening();
});

Deno.test("TCP: pauseProducing stops dataReceived until resumeProducing", async () => {
  const reactor = new Reactor();
  const { server, client, port } = await connectedPair(
    reactor,
    () => new Recorder(),
    () => new Recorder(),
  );
  server.transport.pauseProducing();
  client.transport.write("while paused");
  // Give the bytes time to arrive; none may be delivered while paused.
  await new Promise<void>((r) => reactor.callLater(0.05, () => r()));
  assertEquals(server.received.length, 0);
  server.transport.resumeProducing();
  await waitFor(() => server.text() === "while paused");
  client.transport.loseConnection();
  await server.lost.promise;
  await port.stopListening();
});

Deno.test("TCP: connection refused reaches clientConnectionFailed", async () => {
  const reactor = new Reactor();
  const factory = new RecordingFactory(() => new Recorder());
  reactor.connectTCP("127.0.0.1", freePort(), factory);
  const reason = await withTimeout(
    factory.failed.promise,
    5000,
    "clientConnectionFailed",
  );
  assert(reason.check(ConnectionRefusedError), `got ${reason}`);
  assertInstanceOf(
    (reason.value as Error).cause,
    Deno.errors.ConnectionRefused,
  );
  assertEquals(factory.calls, [
    "startFactory",
    "startedConnecting",
    "clientConnectionFailed",
    "stopFactory",
  ]);
});

/** A reactor whose timed calls run on a `Clock`, so timeouts can be forced. */
class ClockedReactor extends Reactor {
  clock = new Clock();
  override callLater<A extends unknown[]>(
    delay: number,
    f: (...args: A) => unknown,
    ...args: A
  ): DelayedCall {
    // The Clock makes the same DelayedCall objects the reactor does.
    return this.clock.callLater(delay, f, ...args) as DelayedCall;
  }
}

/**
 * Checks that an attempt given up left no live connection on `listener`:
 * `Deno.connect` completes it and Twist closes it; `node:net` gives it up
 * before it is made, so the first connection accepted is a later one.
 */
async function assertAbandoned(listener: Deno.Listener): Promise<void> {
  if (streamBackend() === "deno") {
    const raw = await listener.accept();
    assertEquals(await raw.read(new Uint8Array(1)), null);
    raw.close();
    return;
  }
  const marker = await Deno.connect({
    hostname: "127.0.0.1",
    port: (listener.addr as Deno.NetAddr).port,
  });
  const raw = await listener.accept();
  assertEquals(
    (raw.remoteAddr as Deno.NetAddr).port,
    (marker.localAddr as Deno.NetAddr).port,
  );
  raw.close();
  marker.close();
}

Deno.test("TCP: the connect timeout fails the attempt with TimeoutError", async () => {
  const reactor = new ClockedReactor();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const factory = new RecordingFactory(() => new Recorder());
  reactor.connectTCP(
    "127.0.0.1",
    (listener.addr as Deno.NetAddr).port,
    factory,
    { timeout: 5 },
  );
  reactor.clock.advance(4.9);
  assertEquals(factory.calls, ["startFactory", "startedConnecting"]);
  reactor.clock.advance(0.1);
  const reason = await factory.failed.promise;
  assert(reason.check(TimeoutError), `got ${reason}`);
  await assertAbandoned(listener);
  listener.close();
  assertEquals(factory.built.length, 0);
});

Deno.test("TCP: stopConnecting fails the attempt with UserError; bindAddress is refused clearly", async () => {
  const reactor = new Reactor();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const factory = new RecordingFactory(() => new Recorder());
  const connector = reactor.connectTCP("127.0.0.1", port, factory);
  connector.stopConnecting();
  const reason = await factory.failed.promise;
  assert(reason.check(UserError));
  await assertAbandoned(listener);
  listener.close();
  const err = assertThrows(
    () =>
      reactor.connectTCP("127.0.0.1", port, factory, {
        bindAddress: ["127.0.0.1", 0],
      }),
    TypeError,
  );
  assertStringIncludes(
    err.message,
    "Deno.connect does not support binding a local address",
  );
});

Deno.test("TCP: a port in use and a bad interface raise CannotListenError", () => {
  const reactor = new Reactor();
  const factory = Factory.forProtocol(Echo);
  factory.noisy = false;
  const port = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
  const err = assertThrows(
    () => reactor.listenTCP(portOf(port), factory, { interface: "127.0.0.1" }),
    CannotListenError,
  );
  assertStringIncludes(
    err.message,
    `"127.0.0.1:${portOf(port)}": address in use`,
  );
  assertThrows(
    () => reactor.listenTCP(0, factory, { interface: "192.0.2.1" }),
    CannotListenError,
  );
  assertThrows(() => reactor.listenTCP(70000, factory), RangeError);
  return port.stopListening().asPromise();
});

Deno.test("TCP: port 0 picks a free port and getHost tells it", async () => {
  const reactor = new Reactor();
  const factory = Factory.forProtocol(Echo);
  factory.noisy = false;
  const port = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
  const host = port.getHost();
  assertInstanceOf(host, IPv4Address);
  assertEquals(host.host, "127.0.0.1");
  assert(host.port > 0);
  await port.stopListening();
});

Deno.test("TCP: echo over IPv6 ::1", async () => {
  const reactor = new Reactor();
  let port: Port;
  try {
    port = reactor.listenTCP(0, Factory.forProtocol(Echo), {
      interface: "::1",
    }) as Port;
  } catch (e) {
    // deno-lint-ignore no-console
    console.log(
      `skipped: IPv6 loopback unavailable here (${(e as Error).message})`,
    );
    return;
  }
  assertInstanceOf(port.getHost(), IPv6Address);
  const factory = new RecordingFactory(() => new Recorder());
  reactor.connectTCP("::1", portOf(port), factory);
  const client = await connectionOf(factory);
  assertInstanceOf(client.transport.getPeer(), IPv6Address);
  client.transport.write("over v6");
  await waitFor(() => client.text() === "over v6");
  client.transport.loseConnection();
  await client.lost.promise;
  await port.stopListening();
});

Deno.test("TCP: stopListening fires once the port is closed, and new connections are refused", async () => {
  const reactor = new Reactor();
  const factory = new RecordingFactory(() => new Recorder());
  const port = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
  const number = portOf(port);
  let fired = false;
  const d = port.stopListening().addCallback(() => {
    fired = true;
  });
  assertEquals(fired, false);
  await d;
  assertEquals(factory.calls, ["startFactory", "stopFactory"]);
  const client = new RecordingFactory(() => new Recorder());
  reactor.connectTCP("127.0.0.1", number, client);
  assert((await client.failed.promise).check(ConnectionRefusedError));
  // The port can listen again; the factory starts again.
  port.startListening();
  assertEquals(factory.calls, ["startFactory", "stopFactory", "startFactory"]);
  await port.stopListening();
  assertEquals(factory.calls.at(-1), "stopFactory");
});

Deno.test("TCP: 1,000 concurrent connections echo at once", async () => {
  const reactor = new Reactor();
  const serverFactory = Factory.forProtocol(Echo);
  serverFactory.noisy = false;
  const port = reactor.listenTCP(0, serverFactory, { interface: "127.0.0.1" });
  const N = 1000;
  const factory = new RecordingFactory(() => {
    const p = new Recorder();
    p.connectionMade = () =>
      p.transport.write(`client ${factory.built.indexOf(p)}`);
    return p;
  });
  for (let i = 0; i < N; i++) {
    reactor.connectTCP("127.0.0.1", portOf(port), factory);
  }
  await withTimeout(
    waitFor(
      () =>
        factory.built.length === N &&
        factory.built.every((p, i) => p.text() === `client ${i}`),
      30_000,
    ),
    30_000,
    "1,000 echoes",
  );
  for (const p of factory.built) p.transport.loseConnection();
  await withTimeout(
    Promise.all(factory.built.map((p) => p.lost.promise)),
    10_000,
    "1,000 closes",
  );
  await port.stopListening();
});

Deno.test("TCP: an exception in dataReceived drops only that connection, with the error as the reason", async () => {
  using logs = log.capture();
  const reactor = new Reactor();
  class Fragile extends Recorder {
    override dataReceived(data: Uint8Array): void {
      super.dataReceived(data);
      if (decode(data).includes("boom")) {
        throw new RangeError("boom in dataReceived");
      }
      this.transport.write(data);
    }
  }
  const serverFactory = new RecordingFactory(() => new Fragile());
  const port = reactor.listenTCP(0, serverFactory, { interface: "127.0.0.1" });
  const factory = new RecordingFactory(() => new Recorder());
  reactor.connectTCP("127.0.0.1", portOf(port), factory);
  reactor.connectTCP("127.0.0.1", portOf(port), factory);
  const [a, b] = await waitFor(() =>
    factory.built.length === 2 && factory.built.every((p) => p.connected) &&
    factory.built
  );
  a.transport.write("boom");
  const serverReason = await withTimeout(
    waitFor(() => serverFactory.built.find((p) => p.reason)?.reason),
    5000,
    "the failing connection to close",
  );
  assertInstanceOf(serverReason.value, RangeError);
  await a.lost.promise;
  b.transport.write("still alive");
  await waitFor(() => b.text() === "still alive");
  assertEquals(logs.flushErrors(RangeError).length, 1);
  b.transport.loseConnection();
  await b.lost.promise;
  await port.stopListening();
});

Deno.test("TCP: an exception in connectionMade is logged and drops the connection", async () => {
  using logs = log.capture();
  const reactor = new Reactor();
  class Broken extends Recorder {
    override connectionMade(): void {
      throw new SyntaxError("broken connectionMade");
    }
  }
  const serverFactory = new RecordingFactory(() => new Broken());
  const port = reactor.listenTCP(0, serverFactory, { interface: "127.0.0.1" });
  const factory = new RecordingFactory(() => new Recorder());
  reactor.connectTCP("127.0.0.1", portOf(port), factory);
  // Built, but its connectionMade throws: wait for the build only.
  const server = await withTimeout(serverFactory.first.promise, 5000, "build");
  const reason = await withTimeout(
    server.lost.promise,
    5000,
    "server connectionLost",
  );
  assertInstanceOf(reason.value, SyntaxError);
  await withTimeout(factory.lostReason.promise, 5000, "client connection lost");
  assertEquals(logs.flushErrors(SyntaxError).length, 1);
  await port.stopListening();
});

Deno.test("TCP: a write buffer cap with onMax 'abort' aborts a connection whose peer does not read", async () => {
  using _logs = log.capture();
  const reactor = new Reactor();
  const { server, port } = await connectedPair(
    reactor,
    () => new Recorder(),
    () => new Recorder(),
  );
  const transport = server.transport as unknown as {
    setWriteBufferLimits(
      l: { high: number; low: number; max: number; onMax: string },
    ): void;
  };
  transport.setWriteBufferLimits({
    high: 1024,
    low: 512,
    max: 4096,
    onMax: "abort",
  });
  server.transport.write(new Uint8Array(8192));
  const reason = await withTimeout(
    server.lost.promise,
    5000,
    "abort at the cap",
  );
  assert(reason.check(ConnectionAborted));
  await port.stopListening();
});

Deno.test("TCP: reactor.stop() closes ports, flushes what connections wrote and lets run() finish", async () => {
  const reactor = new Reactor();
  const serverFactory = new RecordingFactory(() => new Recorder());
  const port = reactor.listenTCP(0, serverFactory, { interface: "127.0.0.1" });
  const running = reactor.run();
  // The peer is not on this reactor, so it keeps reading during the shutdown.
  const raw = await Deno.connect({ hostname: "127.0.0.1", port: portOf(port) });
  const server = await connectionOf(serverFactory);
  server.transport.write(new Uint8Array(4 * 1024 * 1024).fill(3));
  reactor.stop();
  let total = 0;
  const buf = new Uint8Array(65536);
  for (let n = await raw.read(buf); n !== null; n = await raw.read(buf)) {
    total += n;
  }
  raw.close();
  await withTimeout(running, 10_000, "the reactor to stop");
  assertEquals(total, 4 * 1024 * 1024);
  assert(server.reason?.check(ConnectionDone), `server: ${server.reason}`);
  assertEquals(serverFactory.calls, ["startFactory", "stopFactory"]);
  assertEquals(reactor.running, false);
});

Deno.test("TCP: at shutdown, a connection that cannot flush within shutdownTimeout (timed with callLater) is aborted with ConnectionLost", async () => {
  const reactor = new ClockedReactor();
  reactor.shutdownTimeout = 5;
  const serverFactory = new RecordingFactory(() => new Recorder());
  const port = reactor.listenTCP(0, serverFactory, { interface: "127.0.0.1" });
  const running = reactor.run();
  const raw = await Deno.connect({ hostname: "127.0.0.1", port: portOf(port) });
  const server = await connectionOf(serverFactory);
  server.transport.write(new Uint8Array(32 * 1024 * 1024)); // the peer never reads
  reactor.stop();
  // The shutdown trigger arms its deadline on the reactor's clock.
  await withTimeout(
    waitFor(() => reactor.clock.getDelayedCalls().length === 1),
    5000,
    "the shutdown deadline",
  );
  assertEquals(serverFactory.calls, ["startFactory", "stopFactory"]);
  reactor.clock.advance(4.9);
  assertEquals(server.reason, undefined, "still flushing");
  reactor.clock.advance(0.1);
  await withTimeout(running, 10_000, "the reactor to stop");
  assert(server.reason?.check(ConnectionLost), `server: ${server.reason}`);
  assertEquals(server.events.filter((e) => e === "connectionLost").length, 1);
  raw.close();
});

Deno.test("TCP: at shutdown a producer is stopped, what was written is flushed (ConnectionDone), and nothing new may connect or listen", async () => {
  const reactor = new Reactor();
  const serverFactory = new RecordingFactory(() => new Recorder());
  const port = reactor.listenTCP(0, serverFactory, { interface: "127.0.0.1" });
  const running = reactor.run();
  const raw = await Deno.connect({ hostname: "127.0.0.1", port: portOf(port) });
  const server = await connectionOf(serverFactory);
  const calls: string[] = [];
  server.transport.registerProducer({
    pauseProducing: () => calls.push("pause"),
    resumeProducing: () => calls.push("resume"),
    stopProducing: () => calls.push("stop"),
  }, true);
  server.transport.write("flushed at shutdown");
  // An attempt still in progress fails as in Twisted (a ConnectError).
  const pending = new RecordingFactory(() => new Recorder());
  const connector = new Connector(reactor, pending, neverDialer());
  connector.connect();
  reactor.stop();
  let text = "";
  const buf = new Uint8Array(1024);
  for (let n = await raw.read(buf); n !== null; n = await raw.read(buf)) {
    text += decode(buf.subarray(0, n));
  }
  raw.close();
  await withTimeout(running, 10_000, "the reactor to stop");
  assertEquals(text, "flushed at shutdown");
  assert(server.reason?.check(ConnectionDone), `server: ${server.reason}`);
  assertEquals(calls, ["stop"]);
  const failed = await pending.failed.promise;
  assertEquals(failed.value?.constructor, ConnectError);
  assertEquals(pending.calls, [
    "startFactory",
    "startedConnecting",
    "clientConnectionFailed",
    "stopFactory",
  ]);
  // A stopped reactor cannot be run again: new ports and connections would
  // only keep the process alive.
  assertThrows(
    () => reactor.connectTCP("127.0.0.1", portOf(port), pending),
    Error,
    "the reactor has stopped",
  );
  assertThrows(
    () => reactor.listenTCP(0, serverFactory, { interface: "127.0.0.1" }),
    Error,
    "the reactor has stopped",
  );
});

async function runFixture(
  name: string,
  permissions: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(DENO, {
    args: ["run", ...denoFlags(), ...permissions, `tests/fixtures/${name}`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: decode(out.stdout),
    stderr: decode(out.stderr),
  };
}

Deno.test("TCP: without --allow-net, listenTCP names the flag to add", async () => {
  const { stdout } = await runFixture("tcp_listen_noperm.ts", []);
  assertStringIncludes(stdout, "CannotListenError");
  assertStringIncludes(stdout, "run again with --allow-net=127.0.0.1");
});

Deno.test("TCP: without --allow-net, connectTCP fails through clientConnectionFailed naming the flag", async () => {
  const { stdout, code } = await runFixture("tcp_connect_noperm.ts", []);
  assertEquals(code, 0);
  assertStringIncludes(stdout, "clientConnectionFailed");
  assertStringIncludes(stdout, "run again with --allow-net=127.0.0.1:9");
});

Deno.test("TCP: backlog is Deno's tcpBacklog, and nothing is passed when it is not given", async () => {
  // The Deno.listen backend (the node:net one: node_backend_test.ts), also
  // when the run chose node (TWIST_STREAM_BACKEND).
  setStreamBackend("deno");
  using _restore = { [Symbol.dispose]: () => setStreamBackend(undefined) };
  const seen: Deno.TcpListenOptions[] = [];
  const listen = Deno.listen;
  const spy = (options: Deno.TcpListenOptions): Deno.TcpListener => {
    seen.push(options);
    return listen(options);
  };
  Object.defineProperty(Deno, "listen", { value: spy, configurable: true });
  const reactor = new Reactor();
  const factory = Factory.forProtocol(Protocol);
  const ports = [];
  try {
    ports.push(
      reactor.listenTCP(0, factory, { interface: "127.0.0.1", backlog: 7 }),
      reactor.listenTCP(0, factory, { interface: "127.0.0.1" }),
    );
  } finally {
    Object.defineProperty(Deno, "listen", { value: listen });
  }
  for (const port of ports) await port.stopListening();
  assertEquals(seen.map((o) => o.tcpBacklog), [7, undefined]);
  assert(!("tcpBacklog" in seen[1]) && !("reusePort" in seen[1]));
  assertThrows(
    () => reactor.listenTCP(0, factory, { backlog: 0 }),
    RangeError,
    'Invalid backlog "0"',
  );
});

Deno.test({
  name:
    "TCP: reusePort without --unstable-net is a CannotListenError naming the flag, not Deno's exit 70",
  // The test run has no --unstable-net (with it, this would really listen).
  ignore: "listenDatagram" in Deno,
  fn() {
    const reactor = new Reactor();
    const error = assertThrows(
      () =>
        reactor.listenTCP(0, Factory.forProtocol(Protocol), {
          interface: "127.0.0.1",
          reusePort: true,
        }),
      CannotListenError,
      "run again with --unstable-net",
    );
    assertEquals(
      error.message,
      'Cannot listen on "127.0.0.1:0": reusePort needs Deno\'s unstable network APIs: run again with --unstable-net',
    );
  },
});

Deno.test("TCP: with --unstable-net, two ports with reusePort listen on one port and connections are accepted", async () => {
  const { stdout, stderr, code } = await runFixture("tcp_reuse_port.ts", [
    "--unstable-net",
    "--allow-net=127.0.0.1",
  ]);
  assertEquals(code, 0, stderr);
  assertEquals(
    stdout,
    "shared true\nwithout reusePort: true\naccepted 1\n",
  );
});

Deno.test("TCP: a write buffer cap with onMax 'pause' stops reading until the buffer drains, losing nothing", async () => {
  const reactor = new Reactor();
  const MAX = 64 * 1024;
  let maxBuffered = 0;
  // The server echoes; its peer sends a lot before it starts reading.
  class CappedEcho extends Echo {
    override connectionMade(): void {
      this.transport.setWriteBufferLimits({
        high: 16 * 1024,
        low: 4 * 1024,
        max: MAX,
        onMax: "pause",
      });
    }
    override dataReceived(data: Uint8Array): void {
      super.dataReceived(data);
      maxBuffered = Math.max(maxBuffered, this.transport.getWriteBufferSize());
    }
  }
  const port = reactor.listenTCP(0, Factory.forProtocol(CappedEcho), {
    interface: "127.0.0.1",
  });
  const raw = await Deno.connect({ hostname: "127.0.0.1", port: portOf(port) });
  const TOTAL = 8 * 1024 * 1024;
  const HEAD_START = 2 * 1024 * 1024;
  const headStart = Promise.withResolvers<void>();
  const writing = (async () => {
    const chunk = new Uint8Array(64 * 1024).fill(9);
    // conn.write may write only part of what it is given.
    for (let sent = 0; sent < TOTAL;) {
      sent += await raw.write(
        chunk.subarray(0, Math.min(chunk.length, TOTAL - sent)),
      );
      if (sent >= HEAD_START) headStart.resolve();
    }
    await raw.closeWrite();
  })();
  await withTimeout(headStart.promise, 10_000, "the first 2 MiB to be sent");
  let received = 0;
  const buf = new Uint8Array(64 * 1024);
  for (let n = await raw.read(buf); n !== null; n = await raw.read(buf)) {
    received += n;
  }
  await writing;
  raw.close();
  assertEquals(received, TOTAL);
  // The cap was reached, and the buffer stayed within it plus one read.
  assert(
    maxBuffered > MAX,
    `the buffer never reached the cap (max ${maxBuffered})`,
  );
  assertLessOrEqual(maxBuffered, MAX + 256 * 1024);
  await port.stopListening();
});

Deno.test("TCP: setTcpNoDelay and setTcpKeepAlive are remembered; setWriteBufferLimits validates", async () => {
  const reactor = new Reactor();
  const { client, port } = await connectedPair(
    reactor,
    () => new Recorder(),
    () => new Recorder(),
  );
  assertEquals(client.transport.getTcpNoDelay(), false);
  client.transport.setTcpNoDelay(true);
  client.transport.setTcpKeepAlive(true);
  assertEquals(client.transport.getTcpNoDelay(), true);
  assertEquals(client.transport.getTcpKeepAlive(), true);
  assertThrows(
    () => client.transport.setWriteBufferLimits({ high: 10, low: 20 }),
    RangeError,
  );
  assertEquals(client.transport.getWriteBufferSize(), 0);
  client.transport.loseConnection();
  await client.lost.promise;
  await port.stopListening();
});

Deno.test("TCP: registering a second producer is an error; a pull producer is asked for more as the buffer drains", async () => {
  const reactor = new Reactor();
  const { server, client, port } = await connectedPair(
    reactor,
    () => new Recorder(),
    () => new Recorder(),
  );
  let pulls = 0;
  const pull = {
    resumeProducing: () => {
      pulls++;
      if (pulls <= 3) server.transport.write(`chunk ${pulls};`);
      else {
        server.transport.unregisterProducer();
        server.transport.loseConnection();
      }
    },
    stopProducing: () => {},
  };
  server.transport.registerProducer(pull, false);
  assertThrows(
    () => server.transport.registerProducer(pull, false),
    Error,
    "already registered",
  );
  await withTimeout(client.lost.promise, 5000, "the pull producer to finish");
  assertEquals(client.text(), "chunk 1;chunk 2;chunk 3;");
  assertEquals(pulls, 4);
  await port.stopListening();
});

/** A dialer whose attempt never completes (for timeouts and shutdown). */
function neverDialer(): StreamDialer {
  const destination = new IPv4Address("TCP", "192.0.2.1", 9);
  return {
    tcp: true,
    destination,
    dial: () => new Promise<Deno.Conn>(() => {}),
    errorFor: (e) => e as Error,
    peerOf: () => destination,
    describe: () => "192.0.2.1:9",
  };
}

Deno.test("TCP: the accept loop survives failed accepts (e.g. out of file descriptors), waiting with the reactor's callLater", async () => {
  using logs = log.capture();
  const reactor = new ClockedReactor();
  const real = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let failures = 2;
  const flaky = {
    get addr() {
      return real.addr;
    },
    accept(): Promise<Deno.Conn> {
      if (failures-- > 0) {
        return Promise.reject(new Error("Too many open files (os error 24)"));
      }
      return real.accept();
    },
    close: () => real.close(),
  } as unknown as Deno.Listener;
  const factory = new RecordingFactory(() => new Recorder());
  const binding: StreamBinding<IPv4Address | IPv6Address> = {
    tcp: true,
    listen: () => flaky,
    hostOf: () =>
      new IPv4Address("TCP", "127.0.0.1", (real.addr as Deno.NetAddr).port),
    peerOf: (conn) =>
      new IPv4Address(
        "TCP",
        "127.0.0.1",
        (conn.remoteAddr as Deno.NetAddr).port,
      ),
    describe: () => "127.0.0.1",
  };
  const port = new Port(reactor, factory, binding);
  port.startListening();
  await waitFor(() => logs.events.length === 1);
  assertEquals(reactor.clock.getDelayedCalls().length, 1, "waiting to retry");
  reactor.clock.advance(0.01);
  await waitFor(() => logs.events.length === 2);
  reactor.clock.advance(0.01);
  assertEquals(reactor.clock.getDelayedCalls().length, 1, "the wait doubled");
  reactor.clock.advance(0.01);
  const client = await Deno.connect({
    hostname: "127.0.0.1",
    port: portOf(port),
  });
  const server = await connectionOf(
    factory,
    "the connection accepted after the errors",
  );
  assertEquals(logs.flushErrors(Error).length, 2);
  client.close();
  await server.lost.promise;
  await port.stopListening();
  assertEquals(factory.calls, ["startFactory", "stopFactory"]);
});

Deno.test("TCP: buildProtocol returning null closes that connection; a client factory declining ends in clientConnectionLost, as Twisted's", async () => {
  const reactor = new Reactor();
  let accept = false;
  class Choosy extends ClientFactory {
    override buildProtocol(): Protocol | null {
      return accept ? new Echo() : null;
    }
  }
  const serverFactory = new Choosy();
  serverFactory.noisy = false;
  const port = reactor.listenTCP(0, serverFactory, { interface: "127.0.0.1" });
  const raw = await Deno.connect({ hostname: "127.0.0.1", port: portOf(port) });
  assertEquals(await raw.read(new Uint8Array(1)), null, "closed at once");
  raw.close();
  accept = true;
  const clientFactory = new RecordingFactory(() => new Recorder());
  clientFactory.buildProtocol = () => null as unknown as Recorder;
  reactor.connectTCP("127.0.0.1", portOf(port), clientFactory);
  const reason = await withTimeout(
    clientFactory.lostReason.promise,
    5000,
    "clientConnectionLost",
  );
  assert(reason.check(ConnectionDone), `got ${reason}`);
  assertEquals(clientFactory.calls, [
    "startFactory",
    "startedConnecting",
    "clientConnectionLost",
    "stopFactory",
  ]);
  await port.stopListening();
});

Deno.test("TCP: clientConnectionLost and clientConnectionFailed may reconnect the same connector; the factory starts and stops once", async () => {
  const reactor = new Reactor();
  const serverFactory = Factory.forProtocol(Echo);
  serverFactory.noisy = false;
  const port = reactor.listenTCP(0, serverFactory, { interface: "127.0.0.1" });
  const number = portOf(port);
  let connections = 0;
  const done = Promise.withResolvers<void>();
  class Reconnecting extends RecordingFactory<Recorder> {
    override clientConnectionLost(c: IConnector, reason: Failure): void {
      super.clientConnectionLost(c, reason);
      c.connect(); // the second time, nothing listens any more
    }
    override clientConnectionFailed(c: IConnector, reason: Failure): void {
      super.clientConnectionFailed(c, reason);
      done.resolve();
    }
  }
  const factory = new Reconnecting(() => {
    const p = new Recorder();
    p.connectionMade = () => {
      connections++;
      if (connections === 1) p.transport.loseConnection();
      else {
        port.stopListening().addCallback(() => p.transport.loseConnection());
      }
    };
    return p;
  });
  const connector = reactor.connectTCP("127.0.0.1", number, factory);
  await withTimeout(done.promise, 5000, "two connections, then a failure");
  assertEquals(connections, 2);
  assertEquals(connector.state, "disconnected");
  assertEquals(factory.calls, [
    "startFactory",
    "startedConnecting",
    "clientConnectionLost",
    "startedConnecting",
    "clientConnectionLost",
    "startedConnecting",
    "clientConnectionFailed",
    "stopFactory",
  ]);
});

Deno.test("TCP: disconnect() closes the connection, or stops an attempt in progress", async () => {
  const reactor = new Reactor();
  const factory = new RecordingFactory(() => new Recorder());
  const attempt = new Connector(reactor, factory, neverDialer());
  attempt.connect();
  attempt.disconnect();
  assert((await factory.failed.promise).check(UserError));
  assertEquals(attempt.state, "disconnected");
  const serverFactory = new RecordingFactory(() => new Recorder());
  const port = reactor.listenTCP(0, serverFactory, { interface: "127.0.0.1" });
  const clientFactory = new RecordingFactory(() => new Recorder());
  const connector = reactor.connectTCP(
    "127.0.0.1",
    portOf(port),
    clientFactory,
  );
  const client = await connectionOf(clientFactory);
  assertEquals(connector.state, "connected");
  connector.disconnect();
  assert((await client.lost.promise).check(ConnectionDone));
  await clientFactory.lostReason.promise;
  assertEquals(connector.state, "disconnected");
  const server = await connectionOf(serverFactory);
  await server.lost.promise;
  await port.stopListening();
});

Deno.test("TCP: a registered producer is stopped once when the peer goes away, and connectionLost comes once", async () => {
  const reactor = new Reactor();
  const { listener, raw, client } = await connectToRawPeer(reactor);
  const calls: string[] = [];
  client.transport.registerProducer({
    pauseProducing: () => calls.push("pause"),
    resumeProducing: () => calls.push("resume"),
    stopProducing: () => calls.push("stop"),
  }, true);
  client.transport.write(new Uint8Array(8 * 1024 * 1024)); // pending, paused
  assertEquals(calls, ["pause"]);
  raw.close();
  const reason = await withTimeout(client.lost.promise, 5000, "connectionLost");
  // The peer closed with unread data (a reset): the pending write fails.
  assert(reason.check(ConnectionLost), `got ${reason}`);
  assertEquals(calls, ["pause", "stop"]);
  assertEquals(client.events.filter((e) => e === "connectionLost").length, 1);
  listener.close();
});

Deno.test("TCP: Deno's connect and listen errors map to Twisted's, with the Deno error as the cause", () => {
  const cases: [Error, new (...a: never[]) => Error, string][] = [
    [
      new Deno.errors.ConnectionRefused("refused"),
      ConnectionRefusedError,
      "refused",
    ],
    [new Deno.errors.TimedOut("timed out"), TCPTimedOutError, "timed out"],
    [
      new Deno.errors.NetworkUnreachable("unreachable"),
      NoRouteError,
      "No route",
    ],
    [
      new Error(
        "failed to lookup address information: Name or service not known",
      ),
      DNSLookupError,
      "DNS lookup failed",
    ],
    [
      new Deno.errors.NotCapable("Requires net access"),
      ConnectError,
      "--allow-net=example.com:80",
    ],
    [new Error("something else"), ConnectError, "something else"],
  ];
  for (const [denoError, type, text] of cases) {
    const e = connectError(denoError, "example.com", 80);
    assertInstanceOf(e, type);
    assertStringIncludes(e.message, text);
    assertStrictEquals(e.cause, denoError);
  }
  assertStringIncludes(
    connectError(new Deno.errors.NotCapable("no"), "::1", 8000).message,
    "--allow-net=[::1]:8000",
  );
  assertEquals(
    listenErrorDetail(new Deno.errors.NotCapable("no"), "0.0.0.0", 8000),
    "permission denied: run again with --allow-net=0.0.0.0:8000",
  );
  assertEquals(
    listenErrorDetail(new Deno.errors.AddrInUse("in use"), "0.0.0.0", 8000),
    "address in use",
  );
});

Deno.test("TCP: invalid options are refused clearly", () => {
  const reactor = new Reactor();
  const factory = new RecordingFactory(() => new Recorder());
  assertThrows(
    () => reactor.listenTCP(0, factory, { backlog: -1 }),
    RangeError,
    'Invalid backlog "-1"',
  );
  assertThrows(
    () => reactor.connectTCP("127.0.0.1", 0, factory),
    RangeError,
    'Invalid port "0"',
  );
  assertThrows(
    () => reactor.connectTCP("127.0.0.1", 80, factory, { timeout: 0 }),
    RangeError,
    'Invalid timeout "0"',
  );
  assertEquals(factory.calls, []);
});
