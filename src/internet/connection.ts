/**
 * The transport of a stream connection over a `Deno.Conn`: the one read loop
 * and write pump that TCP (and later TLS and UNIX sockets) share.
 *
 * The close rule, in one place:
 * - `loseConnection()` stops reading, drops any later writes, sends everything
 *   written before it, then closes: `connectionLost(ConnectionDone)`.
 * - `abortConnection()` drops the write buffer and closes at once:
 *   `connectionLost(ConnectionAborted)`.
 * - `loseWriteConnection()` sends what was written, then half-closes; a later
 *   `loseConnection()` closes the rest.
 * - The peer's end of stream: a protocol with `readConnectionLost` is told and
 *   keeps writing; any other protocol gets its pending writes sent, then
 *   `connectionLost(ConnectionDone)`.
 * - A registered producer is stopped (`stopProducing`) when the connection
 *   closes.
 * - `connectionLost` is called exactly once, after the socket is closed and its
 *   pending reads and writes have finished, and never from inside a call the
 *   protocol made (`write`, `loseConnection`...).
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
} from "./interfaces.ts";
import { Failure } from "./failure.ts";
import {
  ConnectionAborted,
  ConnectionDone,
  ConnectionLost,
  SSLError,
} from "./error.ts";
import {
  negotiatedProtocolOf,
  type TLSClientOptions,
  type TLSServerOptions,
  upgradeClient,
  upgradeServer,
} from "./_tls_upgrade.ts";
import { fromDenoAddr } from "./address.ts";
import { log } from "../logger.ts";
import { MAX_READ_SIZE, MIN_READ_SIZE, takeRegion } from "./_read_pool.ts";

const encoder = new TextEncoder();

/** Queued writes are joined into one `conn.write` up to this size... */
const COALESCE_LIMIT = 64 * 1024;
/** ...but only writes smaller than this are copied to be joined. */
const COALESCE_ITEM = 16 * 1024;

/**
 * Who owns a connection (its port's registry, or its connector) and is told
 * when it is gone. One owner serves many connections, so a connection costs
 * no closure of its own.
 */
export interface ConnectionOwner {
  /** Called once, after the protocol's `connectionLost`. */
  connectionClosed(connection: Connection, reason: Failure): void;
}

type HalfCloseable = IProtocol & {
  readConnectionLost?(): void;
  writeConnectionLost?(): void;
};

/**
 * A connected stream transport (`ITCPTransport`) over a `Deno.Conn`.
 *
 * Reads go into regions of shared slabs that start small and grow only for
 * connections whose reads fill them; each chunk given to `dataReceived` is
 * the protocol's to keep. Writes made in one turn of the event loop are
 * coalesced; one pump per connection writes them in order.
 *
 * @example Used through a protocol's `transport`
 * ```ts
 * import { ClientFactory, Factory, Protocol, Reactor, type IPv4Address } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const reactor = new Reactor();
 * class Echo extends Protocol {
 *   override dataReceived(data: Uint8Array): void {
 *     this.transport.write(data);
 *   }
 * }
 * const port = reactor.listenTCP(0, Factory.forProtocol(Echo), { interface: "127.0.0.1" });
 * const reply = Promise.withResolvers<string>();
 * class Client extends Protocol {
 *   override connectionMade(): void {
 *     this.transport.write("ping");
 *   }
 *   override dataReceived(data: Uint8Array): void {
 *     reply.resolve(new TextDecoder().decode(data));
 *     this.transport.loseConnection();
 *   }
 * }
 * reactor.connectTCP("127.0.0.1", (port.getHost() as IPv4Address).port, ClientFactory.forProtocol(Client));
 * assertEquals(await reply.promise, "ping");
 * await port.stopListening();
 * ```
 */
export class Connection implements ITCPTransport {
  #conn: Deno.Conn;
  #protocol: HalfCloseable;
  #owner: ConnectionOwner | undefined;
  #tcpOptions: boolean;
  /** A `startTLS` waiting for the writes before it to be sent. */
  #tlsPending: TLSClientOptions | TLSServerOptions | undefined;
  /** Whether the connection runs over TLS. */
  #tls: boolean;
  /** Whether the TLS handshake of `startTLS` is in progress. */
  #upgrading = false;
  /** Writes made after `startTLS`, sent once TLS is up. */
  #tlsQueue: Uint8Array[] = [];
  #host: IAddress | undefined;
  #peer: IAddress | undefined;

