/**
 * The transport of a stream connection over a `Deno.Conn` (or a `node:net`
 * socket, whose reads are pushed: `node_conn.ts`): the one read loop and
 * write pump that TCP, TLS and UNIX sockets share.
 *
 * A protocol sees `makeConnection → connectionMade → dataReceived* →
 * [readConnectionLost] → [writeConnectionLost] → connectionLost`.
 *
 * The close rule, in one place (Twisted's, with asyncio's flush-then-close):
 * - `loseConnection()` stops reading and closes once everything written has
 *   been sent — including what is written after it, until the socket is
 *   closed — and, as Twisted's `doWrite` does, only once a registered pull
 *   producer (or a streaming one paused by the water marks) has been
 *   unregistered; a streaming producer that is not paused does not hold the
 *   close and is stopped with it: `connectionLost(ConnectionDone)`.
 * - `abortConnection()` drops the write buffer and closes at once:
 *   `connectionLost(ConnectionAborted)`.
 * - `loseWriteConnection()` sends what was written, then half-closes
 *   (`conn.closeWrite()`); the connection closes (`ConnectionDone`) once the
 *   peer's end of stream has been read too, or on `loseConnection()`.
 * - The peer's end of stream: a protocol with `readConnectionLost` is told and
 *   keeps writing; any other protocol has its registered producer stopped and
 *   its pending writes sent, then gets `connectionLost(ConnectionDone)`.
 *   (Deno reports a reset that a pending read sees as end of stream, so a
 *   peer's reset shows up as `ConnectionDone` unless a write sees it first —
 *   that write fails with `ConnectionLost`.)
 * - A failed read or write closes with `ConnectionLost`; an exception thrown
 *   by a protocol callback closes with that exception (and is logged).
 * - A registered producer gets `stopProducing()` when the connection closes.
 * - `connectionLost` is called exactly once, after the socket is closed and its
 *   pending reads and writes have finished, and never from inside a call the
 *   protocol made (`write`, `loseConnection`...).
 *
 * The connection's states (`#state`); writing, its half-close and the
 * producer are the write buffer's (`write_buffer.ts`: `open → ending →
 * shutting → shut`, or `stopped`):
 *
 * ```text
 * open ──loseConnection, or the peer's end of stream──▶ disconnecting
 *   │                                                         │ flushed
 *   ├──abortConnection──▶ aborting ──(microtask)──▶ closed ◀──┘
 *   └──a failed read or write, an exception in a callback──▶ closed
 * ```
 *
 * `closed` means the socket is closed; `connectionLost` follows once its
 * pending read and write have settled. TLS has its own (`#tls`): `off →
 * pending` (`startTLS`: waiting for earlier writes to be sent) `→ upgrading
 * → on`; `on` from the start for a connection made over TLS; `upgrading →
 * on` for an accepted TLS connection, whose protocol is connected as soon
 * as the TCP connection is (as Twisted's TLS over TCP): what it writes
 * waits for the handshake, reading starts after it, a handshake that fails
 * or outlasts its timeout loses the connection with an `SSLError`, and a
 * protocol with `handshakeCompleted()` is told when it is done.
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
} from "../interfaces.ts";
import { Failure } from "../failure.ts";
import {
  ConnectionAborted,
  ConnectionDone,
  ConnectionLost,
  SSLError,
} from "../error.ts";
import type { PeerCertificate, TLSStartOptions } from "../interfaces.ts";
import {
  handshakeTimeoutOf,
  isServerSide,
  negotiatedProtocolOf,
  peerCertificateOf,
  upgradeClient,
  upgradeServer,
} from "./tls_upgrade.ts";
import { fromDenoAddr } from "../address.ts";
import { toBytes } from "../common/bytes.ts";
import { log } from "../../logger.ts";
import { watchResult } from "../common/callbacks.ts";
import {
  MAX_READ_SIZE,
  MAX_TLS_READ_SIZE,
  MIN_READ_SIZE,
  takeRegion,
  TLS_RECORD_SIZE,
} from "./read_pool.ts";
import { WriteBuffer, type WriteBufferEvent } from "./write_buffer.ts";
import { NodeConn } from "./node_conn.ts";

/** What a closed connection reads into: nothing. */
const EMPTY = new Uint8Array(0);

