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
import { FlowControl } from "../internet/_flow_control.ts";

const encoder = new TextEncoder();

type HalfCloseable = IProtocol & {
  readConnectionLost?(): void;
  writeConnectionLost?(): void;
};

/**
 * One side of an in-memory connection: what its protocol writes waits in
 * `outgoing` until an `IOPump` delivers it to the other side.
 *
 * @example
 * ```ts
 * import { Protocol } from "@twist/twist";
 * import { FakeTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const p = new Protocol();
 * const transport = new FakeTransport(p, true);
 * transport.write("queued");
 * assertEquals(transport.pendingBytes, 6);
 * ```
 */
export class FakeTransport implements ITCPTransport {
  /** Whether this side is the server. */
  readonly isServer: boolean;
  /** The protocol this transport serves. */
  readonly protocol: IProtocol;
  /** Written bytes not yet delivered. */
  outgoing: Uint8Array[] = [];
  /** Whether `loseConnection` was called. */
  disconnecting = false;
  /** Whether `abortConnection` was called. */
  aborted = false;
  /** Whether `loseWriteConnection` was called. */
  writeClosing = false;
  /** Whether the connection is closed. */
  closed = false;
  /** Whether the end of this side's stream has been delivered after a half-close. */
  eofSent = false;
  /** Whether reading is paused (`pauseProducing`). */
  paused = false;
  /** This side's address. */
  hostAddress: IAddress;
  /** The other side's address. */
  peerAddress: IAddress;
  /** The producer and the water marks, as a real transport's. */
  #flow = new FlowControl();
  #noDelay = false;
  #keepAlive = false;

  /** Creates the transport for `protocol`. */
  constructor(
    protocol: IProtocol,
    isServer: boolean,
    hostAddress?: IAddress,
    peerAddress?: IAddress,
  ) {
    this.protocol = protocol;
    this.isServer = isServer;
    this.hostAddress = hostAddress ??
      new IPv4Address("TCP", "127.0.0.1", isServer ? 80 : 54321);
    this.peerAddress = peerAddress ??
      new IPv4Address("TCP", "127.0.0.1", isServer ? 54321 : 80);
  }

  /** The registered producer, if any. */
  get producer(): IPushProducer | IPullProducer | undefined {
    return this.#flow.producer;
  }

  /** Whether it is a streaming one. */
  get streaming(): boolean {
    return this.#flow.streaming;
  }

  /** Bytes written and not yet delivered. */
  get pendingBytes(): number {
    return this.outgoing.reduce((n, c) => n + c.length, 0);
  }

