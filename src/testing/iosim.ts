/**
 * Loopback pumping (`twisted.test.iosim`): two protocols joined by in-memory
 * transports, with every byte's delivery under the test's control.
 *
 * @module
 */
import type {
  Data,
  IAddress,
  IProtocol,
  IProtocolFactory,
  IPullProducer,
  IPushProducer,
  ITCPTransport,
  WriteBufferLimits,
} from "../internet/interfaces.ts";
import { IPv4Address } from "../internet/address.ts";
import { Failure } from "../internet/failure.ts";
import {
  ConnectionAborted,
  ConnectionDone,
  ConnectionLost,
} from "../internet/error.ts";
import { FlowControl } from "../internet/common/flow_control.ts";
import { toBytes } from "../internet/common/bytes.ts";

const isPaused = (io: FakeTransport): boolean => io.producerState === "paused";

type HalfCloseable = IProtocol & {
  readConnectionLost?(): void;
  writeConnectionLost?(): void;
};

/** Options of {@linkcode FakeTransport}. */
export interface FakeTransportOptions {
  /**
   * What `getHost()` returns.
   *
   * @default {IPv4Address("TCP", "127.0.0.1", 80) on the server side, port 54321 on the client side}
   */
  hostAddress?: IAddress;
  /**
   * What `getPeer()` returns.
   *
   * @default {the other side's default `hostAddress`}
   */
  peerAddress?: IAddress;
}

/**
 * One side of an in-memory connection: what its protocol writes waits in
 * `outgoing` until an `IOPump` delivers it to the other side. Its state
 * flags have the names `StringTransport`'s have.
 *
 * @example Writes wait for the pump
 * ```ts
 * import { Protocol } from "@twist/twist";
 * import { FakeTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const p = new Protocol();
 * const transport = new FakeTransport(p, true);
 * transport.write("queued");
 * assertEquals(transport.pendingBytes, 6);
 * assertEquals(transport.getHost().toString(), 'IPv4Address(type="TCP", host="127.0.0.1", port=80)');
 * ```
 */
export class FakeTransport implements ITCPTransport {
  /** Whether this side is the server (the accepting side). */
  readonly isServer: boolean;
  /** The protocol this transport serves (and delivers the peer's bytes to). */
  readonly protocol: IProtocol;
  /** Written bytes not yet delivered. */
  outgoing: Uint8Array[] = [];
  /** Whether `loseConnection` (or `abortConnection`) was called. */
  disconnecting = false;
  /** Whether `abortConnection` was called. */
  aborted = false;
  /** Whether the connection is closed (its protocol has been told). */
  disconnected = false;
  /** Whether `loseWriteConnection` was called. */
  writeDisconnecting = false;
  /** Whether the half-close has been delivered to the peer. */
  writeDisconnected = false;
  /** The state this transport is in as a producer: `"paused"` holds the peer's bytes back. */
  producerState: "producing" | "paused" | "stopped" = "producing";
  /** What `getHost()` returns. */
  hostAddress: IAddress;
  /** What `getPeer()` returns. */
  peerAddress: IAddress;
  /** The producer and the water marks, as a real transport's. */
  #flow = new FlowControl();
  #noDelay = false;
  #keepAlive = false;

  /** Creates the transport for `protocol`; `isServer` picks the default addresses. */
  constructor(
    protocol: IProtocol,
    isServer: boolean,
    options?: FakeTransportOptions,
  ) {
    options ??= {};
    this.protocol = protocol;
    this.isServer = isServer;
    this.hostAddress = options.hostAddress ??
      new IPv4Address("TCP", "127.0.0.1", isServer ? 80 : 54321);
    this.peerAddress = options.peerAddress ??
      new IPv4Address("TCP", "127.0.0.1", isServer ? 54321 : 80);
  }

  /** The registered producer, if any. */
  get producer(): IPushProducer | IPullProducer | undefined {
    return this.#flow.producer;
  }

  /** Whether the registered producer is a streaming one (`undefined` without one). */
  get streaming(): boolean | undefined {
    return this.#flow.producer ? this.#flow.streaming : undefined;
  }

  /** Bytes written and not yet delivered. */
  get pendingBytes(): number {
    return this.outgoing.reduce((n, c) => n + c.length, 0);
  }

  /** Queues a copy of `data` (a string as UTF-8); dropped once closing. */
  write(data: Data): void {
    const bytes = toBytes(data); // A TypeError even once closing.
    if (this.disconnecting || this.writeDisconnecting || this.disconnected) {
      return;
    }
    if (bytes.length === 0) return;
    this.outgoing.push(typeof data === "string" ? bytes : bytes.slice());
    if (this.producer && this.streaming) this.#flow.grew(this.pendingBytes);
  }

  /** Queues each item. */
  writeSequence(data: Iterable<Data>): void {
    for (const item of data) this.write(item);
  }

