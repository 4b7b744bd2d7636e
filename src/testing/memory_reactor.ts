/**
 * `MemoryReactor` and `MemoryReactorClock`: reactors that record what they are
 * asked to do instead of touching the network (`twisted.internet.testing`).
 *
 * @module
 */
import type {
  ConnectTCPOptions,
  IAddress,
  IConnector,
  IDelayedCall,
  IListeningPort,
  IProtocolFactory,
  IReactorCore,
  IReactorTCP,
  IReactorTime,
  ListenTCPOptions,
  SystemEventType,
  TriggerID,
  TriggerPhase,
} from "../internet/interfaces.ts";
import { IPv4Address, IPv6Address, UNIXAddress } from "../internet/address.ts";
import { type Deferred, succeed } from "../internet/defer.ts";
import { Clock } from "../internet/task.ts";
import {
  CannotListenError,
  ConnectError,
  ReactorNotRunning,
} from "../internet/error.ts";

/** A recorded `listenTCP` (or `listenSSL`) call. */
export interface RecordedServer {
  /** The port asked for. */
  port: number;
  /** The factory given. */
  factory: IProtocolFactory;
  /** The backlog asked for. */
  backlog: number;
  /** The interface asked for. */
  interface: string;
  /** For `listenSSL`: the TLS options. */
  tlsOptions?: unknown;
}

/** A recorded `connectTCP` (or `connectSSL`) call. */
export interface RecordedClient {
  /** The host asked for. */
  host: string;
  /** The port asked for. */
  port: number;
  /** The factory given. */
  factory: IProtocolFactory;
  /** The timeout asked for. */
  timeout: number;
  /** The local address asked for. */
  bindAddress: [string, number] | undefined;
  /** For `connectSSL`: the TLS options. */
  tlsOptions?: unknown;
}

/** A recorded `listenUNIX` call, with the defaults filled in. */
export interface RecordedUNIXServer {
  /** The socket path. */
  path: string;
  /** The factory given. */
  factory: IProtocolFactory;
  /** The backlog asked for. */
  backlog: number;
  /** The file mode asked for. */
  mode: number;
  /** Whether a lock file was asked for. */
  wantPID: boolean;
}

/** A recorded `connectUNIX` call, with the defaults filled in. */
export interface RecordedUNIXClient {
  /** The socket path. */
  path: string;
  /** The factory given. */
  factory: IProtocolFactory;
  /** The timeout asked for. */
  timeout: number;
}

/**
 * A listening port that listens to nothing, as `MemoryReactor` returns.
 *
 * @example Stopping a fake port
 * ```ts
 * import { FakePort } from "@twist/twist/testing";
 * import { IPv4Address } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * const port = new FakePort(new IPv4Address("TCP", "0.0.0.0", 1234));
 * await port.stopListening();
 * assert(port.stopped);
 * ```
 */
export class FakePort implements IListeningPort {
  /** Whether `stopListening` was called. */
  stopped = false;
  readonly #address: IAddress;

  /** Creates a port "bound" to `address`. */
  constructor(address: IAddress) {
    this.#address = address;
  }

  /** Does nothing: the port is already "listening". */
  startListening(): void {}

  /** Records the stop; the Deferred has already fired. */
  stopListening(): Deferred<void> {
    this.stopped = true;
    return succeed(undefined);
  }

  /** The address it was "bound" to. */
  getHost(): IAddress {
    return this.#address;
  }
}

/**
 * A connector that connects nothing, as `MemoryReactor` returns. Its state
 * changes are recorded so a test can check what its code asked for.
 *
 * @example Stopping a fake connection attempt
 * ```ts
 * import { FakeConnector } from "@twist/twist/testing";
 * import { IPv4Address } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * const connector = new FakeConnector(new IPv4Address("TCP", "example.com", 80));
 * connector.stopConnecting();
 * assert(connector.stoppedConnecting);
 * ```
 */
export class FakeConnector implements IConnector {
  /** Whether `stopConnecting` was called. */
  stoppedConnecting = false;
  /** Whether `disconnect` was called. */
  disconnected = false;
  /** How many times `connect` was called. */
  connectCalls = 0;
  /** The connector's state, as a real one reports it. */
  state: "disconnected" | "connecting" | "connected" = "connecting";
  readonly #destination: IAddress;