/** See the module docs. */
type ConnectionState = "open" | "disconnecting" | "aborting" | "closed";
/** See the module docs. */
type TLSState = "off" | "pending" | "upgrading" | "on";

/**
 * Who owns a connection (its port's registry, or its connector) and is told
 * when it is gone. One owner serves many connections, so a connection costs
 * no closure of its own.
 */
export interface ConnectionOwner {
  /** Called once, after the protocol's `connectionLost`. */
  connectionClosed(connection: Connection, reason: Failure): void;
  /**
   * The reactor's `callLater`, which times a `startTLS` handshake (without
   * it, nothing does).
   */
  callLater?: AcceptedHandshake["callLater"];
}

/** A protocol with the optional members a connection looks for. */
type ConnectedProtocol = IProtocol & {
  readConnectionLost?(): void;
  writeConnectionLost?(): void;
  handshakeCompleted?(): void;
  borrowsData?: boolean;
};

/** At most this many read targets are kept for a borrowing protocol. */
const LENT_TARGETS = 2;

/**
 * The TLS handshake of an accepted connection, run by the connection once
 * its protocol is connected.
 */
export interface AcceptedHandshake {
  /** Completes the handshake over the accepted socket; resolves with the conn to use. */
  run(conn: Deno.Conn): Promise<Deno.Conn>;
  /** Seconds it may take. */
  timeout: number;
  /** Schedules the timeout (the reactor's `callLater`). */
  callLater(
    seconds: number,
    f: () => void,
  ): { active(): boolean; cancel(): void };
}