  /** Closes once everything queued is delivered. */
  loseConnection(): void {
    this.disconnecting = true;
  }

  /** Drops what is queued and closes at the next pump. */
  abortConnection(): void {
    this.aborted = true;
    this.disconnecting = true;
    this.outgoing = [];
  }

  /** Half-closes once everything queued is delivered. */
  loseWriteConnection(): void {
    this.writeDisconnecting = true;
  }

  /** The other side's address. */
  getPeer(): IAddress {
    return this.peerAddress;
  }

  /** This side's address. */
  getHost(): IAddress {
    return this.hostAddress;
  }

  /**
   * Registers a producer, paused and resumed by the pump like a real
   * transport's (what it throws is logged, as a real transport does).
   *
   * @throws {Error} if one is registered already
   */
  registerProducer(
    producer: IPushProducer | IPullProducer,
    streaming: boolean,
  ): void {
    this.#flow.registerProducer(producer, streaming, this.pendingBytes);
  }

  /** Unregisters the producer. */
  unregisterProducer(): void {
    this.#flow.unregisterProducer();
  }

  /** Stops delivering data to this side's protocol (`producerState` becomes `"paused"`). */
  pauseProducing(): void {
    if (this.producerState !== "stopped") this.producerState = "paused";
  }

  /** Delivers data to this side's protocol again, at the next pump. */
  resumeProducing(): void {
    if (this.producerState !== "stopped") this.producerState = "producing";
  }

  /** Closes the connection, as a real transport's `stopProducing` does. */
  stopProducing(): void {
    this.producerState = "stopped";
    this.loseConnection();
  }

  /** Called by the pump when what was queued has been delivered. */
  drained(): void {
    if (!this.producer || this.disconnected) return;
    if (this.streaming) this.#flow.shrank(this.pendingBytes);
    else if (this.pendingBytes === 0 && !this.disconnecting) {
      this.#flow.pullProducer();
    }
  }

  /** Always what is pending: nothing is sent until pumped. */
  getWriteBufferSize(): number {
    return this.pendingBytes;
  }

  /**
   * Sets the water marks used for streaming producers (a cap is accepted and
   * ignored).
   *
   * @throws {RangeError} for limits a real transport refuses
   */
  setWriteBufferLimits(limits: WriteBufferLimits): void {
    this.#flow.setLimits(limits);
  }

  /** The recorded no-delay option. */
  getTcpNoDelay(): boolean {
    return this.#noDelay;
  }

  /** Records the no-delay option. */
  setTcpNoDelay(enabled: boolean): void {
    this.#noDelay = enabled;
  }

  /** The recorded keepalive option. */
  getTcpKeepAlive(): boolean {
    return this.#keepAlive;
  }

  /** Records the keepalive option. */
  setTcpKeepAlive(enabled: boolean): void {
    this.#keepAlive = enabled;
  }
}

/**
 * A `FakeTransport` for the connecting side (Twisted's `makeFakeClient`).
 *
 * @example A client-side transport
 * ```ts
 * import { Protocol } from "@twist/twist";
 * import { makeFakeClient } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const transport = makeFakeClient(new Protocol());
 * assertEquals(transport.isServer, false);
 * ```
 */
export function makeFakeClient(
  clientProtocol: IProtocol,
  options?: FakeTransportOptions,
): FakeTransport {
  options ??= {};
  return new FakeTransport(clientProtocol, false, options);
}

/**
 * A `FakeTransport` for the accepting side (Twisted's `makeFakeServer`).
 *
 * @example A server-side transport
 * ```ts
 * import { Protocol } from "@twist/twist";
 * import { makeFakeServer } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const transport = makeFakeServer(new Protocol());
 * assertEquals(transport.isServer, true);
 * ```
 */
export function makeFakeServer(
  serverProtocol: IProtocol,
  options?: FakeTransportOptions,
): FakeTransport {
  options ??= {};
  return new FakeTransport(serverProtocol, true, options);
}

/** Options of {@linkcode IOPump}, and of the `connect` helpers. */
export interface PumpOptions {
  /**
   * Deliver at most this many bytes per `dataReceived` call (1: a byte at a
   * time), or the given sizes in turn, starting over when they run out.
   *
   * @default {Infinity}
   */
  chunkSize?: number | readonly number[];
}

/**
 * Moves bytes between two `FakeTransport`s when told to. Like every iosim
 * helper it takes the server side first, then the client side; the
 * protocols are the transports' own.
 *
 * @example Pumping a greeting a byte at a time
 * ```ts
 * import { Protocol } from "@twist/twist";
 * import { AccumulatingProtocol, IOPump, makeFakeClient, makeFakeServer } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * class Hello extends Protocol {
 *   override connectionMade(): void {
 *     this.transport.write("hello");
 *   }
 * }
 * const server = new Hello();
 * const client = new AccumulatingProtocol();
 * const serverIO = makeFakeServer(server);
 * const clientIO = makeFakeClient(client);
 * server.makeConnection(serverIO);
 * client.makeConnection(clientIO);
 * const pump = new IOPump(serverIO, clientIO, { chunkSize: 1 });
 * assertEquals(pump.flush(), true);
 * assertEquals(client.text(), "hello");
 * ```
 */