  // Reading.
  #region: Uint8Array = new Uint8Array(0);
  #regionOffset = 0;
  #readSize = MIN_READ_SIZE;
  #paused = false;
  #pausedForMax = false;
  /** Whether a `conn.read` is pending. */
  #reading = false;
  /** The size of the pending read's target. */
  #readTargetLength = 0;
  /** A chunk read while paused, delivered on resume. */
  #held: Uint8Array | undefined;
  /** A close waits on this for the pending `conn.read` to settle. */
  #readSettled: (() => void) | undefined;
  #readClosed = false;

  // Writing.
  #queue: Uint8Array[] = [];
  #queued = 0;
  /** The buffer being written by the pending `conn.write`, if any. */
  #inFlight: Uint8Array | undefined;
  /** A close waits on this for the pending `conn.write` to settle. */
  #writeSettled: (() => void) | undefined;
  /** Set while a close or half-close is scheduled for a microtask. */
  #closeScheduled = false;
  #high = 65_536;
  #low = 16_384;
  #max = Infinity;
  #onMax: "pause" | "abort" = "pause";

  // Producer.
  #producer: IPushProducer | IPullProducer | undefined;
  #streaming = false;
  #producerPaused = false;

  // State.
  #disconnecting = false;
  #writeClosing = false;
  #writeClosed = false;
  #closing = false;
  #closed = false;
  #noDelay = false;
  #keepAlive = false;

  /**
   * Wraps `conn` for `protocol`. Call `start()` to connect the protocol and
   * begin reading.
   */
  constructor(
    conn: Deno.Conn,
    protocol: IProtocol,
    owner?: ConnectionOwner,
    options: { tcp?: boolean; tls?: boolean } = {},
  ) {
    this.#conn = conn;
    this.#protocol = protocol as HalfCloseable;
    this.#owner = owner;
    this.#tcpOptions = options.tcp ?? true;
    this.#tls = options.tls ?? false;
  }

  /** The protocol this transport serves. */
  get protocol(): IProtocol {
    return this.#protocol;
  }

  /** Whether `loseConnection` (or `abortConnection`) has been called or the connection is gone. */
  get disconnecting(): boolean {
    return this.#disconnecting || this.#closing;
  }

  /** Whether the connection is closed. */
  get disconnected(): boolean {
    return this.#closed;
  }

  /**
   * Connects the protocol (`makeConnection` → `connectionMade`) and starts the
   * read loop. An exception from `connectionMade` is logged and drops the
   * connection (Twisted only logs it; Twist does not leave a half-made
   * protocol connected).
   */
  start(): void {
    try {
      this.#protocol.makeConnection(this);
    } catch (e) {
      log.err(e, "Unhandled error in connectionMade");
      this.#close(new Failure(e));
      return;
    }
    this.#readNext();
  }

  // -- reading ---------------------------------------------------------------