  /** Creates a connector "to" `destination`. */
  constructor(destination: IAddress) {
    this.#destination = destination;
  }

  /** Records the stop. */
  stopConnecting(): void {
    this.stoppedConnecting = true;
    this.state = "disconnected";
  }

  /** Records the disconnection. */
  disconnect(): void {
    this.disconnected = true;
    this.state = "disconnected";
  }

  /** Records a (re)connection. */
  connect(): void {
    this.connectCalls++;
    this.state = "connecting";
  }

  /** The address it "connects" to. */
  getDestination(): IAddress {
    return this.#destination;
  }
}

const ipAddress = (host: string, port: number): IPv4Address | IPv6Address =>
  host.includes(":")
    ? new IPv6Address("TCP", host, port)
    : new IPv4Address("TCP", host, port);

type Hook = [(...args: never[]) => unknown, unknown[]];

/**
 * A reactor that records `listenTCP`, `connectTCP`, `listenSSL`,
 * `connectSSL`, `listenUNIX` and `connectUNIX` calls (with their factories and
 * options, defaults filled in) without touching the network, and records
 * run/stop and triggers. Its methods take what the real reactor's take, so it
 * can be passed where an `IReactorTCP` or `IReactorCore` is expected.
 *
 * As Twisted's, `run()` calls the `callWhenRunning` hooks and then stops at
 * once; triggers are recorded (`triggers[phase][eventType]`) and run only by
 * `fireSystemEvent`.
 *
 * @example Checking what a client connects to
 * ```ts
 * import { ClientFactory, type IReactorTCP } from "@twist/twist";
 * import { MemoryReactor } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * function dial(reactor: IReactorTCP): void {
 *   reactor.connectTCP("example.com", 80, new ClientFactory());
 * }
 * const reactor = new MemoryReactor();
 * dial(reactor);
 * assertEquals(reactor.tcpClients[0].host, "example.com");
 * assertEquals(reactor.tcpClients[0].port, 80);
 * ```
 */
export class MemoryReactor implements IReactorCore, IReactorTCP {
  /** Recorded `listenTCP` calls. */
  readonly tcpServers: RecordedServer[] = [];
  /** Recorded `connectTCP` calls. */
  readonly tcpClients: RecordedClient[] = [];
  /** Recorded `listenSSL` calls. */
  readonly sslServers: RecordedServer[] = [];
  /** Recorded `connectSSL` calls. */
  readonly sslClients: RecordedClient[] = [];
  /** Recorded `listenUNIX` calls. */
  readonly unixServers: RecordedUNIXServer[] = [];
  /** Recorded `connectUNIX` calls. */
  readonly unixClients: RecordedUNIXClient[] = [];
  /** Every connector returned, in order. */
  readonly connectors: FakeConnector[] = [];
  /** Every port returned, in order. */
  readonly ports: FakePort[] = [];
  /** Whether `run` was called. */
  hasRun = false;
  /** Whether `stop` was called. */
  hasStopped = false;
  /** Whether it is "running" (only while `run` calls the hooks). */
  running = false;
  /** Functions given to `callWhenRunning` before `run`, with their arguments. */
  readonly whenRunningHooks: [(...args: never[]) => unknown, unknown[]][] = [];
  /** Triggers added and not removed, by phase and then event type (Twisted's layout). */
  readonly triggers: Partial<
    Record<
      TriggerPhase,
      Record<string, [(...args: never[]) => unknown, unknown[]][]>
    >
  > = {};
  #nextTrigger = 1;
  readonly #triggerIDs = new Map<number, Hook>();

  /** Records the call and returns a `FakePort`. */
  listenTCP(
    port: number,
    factory: IProtocolFactory,
    options?: ListenTCPOptions,
  ): FakePort {
    options ??= {};
    const iface = options.interface ?? "0.0.0.0";
    this.tcpServers.push({
      port,
      factory,
      backlog: options.backlog ?? 50,
      interface: iface,
    });
    return this.#port(ipAddress(iface, port));
  }