export class IOPump {
  /** The server side's transport. */
  readonly serverIO: FakeTransport;
  /** The client side's transport. */
  readonly clientIO: FakeTransport;
  /** Bytes per `dataReceived` call (`Infinity`: all at once), or sizes in turn. */
  chunkSize: number | readonly number[];
  #sizeIndex = 0;

  /**
   * Joins the two sides.
   *
   * @throws {RangeError} for a chunk size below 1
   */
  constructor(
    serverIO: FakeTransport,
    clientIO: FakeTransport,
    options?: PumpOptions,
  ) {
    options ??= {};
    this.serverIO = serverIO;
    this.clientIO = clientIO;
    this.chunkSize = options.chunkSize ?? Infinity;
    for (const n of [this.chunkSize].flat()) {
      if (!(n >= 1)) {
        throw new RangeError(
          `Invalid chunk size "${n}": expected a number of bytes >= 1`,
        );
      }
    }
  }

  /** The server side's protocol. */
  get server(): IProtocol {
    return this.serverIO.protocol;
  }

  /** The client side's protocol. */
  get client(): IProtocol {
    return this.clientIO.protocol;
  }

  #nextSize(): number {
    const sizes = this.chunkSize;
    if (typeof sizes === "number") return sizes;
    if (sizes.length === 0) return Infinity;
    return sizes[this.#sizeIndex++ % sizes.length];
  }

  /**
   * Delivers what each side has written to the other once, then carries out
   * closes whose data has been delivered. Returns whether anything happened.
   */
  pump(): boolean {
    let moved = this.#deliver(this.clientIO, this.serverIO);
    moved = this.#deliver(this.serverIO, this.clientIO) || moved;
    moved = this.#settle(this.clientIO, this.serverIO) || moved;
    moved = this.#settle(this.serverIO, this.clientIO) || moved;
    return moved;
  }

  /**
   * Pumps until nothing more happens. Returns whether anything happened
   * (Twisted's `flush`).
   *
   * @throws {Error} if it is still busy after `maxTurns` pumps (a protocol
   * that writes forever)
   */
  flush(maxTurns?: number): boolean {
    maxTurns ??= 10_000;
    for (let i = 0; i < maxTurns; i++) if (!this.pump()) return i > 0;
    throw new Error(`IOPump.flush: still busy after ${maxTurns} pumps`);
  }

  #deliver(from: FakeTransport, to: FakeTransport): boolean {
    if (to.disconnected || from.outgoing.length === 0) {
      from.drained();
      return false;
    }
    if (isPaused(to)) return false;
    const pending = from.outgoing;
    from.outgoing = [];
    let moved = false;
    while (pending.length > 0) {
      // dataReceived may have paused or closed the receiver.
      if (isPaused(to) || to.disconnected) break;
      const head = pending[0];
      const n = Math.min(head.length, this.#nextSize());
      const chunk = head.subarray(0, n);
      if (n === head.length) pending.shift();
      else pending[0] = head.subarray(n);
      moved = true;
      to.protocol.dataReceived(chunk);
    }
    // Whatever the receiver paused before is still to be delivered, in order.
    if (pending.length > 0) from.outgoing = [...pending, ...from.outgoing];
    from.drained();
    return moved;
  }

  /** Carries out a close or half-close of `io` once its data is delivered. */
  #settle(io: FakeTransport, peer: FakeTransport): boolean {
    if (io.disconnected || io.outgoing.length > 0) return false;
    if (io.disconnecting) {
      const mine = io.aborted ? new ConnectionAborted() : new ConnectionDone();
      const theirs = io.aborted ? new ConnectionLost() : new ConnectionDone();
      this.#lose(io, mine);
      this.#lose(peer, theirs);
      return true;
    }
    if (io.writeDisconnecting && !peer.disconnected && !io.writeDisconnected) {
      io.writeDisconnected = true;
      const writer = io.protocol as HalfCloseable;
      writer.writeConnectionLost?.();
      const reader = peer.protocol as HalfCloseable;
      if (typeof reader.readConnectionLost === "function") {
        reader.readConnectionLost();
      } else peer.loseConnection();
      return true;
    }
    return false;
  }

  #lose(io: FakeTransport, reason: Error): void {
    if (io.disconnected) return;
    io.disconnected = true;
    const producer = io.producer;
    io.unregisterProducer();
    producer?.stopProducing();
    const p = io.protocol as IProtocol & { connected?: boolean };
    if ("connected" in p) p.connected = false;
    p.connectionLost(new Failure(reason));
  }
}