/**
 * A connected stream transport (`ITCPTransport`) over a `Deno.Conn`, or a
 * `node:net` socket for the TCP backend that is fair under load
 * (`node_conn.ts`).
 *
 * Reads go into regions of shared slabs that start small and grow only for
 * connections whose reads fill them; each chunk given to `dataReceived` is
 * the protocol's to keep, unless it borrows its chunks (`IBorrowingProtocol`):
 * then its reads go into two targets of its own, each read into again once
 * nothing written from it waits to be sent. Writes made in one turn of the
 * event loop are coalesced; one pump per connection writes them in order.
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
  // -- node:net backend (node_conn.ts): reads are pushed, not pulled. ------
  /** The `node:net` socket of a connection of that backend, until TLS. */
  #node: NodeConn | undefined;
  // ------------------------------------------------------------------------
  #protocol: ConnectedProtocol;
  #owner: ConnectionOwner | undefined;
  #tcpOptions: boolean;
  #state: ConnectionState = "open";
  #tls: TLSState;
  /** The options of a `startTLS` waiting for the writes before it to be sent. */
  #tlsOptions: TLSStartOptions | undefined;
  /** The handshake an accepted TLS connection runs from `start()`. */
  #handshake: AcceptedHandshake | undefined;
  #host: IAddress | undefined;
  #peer: IAddress | undefined;

  // Reading.
  #region: Uint8Array = new Uint8Array(0);
  #regionOffset = 0;
  #readSize = MIN_READ_SIZE;
  /** Paused by the protocol (or a producer's consumer): `pauseProducing`. */
  #paused = false;
  /** Paused because the write buffer went above its hard cap (`onMax: "pause"`). */
  #pausedForMax = false;
  /** Whether a `conn.read` is pending. */
  #reading = false;
  /** The size of the pending read's target. */
  #readTargetLength = 0;
  /**
   * A borrowing protocol's read targets (`IBorrowingProtocol`): each is read
   * into again once nothing written from it waits to be sent.
   */
  #lent: Uint8Array[] | undefined;
  /** The pending read's target when it is one of `#lent`. */
  #lentTarget: Uint8Array | undefined;
  /** A chunk read while reading was stopped, delivered on resume. */
  #held: Uint8Array | undefined;
  /** The peer's end of stream, read while reading was stopped. */
  #heldEof = false;
  /** A close waits on this for the pending `conn.read` to settle. */
  #readSettled: (() => void) | undefined;
  #readClosed = false;

  // Writing: the queue, pump, water marks and producer.
  #buffer: WriteBuffer;

  #noDelay = false;
  #keepAlive = false;

  /**
   * Wraps `conn` for `protocol`. Call `start()` to connect the protocol and
   * begin reading.
   */
  constructor(
    conn: Deno.Conn | NodeConn,
    protocol: IProtocol,
    owner?: ConnectionOwner,
    options: {
      tcp?: boolean;
      tls?: boolean;
      handshake?: AcceptedHandshake;
    } = {},
  ) {
    if (conn instanceof NodeConn) {
      // It has the part of a Deno.Conn used outside the pull read path.
      this.#node = conn;
      this.#conn = conn as unknown as Deno.Conn;
    } else {
      this.#conn = conn;
    }
    this.#protocol = protocol as ConnectedProtocol;
    this.#owner = owner;
    this.#tcpOptions = options.tcp ?? true;
    this.#tls = options.tls ? "on" : "off";
    this.#handshake = options.handshake;
    this.#buffer = new WriteBuffer(conn, this.#onWriteEvent);
    this.#node?.attach({
      data: (chunk) => this.#onPushed(chunk),
      end: () => this.#onPushedEnd(),
      error: (e) => this.#onReadFailed(e),
    });
  }

  /** The protocol this transport serves. */
  get protocol(): IProtocol {
    return this.#protocol;
  }

  /** Whether `loseConnection` (or `abortConnection`) has been called or the connection is gone. */
  get disconnecting(): boolean {
    return this.#state !== "open";
  }

  /** Whether the connection is closed. */
  get disconnected(): boolean {
    return this.#state === "closed";
  }

  /** The socket is being (or has been) closed: nothing more is read or sent. */
  get #closing(): boolean {
    return this.#state === "aborting" || this.#state === "closed";
  }

  /**
   * Connects the protocol (`makeConnection` → `connectionMade`) and starts the
   * read loop. An exception from `connectionMade` is logged and drops the
   * connection with that exception as the reason (Twisted only logs it; Twist
   * does not leave a half-made protocol connected).
   */
  start(): void {
    const handshake = this.#handshake;
    this.#handshake = undefined;
    if (handshake) {
      // Writes wait for the handshake; reading starts after it.
      this.#tls = "upgrading";
      this.#buffer.hold();
    }
    let made: unknown;
    try {
      made = this.#protocol.makeConnection(this);
    } catch (e) {
      log.err(e, "Unhandled error in connectionMade");
      this.#close(new Failure(e));
      return;
    }
    if (made !== undefined) {
      watchResult(made, "Unhandled error in connectionMade", this.#failWith());
    }
    if (handshake) return this.#runHandshake(handshake);
    if (this.#tls === "on" && !this.#closing) this.#handshakeCompleted();
    this.#readNext();
  }

  #runHandshake(handshake: AcceptedHandshake): void {
    if (this.#closing) return;
    this.#giveBackHeld();
    const conn = this.#conn;
    const timer = this.#timeHandshake(handshake.timeout, handshake.callLater);
    let running;
    try {
      running = handshake.run(conn);
    } catch (e) {
      running = Promise.reject(e);
    }
    running.then((tls) => {
      if (timer.active()) timer.cancel();
      this.#upgraded(tls);
    }, (e) => {
      if (timer.active()) timer.cancel();
      this.#upgradeFailed(e);
    });
  }

  /**
   * Drops the connection with an `SSLError` if the handshake is still
   * running after `seconds` (`stop` ends the handshake's own work first).
   */
  #timeHandshake(
    seconds: number,
    callLater: AcceptedHandshake["callLater"],
    stop?: () => void,
  ): { active(): boolean; cancel(): void } {
    return callLater(seconds, () => {
      if (this.#tls !== "upgrading" || this.#closing) return;
      stop?.();
      this.abortConnection(
        new SSLError(
          `TLS handshake with ${this.getPeer()} timed out after ${seconds} seconds`,
        ),
      );
    });
  }

  /** Tells a protocol with `handshakeCompleted` (Twisted's `IHandshakeListener`). */
  #handshakeCompleted(): void {
    const p = this.#protocol;
    if (typeof p.handshakeCompleted !== "function") return;
    try {
      watchResult(
        p.handshakeCompleted(),
        "Unhandled error in handshakeCompleted",
        this.#failWith(),
      );
    } catch (e) {
      log.err(e, "Unhandled error in handshakeCompleted");
      this.#close(new Failure(e));
    }
  }

  /** Drops the connection because a protocol callback's promise rejected. */
  #failWith(): (e: unknown) => void {
    // Made only when a callback returned a promise: no closure per connection.
    return (e) => this.#close(new Failure(e));
  }

  // -- reading ---------------------------------------------------------------

  /** Whether the transport may read and deliver now. */
  #canRead(): boolean {
    return !(this.#paused || this.#pausedForMax || this.#state !== "open" ||
      this.#tls === "pending" || this.#tls === "upgrading");
  }

  /**
   * Issues the next read: the read loop, as callbacks rather than an async
   * loop (one less promise and frame per read). Nothing is read while paused.
   */
  #readNext(): void {
    if (this.#reading || this.#readClosed || !this.#canRead()) return;
    if (this.#node) return this.#node.resume();
    const size = this.#readSize;
    let least = size / 2;
    // TLS (issue 15): a target smaller than a record splits it over two
    // reads, and the short second read shrank the read size again.
    if (this.#tls === "on" && least < TLS_RECORD_SIZE) {
      least = Math.min(size, TLS_RECORD_SIZE);
    }
    if (this.#protocol.borrowsData === true) {
      const lent = this.#lendTarget(Math.max(size, least));
      if (lent !== undefined) {
        this.#lentTarget = lent;
        this.#readTargetLength = lent.length;
        this.#reading = true;
        this.#conn.read(lent).then(this.#onRead, this.#onReadFailed);
        return;
      }
    }
    if (this.#region.length - this.#regionOffset < least) {
      this.#region = takeRegion(size);
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
    if (n === null) {
      // As Twisted's stopReading: the end of stream waits for a resume too.
      if (this.#canRead()) this.#peerClosedWrite();
      else this.#heldEof = true;
      return;
    }
    let chunk: Uint8Array;
    const lent = this.#lentTarget;
    if (lent !== undefined) {
      this.#lentTarget = undefined;
      chunk = lent.subarray(0, n);
    } else {
      const start = this.#regionOffset;
      chunk = this.#region.subarray(start, start + n);
      this.#regionOffset = start + n;
    }
    // A read that filled its target asks for a bigger one next time; one far
    // from filling it asks for a smaller one, so a connection that goes quiet
    // after a burst stops pinning a big buffer.
    if (n === this.#readTargetLength) {
      const max = this.#tls === "on" ? MAX_TLS_READ_SIZE : MAX_READ_SIZE;
      if (this.#readSize < max) this.#readSize *= 2;
    } else if (n < this.#readSize >> 4 && this.#readSize > MIN_READ_SIZE) {
      this.#readSize >>= 1;
    }
    if (this.#canRead()) this.#deliver(chunk);
    else this.#held = chunk;
  };

  /**
   * A read target for a borrowing protocol: one of its own that nothing
   * written still holds, or a new one while it has fewer than two (one can
   * be read into while the other is being written); none when both are
   * held, and the read goes to fresh memory as for any protocol.
   */
  #lendTarget(size: number): Uint8Array | undefined {
    const lent = this.#lent ??= [];
    for (let i = 0; i < lent.length; i++) {
      const target = lent[i];
      // Outgrown, or far too big for a connection gone quiet: let it go.
      if (target.length < size || target.length > 4 * size) {
        lent.splice(i--, 1);
      } else if (!this.#buffer.holds(target)) {
        return target;
      }
    }
    if (lent.length >= LENT_TARGETS) return undefined;
    const target = new Uint8Array(size);
    lent.push(target);
    return target;
  }

  // -- node:net backend: a pushed chunk is delivered at once if it can be;
  // otherwise it is kept (as a pull read's chunk would be) and the socket is
  // paused until #resumeReading. See node_conn.ts.
  #onPushed(chunk: Uint8Array): void {
    if (this.#closing) return;
    const held = this.#held;
    if (held === undefined && this.#canRead()) return this.#deliver(chunk);
    this.#held = held === undefined ? chunk : concat(held, chunk);
    this.#node!.pause();
  }

  /**
   * Before a TLS handshake on a node:net socket: a chunk pushed while it
   * could not be delivered is the handshake's, so it goes back to the socket.
   */
  #giveBackHeld(): void {
    if (!this.#node || !this.#held) return;
    this.#node.socket.unshift(this.#held);
    this.#held = undefined;
  }

  #onPushedEnd(): void {
    if (this.#closing) return;
    if (this.#held === undefined && this.#canRead()) this.#peerClosedWrite();
    else this.#heldEof = true;
  }
  // ------------------------------------------------------------------------

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
    let result: unknown;
    const buffered = this.#buffer.size;
    try {
      result = this.#protocol.dataReceived(chunk);
      // Above the cap, reading stops when what was read made the connection
      // write more (an echo whose peer does not read). Writes made elsewhere
      // (a client's upload in connectionMade) do not stop it: the reply they
      // get is what drains the peer, and two connections that both stopped
      // reading would wait for each other for ever.
      if (this.#buffer.capped && this.#buffer.size > buffered) {
        this.#pausedForMax = true;
      }
    } catch (e) {
      log.err(e, "Unhandled error in dataReceived");
      this.#close(new Failure(e));
      return;
    }
    if (result !== undefined) {
      // An async dataReceived may still use the chunk: never lend it again.
      const lent = this.#lent;
      if (lent !== undefined) {
        this.#lent = lent.filter((t) => t.buffer !== chunk.buffer);
      }
      watchResult(result, "Unhandled error in dataReceived", this.#failWith());
    }
    this.#readNext();
  }

  /** Delivers what was read while stopped, or reads on, if reading is allowed. */
  #resumeReading(): void {
    if (!this.#canRead()) return;
    const held = this.#held;
    if (held) {
      this.#held = undefined;
      this.#deliver(held);
      // A node:net socket may have pushed its end of stream after it.
      if (!this.#heldEof || !this.#canRead()) return;
    }
    if (this.#heldEof) {
      this.#heldEof = false;
      this.#peerClosedWrite();
    } else {
      this.#readNext();
    }
  }

  #peerClosedWrite(): void {
    this.#readClosed = true;
    const p = this.#protocol;
    if (typeof p.readConnectionLost === "function") {
      try {
        watchResult(
          p.readConnectionLost(),
          "Unhandled error in readConnectionLost",
          this.#failWith(),
        );
      } catch (e) {
        log.err(e, "Unhandled error in readConnectionLost");
        this.#close(new Failure(e));
        return;
      }
      if (this.#buffer.state === "shut") {
        this.#close(new Failure(new ConnectionDone()));
      }
    } else {
      // Send what the protocol already wrote (it may be the answer the peer
      // waits for after half-closing), then close.
      this.#loseConnection(true);
    }
  }

  /** Stops reading until `resumeProducing` (data already read is held back). */
  pauseProducing(): void {
    this.#paused = true;
  }

  /** Resumes reading. */
  resumeProducing(): void {
    this.#paused = false;
    this.#resumeReading();
  }

  /** Stops producing for good: the same as `loseConnection` (as Twisted's). */
  stopProducing(): void {
    this.loseConnection();
  }

  // -- writing ---------------------------------------------------------------

  /**
   * Queues `data` (a string is sent as UTF-8). Never blocks and never throws
   * for a closed peer. Writes made after `loseConnection` are still sent
   * until the socket is closed (as in Twisted); after `abortConnection`, the
   * close, or the write half's close, they are dropped. The transport keeps
   * a reference to `data` until it is sent: do not modify it.
   */
  write(data: Data): void {
    this.#buffer.write(toBytes(data));
  }

  /** Queues each item in order. */
  writeSequence(data: Iterable<Data>): void {
    for (const item of data) this.write(item);
  }

  /** Bytes written but not yet sent. */
  getWriteBufferSize(): number {
    return this.#buffer.size;
  }

  /**
   * Sets the write buffer's water marks and hard cap. A streaming producer
   * is paused once when the buffer goes above `high` and resumed once when
   * it drains to `low`. Above `max` (4 MiB unless set; `Infinity` for none)
   * the connection either stops reading, once a `dataReceived` has written
   * more, until the buffer drains to `low` (`onMax: "pause"`, the default)
   * or is aborted (`"abort"`).
   *
   * @throws {RangeError} if `low` is above `high`, `high` above `max`, or a
   * limit is negative
   */
  setWriteBufferLimits(limits: WriteBufferLimits): void {
    this.#buffer.setLimits(limits);
  }

  /** What the write buffer tells its owner. */
  #onWriteEvent = (event: WriteBufferEvent, error?: unknown): void => {
    switch (event) {
      case "failed":
        if (!this.#closing) this.#close(new Failure(writeError(error)));
        return;
      case "flushed":
        // What loseConnection waits for (a half-close is the buffer's).
        if (this.#state === "disconnecting") {
          this.#close(new Failure(new ConnectionDone()));
        }
        return;
      case "shut":
        return this.#writeShut();
      case "held":
        // An accepted TLS connection holds its writes without startTLS.
        if (this.#tlsOptions) this.#upgrade();
        return;
      case "pause":
        // Reading stops only when a delivery wrote more (#deliver).
        return;
      case "resume":
        this.#pausedForMax = false;
        return this.#resumeReading();
      case "abort":
        return this.abortConnection();
    }
  };

  // -- producers -------------------------------------------------------------

  /**
   * Registers a producer: a streaming (push) one is paused when the write
   * buffer is above the high-water mark and resumed when it drains; a pull
   * one is asked for more (`resumeProducing`) each time the buffer drains.
   * While a pull producer (or a streaming one paused by the water marks) is
   * registered, `loseConnection` waits for it to be unregistered; a
   * streaming producer that is not paused does not (as Twisted's `doWrite`).
   * A producer registered on a closed
   * connection is stopped at once.
   *
   * @throws {Error} if a producer is already registered
   */
  registerProducer(
    producer: IPushProducer | IPullProducer,
    streaming: boolean,
  ): void {
    this.#buffer.registerProducer(producer, streaming);
  }

  /** Unregisters the producer; a pending `loseConnection` can then complete. */
  unregisterProducer(): void {
    this.#buffer.unregisterProducer();
  }

  // -- closing ---------------------------------------------------------------

  /**
   * Stops reading and closes once everything written has been sent and no
   * producer holds the close (see `registerProducer`):
   * `connectionLost(ConnectionDone)`. Idempotent.
   */
  loseConnection(): void {
    this.#loseConnection(false);
  }

  /**
   * Stops a registered producer (`stopProducing`) and closes once everything
   * already written has been sent, without waiting for the producer to
   * unregister. The reactor does this to every connection at shutdown.
   */
  closeAfterFlush(): void {
    if (this.#tls === "upgrading" && !this.#closing) {
      // Nothing goes out before the handshake ends, which may be never.
      this.#buffer.stopProducer();
      this.#close(new Failure(new ConnectionDone()));
      return;
    }
    this.#loseConnection(true);
  }

  #loseConnection(stopProducer: boolean): void {
    if (this.#closing) return;
    if (stopProducer) {
      this.#buffer.stopProducer();
      if (this.#closing) return; // The producer aborted the connection.
    }
    if (this.#buffer.state === "shut") {
      // Nothing more can be sent: close now, as Twisted does.
      this.#close(new Failure(new ConnectionDone()));
      return;
    }
    if (this.#tls === "upgrading" && this.#buffer.size === 0) {
      // As Twisted's TLS: a handshake in progress with nothing to send may
      // never end (a stalled peer), so the connection is aborted.
      this.abortConnection();
      return;
    }
    this.#state = "disconnecting";
    this.#buffer.notifyWhenFlushed();
  }

  /**
   * Drops the write buffer and closes at once. The reason given to
   * `connectionLost` is `ConnectionAborted` unless another is passed (the
   * reactor passes `ConnectionLost` when it aborts at shutdown).
   */
  abortConnection(reason?: Error): void {
    reason ??= new ConnectionAborted();
    if (this.#closing) return;
    this.#state = "aborting";
    this.#buffer.stop();
    queueMicrotask(() => this.#close(new Failure(reason)));
  }

  /**
   * Sends everything written so far, then closes the write half
   * (`conn.closeWrite()`, once no producer is registered); a half-closeable
   * protocol's `writeConnectionLost` is then called, and the connection
   * closes once the peer has finished sending too. Writes made after the
   * write half is closed are dropped.
   */
  loseWriteConnection(): void {
    if (this.#state !== "open") return;
    this.#buffer.end();
  }

  /** The write half is closed (`conn.closeWrite()` done). */
  #writeShut(): void {
    if (this.#closing) return;
    const p = this.#protocol;
    if (typeof p.writeConnectionLost === "function") {
      try {
        watchResult(
          p.writeConnectionLost(),
          "Unhandled error in writeConnectionLost",
          this.#failWith(),
        );
      } catch (e) {
        log.err(e, "Unhandled error in writeConnectionLost");
        this.#close(new Failure(e));
        return;
      }
    }
    if (this.#readClosed || this.#state === "disconnecting") {
      this.#close(new Failure(new ConnectionDone()));
    }
  }

  /**
   * Closes the socket, waits for the pending read and write to finish, then
   * tells the protocol (once) and the owner.
   */
  #close(reason: Failure): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    // Released at once, not when the protocol (which may be kept) goes.
    this.#held = undefined;
    this.#region = EMPTY;
    this.#lent = undefined;
    try {
      this.#conn.close();
    } catch {
      // Already closed by Deno (e.g. after a reset): nothing left to release.
    }
    const writeDone = this.#buffer.stop();
    const readDone = this.#reading
      ? new Promise<void>((resolve) => (this.#readSettled = resolve))
      : this.#node?.closed;
    Promise.allSettled([readDone, writeDone]).then(() => this.#lost(reason));
  }

  #lost(reason: Failure): void {
    this.#buffer.stopProducer();
    const p = this.#protocol as ConnectedProtocol & { connected?: boolean };
    if ("connected" in p) p.connected = false;
    try {
      watchResult(
        p.connectionLost(reason),
        "Unhandled error in connectionLost",
      );
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
   * Upgrades the connection to TLS in place (STARTTLS): with `{ server: true,
   * cert, key }` as the server (add `verify: true, caCerts` to ask for and
   * check the client's certificate), with `{ server: false }` as the client
   * (`hostname` defaults to the peer's address; `caCerts` for private CAs;
   * `cert`/`key` to present a certificate). Without `server`, options with a
   * `cert` are the server's. What was written before is sent in
   * plaintext first; what is written after waits and goes over TLS; reading
   * resumes over TLS once the handshake is done, and a failed handshake loses
   * the connection with an `SSLError`, as does one that takes longer than
   * `handshakeTimeout` seconds (60 unless set).
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
   * @throws {RangeError} for a `handshakeTimeout` that is not a number of
   * seconds > 0
   */
  startTLS(options: TLSStartOptions): void {
    handshakeTimeoutOf(options); // Checked now, used when the handshake starts.
    if (this.#state !== "open") {
      throw new Error("Cannot start TLS on a connection that is closing");
    }
    if (this.#tls !== "off") {
      throw new Error("TLS is already started on this connection");
    }
    if (this.#reading) {
      throw new Error(
        "startTLS() must be called from connectionMade or dataReceived: Deno cannot upgrade a connection while a read is pending",
      );
    }
    this.#tlsOptions = options;
    this.#tls = "pending";
    this.#node?.pause(); // What comes next is the handshake's.
    // "held" (at once if nothing is being sent) starts the handshake.
    this.#buffer.hold();
  }

  /** The ALPN protocol negotiated over TLS, or `null`. */
  get negotiatedProtocol(): string | null {
    return negotiatedProtocolOf(this.#conn);
  }

  /**
   * The certificate the peer presented in the TLS handshake, or `null`: no
   * TLS (yet), no certificate, or the server's certificate seen by a client
   * over `Deno.connectTls`/`Deno.startTls`, which do not expose it.
   */
  getPeerCertificate(): PeerCertificate | null {
    return peerCertificateOf(this.#conn);
  }

  #upgrade(): void {
    const options = this.#tlsOptions!;
    this.#tlsOptions = undefined;
    this.#tls = "upgrading";
    // The addresses stay those of the plain connection.
    this.getHost();
    const peer = this.getPeer() as { host?: string };
    this.#giveBackHeld();
    const conn = this.#node ?? this.#conn;
    const abort = new AbortController();
    const callLater = this.#owner?.callLater;
    const timer = callLater &&
      this.#timeHandshake(
        handshakeTimeoutOf(options),
        callLater,
        () => abort.abort(),
      );
    const upgrading = isServerSide(options)
      ? upgradeServer(conn, options, abort.signal)
      : upgradeClient(
        conn,
        peer.host ?? "localhost",
        options,
        abort.signal,
      );
    upgrading.then((tls) => {
      if (timer?.active()) timer.cancel();
      this.#upgraded(tls);
    }, (e) => {
      if (timer?.active()) timer.cancel();
      this.#upgradeFailed(e);
    });
  }

  #upgraded(tls: Deno.Conn): void {
    if (this.#closing) {
      try {
        tls.close();
      } catch {
        // Already closed.
      }
      return;
    }
    this.#conn = tls;
    this.#node = undefined; // TLS reads are pulled from the TLS socket.
    this.#tcpOptions = false;
    this.#tls = "on";
    // Sends what was written during the handshake, or completes a
    // loseConnection made meanwhile.
    this.#buffer.release(tls);
    this.#handshakeCompleted();
    this.#resumeReading();
  }

  #upgradeFailed(e: unknown): void {
    if (this.#closing) return;
    this.#close(
      new Failure(
        new SSLError(
          `TLS handshake failed: ${(e as Error)?.message ?? e}`,
          { cause: e },
        ),
      ),
    );
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
  const code = (e as { code?: unknown })?.code; // node:net's errors
  if (code === "ECONNRESET" || code === "EPIPE") {
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

/** `a` then `b`, in one new array. */
function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}
