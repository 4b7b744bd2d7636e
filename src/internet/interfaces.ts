/**
 * The interfaces of Twist's core, with Twisted's names
 * (`twisted.internet.interfaces`), so Twisted's documentation maps one to one.
 *
 * A protocol's life, as the reactor drives it:
 *
 * ```text
 * makeConnection → connectionMade → dataReceived* → [readConnectionLost] → connectionLost
 * ```
 *
 * @module
 */
import type { Failure } from "./failure.ts";
import type { Deferred } from "./defer.ts";

/** Bytes on the wire. Strings given to `write` are encoded as UTF-8. */
export type Data = Uint8Array | string;

/**
 * An address an endpoint of a connection has.
 *
 * @example Reading an address
 * ```ts
 * import { IPv4Address } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const addr = new IPv4Address("TCP", "127.0.0.1", 8000);
 * assertEquals(addr.type, "TCP");
 * ```
 */
export interface IAddress {
  /** The kind of address: `"TCP"`, `"UDP"` or `"UNIX"`. */
  readonly type: string;
}

/**
 * A call scheduled with {@linkcode IReactorTime.callLater}.
 *
 * @example Cancelling a call
 * ```ts
 * import { Clock } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const clock = new Clock();
 * const call = clock.callLater(5, () => {});
 * call.cancel();
 * assertEquals(call.active(), false);
 * ```
 */
export interface IDelayedCall {
  /** The time, in the clock's seconds, at which the call will run. */
  getTime(): number;
  /** Cancels the call; throws `AlreadyCalled` or `AlreadyCancelled` if it is over. */
  cancel(): void;
  /** Runs the call `secondsLater` seconds later than it would have. */
  delay(secondsLater: number): void;
  /** Reschedules the call to run `secondsFromNow` seconds from now. */
  reset(secondsFromNow: number): void;
  /** Whether the call has neither run nor been cancelled. */
  active(): boolean;
}

/**
 * Something that tells time and schedules calls: the reactor, or a `Clock` in
 * tests.
 *
 * @example Scheduling with any clock
 * ```ts
 * import { Clock, type IReactorTime } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * function remindLater(clock: IReactorTime, seen: string[]): void {
 *   clock.callLater(10, () => seen.push("reminder"));
 * }
 * const clock = new Clock();
 * const seen: string[] = [];
 * remindLater(clock, seen);
 * clock.advance(10);
 * assertEquals(seen, ["reminder"]);
 * ```
 */
export interface IReactorTime {
  /** The current time in seconds. */
  seconds(): number;
  /** Calls `f(...args)` after `delay` seconds. */
  callLater<A extends unknown[]>(
    delay: number,
    f: (...args: A) => unknown,
    ...args: A
  ): IDelayedCall;
  /** Every call that is scheduled and has not yet run. */
  getDelayedCalls(): IDelayedCall[];
}

/** When a system event trigger runs relative to its event. */
export type TriggerPhase = "before" | "during" | "after";

/** The system events of a reactor's life. */
export type SystemEventType = "startup" | "shutdown";

/** An opaque handle returned by `addSystemEventTrigger`. */
export type TriggerID = {
  readonly phase: TriggerPhase;
  readonly eventType: string;
  readonly id: number;
};

/**
 * The reactor's life cycle: run, stop, and the triggers around startup and
 * shutdown.
 *
 * @example Running code once the reactor runs
 * ```ts
 * import { Reactor } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const reactor = new Reactor();
 * const seen: string[] = [];
 * reactor.callWhenRunning(() => {
 *   seen.push("running");
 *   reactor.stop();
 * });
 * await reactor.run();
 * assertEquals(seen, ["running"]);
 * ```
 */