/** Options of {@linkcode connect}. */
export interface ConnectOptions extends PumpOptions {
  /**
   * Pump until quiet before returning, so the greetings of `connectionMade`
   * are delivered.
   *
   * @default {true}
   */
  greet?: boolean;
  /** The server protocol's transport. @default {makeFakeServer(serverProtocol)} */
  serverTransport?: FakeTransport;
  /** The client protocol's transport. @default {makeFakeClient(clientProtocol)} */
  clientTransport?: FakeTransport;
}

/**
 * Connects two protocols over in-memory transports (the server first, as a
 * real accept would) and returns the pump that carries their bytes.
 *
 * @throws {TypeError} if a transport given in `options` serves another protocol
 *
 * @example An echo round trip
 * ```ts
 * import { Protocol } from "@twist/twist";
 * import { AccumulatingProtocol, connect } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * class Echo extends Protocol {
 *   override dataReceived(data: Uint8Array): void {
 *     this.transport.write(data);
 *   }
 * }
 * const client = new AccumulatingProtocol();
 * const pump = connect(new Echo(), client);
 * client.transport.write("ping");
 * pump.flush();
 * assertEquals(client.text(), "ping");
 * ```
 */
export function connect(
  serverProtocol: IProtocol,
  clientProtocol: IProtocol,
  options?: ConnectOptions,
): IOPump {
  options ??= {};
  const serverTransport = options.serverTransport ??
    makeFakeServer(serverProtocol);
  const clientTransport = options.clientTransport ??
    makeFakeClient(clientProtocol);
  if (
    serverTransport.protocol !== serverProtocol ||
    clientTransport.protocol !== clientProtocol
  ) {
    throw new TypeError(
      "Cannot connect: a transport given serves another protocol",
    );
  }
  serverProtocol.makeConnection(serverTransport);
  clientProtocol.makeConnection(clientTransport);
  const pump = new IOPump(serverTransport, clientTransport, options);
  if (options.greet ?? true) pump.flush();
  return pump;
}

/** Options of {@linkcode connectedServerAndClient}. */
export interface ConnectedServerAndClientOptions extends PumpOptions {
  /**
   * Pump until quiet before returning, so the greetings of `connectionMade`
   * are delivered.
   *
   * @default {true}
   */
  greet?: boolean;
  /** Makes the server protocol's transport. @default {makeFakeServer} */
  serverTransportFactory?: (serverProtocol: IProtocol) => FakeTransport;
  /** Makes the client protocol's transport. @default {makeFakeClient} */
  clientTransportFactory?: (clientProtocol: IProtocol) => FakeTransport;
}

function build<P extends IProtocol>(
  source: (new () => P) | IProtocolFactory,
  addr: IAddress,
): P {
  if ("buildProtocol" in source) {
    const p = source.buildProtocol(addr);
    if (!p) {
      throw new Error(
        "The factory refused the connection (buildProtocol returned null)",
      );
    }
    return p as P;
  }
  return new source();
}

/**
 * Makes a server and a client protocol (from classes or factories) and
 * connects them in memory, as {@linkcode connect} does:
 * `{ server, client, pump }`.
 *
 * @throws {Error} if a factory refuses the connection
 *
 * @example Closing from the server side
 * ```ts
 * import { Protocol } from "@twist/twist";
 * import { AccumulatingProtocol, connectedServerAndClient } from "@twist/twist/testing";
 * import { assert } from "@std/assert";
 *
 * const { client, server, pump } = connectedServerAndClient(Protocol, AccumulatingProtocol);
 * server.transport.loseConnection();
 * pump.flush();
 * assert(client.closed);
 * ```
 */
export function connectedServerAndClient<
  S extends IProtocol,
  C extends IProtocol,
>(
  server: (new () => S) | IProtocolFactory,
  client: (new () => C) | IProtocolFactory,
  options?: ConnectedServerAndClientOptions,
): { server: S; client: C; pump: IOPump } {
  options ??= {};
  const makeServerIO = options.serverTransportFactory ??
    ((p: IProtocol) => makeFakeServer(p));
  const makeClientIO = options.clientTransportFactory ??
    ((p: IProtocol) => makeFakeClient(p));
  // Each side's factory is told the other side's default address.
  const s = build<S>(server, new IPv4Address("TCP", "127.0.0.1", 54321));
  const c = build<C>(client, new IPv4Address("TCP", "127.0.0.1", 80));
  const pump = connect(s, c, {
    chunkSize: options.chunkSize,
    greet: options.greet,
    serverTransport: makeServerIO(s),
    clientTransport: makeClientIO(c),
  });
  return { server: s, client: c, pump };
}