  /** Queues a copy of `data` (a string as UTF-8); dropped once closing. */
  write(data: Data): void {
    if (this.disconnecting || this.writeClosing || this.closed) return;
    const bytes = typeof data === "string"
      ? encoder.encode(data)
      : data.slice();
    if (bytes.length === 0) return;
    this.outgoing.push(bytes);
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
    this.writeClosing = true;
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

  /** Stops delivering data to this side's protocol. */
  pauseProducing(): void {
    this.paused = true;
  }

  /** Delivers data to this side's protocol again (at the next pump). */
  resumeProducing(): void {
    this.paused = false;
  }

  /** Closes the connection, as a real transport's `stopProducing` does. */
  stopProducing(): void {
    this.loseConnection();
  }

  /** Called by the pump when what was queued has been delivered. */
  drained(): void {
    if (!this.producer || this.closed) return;
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

/** Options of {@linkcode IOPump} and the `connect` helpers. */
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
 * Moves bytes between two `FakeTransport`s when told to.
 *
 * @example
 * ```ts
 * import { Protocol } from "@twist/twist";
 * import { AccumulatingProtocol, connectedServerAndClient } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * class Hello extends Protocol {
 *   override connectionMade(): void {
 *     this.transport.write("hello");
 *   }
 * }
 * const { client, pump } = connectedServerAndClient(Hello, AccumulatingProtocol, { chunkSize: 1 });
 * pump.flush();
 * assertEquals(client.text(), "hello");
 * ```
 */
export class IOPump {
  /** The client side's protocol. */
  readonly client: IProtocol;
  /** The server side's protocol. */
  readonly server: IProtocol;
  /** The client side's transport. */
  readonly clientIO: FakeTransport;
  /** The server side's transport. */
  readonly serverIO: FakeTransport;
  /** Bytes per `dataReceived` call (`Infinity`: all at once), or sizes in turn. */
  chunkSize: number | readonly number[];
  #sizeIndex = 0;

  /** Joins the two sides. */
  constructor(
    client: IProtocol,
    server: IProtocol,
    clientIO: FakeTransport,
    serverIO: FakeTransport,
    options: PumpOptions = {},
  ) {
    this.client = client;
    this.server = server;
    this.clientIO = clientIO;
    this.serverIO = serverIO;
    this.chunkSize = options.chunkSize ?? Infinity;
    for (const n of [this.chunkSize].flat()) {
      if (!(n >= 1)) {
        throw new RangeError(
          `Invalid chunk size "${n}": expected a number of bytes >= 1`,
        );
      }
    }
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
   * Pumps until nothing more happens.
   *
   * @throws {Error} if it is still busy after `maxTurns` pumps (a protocol
   * that writes forever)
   */
  flush(maxTurns = 10_000): void {
    for (let i = 0; i < maxTurns; i++) if (!this.pump()) return;
    throw new Error(`IOPump.flush: still busy after ${maxTurns} pumps`);
  }

  #deliver(from: FakeTransport, to: FakeTransport): boolean {
    if (to.closed || from.outgoing.length === 0) {
      from.drained();
      return false;
    }
    if (to.paused) return false;
    const pending = from.outgoing;
    from.outgoing = [];
    let moved = false;
    while (pending.length > 0) {
      if (to.paused || to.closed) break;
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
    if (io.closed || io.outgoing.length > 0) return false;
    if (io.disconnecting) {
      const mine = io.aborted ? new ConnectionAborted() : new ConnectionDone();
      const theirs = io.aborted ? new ConnectionLost() : new ConnectionDone();
      this.#lose(io, mine);
      this.#lose(peer, theirs);
      return true;
    }
    if (io.writeClosing && !peer.closed && !io.eofSent) {
      io.eofSent = true;
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
    if (io.closed) return;
    io.closed = true;
    const producer = io.producer;
    io.unregisterProducer();
    producer?.stopProducing();
    const p = io.protocol as IProtocol & { connected?: boolean };
    if ("connected" in p) p.connected = false;
    p.connectionLost(new Failure(reason));
  }
}

/**
 * Connects two protocols over in-memory transports (server first, as a real
 * accept would) and returns the pump. With `greet` (the default), pumps until
 * quiet so the greetings of `connectionMade` are delivered.
 *
 * @example
 * ```ts
 * import { Protocol } from "@twist/twist";
 * import { AccumulatingProtocol, connect, FakeTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * class Echo extends Protocol {
 *   override dataReceived(data: Uint8Array): void {
 *     this.transport.write(data);
 *   }
 * }
 * const server = new Echo();
 * const client = new AccumulatingProtocol();
 * const pump = connect(server, new FakeTransport(server, true), client, new FakeTransport(client, false));
 * client.transport.write("ping");
 * pump.flush();
 * assertEquals(client.text(), "ping");
 * ```
 */
export function connect(
  serverProtocol: IProtocol,
  serverTransport: FakeTransport,
  clientProtocol: IProtocol,
  clientTransport: FakeTransport,
  options: PumpOptions & { greet?: boolean } = {},
): IOPump {
  serverProtocol.makeConnection(serverTransport);
  clientProtocol.makeConnection(clientTransport);
  const pump = new IOPump(
    clientProtocol,
    serverProtocol,
    clientTransport,
    serverTransport,
    options,
  );
  if (options.greet ?? true) pump.flush();
  return pump;
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
 * connects them in memory: `{ client, server, pump }`.
 *
 * @example
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
  options: PumpOptions & { greet?: boolean } = {},
): { client: C; server: S; pump: IOPump } {
  const serverAddr = new IPv4Address("TCP", "127.0.0.1", 80);
  const clientAddr = new IPv4Address("TCP", "127.0.0.1", 54321);
  const s = build<S>(server, clientAddr);
  const c = build<C>(client, serverAddr);
  const pump = connect(
    s,
    new FakeTransport(s, true, serverAddr, clientAddr),
    c,
    new FakeTransport(c, false, clientAddr, serverAddr),
    options,
  );
  return { client: c, server: s, pump };
}