export interface IReactorCore {
  /** Whether the reactor is running (between startup and shutdown). */
  readonly running: boolean;
  /**
   * Runs the reactor. The process stays alive until `stop()`; the returned
   * promise settles when shutdown has finished.
   */
  run(): Promise<void>;
  /** Stops the reactor; throws `ReactorNotRunning` if it is not running. */
  stop(): void;
  /** Calls `f(...args)` once the reactor is running (at once if it is). */
  callWhenRunning<A extends unknown[]>(
    f: (...args: A) => unknown,
    ...args: A
  ): TriggerID | undefined;
  /**
   * Calls `f(...args)` in `phase` of `eventType`. A trigger returning a
   * Deferred or Promise delays the next phase until it settles.
   */
  addSystemEventTrigger<A extends unknown[]>(
    phase: TriggerPhase,
    eventType: SystemEventType | string,
    f: (...args: A) => unknown,
    ...args: A
  ): TriggerID;
  /** Removes a trigger added with `addSystemEventTrigger`. */
  removeSystemEventTrigger(id: TriggerID): void;
  /** Fires `eventType`'s triggers, phase by phase. */
  fireSystemEvent(eventType: SystemEventType | string): void;
}

/**
 * A producer that writes whenever it likes until told to pause.
 *
 * @example A producer a consumer can pause
 * ```ts
 * import type { IPushProducer } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * let paused = false;
 * const producer: IPushProducer = {
 *   pauseProducing: () => { paused = true; },
 *   resumeProducing: () => { paused = false; },
 *   stopProducing: () => {},
 * };
 * producer.pauseProducing();
 * assert(paused);
 * ```
 */
export interface IPushProducer {
  /** Stops producing until `resumeProducing`. */
  pauseProducing(): void;
  /** Resumes producing. */
  resumeProducing(): void;
  /** Stops producing for good. */
  stopProducing(): void;
}

/**
 * A producer that writes one chunk each time `resumeProducing` is called.
 *
 * @example A pull producer
 * ```ts
 * import type { IPullProducer } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * let chunks = 0;
 * const producer: IPullProducer = {
 *   resumeProducing: () => { chunks++; },
 *   stopProducing: () => {},
 * };
 * producer.resumeProducing();
 * assertEquals(chunks, 1);
 * ```
 */
export interface IPullProducer {
  /** Produces one more chunk. */
  resumeProducing(): void;
  /** Stops producing for good. */
  stopProducing(): void;
}

/**
 * Something a producer writes into.
 *
 * @example A consumer
 * ```ts
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const consumer = new StringTransport();
 * consumer.write("abc");
 * assertEquals(new TextDecoder().decode(consumer.value()), "abc");
 * ```
 */
export interface IConsumer {
  /**
   * Registers a producer. A streaming (push) producer is paused when the
   * consumer's buffer is full and resumed when it drains; a non-streaming
   * (pull) producer is asked for more each time the buffer drains.
   */
  registerProducer(
    producer: IPushProducer | IPullProducer,
    streaming: boolean,
  ): void;
  /** Unregisters the producer. */
  unregisterProducer(): void;
  /** Writes data. */
  write(data: Data): void;
}

/**
 * A connection a protocol writes to.
 *
 * @example Writing to a transport
 * ```ts
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const transport = new StringTransport();
 * transport.writeSequence(["Hello, ", "world!"]);
 * assertEquals(new TextDecoder().decode(transport.value()), "Hello, world!");
 * ```
 */
export interface ITransport {
  /** Writes data; it never blocks and never throws for a closed peer. */
  write(data: Data): void;
  /** Writes each item in order. */
  writeSequence(data: Iterable<Data>): void;
  /** Closes the connection once everything buffered has been written. */
  loseConnection(): void;
  /** The address of the other side. */
  getPeer(): IAddress;
  /** The address of this side. */
  getHost(): IAddress;
}

/**
 * A transport that can also be closed at once, whose writes can be half-closed
 * and that can be paused like a producer.
 *
 * @example Closing at once
 * ```ts
 * import { StringTransport } from "@twist/twist/testing";
 * import { assert } from "@std/assert";
 *
 * const transport = new StringTransport();
 * transport.abortConnection();
 * assert(transport.disconnecting);
 * ```
 */
