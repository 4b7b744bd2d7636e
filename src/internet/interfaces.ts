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
import type { IPv4Address, IPv6Address } from "./address.ts";
// Type-only: the option types live beside the code that reads them, and these
// imports are erased, so importing the interfaces loads no transport code.

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
  /**
   * Resolves a host name to an IPv4 address: a Deferred of the address, or
   * a failure with `DNSLookupError`. `timeout` is in seconds (a list of
   * retry delays, as Twisted's, is summed).
   */
  resolve(name: string, timeout?: number | readonly number[]): Deferred<string>;
}

/**
 * A service (`twisted.application.service.IService`): something with a start
 * and a stop, run at the reactor's start-up and shutdown, and arranged with
 * others in a tree of {@linkcode IServiceCollection}s. `Service` and
 * `MultiService` (in `@twist/twist/application`) implement it, and so does
 * `ClientService`. The interface lives in the core so that `ClientService`
 * can implement it; everything else about services is in the application
 * module.
 *
 * @example A service by hand
 * ```ts
 * import type { IService, IServiceCollection } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * class Heartbeat implements IService {
 *   name: string | null = null;
 *   running = false;
 *   parent: IServiceCollection | null = null;
 *   setName(name: string): void { this.name = name; }
 *   setServiceParent(parent: IServiceCollection): void { this.parent = parent; parent.addService(this); }
 *   disownServiceParent(): PromiseLike<unknown> | void {
 *     const parent = this.parent;
 *     this.parent = null;
 *     return parent?.removeService(this);
 *   }
 *   privilegedStartService(): void {}
 *   startService(): void { this.running = true; }
 *   stopService(): void { this.running = false; }
 * }
 * const heartbeat: IService = new Heartbeat();
 * heartbeat.startService();
 * assert(heartbeat.running);
 * ```
 */
export interface IService {
  /** The service's name in its parent, or `null`. */
  readonly name: string | null;
  /** Whether it has been started and not stopped. */
  readonly running: boolean;
  /** The collection it belongs to, or `null`. */
  readonly parent: IServiceCollection | null;
  /**
   * Names the service.
   *
   * @throws {TypeError} if it already has a parent
   */
  setName(name: string): void;
  /**
   * Adds the service to `parent` (leaving its previous parent first).
   *
   * @throws {TypeError} if `parent` already has a service of its name
   */
  setServiceParent(parent: IServiceCollection): void;
  /**
   * Removes the service from its parent; a running parent stops it, and the
   * returned Deferred (or promise) fires once it has stopped.
   */
  disownServiceParent(): PromiseLike<unknown> | void;
  /** Does what must come before `startService`, such as binding ports. */
  privilegedStartService(): void;
  /** Starts the service. */
  startService(): void;
  /**
   * Stops the service; a returned Deferred (or promise) fires once it has
   * stopped.
   */
  stopService(): PromiseLike<unknown> | void;
}

/**
 * A collection of services (`twisted.application.service.IServiceCollection`):
 * iterable, with the named ones found by name. `MultiService` is the one
 * Twist provides.
 *
 * @example
 * ```ts
 * import type { IServiceCollection } from "@twist/twist";
 * import { MultiService, Service } from "@twist/twist/application";
 * import { assertEquals } from "@std/assert";
 *
 * const collection: IServiceCollection = new MultiService();
 * const web = new Service();
 * web.setName("web");
 * web.setServiceParent(collection);
 * assertEquals(collection.getServiceNamed("web"), web);
 * assertEquals([...collection].length, 1);
 * ```
 */