  /** Records the call, tells the factory it started connecting, and returns a `FakeConnector`. */
  connectTCP(
    host: string,
    port: number,
    factory: IProtocolFactory,
    options?: ConnectTCPOptions,
  ): FakeConnector {
    options ??= {};
    this.tcpClients.push({
      host,
      port,
      factory,
      timeout: options.timeout ?? 30,
      bindAddress: options.bindAddress,
    });
    return this.#connector(ipAddress(host, port), factory);
  }

  /** Records the call (`tlsOptions` as given) and returns a `FakePort`. */
  listenSSL(
    port: number,
    factory: IProtocolFactory,
    tlsOptions: unknown,
    options?: ListenTCPOptions,
  ): FakePort {
    options ??= {};
    const iface = options.interface ?? "0.0.0.0";
    this.sslServers.push({
      port,
      factory,
      backlog: options.backlog ?? 50,
      interface: iface,
      tlsOptions,
    });
    return this.#port(ipAddress(iface, port));
  }

  /** Records the call (`tlsOptions` as given), tells the factory it started connecting, and returns a `FakeConnector`. */
  connectSSL(
    host: string,
    port: number,
    factory: IProtocolFactory,
    tlsOptions?: unknown,
    options?: ConnectTCPOptions,
  ): FakeConnector {
    tlsOptions ??= {};
    options ??= {};
    this.sslClients.push({
      host,
      port,
      factory,
      timeout: options.timeout ?? 30,
      bindAddress: options.bindAddress,
      tlsOptions,
    });
    return this.#connector(ipAddress(host, port), factory);
  }

  /** Records the call and returns a `FakePort`. */
  listenUNIX(
    path: string,
    factory: IProtocolFactory,
    options: { backlog?: number; mode?: number; wantPID?: boolean } = {},
  ): FakePort {
    this.unixServers.push({
      path,
      factory,
      backlog: options.backlog ?? 50,
      mode: options.mode ?? 0o666,
      wantPID: options.wantPID ?? false,
    });
    return this.#port(new UNIXAddress(path));
  }

  /** Records the call, tells the factory it started connecting, and returns a `FakeConnector`. */
  connectUNIX(
    path: string,
    factory: IProtocolFactory,
    options?: { timeout?: number },
  ): FakeConnector {
    options ??= {};
    this.unixClients.push({ path, factory, timeout: options.timeout ?? 30 });
    return this.#connector(new UNIXAddress(path), factory);
  }