export interface ITCPTransport extends ITransport, IConsumer, IPushProducer {
  /** Whether `loseConnection` or `abortConnection` has been called (or the connection is gone). */
  readonly disconnecting: boolean;
  /** Closes the connection at once, dropping whatever is buffered. */
  abortConnection(): void;
  /** Closes the write half once everything buffered has been written. */
  loseWriteConnection(): void;
  /** Whether Nagle's algorithm is disabled. */
  getTcpNoDelay(): boolean;
  /** Disables (or enables) Nagle's algorithm. */
  setTcpNoDelay(enabled: boolean): void;
  /** Whether TCP keepalive is enabled. */
  getTcpKeepAlive(): boolean;
  /** Enables (or disables) TCP keepalive. */
  setTcpKeepAlive(enabled: boolean): void;
  /** Bytes written but not yet sent. */
  getWriteBufferSize(): number;
  /**
   * Sets the write buffer's water marks (a streaming producer is paused above
   * `high` and resumed at `low`) and an optional hard cap with its policy.
   */
  setWriteBufferLimits(limits: WriteBufferLimits): void;
  /**
   * Upgrades the connection to TLS in place (STARTTLS), where the transport
   * can: `{ cert, key }` for the server side, `{ hostname, caCerts }` for the
   * client side.
   */
  startTLS?(
    options: { cert: string; key: string; alpnProtocols?: string[] } | {
      hostname?: string;
      caCerts?: string[];
      alpnProtocols?: string[];
    },
  ): void;
  /** The ALPN protocol negotiated over TLS, or `null` (TLS transports only). */
  readonly negotiatedProtocol?: string | null;
}

/** Limits on a transport's write buffer; see `ITCPTransport.setWriteBufferLimits`. */
export interface WriteBufferLimits {
  /** Pause a streaming producer when the buffer goes above this many bytes. @default {65536} */
  high?: number;
  /** Resume it when the buffer drains to this many bytes. @default {16384} */
  low?: number;
  /** A hard cap on buffered bytes (default: none). */
  max?: number;
  /**
   * What happens above `max`: `"pause"` stops reading from this connection and
   * pauses the producer until the buffer drains to `low` (nothing is dropped);
   * `"abort"` aborts the connection.
   *
   * @default {"pause"}
   */
  onMax?: "pause" | "abort";
}

/**
 * A protocol: the object that handles one connection's events.
 *
 * Data may arrive in chunks of any size; a protocol that needs messages must
 * buffer, and should be tested with differing chunk sizes, down to one byte at
 * a time.
 *
 * @example The smallest protocol
 * ```ts
 * import { Protocol } from "@twist/twist";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * class Echo extends Protocol {
 *   override dataReceived(data: Uint8Array): void {
 *     this.transport!.write(data);
 *   }
 * }
 * const transport = new StringTransport();
 * const proto = new Echo();
 * proto.makeConnection(transport);
 * proto.dataReceived(new TextEncoder().encode("hi"));
 * assertEquals(new TextDecoder().decode(transport.value()), "hi");
 * ```
 */
export interface IProtocol {
  /** Attaches the transport and calls `connectionMade`. */
  makeConnection(transport: ITransport): void;
  /** Called once the connection is up. */
  connectionMade(): void;
  /** Called with each chunk of bytes received. */
  dataReceived(data: Uint8Array): void;
  /** Called exactly once when the connection is gone. */
  connectionLost(reason: Failure): void;
}

/**
 * A protocol that wants to know when the peer closes only its write half.
 *
 * @example Reacting to a half-close
 * ```ts
 * import { Protocol, type IHalfCloseableProtocol } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * class Reader extends Protocol implements IHalfCloseableProtocol {
 *   done = false;
 *   readConnectionLost(): void { this.done = true; }
 *   writeConnectionLost(): void {}
 * }
 * const p = new Reader();
 * p.readConnectionLost();
 * assert(p.done);
 * ```
 */
export interface IHalfCloseableProtocol {
  /** The peer will send no more data; this side may still write. */
  readConnectionLost(): void;
  /** This side's write half is closed (after `loseWriteConnection`). */
  writeConnectionLost(): void;
}

/**
 * Makes protocols for connections.
 *
 * @example A factory for a protocol class
 * ```ts
 * import { Factory, IPv4Address, Protocol } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * const factory = Factory.forProtocol(Protocol);
 * const proto = factory.buildProtocol(new IPv4Address("TCP", "127.0.0.1", 1234));
 * assert(proto instanceof Protocol);
 * ```
 */
