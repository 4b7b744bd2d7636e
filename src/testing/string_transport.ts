/**
 * In-memory transports for testing protocols (`twisted.internet.testing`).
 *
 * @module
 */
import type {
  Data,
  IAddress,
  IProtocol,
  IPullProducer,
  IPushProducer,
  ITCPTransport,
  WriteBufferLimits,
} from "../internet/interfaces.ts";
import { IPv4Address } from "../internet/address.ts";
import { Failure } from "../internet/failure.ts";
import { ConnectionDone } from "../internet/error.ts";
import { toBytes } from "../internet/common/bytes.ts";

/** Options of {@linkcode StringTransport}. */
export interface StringTransportOptions {
  /** What `getHost()` returns. @default {IPv4Address("TCP", "10.0.0.1", 12345)} */
  hostAddress?: IAddress;
  /** What `getPeer()` returns. @default {IPv4Address("TCP", "192.168.1.1", 54321)} */
  peerAddress?: IAddress;
  /**
   * Allow `pauseProducing`/`resumeProducing` after `loseConnection` (by default
   * they throw, so code that expects data after closing is caught).
   *
   * @default {false}
   */
  lenient?: boolean;
}

/**
 * A transport that keeps what is written in memory and records everything
 * else, without doing anything: the way to test a protocol without sockets.
 *
 * @example Testing a protocol's replies
 * ```ts
 * import { Protocol } from "@twist/twist";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assert, assertEquals } from "@std/assert";
 *
 * class Greeter extends Protocol {
 *   override connectionMade(): void {
 *     this.transport.write("hello\r\n");
 *     this.transport.loseConnection();
 *   }
 * }
 * const transport = new StringTransport();
 * new Greeter().makeConnection(transport);
 * assertEquals(transport.text(), "hello\r\n");
 * assertEquals(transport.value().length, 7);
 * assert(transport.disconnecting);
 * ```
 */
export class StringTransport implements ITCPTransport {
  /** Whether `loseConnection` (or `abortConnection`) was called. */
  disconnecting = false;
  /** Whether `abortConnection` was called. */
  aborted = false;
  /** Whether `loseWriteConnection` was called. */
  writeDisconnected = false;
  /** Whether the transport counts as connected. */
  connected = true;
  /** The registered producer, if any. */
  producer: IPushProducer | IPullProducer | undefined;
  /** Whether the registered producer is a streaming one. */
  streaming: boolean | undefined;
  /** The state this transport is in as a producer (its reading). */
  producerState: "producing" | "paused" | "stopped" = "producing";
  /** What `getHost()` returns. */
  hostAddress: IAddress;
  /** The limits last given to `setWriteBufferLimits`. */
  writeBufferLimits: WriteBufferLimits = {};
  /** What `getPeer()` returns. */
  peerAddress: IAddress;
  #chunks: Uint8Array[] = [];
  #lenient: boolean;
  #noDelay = false;
  #keepAlive = false;

  /** Creates an empty transport. */
  constructor(options?: StringTransportOptions) {
    options ??= {};
    this.hostAddress = options.hostAddress ??
      new IPv4Address("TCP", "10.0.0.1", 12345);
    this.peerAddress = options.peerAddress ??
      new IPv4Address("TCP", "192.168.1.1", 54321);
    this.#lenient = options.lenient ?? false;
  }