export interface IServiceCollection extends Iterable<IService> {
  /**
   * The child named `name`.
   *
   * @throws {RangeError} if there is none
   */
  getServiceNamed(name: string): IService;
  /**
   * Adds a child (only `setServiceParent` should call it); a running
   * collection starts it.
   *
   * @throws {TypeError} if a child already has its name
   */
  addService(service: IService): void;
  /**
   * Removes a child (only `disownServiceParent` should call it); a running
   * collection stops it and returns what its `stopService` returned.
   *
   * @throws {TypeError} if it is not a child
   */
  removeService(service: IService): PromiseLike<unknown> | void;
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
   * can: `{ server: true, cert, key }` for the server side (which may also
   * verify the peer's certificate), `{ hostname, caCerts }` (and `cert`/`key`
   * to present one) for the client side. Without `server`, options with a
   * `cert` are the server side, as before.
   */
  startTLS?(options: TLSStartOptions): void;
  /**
   * The certificate the peer presented in the TLS handshake, or `null`
   * (no TLS, no certificate, or a client over `Deno.connectTls`, which does
   * not expose it). TLS transports only.
   */
  getPeerCertificate?(): PeerCertificate | null;
  /** The ALPN protocol negotiated over TLS, or `null` (TLS transports only). */
  readonly negotiatedProtocol?: string | null;
}