  /**
   * Issues the next read: the read loop, as callbacks rather than an async
   * loop (one less promise and frame per read). Nothing is read while paused.
   */
  #readNext(): void {
    if (
      this.#closing || this.#paused || this.#reading || this.#tlsPending ||
      this.#upgrading
    ) return;
    if (this.#region.length - this.#regionOffset < this.#readSize / 2) {
      this.#region = takeRegion(this.#readSize);
      this.#regionOffset = 0;
    }
    const target = this.#region.subarray(this.#regionOffset);
    this.#readTargetLength = target.length;
    this.#reading = true;
    this.#conn.read(target).then(this.#onRead, this.#onReadFailed);
  }

  #onRead = (n: number | null): void => {
    this.#reading = false;
    if (this.#closing) return this.#readDone();
    if (n === null) return this.#peerClosedWrite();
    const start = this.#regionOffset;
    const chunk = this.#region.subarray(start, start + n);
    this.#regionOffset = start + n;
    // A read that filled its target asks for a bigger one next time.
    if (n === this.#readTargetLength && this.#readSize < MAX_READ_SIZE) {
      this.#readSize *= 2;
    }
    if (this.#paused) this.#held = chunk;
    else this.#deliver(chunk);
  };

  #onReadFailed = (e: unknown): void => {
    this.#reading = false;
    if (this.#closing) return this.#readDone();
    this.#close(new Failure(readError(e)));
  };

  #readDone(): void {
    const settled = this.#readSettled;
    this.#readSettled = undefined;
    settled?.();
  }

  #deliver(chunk: Uint8Array): void {
    try {
      this.#protocol.dataReceived(chunk);
    } catch (e) {
      log.err(e, "Unhandled error in dataReceived");
      this.#close(new Failure(e));
      return;
    }
    this.#readNext();
  }

  #peerClosedWrite(): void {
    this.#readClosed = true;
    const p = this.#protocol;
    if (typeof p.readConnectionLost === "function") {
      try {
        p.readConnectionLost();
      } catch (e) {
        log.err(e, "Unhandled error in readConnectionLost");
        this.#close(new Failure(e));
        return;
      }
      if (this.#writeClosed) this.#close(new Failure(new ConnectionDone()));
    } else {
      // Send what the protocol already wrote (it may be the answer the peer
      // waits for after half-closing), then close.
      this.#loseConnection(false);
    }
  }

  /** Stops reading until `resumeProducing` (data already read is held back). */
  pauseProducing(): void {
    this.#paused = true;
  }

  /** Resumes reading. */
  resumeProducing(): void {
    if (this.#pausedForMax || this.#closing) return;
    this.#paused = false;
    const held = this.#held;
    this.#held = undefined;
    if (held) this.#deliver(held);
    else this.#readNext();
  }

  /** Stops producing for good: the same as `loseConnection`. */
  stopProducing(): void {
    this.loseConnection();
  }

  // -- writing ---------------------------------------------------------------

  /**
   * Queues `data` (a string is sent as UTF-8). Never blocks and never throws
   * for a closed peer; writes after `loseConnection` are dropped. The
   * transport keeps a reference to `data` until it is sent: do not modify it.
   */
  write(data: Data): void {
    if (this.#disconnecting || this.#writeClosing || this.#closing) return;
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    if (bytes.length === 0) return;
    this.#queued += bytes.length;
    if (this.#tlsPending || this.#upgrading) {
      this.#tlsQueue.push(bytes); // Sent over TLS once it is up.
    } else if (this.#inFlight === undefined && !this.#closeScheduled) {
      // Nothing in flight: send now (as asyncio does); writes made while this
      // one is in flight are joined into the next conn.write.
      this.#send(bytes);
    } else {
      this.#queue.push(bytes);
    }
    if (this.#queued > this.#high) this.#aboveHigh();
  }

  /** Queues each item in order. */
  writeSequence(data: Iterable<Data>): void {
    for (const item of data) this.write(item);
  }

  /** Bytes written but not yet sent. */
  getWriteBufferSize(): number {
    return this.#queued;
  }

  /**
   * Sets the write buffer's water marks and optional hard cap. A streaming
   * producer is paused once when the buffer goes above `high` and resumed
   * once when it drains to `low`.
   *
   * @throws {RangeError} if `low` is above `high` or a limit is negative
   */
  setWriteBufferLimits(limits: WriteBufferLimits): void {
    const high = limits.high ?? this.#high;
    const low = limits.low ?? Math.min(this.#low, high);
    const max = limits.max ?? this.#max;
    if (!(low >= 0 && high >= low && max >= high)) {
      throw new RangeError(
        `Invalid write buffer limits "low=${low}, high=${high}, max=${max}": expected 0 <= low <= high <= max`,
      );
    }
    this.#high = high;
    this.#low = low;
    this.#max = max;
    this.#onMax = limits.onMax ?? this.#onMax;
  }

  /**
   * The write pump, as callbacks rather than an async loop (one less promise
   * and frame per write): one `conn.write` at a time, partial writes
   * continued, queued writes joined.
   */
  #send(buf: Uint8Array): void {
    this.#inFlight = buf;
    this.#conn.write(buf).then(this.#onWritten, this.#onWriteFailed);
  }

  #onWritten = (n: number): void => {
    if (this.#closing) return this.#writeDone();
    const buf = this.#inFlight!;
    this.#queued -= n;
    if (
      this.#queued <= this.#low && (this.#producerPaused || this.#pausedForMax)
    ) this.#drained();
    if (n < buf.length) return this.#send(buf.subarray(n));
    if (this.#queue.length > 0) return this.#send(this.#takeBatch());
    this.#inFlight = undefined;
    if (this.#tlsPending) return this.#upgrade();
    this.#bufferEmpty();
  };

  #onWriteFailed = (e: unknown): void => {
    if (this.#closing) return this.#writeDone();
    this.#inFlight = undefined;
    this.#close(new Failure(writeError(e)));
  };

  #writeDone(): void {
    this.#inFlight = undefined;
    const settled = this.#writeSettled;
    this.#writeSettled = undefined;
    settled?.();
  }

  /** The next buffer to write: small queued writes joined, a big one alone (no copy). */
  #takeBatch(): Uint8Array {
    const queue = this.#queue;
    const first = queue[0];
    if (queue.length === 1 || first.length >= COALESCE_ITEM) {
      queue.shift();
      return first;
    }
    let count = 0;
    let size = 0;
    while (
      count < queue.length && queue[count].length < COALESCE_ITEM &&
      size + queue[count].length <= COALESCE_LIMIT
    ) size += queue[count++].length;
    if (count <= 1) {
      queue.shift();
      return first;
    }
    const batch = new Uint8Array(size);
    let at = 0;
    for (let i = 0; i < count; i++) {
      batch.set(queue[i], at);
      at += queue[i].length;
    }
    queue.splice(0, count);
    return batch;
  }

  #aboveHigh(): void {
    if (this.#producer && this.#streaming && !this.#producerPaused) {
      this.#producerPaused = true;
      callProducer(() => (this.#producer as IPushProducer).pauseProducing());
    }
    if (this.#queued > this.#max) {
      if (this.#onMax === "abort") {
        log.warn(
          `Write buffer above its cap of ${this.#max} bytes: aborting the connection`,
        );
        this.abortConnection();
      } else if (!this.#pausedForMax) {
        this.#pausedForMax = true;
        this.#paused = true;
      }
    }
  }

  #drained(): void {
    if (this.#pausedForMax) {
      this.#pausedForMax = false;
      this.resumeProducing();
    }
    if (this.#producer && this.#streaming && this.#producerPaused) {
      this.#producerPaused = false;
      callProducer(() => (this.#producer as IPushProducer).resumeProducing());
    }
  }

  #bufferEmpty(): void {
    if (this.#producer && !this.#streaming && !this.#disconnecting) {
      // A pull producer is asked for more each time the buffer drains.
      callProducer(() => this.#producer!.resumeProducing());
      return;
    }
    if (this.#disconnecting) {
      this.#close(new Failure(new ConnectionDone()));
    } else if (this.#writeClosing && !this.#writeClosed) {
      this.#finishWriteClose();
    }
  }

  // -- producers -------------------------------------------------------------

  /**
   * Registers a producer: a streaming (push) one is paused when the write
   * buffer is above the high-water mark and resumed when it drains; a pull
   * one is asked for more (`resumeProducing`) each time the buffer drains.
   *
   * @throws {Error} if a producer is already registered
   */
  registerProducer(
    producer: IPushProducer | IPullProducer,
    streaming: boolean,
  ): void {
    if (this.#producer) {
      throw new Error(
        `Cannot register producer ${producer}: producer ${this.#producer} is already registered`,
      );
    }
    if (this.#closing) {
      callProducer(() => producer.stopProducing());
      return;
    }
    this.#producer = producer;
    this.#streaming = streaming;
    this.#producerPaused = false;
    if (streaming) {
      if (this.#queued > this.#high) this.#aboveHigh();
    } else if (this.#inFlight === undefined && this.#queue.length === 0) {
      callProducer(() => producer.resumeProducing());
    }
  }

  /** Unregisters the producer. */
  unregisterProducer(): void {
    this.#producer = undefined;
    this.#producerPaused = false;
  }

  // -- closing ---------------------------------------------------------------

  /** Sends everything written so far, then closes (`ConnectionDone`). Idempotent. */
  loseConnection(): void {
    this.#loseConnection(true);
  }

  #loseConnection(stopReading: boolean): void {
    if (this.#disconnecting || this.#closing) return;
    this.#disconnecting = true;
    if (stopReading) this.#paused = true;
    if (this.#inFlight !== undefined || this.#closeScheduled) return;
    // Close from a microtask: connectionLost never runs inside the caller.
    this.#closeScheduled = true;
    queueMicrotask(() => {
      this.#closeScheduled = false;
      if (!this.#closing) this.#close(new Failure(new ConnectionDone()));
    });
  }

  /**
   * Drops the write buffer and closes at once. The reason given to
   * `connectionLost` is `ConnectionAborted` unless another is passed (the
   * reactor passes `ConnectionLost` when it aborts at shutdown).
   */
  abortConnection(reason: Error = new ConnectionAborted()): void {
    if (this.#closing) return;
    this.#disconnecting = true;
    this.#queue = [];
    this.#queued = 0;
    this.#closing = true;
    queueMicrotask(() => this.#close(new Failure(reason)));
  }

  /**
   * Sends everything written so far, then closes the write half
   * (`conn.closeWrite()`); a half-closeable protocol's `writeConnectionLost`
   * is then called. Later writes are dropped.
   */
  loseWriteConnection(): void {
    if (this.#writeClosing || this.#disconnecting || this.#closing) return;
    this.#writeClosing = true;
    if (this.#inFlight === undefined && !this.#closeScheduled) {
      queueMicrotask(() => {
        if (!this.#closing && !this.#writeClosed) this.#finishWriteClose();
      });
    }
  }

  #finishWriteClose(): void {
    this.#writeClosed = true;
    this.#conn.closeWrite().then(() => {
      if (this.#closing) return;
      const p = this.#protocol;
      if (typeof p.writeConnectionLost === "function") {
        try {
          p.writeConnectionLost();
        } catch (e) {
          log.err(e, "Unhandled error in writeConnectionLost");
          this.#close(new Failure(e));
          return;
        }
      }
      if (this.#readClosed) this.#close(new Failure(new ConnectionDone()));
    }, (e) => {
      if (!this.#closing) this.#close(new Failure(writeError(e)));
    });
  }

  /**
   * Closes the socket, waits for the pending read and write to finish, then
   * tells the protocol (once) and the owner.
   */
  #close(reason: Failure): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing = true;
    this.#disconnecting = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by Deno (e.g. after a reset): nothing left to release.
    }
    const writeDone = this.#inFlight === undefined
      ? undefined
      : new Promise<void>((resolve) => (this.#writeSettled = resolve));
    const readDone = this.#reading
      ? new Promise<void>((resolve) => (this.#readSettled = resolve))
      : undefined;
    Promise.allSettled([readDone, writeDone]).then(() => this.#lost(reason));
  }

  #lost(reason: Failure): void {
    const producer = this.#producer;
    this.#producer = undefined;
    if (producer) callProducer(() => producer.stopProducing());
    const p = this.#protocol as HalfCloseable & { connected?: boolean };
    if ("connected" in p) p.connected = false;
    try {
      p.connectionLost(reason);
    } catch (e) {
      log.err(e, "Unhandled error in connectionLost");
    }
    try {
      this.#owner?.connectionClosed(this, reason);
    } catch (e) {
      log.err(e, "Unhandled error after connectionLost");
    }
  }

  // -- TLS -------------------------------------------------------------------

  /**
   * Upgrades the connection to TLS in place (STARTTLS): with `{ cert, key }`
   * as the server, otherwise as the client (`hostname` defaults to the peer's
   * address; `caCerts` for private CAs). What was written before is sent in
   * plaintext first; what is written after waits and goes over TLS; reading
   * resumes over TLS once the handshake is done, and a failed handshake loses
   * the connection with an `SSLError`.
   *
   * Deno cannot cancel a pending read, so call it from `connectionMade` or
   * `dataReceived` (after the command that starts TLS), when no read is
   * pending. Nothing the peer sent after that command in the same packet is
   * read by the transport; a protocol that buffers (like `LineReceiver`)
   * should clear its buffer (`clearLineBuffer()`) so pipelined plaintext is
   * never taken as coming over TLS.
   *
   * @throws {Error} when a read is pending, the connection is closing, or TLS
   * is already on
   */
  startTLS(options: TLSClientOptions | TLSServerOptions): void {
    if (this.#closing || this.#disconnecting) {
      throw new Error("Cannot start TLS on a connection that is closing");
    }
    if (this.#tlsPending || this.#upgrading || this.#tls) {
      throw new Error("TLS is already started on this connection");
    }
    if (this.#reading) {
      throw new Error(
        "startTLS() must be called from connectionMade or dataReceived: Deno cannot upgrade a connection while a read is pending",
      );
    }
    this.#tlsPending = options;
    if (this.#inFlight === undefined) this.#upgrade();
  }

  /** The ALPN protocol negotiated over TLS, or `null`. */
  get negotiatedProtocol(): string | null {
    return negotiatedProtocolOf(this.#conn);
  }

  #upgrade(): void {
    const options = this.#tlsPending!;
    this.#tlsPending = undefined;
    this.#upgrading = true;
    // The addresses stay those of the plain connection.
    this.getHost();
    const peer = this.getPeer() as { host?: string };
    const upgrading = "cert" in options
      ? upgradeServer(this.#conn, options)
      : upgradeClient(this.#conn, peer.host ?? "localhost", options);
    upgrading.then((tls) => {
      this.#upgrading = false;
      if (this.#closing) {
        try {
          tls.close();
        } catch {
          // Already closed.
        }
        return;
      }
      this.#conn = tls;
      this.#tcpOptions = false;
      this.#tls = true;
      const waiting = this.#tlsQueue;
      this.#tlsQueue = [];
      if (waiting.length > 0) {
        this.#queue.push(...waiting);
        this.#send(this.#takeBatch());
      }
      this.#readNext();
    }, (e) => {
      this.#upgrading = false;
      if (!this.#closing) {
        this.#close(
          new Failure(
            new SSLError(
              `TLS handshake failed: ${(e as Error)?.message ?? e}`,
              { cause: e },
            ),
          ),
        );
      }
    });
  }

  // -- addresses and options -------------------------------------------------

  /** The address of the other side. */
  getPeer(): IAddress {
    return this.#peer ??= fromDenoAddr(this.#conn.remoteAddr);
  }

  /** The address of this side. */
  getHost(): IAddress {
    return this.#host ??= fromDenoAddr(this.#conn.localAddr);
  }

  /** Whether Nagle's algorithm is disabled. */
  getTcpNoDelay(): boolean {
    return this.#noDelay;
  }

  /** Disables (`true`) or enables Nagle's algorithm. A no-op where the connection has no such option (TLS). */
  setTcpNoDelay(enabled: boolean): void {
    this.#noDelay = enabled;
    if (this.#tcpOptions && !this.#closing) {
      (this.#conn as Deno.TcpConn).setNoDelay?.(enabled);
    }
  }

  /** Whether TCP keepalive is enabled. */
  getTcpKeepAlive(): boolean {
    return this.#keepAlive;
  }

  /** Enables or disables TCP keepalive. A no-op where the connection has no such option (TLS). */
  setTcpKeepAlive(enabled: boolean): void {
    this.#keepAlive = enabled;
    if (this.#tcpOptions && !this.#closing) {
      (this.#conn as Deno.TcpConn).setKeepAlive?.(enabled);
    }
  }

  /** A readable form for logs. */
  toString(): string {
    return `<Connection ${this.getHost()} -> ${this.getPeer()}>`;
  }
}

function callProducer(f: () => void): void {
  try {
    f();
  } catch (e) {
    log.err(e, "Unhandled error in a producer");
  }
}

/** Maps a failed read to Twisted's reasons. */
function readError(e: unknown): Error {
  if (
    e instanceof Deno.errors.ConnectionReset ||
    e instanceof Deno.errors.BrokenPipe
  ) {
    return new ConnectionLost(
      `Connection to the other side was lost: ${(e as Error).message}`,
      { cause: e },
    );
  }
  if (e instanceof Deno.errors.UnexpectedEof) {
    return new ConnectionDone(undefined, { cause: e });
  }
  return new ConnectionLost(
    `Connection lost while reading: ${(e as Error)?.message ?? e}`,
    { cause: e },
  );
}

/** Maps a failed write to Twisted's reasons. */
function writeError(e: unknown): Error {
  return new ConnectionLost(
    `Connection lost while writing: ${(e as Error)?.message ?? e}`,
    { cause: e },
  );
}