  #port(address: IAddress): FakePort {
    const port = new FakePort(address);
    this.ports.push(port);
    return port;
  }

  #connector(destination: IAddress, factory: IProtocolFactory): FakeConnector {
    const connector = new FakeConnector(destination);
    this.connectors.push(connector);
    const started = (factory as { startedConnecting?(c: IConnector): void })
      .startedConnecting;
    if (typeof started === "function") started.call(factory, connector);
    return connector;
  }

  /**
   * Records the run, calls the `callWhenRunning` hooks, then stops (unless
   * a hook did), as Twisted's `MemoryReactor.run` does.
   *
   * @throws {Error} if it is running already
   */
  run(): Promise<void> {
    if (this.running) throw new Error("Cannot run a MemoryReactor twice");
    this.hasRun = true;
    this.running = true;
    for (const [f, args] of this.whenRunningHooks.splice(0)) {
      f(...(args as never[]));
    }
    if (this.running) this.stop();
    return Promise.resolve();
  }

  /**
   * Records the stop.
   *
   * @throws {ReactorNotRunning} if it was stopped already
   */
  stop(): void {
    if (this.hasStopped) throw new ReactorNotRunning();
    this.hasStopped = true;
    this.running = false;
  }

  /** Calls at once if "running", otherwise records the hook for `run`. */
  callWhenRunning<A extends unknown[]>(
    f: (...args: A) => unknown,
    ...args: A
  ): TriggerID | undefined {
    if (this.running) {
      f(...args);
      return undefined;
    }
    const hook: Hook = [f as (...args: never[]) => unknown, args];
    this.whenRunningHooks.push(hook);
    const id = this.#nextTrigger++;
    this.#triggerIDs.set(id, hook);
    return { phase: "after", eventType: "startup", id };
  }

  /** Records a trigger (it never runs unless `fireSystemEvent` is called). */
  addSystemEventTrigger<A extends unknown[]>(
    phase: TriggerPhase,
    eventType: SystemEventType | string,
    f: (...args: A) => unknown,
    ...args: A
  ): TriggerID {
    const hook: Hook = [f as (...args: never[]) => unknown, args];
    ((this.triggers[phase] ??= {})[eventType] ??= []).push(hook);
    const id = this.#nextTrigger++;
    this.#triggerIDs.set(id, hook);
    return { phase, eventType, id };
  }

  /**
   * Forgets a trigger added with `addSystemEventTrigger`, or a hook added
   * with `callWhenRunning`, that has not run.
   *
   * @throws {TypeError} if it is not registered (never added, removed or run)
   */
  removeSystemEventTrigger(triggerID: TriggerID): void {
    const hook = this.#triggerIDs.get(triggerID.id);
    this.#triggerIDs.delete(triggerID.id);
    for (
      const hooks of [
        this.triggers[triggerID.phase]?.[triggerID.eventType],
        this.whenRunningHooks,
      ]
    ) {
      const at = hook && hooks ? hooks.indexOf(hook) : -1;
      if (at >= 0) {
        hooks!.splice(at, 1);
        return;
      }
    }
    throw new TypeError(
      `Cannot remove trigger "${triggerID.id}": it is not registered`,
    );
  }

  /** Runs (and forgets) the recorded triggers of `eventType`, phase by phase. */
  fireSystemEvent(eventType: SystemEventType | string): void {
    for (const phase of ["before", "during", "after"] as const) {
      for (
        const [f, args] of this.triggers[phase]?.[eventType]?.splice(0) ?? []
      ) {
        f(...(args as never[]));
      }
    }
  }

  /**
   * Not implemented, as in Twisted's `MemoryReactor`: a test that needs
   * names resolved gives its code the addresses instead.
   *
   * @throws {Error} always
   */
  resolve(
    _name: string,
    _timeout?: number | readonly number[],
  ): Deferred<string> {
    throw new Error(
      "MemoryReactor does not resolve names: give the code under test an address",
    );
  }
}

/** Options of {@linkcode RaisingMemoryReactor}. */
export interface RaisingMemoryReactorOptions {
  /**
   * What `listenTCP`, `listenSSL` and `listenUNIX` throw.
   *
   * @default {a CannotListenError naming the address asked for}
   */
  listenException?: Error;
  /**
   * What `connectTCP`, `connectSSL` and `connectUNIX` throw.
   *
   * @default {a ConnectError naming the address asked for}
   */
  connectException?: Error;
}

const REFUSED = "refused by RaisingMemoryReactor";

/**
 * A reactor whose every listen and connect call throws (Twisted's
 * `RaisingMemoryReactor`): for testing how code reports a port that cannot
 * be opened or a connection that cannot be started.
 *
 * @example A listen that fails
 * ```ts
 * import { CannotListenError, ConnectError, ClientFactory, Factory, Protocol } from "@twist/twist";
 * import { RaisingMemoryReactor } from "@twist/twist/testing";
 * import { assertThrows } from "@std/assert";
 *
 * const reactor = new RaisingMemoryReactor({
 *   connectException: new ConnectError("No route to host"),
 * });
 * assertThrows(
 *   () => reactor.listenTCP(80, Factory.forProtocol(Protocol)),
 *   CannotListenError,
 *   'Cannot listen on "0.0.0.0:80"',
 * );
 * assertThrows(
 *   () => reactor.connectTCP("example.com", 80, new ClientFactory()),
 *   ConnectError,
 *   "No route to host",
 * );
 * ```
 */
export class RaisingMemoryReactor implements IReactorTCP {
  readonly #listenException: Error | undefined;
  readonly #connectException: Error | undefined;

  /** Creates a reactor that throws the given errors (or ones naming the address). */
  constructor(options?: RaisingMemoryReactorOptions) {
    options ??= {};
    this.#listenException = options.listenException;
    this.#connectException = options.connectException;
  }