export interface IProtocolFactory {
  /** Makes the protocol for a connection from `addr`; `null` refuses it. */
  buildProtocol(addr: IAddress): IProtocol | null;
  /** Called when a port or connector starts using the factory. */
  doStart(): void;
  /** Called when a port or connector stops using the factory. */
  doStop(): void;
}

/**
 * A listening port, as returned by `listenTCP`.
 *
 * @example Stopping a port
 * ```ts
 * import { Factory, Protocol, Reactor } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const reactor = new Reactor();
 * const port = reactor.listenTCP(0, Factory.forProtocol(Protocol), { interface: "127.0.0.1" });
 * assertEquals(port.getHost().type, "TCP");
 * await port.stopListening();
 * ```
 */
export interface IListeningPort {
  /** Starts listening (`listenTCP` has already done it). */
  startListening(): void;
  /** Stops listening; the Deferred fires when the port is closed. */
  stopListening(): Deferred<void>;
  /** The address the port is bound to (with the real port when 0 was asked). */
  getHost(): IAddress;
}

/**
 * A connection attempt, as returned by `connectTCP`.
 *
 * @example Where a connector goes
 * ```ts
 * import { ClientFactory, Reactor } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const reactor = new Reactor();
 * const factory = new ClientFactory();
 * factory.clientConnectionFailed = () => {};
 * const connector = reactor.connectTCP("127.0.0.1", 1, factory);
 * assertEquals(connector.getDestination().toString(), 'IPv4Address(type="TCP", host="127.0.0.1", port=1)');
 * connector.stopConnecting();
 * ```
 */
export interface IConnector {
  /** Stops an attempt in progress. */
  stopConnecting(): void;
  /** Disconnects the connection, or stops the attempt if not yet connected. */
  disconnect(): void;
  /** Connects (again) with the same factory. */
  connect(): void;
  /** The address being connected to. */
  getDestination(): IAddress;
}

/** Options of `listenTCP`. */
export interface ListenTCPOptions {
  /**
   * The length of the queue of connections waiting to be accepted (Deno's
   * `tcpBacklog`); Deno's default, 511, when not given (the kernel may cap
   * it, e.g. at `net.core.somaxconn`).
   */
  backlog?: number;
  /** The interface to bind: `"0.0.0.0"`, `"::"`, `"127.0.0.1"`... @default {"0.0.0.0"} */
  interface?: string;
  /**
   * Sets `SO_REUSEPORT`: several processes (or Workers) listening on the
   * same port share its connections (Linux; other systems ignore it). Needs
   * Deno's `--unstable-net` flag; without it listening fails with a
   * `CannotListenError` that says so.
   *
   * @default {false}
   */
  reusePort?: boolean;
}

/** Options of `connectTCP`. */
export interface ConnectTCPOptions {
  /** Seconds to wait for the connection before failing with `TimeoutError`. @default {30} */
  timeout?: number;
  /** A local `[host, port]` to bind; see the docs of `connectTCP` for what Deno allows. */
  bindAddress?: [string, number];
}

/**
 * A reactor that listens and connects over TCP.
 *
 * @example Listening on a port the OS picks
 * ```ts
 * import { Factory, Protocol, Reactor, type IReactorTCP } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * const tcp: IReactorTCP = new Reactor();
 * const port = tcp.listenTCP(0, Factory.forProtocol(Protocol), { interface: "127.0.0.1" });
 * assert(port.getHost().type === "TCP");
 * await port.stopListening();
 * ```
 */
export interface IReactorTCP {
  /** Listens on `port`, building a protocol with `factory` for each connection. */
  listenTCP(
    port: number,
    factory: IProtocolFactory,
    options?: ListenTCPOptions,
  ): IListeningPort;
  /** Connects to `host:port`, reporting to the client `factory`. */
  connectTCP(
    host: string,
    port: number,
    factory: IProtocolFactory,
    options?: ConnectTCPOptions,
  ): IConnector;
}