  /** Everything written since the last `clear()`, as one array. */
  value(): Uint8Array {
    if (this.#chunks.length === 1) return this.#chunks[0];
    const size = this.#chunks.reduce((n, c) => n + c.length, 0);
    const out = new Uint8Array(size);
    let at = 0;
    for (const c of this.#chunks) {
      out.set(c, at);
      at += c.length;
    }
    this.#chunks = size > 0 ? [out] : [];
    return out;
  }

  /** Everything written since the last `clear()`, decoded as UTF-8. */
  text(): string {
    return new TextDecoder().decode(this.value());
  }

  /** Forgets what was written. */
  clear(): void {
    this.#chunks = [];
  }

  /** Records `data` (a string as UTF-8; bytes are copied). */
  write(data: Data): void {
    const bytes = toBytes(data);
    if (bytes.length > 0) {
      this.#chunks.push(typeof data === "string" ? bytes : bytes.slice());
    }
  }

  /** Records each item in order. */
  writeSequence(data: Iterable<Data>): void {
    for (const item of data) this.write(item);
  }

  /** Records the request to close: sets `disconnecting`. */
  loseConnection(): void {
    this.disconnecting = true;
  }

  /** Records an abort: sets `aborted` and `disconnecting`. */
  abortConnection(): void {
    this.aborted = true;
    this.loseConnection();
  }

  /** Records a half-close: sets `writeDisconnected`. */
  loseWriteConnection(): void {
    this.writeDisconnected = true;
  }

  /** The peer's address. */
  getPeer(): IAddress {
    return this.peerAddress;
  }

  /** This side's address. */
  getHost(): IAddress {
    return this.hostAddress;
  }

  /**
   * Records a producer.
   *
   * @throws {Error} if one is already registered
   */
  registerProducer(
    producer: IPushProducer | IPullProducer,
    streaming: boolean,
  ): void {
    if (this.producer) throw new Error("Cannot register two producers");
    this.producer = producer;
    this.streaming = streaming;
  }

  /**
   * Forgets the producer.
   *
   * @throws {Error} if none is registered
   */
  unregisterProducer(): void {
    if (!this.producer) {
      throw new Error("Cannot unregister a producer unless one is registered");
    }
    this.producer = undefined;
    this.streaming = undefined;
  }

  #checkState(): void {
    if (this.disconnecting && !this.#lenient) {
      throw new Error("Cannot resume producing after loseConnection");
    }
    if (this.producerState === "stopped") {
      throw new Error("Cannot resume a stopped producer");
    }
  }

  /** Records a pause (`producerState` becomes `"paused"`). */
  pauseProducing(): void {
    this.#checkState();
    this.producerState = "paused";
  }

  /** Records a resume (`producerState` becomes `"producing"`). */
  resumeProducing(): void {
    this.#checkState();
    this.producerState = "producing";
  }

  /** Records a stop (`producerState` becomes `"stopped"`). */
  stopProducing(): void {
    this.producerState = "stopped";
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

  /** Always 0: a StringTransport "sends" everything at once. */
  getWriteBufferSize(): number {
    return 0;
  }

  /** Records the limits in `writeBufferLimits`. */
  setWriteBufferLimits(limits: WriteBufferLimits): void {
    this.writeBufferLimits = { ...limits };
  }
}

/**
 * A `StringTransport` whose `loseConnection` also tells the protocol:
 * `connectionLost(Failure(ConnectionDone))`, once.
 *
 * @example Telling the protocol of the close
 * ```ts
 * import { type Failure, Protocol } from "@twist/twist";
 * import { StringTransportWithDisconnection } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const reasons: string[] = [];
 * class P extends Protocol {
 *   override connectionLost(reason: Failure): void {
 *     reasons.push(reason.getErrorMessage());
 *   }
 * }
 * const transport = new StringTransportWithDisconnection();
 * const p = new P();
 * transport.protocol = p;
 * p.makeConnection(transport);
 * transport.loseConnection();
 * transport.loseConnection();
 * assertEquals(reasons, ["Connection was closed cleanly"]);
 * ```
 */
export class StringTransportWithDisconnection extends StringTransport {
  /** The protocol told of the disconnection. */
  protocol: IProtocol | undefined;

  /** Sets `disconnecting`, and calls the protocol's `connectionLost` the first time. */
  override loseConnection(): void {
    if (!this.connected) return;
    this.connected = false;
    super.loseConnection();
    if (this.protocol && "connected" in this.protocol) {
      (this.protocol as { connected: boolean }).connected = false;
    }
    this.protocol?.connectionLost(new Failure(new ConnectionDone()));
  }
}