  #cannotListen(iface: string, port: number | string): Error {
    return this.#listenException ?? new CannotListenError(iface, port, REFUSED);
  }

  #cannotConnect(where: string): Error {
    return this.#connectException ??
      new ConnectError(`Connecting to "${where}" failed: ${REFUSED}`);
  }

  /**
   * Throws the listen error.
   *
   * @throws {Error} the `listenException`
   */
  listenTCP(
    port: number,
    _factory: IProtocolFactory,
    options?: ListenTCPOptions,
  ): never {
    options ??= {};
    throw this.#cannotListen(options.interface ?? "0.0.0.0", port);
  }

  /**
   * Throws the connect error.
   *
   * @throws {Error} the `connectException`
   */
  connectTCP(
    host: string,
    port: number,
    _factory: IProtocolFactory,
    _options?: ConnectTCPOptions,
  ): never {
    throw this.#cannotConnect(`${host}:${port}`);
  }

  /**
   * Throws the listen error.
   *
   * @throws {Error} the `listenException`
   */
  listenSSL(
    port: number,
    _factory: IProtocolFactory,
    _tlsOptions: unknown,
    options?: ListenTCPOptions,
  ): never {
    options ??= {};
    throw this.#cannotListen(options.interface ?? "0.0.0.0", port);
  }

  /**
   * Throws the connect error.
   *
   * @throws {Error} the `connectException`
   */
  connectSSL(
    host: string,
    port: number,
    _factory: IProtocolFactory,
    _tlsOptions?: unknown,
    _options?: ConnectTCPOptions,
  ): never {
    throw this.#cannotConnect(`${host}:${port}`);
  }

  /**
   * Throws the listen error.
   *
   * @throws {Error} the `listenException`
   */
  listenUNIX(
    path: string,
    _factory: IProtocolFactory,
    _options?: { backlog?: number; mode?: number; wantPID?: boolean },
  ): never {
    throw this.#cannotListen("unix", path);
  }

  /**
   * Throws the connect error.
   *
   * @throws {Error} the `connectException`
   */
  connectUNIX(
    path: string,
    _factory: IProtocolFactory,
    _options?: { timeout?: number },
  ): never {
    throw this.#cannotConnect(`unix:${path}`);
  }
}

/**
 * A `MemoryReactor` that is also a clock (Twisted's `MemoryReactorClock`):
 * time moves only with `advance`, and `callLater` returns an `IDelayedCall`
 * as the real reactor's does.
 *
 * @example Time moves only when the test says so
 * ```ts
 * import type { IReactorTime } from "@twist/twist";
 * import { MemoryReactorClock } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const reactor = new MemoryReactorClock();
 * const time: IReactorTime = reactor;
 * let fired = false;
 * time.callLater(10, () => (fired = true));
 * reactor.advance(9);
 * assertEquals(fired, false);
 * reactor.advance(1);
 * assertEquals(fired, true);
 * ```
 */
export class MemoryReactorClock extends MemoryReactor implements IReactorTime {
  /** The clock behind `seconds`, `callLater` and `advance`. */
  readonly clock: Clock = new Clock();

  /** The clock's time. */
  seconds(): number {
    return this.clock.seconds();
  }

  /** Schedules on the clock. */
  callLater<A extends unknown[]>(
    delay: number,
    f: (...args: A) => unknown,
    ...args: A
  ): IDelayedCall {
    return this.clock.callLater(delay, f, ...args);
  }

  /** The clock's pending calls, earliest first. */
  getDelayedCalls(): IDelayedCall[] {
    return this.clock.getDelayedCalls();
  }

  /** The clock's pending calls, earliest first (Twisted's `Clock.calls`). */
  get calls(): IDelayedCall[] {
    return this.clock.calls;
  }

  /** Moves the clock forward by `amount` seconds. */
  advance(amount: number): void {
    this.clock.advance(amount);
  }

  /** Advances by each amount in turn. */
  pump(timings: Iterable<number>): void {
    this.clock.pump(timings);
  }
}