/** Limits on a transport's write buffer; see `ITCPTransport.setWriteBufferLimits`. */
export interface WriteBufferLimits {
  /** Pause a streaming producer when the buffer goes above this many bytes. @default {65536} */
  high?: number;
  /** Resume it when the buffer drains to this many bytes. @default {16384} */
  low?: number;
  /**
   * A hard cap on buffered bytes: above it the connection stops reading
   * once what it reads makes it write more (or aborts, see `onMax`), so a
   * peer that never reads cannot make a server that answers what it reads
   * buffer without bound. Writes not made from `dataReceived` (an upload
   * written at once) do not stop reading: the peer's answers to them must
   * still come in. `Infinity` turns it off.
   *
   * @default {4194304}
   */
  max?: number;
  /**
   * What happens above `max`: `"pause"` stops reading from this connection
   * (after a `dataReceived` that wrote more) and pauses the producer until the
   * buffer drains to `low` (nothing is dropped); `"abort"` aborts the
   * connection.
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
 * A protocol that is done with each chunk when `dataReceived` returns, so the
 * transport may read the next chunks into the same memory instead of fresh
 * memory for every read. By default (as in Twisted, whose chunks are
 * immutable `bytes`) a chunk is the protocol's to keep, so every read needs
 * new memory, which costs about a tenth of TLS streaming throughput against
 * a loop that reuses one buffer (`bench/RESULTS.md`).
 *
 * A borrowing protocol may write the chunk (or part of it) with
 * `transport.write`: that memory is not read into again until the write has
 * been sent. It must not keep the chunk, or a view of it, after
 * `dataReceived` returns; to keep bytes, copy them (`data.slice()`). An
 * `async` `dataReceived` that returns a promise is taken to still use its
 * chunk: that memory is never read into again.
 *
 * TCP, TLS (either engine, `startTLS` too) and UNIX connections reuse read
 * memory; plain TCP on the `node` backend, whose socket hands over chunks of
 * its own, a process's pipes and test transports deliver fresh chunks as for
 * any protocol. A wrapper (a policy such as `TimeoutFactory`) does not
 * borrow, so a wrapped protocol gets fresh chunks.
 *
 * @example An echo that borrows its chunks
 * ```ts
 * import { Protocol, type IBorrowingProtocol } from "@twist/twist";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * class Echo extends Protocol implements IBorrowingProtocol {
 *   readonly borrowsData = true;
 *   override dataReceived(data: Uint8Array): void {
 *     this.transport.write(data); // Written, not kept: allowed.
 *   }
 * }
 * const echo = new Echo();
 * const transport = new StringTransport();
 * echo.makeConnection(transport);
 * echo.dataReceived(new TextEncoder().encode("hi"));
 * assertEquals(transport.text(), "hi");
 * ```
 */
export interface IBorrowingProtocol {
  /** `true`: each chunk is only borrowed until `dataReceived` returns. */
  readonly borrowsData: true;
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
 * A listening port, as returned by `listenTCP`. `A` is the kind of address it
 * is bound to (`IPv4Address | IPv6Address` for TCP, `UNIXAddress` for UNIX
 * sockets), so `port.getHost().port` type-checks for a TCP port.
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
export interface IListeningPort<A extends IAddress = IAddress> {
  /** Starts listening (`listenTCP` has already done it). */
  startListening(): void;
  /** Stops listening; the Deferred fires when the port is closed. */
  stopListening(): Deferred<void>;
  /** The address the port is bound to (with the real port when 0 was asked). */
  getHost(): A;
}

/** Where a connector is in its life (Twisted's `BaseConnector.state`). */
export type ConnectorState = NonNullable<IConnector["state"]>;

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
  // Spelled out rather than `ConnectorState`, so that entry points which
  // re-export IConnector need not re-export one more type.
  /**
   * Where the connector is in its life (Twisted's connectors have it, though
   * `IConnector` does not declare it; a connector without it is taken to be
   * connecting).
   */
  readonly state?: "disconnected" | "connecting" | "connected";
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
   *
   * @default {511}
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
  /**
   * Which sockets the connection runs on: `"deno"` (`Deno.listen`/
   * `Deno.connect`: the fastest at up to a few hundred busy connections) or
   * `"node"` (Deno's `node:net`: every connection served at 10,000 busy ones,
   * where Deno's own reads serve some and starve the rest, at about half the
   * round trips at 100 busy connections; bench/RESULTS.md, "Fairness").
   * `"node"` applies to IP addresses (a host name uses `Deno.listen`) and not with `reusePort`;
   * TLS runs on Deno's sockets either way.
   * The environment variable `TWIST_STREAM_BACKEND=deno|node` sets the
   * default when `--allow-env=TWIST_STREAM_BACKEND` grants it.
   * @default {"deno"}
   */
  backend?: "deno" | "node";
}

/** Options of `connectTCP`. */
export interface ConnectTCPOptions {
  /** Seconds to wait for the connection before failing with `TimeoutError`. @default {30} */
  timeout?: number;
  /** A local `[host, port]` to bind; see the docs of `connectTCP` for what Deno allows. */
  bindAddress?: [string, number];
  /**
   * Which sockets the connection runs on: `"deno"` (`Deno.listen`/
   * `Deno.connect`: the fastest at up to a few hundred busy connections) or
   * `"node"` (Deno's `node:net`: every connection served at 10,000 busy ones,
   * where Deno's own reads serve some and starve the rest, at about half the
   * round trips at 100 busy connections; bench/RESULTS.md, "Fairness").
   * `"node"` applies to IP addresses (a host name uses `Deno.connect`); TLS runs on Deno's sockets
   * either way.
   * The environment variable `TWIST_STREAM_BACKEND=deno|node` sets the
   * default when `--allow-env=TWIST_STREAM_BACKEND` grants it.
   * @default {"deno"}
   */
  backend?: "deno" | "node";
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

/**
 * A factory for client connections: it hears how each attempt of a connector
 * goes (`twisted.internet.protocol.ClientFactory`'s methods).
 *
 * @example A factory that reports failed attempts
 * ```ts
 * import { ClientFactory, type Failure, type IClientFactory, type IConnector } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const failures: string[] = [];
 * class Reporting extends ClientFactory {
 *   override clientConnectionFailed(_c: IConnector, reason: Failure): void {
 *     failures.push(reason.getErrorMessage());
 *   }
 * }
 * const factory: IClientFactory = new Reporting();
 * assertEquals(typeof factory.startedConnecting, "function");
 * ```
 */
export interface IClientFactory extends IProtocolFactory {
  /** Called when a connection attempt starts. */
  startedConnecting(connector: IConnector): void;
  /** Called when an attempt fails; `connector.connect()` tries again. */
  clientConnectionFailed(connector: IConnector, reason: Failure): void;
  /** Called when an established connection is lost. */
  clientConnectionLost(connector: IConnector, reason: Failure): void;
}

/**
 * A reactor that listens and connects over TLS (`listenSSL`, `connectSSL`).
 *
 * @example Connecting over TLS with a recording reactor
 * ```ts
 * import { ClientFactory, type IReactorSSL } from "@twist/twist";
 * import { MemoryReactor } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const memory = new MemoryReactor();
 * const tls: IReactorSSL = memory;
 * tls.connectSSL("example.com", 443, new ClientFactory(), {});
 * assertEquals(memory.sslClients[0].port, 443);
 * ```
 */
export interface IReactorSSL {
  /**
   * Listens with TLS on `port`; `tls` holds the certificate chain and key as
   * PEM text and the ALPN protocols offered.
   */
  listenSSL(
    port: number,
    factory: IProtocolFactory,
    tls: TLSServerOptions,
    options?: ListenTCPOptions,
  ): IListeningPort;
  /** Connects with TLS to `host:port`, verifying the server's certificate. */
  connectSSL(
    host: string,
    port: number,
    factory: IProtocolFactory,
    tls?: TLSClientOptions,
    options?: ConnectTCPOptions,
  ): IConnector;
}

/**
 * A reactor that listens and connects on UNIX sockets.
 *
 * @example Listening on a socket with a recording reactor
 * ```ts
 * import { Factory, Protocol, type IReactorUNIX } from "@twist/twist";
 * import { MemoryReactor } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const memory = new MemoryReactor();
 * const unix: IReactorUNIX = memory;
 * unix.listenUNIX("/tmp/app.sock", Factory.forProtocol(Protocol), { mode: 0o600 });
 * assertEquals(memory.unixServers[0].path, "/tmp/app.sock");
 * ```
 */
export interface IReactorUNIX {
  /** Listens on the UNIX socket at `path`. */
  listenUNIX(
    path: string,
    factory: IProtocolFactory,
    options?: ListenUNIXOptions,
  ): IListeningPort;
  /** Connects to the UNIX socket at `path`. */
  connectUNIX(
    path: string,
    factory: IProtocolFactory,
    options?: ConnectUNIXOptions,
  ): IConnector;
}

/** Where a datagram goes: `[host, port]` or an address object. */
export type DatagramAddress = [string, number] | IPv4Address | IPv6Address;

/**
 * A bound UDP port, the transport of a `DatagramProtocol`
 * (`twisted.internet.interfaces.IUDPTransport`).
 *
 * @example Sending a datagram to yourself
 * ```ts
 * import { DatagramProtocol, Reactor, type IUDPTransport } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * const port: IUDPTransport = new Reactor().listenUDP(0, new DatagramProtocol(), { interface: "127.0.0.1" });
 * await port.listening;
 * assert(port.getHost().port > 0);
 * await port.stopListening();
 * ```
 */
export interface IUDPTransport
  extends IListeningPort<IPv4Address | IPv6Address> {
  /**
   * Settles once the port is bound (binding is asynchronous on Deno); rejects
   * with `CannotListenError`.
   */
  readonly listening: Promise<void>;
  /**
   * Sends one datagram to `addr` (or to the connected peer).
   *
   * @throws {MessageLengthError} when it is larger than the port's `maxPacketSize`
   */
  write(data: Data, addr?: DatagramAddress): void;
  /** Sends the items as one datagram. */
  writeSequence(data: Iterable<Data>, addr?: DatagramAddress): void;
  /** Sends to, and receives only from, `host:port`. */
  connect(host: string, port: number): void;
  /** Allows (or forbids) sending to broadcast addresses. */
  setBroadcastAllowed(enabled: boolean): void;
  /** Whether sending to broadcast addresses is allowed. */
  getBroadcastAllowed(): boolean;
}

/**
 * A UDP port that can join multicast groups
 * (`twisted.internet.interfaces.IMulticastTransport`).
 *
 * @example Setting the multicast TTL
 * ```ts
 * import { DatagramProtocol, Reactor, type IMulticastTransport } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const port: IMulticastTransport = new Reactor().listenMulticast(0, new DatagramProtocol(), { interface: "127.0.0.1" });
 * await port.listening;
 * port.setTTL(2);
 * assertEquals(port.getTTL(), 2);
 * await port.stopListening();
 * ```
 */
export interface IMulticastTransport extends IUDPTransport {
  /** Joins the multicast group `address` (on interface `iface`). */
  joinGroup(address: string, iface?: string): Deferred<void>;
  /** Leaves the multicast group `address`. */
  leaveGroup(address: string, iface?: string): Deferred<void>;
  /** Sets the time-to-live of outgoing multicast datagrams. */
  setTTL(ttl: number): void;
  /** The time-to-live of outgoing multicast datagrams. */
  getTTL(): number;
  /** Whether this host receives its own multicast datagrams. */
  setLoopbackMode(enabled: boolean): void;
  /** Whether this host receives its own multicast datagrams. */
  getLoopbackMode(): boolean;
  /** Sends multicast datagrams out of the interface with address `iface`. */
  setOutgoingInterface(iface: string): Deferred<void>;
}

/**
 * A protocol for datagrams (`twisted.internet.protocol.DatagramProtocol`'s
 * methods), as `listenUDP` takes it.
 *
 * @example Implementing or using `IDatagramProtocol`
 * ```ts
 * import { DatagramProtocol, type IDatagramProtocol } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const p: IDatagramProtocol = new DatagramProtocol();
 * assertEquals(typeof p.datagramReceived, "function");
 * ```
 */
export interface IDatagramProtocol {
  /** Attaches the port and calls `startProtocol`. */
  makeConnection(transport: IUDPTransport): void;
  /** Called when the protocol starts listening. */
  startProtocol(): void;
  /** Called when the protocol stops listening. */
  stopProtocol(): void;
  /** Called with each datagram and where it came from. */
  datagramReceived(data: Uint8Array, addr: IPv4Address | IPv6Address): void;
  /** Called when a connected port's peer refuses (Deno cannot tell). */
  connectionRefused(): void;
}

/**
 * A reactor that listens for UDP datagrams.
 *
 * @example Implementing or using `IReactorUDP`
 * ```ts
 * import { DatagramProtocol, Reactor, type IReactorUDP } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const udp: IReactorUDP = new Reactor();
 * const port = udp.listenUDP(0, new DatagramProtocol(), { interface: "127.0.0.1" });
 * await port.listening;
 * assertEquals(port.getHost().type, "UDP");
 * await port.stopListening();
 * ```
 */
export interface IReactorUDP {
  /** Listens on UDP `port` with `protocol`; binding finishes asynchronously (`port.listening`). */
  listenUDP(
    port: number,
    protocol: IDatagramProtocol,
    options?: ListenUDPOptions,
  ): IUDPTransport;
}

/**
 * A reactor that listens for multicast UDP datagrams.
 *
 * @example Implementing or using `IReactorMulticast`
 * ```ts
 * import { DatagramProtocol, Reactor, type IReactorMulticast } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const multicast: IReactorMulticast = new Reactor();
 * const port = multicast.listenMulticast(0, new DatagramProtocol(), { interface: "127.0.0.1" });
 * await port.listening;
 * assertEquals(port.getHost().type, "UDP");
 * await port.stopListening();
 * ```
 */
export interface IReactorMulticast {
  /** Listens on UDP `port` for multicast (`joinGroup`, `setTTL`...). */
  listenMulticast(
    port: number,
    protocol: IDatagramProtocol,
    options?: ListenMulticastOptions,
  ): IMulticastTransport;
}

/**
 * A child process as its protocol sees it
 * (`twisted.internet.interfaces.IProcessTransport`).
 *
 * @example Writing to a child's stdin
 * ```ts
 * import { ProcessProtocol, Reactor, type Failure, type IProcessTransport } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const ended = Promise.withResolvers<string>();
 * class Cat extends ProcessProtocol {
 *   out = "";
 *   override outReceived(data: Uint8Array): void {
 *     this.out += new TextDecoder().decode(data);
 *   }
 *   override processEnded(_reason: Failure): void {
 *     ended.resolve(this.out);
 *   }
 * }
 * const child: IProcessTransport = new Reactor().spawnProcess(new Cat(), "cat", ["cat"]);
 * child.write("meow");
 * child.closeStdin();
 * assertEquals(await ended.promise, "meow");
 * ```
 */
export interface IProcessTransport extends IConsumer {
  /** The child's process id. */
  readonly pid: number;
  /** Writes to the child's stdin (a string as UTF-8); dropped once stdin is closed. */
  write(data: Data): void;
  /** Writes each item in order. */
  writeSequence(data: Iterable<Data>): void;
  /** Bytes written to stdin but not yet taken by the child. */
  getWriteBufferSize(): number;
  /** Closes the child's stdin once what was written has been sent. */
  closeStdin(): void;
  /** Closes a pipe by descriptor: 0 (stdin) is closed; 1 and 2 are read to the end. */
  closeChildFD(fd: number): void;
  /** Closes stdin; the process ends on its own. */
  loseConnection(): void;
  /**
   * Sends `signal` (`"TERM"`, `"KILL"`, `"INT"`... or `"SIGTERM"`) to the
   * child.
   *
   * @throws {ProcessExitedAlready} once the child has exited
   */
  signalProcess(signal: string): void;
  /**
   * Stops reading the child's stdout and stderr (a child that keeps writing
   * blocks once the pipes are full), as Twisted's `Process.pauseProducing`.
   */
  pauseProducing(): void;
  /** Reads the child's output again after `pauseProducing`. */
  resumeProducing(): void;
}

/**
 * A protocol for a child process (`ProcessProtocol`'s methods).
 *
 * @example Implementing or using `IProcessProtocol`
 * ```ts
 * import { ProcessProtocol, type IProcessProtocol } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const p: IProcessProtocol = new ProcessProtocol();
 * assertEquals(typeof p.processEnded, "function");
 * ```
 */
export interface IProcessProtocol {
  /** Attaches the transport and calls `connectionMade`. */
  makeConnection(transport: IProcessTransport): void;
  /** Called with data from the child's `fd` (1: stdout, 2: stderr). */
  childDataReceived(fd: number, data: Uint8Array): void;
  /** Called when the child's `fd` is closed. */
  childConnectionLost(fd: number): void;
  /** Called when the process exits (its pipes may still have data). */
  processExited(reason: Failure): void;
  /** Called when the process has exited and all its pipes are closed. */
  processEnded(reason: Failure): void;
}

/**
 * A reactor that runs child processes.
 *
 * @example Implementing or using `IReactorProcess`
 * ```ts
 * import { ProcessProtocol, Reactor, type Failure, type IReactorProcess } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * const ended = Promise.withResolvers<Failure>();
 * class Wait extends ProcessProtocol {
 *   override processEnded(reason: Failure): void {
 *     ended.resolve(reason);
 *   }
 * }
 * const processes: IReactorProcess = new Reactor();
 * processes.spawnProcess(new Wait(), "deno", ["deno", "eval", ""]);
 * assert((await ended.promise).getErrorMessage().includes("exit code 0"));
 * ```
 */
export interface IReactorProcess {
  /**
   * Runs `executable` with `args` (whose first item is the program's own
   * name, as in Twisted) connected to `protocol`.
   */
  spawnProcess(
    protocol: IProcessProtocol,
    executable: string,
    args?: string[],
    options?: SpawnProcessOptions,
  ): IProcessTransport;
}

/**
 * Options of a TLS server: the certificate chain and key as PEM text, and
 * (Twisted's `CertificateOptions` names) whether to ask for, require and
 * verify a client certificate.
 */
export interface TLSServerOptions {
  /** The certificate chain, PEM. */
  cert: string;
  /** The private key, PEM. */
  key: string;
  /** Protocols offered for ALPN, most preferred first. */
  alpnProtocols?: string[];
  /**
   * Ask the client for a certificate and verify it against `caCerts`; a
   * client presenting one that does not chain to them is refused.
   * @default {false}
   */
  verify?: boolean;
  /**
   * With `verify`, refuse a client that presents no certificate.
   * @default {true}
   */
  requireCertificate?: boolean;
  /** The CA certificates (PEM) a client's certificate must chain to (`verify`). */
  caCerts?: string[];
  /**
   * Seconds an accepted connection (or a `startTLS` upgrade on the server
   * side) has to complete the handshake before it is dropped with an
   * `SSLError`.
   * @default {60}
   */
  handshakeTimeout?: number;
  /**
   * Which TLS implementation serves the connections. `"deno"` is Deno's own
   * (`Deno.listenTls`, rustls): the fastest, but on Deno 2.9 a connection
   * whose handshake never completes keeps its socket until the peer goes,
   * even after `handshakeTimeout` has dropped its protocol. `"node"` is
   * Deno's `node:tls`: the socket of a stalled handshake is closed at the
   * timeout (choose it for servers that face hostile peers), at about a third
   * of the streaming throughput. `verify` needs `"node"` (and chooses it).
   * @default {"deno"}
   */
  engine?: "deno" | "node";
}

/** Options of a TLS client. */
export interface TLSClientOptions {
  /** The name the server's certificate must match. @default {the host connected to} */
  hostname?: string;
  /** Extra trusted CA certificates, PEM (for private CAs). @default {the system's roots only} */
  caCerts?: string[];
  /** Protocols offered for ALPN, most preferred first. */
  alpnProtocols?: string[];
  /** A certificate chain (PEM) to present when the server asks for one (with `key`). */
  cert?: string;
  /** The private key (PEM) of `cert`. */
  key?: string;
  /**
   * Seconds the handshake may take once the TCP connection is up (the
   * connector's `timeout` still bounds the whole attempt), or once a
   * `startTLS` upgrade on the client side begins; after that the attempt
   * fails, or the connection is dropped, with an `SSLError`.
   * @default {60}
   */
  handshakeTimeout?: number;
  /**
   * Which TLS implementation runs the connection: `"deno"` (`Deno.startTls`,
   * rustls: the fastest, but on Deno 2.9 a handshake the server never answers
   * keeps its socket until the server goes, even after `handshakeTimeout`) or
   * `"node"` (`node:tls`: the socket is closed at the timeout; slower). A
   * client certificate (`cert`) needs `"node"` (and chooses it).
   * @default {"deno"}
   */
  engine?: "deno" | "node";
}

/**
 * What `startTLS` takes: `{ server: true, ...TLSServerOptions }` for the
 * server side, `{ server: false, ...TLSClientOptions }` (or client options
 * without a `cert`) for the client side. As in Twisted, either side may carry
 * a certificate. Options with a `cert` and no `server` are the server side.
 */
export type TLSStartOptions =
  | (TLSServerOptions & { server?: true })
  | (TLSClientOptions & { server?: false });

/**
 * A peer's certificate, as `transport.getPeerCertificate()` gives it after
 * the TLS handshake.
 */
export interface PeerCertificate {
  /** The subject's distinguished name, e.g. `"CN=Twist Test Client"`. */
  subject: string;
  /** The issuer's distinguished name. */
  issuer: string;
  /** The start of the validity period. */
  validFrom: Date;
  /** The end of the validity period. */
  validTo: Date;
  /** The SHA-256 fingerprint, colon-separated hex (`"AB:CD:..."`). */
  fingerprint256: string;
  /** The serial number, hex. */
  serialNumber: string;
  /** The certificate, PEM. */
  pem: string;
}

/** Options of `listenUNIX`. */
export interface ListenUNIXOptions {
  /** File permissions for the socket, e.g. `0o600`. @default {the umask's} */
  mode?: number;
  /**
   * Guard the path with a lock file (`PATH.lock`, holding this process's
   * pid), as Twisted's `wantPID`: a socket file left behind by a process that
   * is gone (nothing answers on it) is removed; one that still answers makes
   * `listenUNIX` fail.
   *
   * @default {false}
   */
  wantPID?: boolean;
  /** Accepted for Twisted compatibility; Deno uses the OS default. @default {the OS default} */
  backlog?: number;
}

/** Options of `connectUNIX`. */
export interface ConnectUNIXOptions {
  /** Seconds to wait for the connection. @default {30} */
  timeout?: number;
}

/** Options of `listenUDP`. */
export interface ListenUDPOptions {
  /** The interface to bind. @default {"0.0.0.0"} */
  interface?: string;
  /** The largest datagram accepted for sending. @default {8192} */
  maxPacketSize?: number;
}

/** Options of `listenMulticast`. */
export interface ListenMulticastOptions extends ListenUDPOptions {
  /** Let several sockets bind the same port (`SO_REUSEADDR`). @default {false} */
  listenMultiple?: boolean;
}

/** Options of `spawnProcess`. */
export interface SpawnProcessOptions {
  /**
   * The child's environment. As in Twisted, the child gets exactly this (so
   * `{}`, the default, is an empty environment); pass `Deno.env.toObject()` to
   * pass yours on (needs `--allow-env`).
   *
   * @default {{}}
   */
  env?: Record<string, string>;
  /** The child's working directory. @default {the current directory} */
  path?: string;
  /** Pseudo-terminals are not supported: only `false` is accepted. @default {false} */
  usePTY?: false;
}
