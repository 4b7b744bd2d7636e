/**
 * TCP (`twisted.internet.tcp`): listening ports and connectors over
 * `Deno.listen` / `Deno.connect`, with the shared `Connection` transport.
 *
 * @module
 */
import type {
  ConnectorState,
  ConnectTCPOptions,
  IAddress,
  IConnector,
  IListeningPort,
  IProtocol,
  IProtocolFactory,
  ITransport,
  ListenTCPOptions,
} from "./interfaces.ts";
import type { DelayedCall, ReactorBase } from "./base.ts";
import { Deferred } from "./defer.ts";
import { Failure } from "./failure.ts";
import { IPv4Address, IPv6Address } from "./address.ts";
import {
  CannotListenError,
  ConnectError,
  ConnectionLost,
  ConnectionRefusedError,
  DNSLookupError,
  NoRouteError,
  TCPTimedOutError,
  TimeoutError,
  UserError,
} from "./error.ts";
import { Connection, type ConnectionOwner } from "./connection.ts";
import { allowNetFlag, isNotCapable } from "./_permissions.ts";
import {
  registryOf,
  type ResourceKind,
  type ResourceRegistry,
} from "./_registry.ts";
import { log } from "../logger.ts";
import { watchResult } from "./_callbacks.ts";

/**
 * The registry of the reactor a port or connector belongs to: what it and
 * its connections register with while they are live, so that the reactor's
 * one shutdown trigger can close them.
 */
function registryOfReactor(reactor: ReactorBase): ResourceRegistry {
  const registry = registryOf(reactor);
  if (!registry) {
    throw new TypeError(
      `Invalid reactor "${String(reactor)}": expected a ReactorBase`,
    );
  }
  return registry;
}

/**
 * At shutdown a listening port stops accepting first (Twisted's
 * `disconnectAll` closes the listening sockets with the rest); shutdown
 * waits until it is closed and its factory stopped.
 */
const PORT: ResourceKind<Port<IAddress>> = {
  name: "listening port",
  order: 0,
  shutdown: (port) => port.stopListening().asPromise(),
};

/**
 * Connections get `reactor.shutdownTimeout` seconds to send what they have
 * buffered (a registered producer is stopped); those close with
 * `ConnectionDone`. What is left is aborted with `ConnectionLost`, as
 * Twisted's `disconnectAll` does.
 */
const CONNECTION: ResourceKind<Connection> = {
  name: "connection",
  order: 2,
  shutdown: (connection) => connection.closeAfterFlush(),
  abort: (connection, afterSeconds) =>
    connection.abortConnection(
      new ConnectionLost(
        `The reactor stopped: unsent data left after ${afterSeconds} seconds`,
      ),
    ),
};

/** Starts a connection for `protocol` over `conn`, registered with the reactor until it is lost. */
function startConnection(
  registry: ResourceRegistry,
  conn: Deno.Conn,
  protocol: NonNullable<ReturnType<IProtocolFactory["buildProtocol"]>>,
  kind: { tcp: boolean; tls?: boolean },
  owner: ConnectionOwner,
): Connection {
  const connection = new Connection(conn, protocol, owner, {
    tcp: kind.tcp,
    tls: kind.tls,
  });
  registry.register(connection, CONNECTION);
  connection.start();
  return connection;
}

/** A TCP address of the right family for `host`. */
export function ipAddress(
  host: string,
  port: number,
): IPv4Address | IPv6Address {
  return host.includes(":")
    ? new IPv6Address("TCP", host, port)
    : new IPv4Address("TCP", host, port);
}

/**
 * How a stream port binds and names addresses: TCP here, UNIX sockets in
 * `unix.ts`. The accept loop and life cycle are the same for all.
 */
export interface StreamBinding<A extends IAddress> {
  /**
   * Binds and returns the listener.
   *
   * @throws {CannotListenError} with a message naming the problem
   */
  listen(): Deno.Listener;
  /** The bound address. */
  hostOf(listener: Deno.Listener): A;
  /** The address of an accepted connection's peer. */
  peerOf(conn: Deno.Conn): IAddress;
  /** What was asked for, for messages. */
  describe(): string;
  /** Whether accepted connections have TCP options (`setTcpNoDelay`...). */
  readonly tcp: boolean;
  /** Whether accepted connections run over TLS. */
  readonly tls?: boolean;
  /**
   * Runs before the protocol is built (TLS: the handshake); a rejection drops
   * the connection.
   */
  prepare?(conn: Deno.Conn): Promise<void>;
  /** Called once the listener is closed (UNIX: removes the socket file). */
  cleanup?(): void;
}

/**
 * A listening port, as `reactor.listenTCP` (and `listenUNIX`) return it.
 *
 * @example
 * ```ts
 * import { Factory, Protocol, Reactor } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * const reactor = new Reactor();
 * const port = reactor.listenTCP(0, Factory.forProtocol(Protocol), { interface: "127.0.0.1" });
 * assert(port.getHost().port > 0);
 * await port.stopListening();
 * ```
 */
export class Port<A extends IAddress = IPv4Address | IPv6Address>
  implements IListeningPort {
  readonly #reactor: ReactorBase;
  readonly #registry: ResourceRegistry;
  readonly #factory: IProtocolFactory;
  readonly #binding: StreamBinding<A>;
  /** Hears that a connection this port accepted is gone (one object per port). */
  readonly #owner: ConnectionOwner = {
    connectionClosed: (connection) => this.#registry.unregister(connection),
  };
  #listener: Deno.Listener | undefined;
  #host: A | undefined;
  #acceptDone: Promise<void> = Promise.resolve();
  #stopping: Deferred<void> | undefined;
  /** Ends the wait between failed accepts (when stopping). */
  #wakeAccept: (() => void) | undefined;
  /** Accepted connections whose `prepare` (TLS handshake) is in progress. */
  readonly #preparing = new Set<Deno.Conn>();

  /** Creates the port; `startListening` binds it. */
  constructor(
    reactor: ReactorBase,
    factory: IProtocolFactory,
    binding: StreamBinding<A>,
  ) {
    this.#reactor = reactor;
    this.#registry = registryOfReactor(reactor);
    this.#factory = factory;
    this.#binding = binding;
  }

  /**
   * Binds and starts accepting connections; the factory's `doStart` runs.
   *
   * @throws {CannotListenError} for an address in use, a bad interface or a
   * missing permission (the message names the flag to add)
   * @throws {Error} once the reactor has stopped, or while `stopListening`
   * is still closing the port
   */
  startListening(): void {
    if (this.#listener) {
      if (!this.#stopping) return;
      throw new Error(
        `Cannot listen on "${this.#binding.describe()}": the port is still stopping`,
      );
    }
    if (this.#registry.stopped) {
      throw new Error(
        `Cannot listen on "${this.#binding.describe()}": the reactor has stopped`,
      );
    }
    this.#listener = this.#binding.listen();
    this.#stopping = undefined; // Listening again after stopListening.
    this.#host = this.#binding.hostOf(this.#listener);
    this.#registry.register(this as Port<IAddress>, PORT);
    this.#factory.doStart();
    this.#acceptDone = this.#acceptLoop(this.#listener);
  }

  /** Accepts until the listener is closed; never rejects. */
  async #acceptLoop(listener: Deno.Listener): Promise<void> {
    let delay = ACCEPT_RETRY_MIN;
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (
          this.#stopping || e instanceof Deno.errors.BadResource ||
          e instanceof Deno.errors.Interrupted
        ) return;
        // Running out of file descriptors (EMFILE) fails every accept until
        // one is released: wait, longer each time, instead of spinning.
        log.err(e, `Error accepting a connection on ${this.#host}`);
        await this.#pauseAccepting(delay);
        if (this.#stopping) return;
        delay = Math.min(delay * 2, ACCEPT_RETRY_MAX);
        continue;
      }
      delay = ACCEPT_RETRY_MIN;
      try {
        this.#handle(conn);
      } catch (e) {
        log.err(e, `Error serving a connection on ${this.#host}`);
      }
    }
  }

  #pauseAccepting(seconds: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const call = this.#reactor.callLater(seconds, () => {
        this.#wakeAccept = undefined;
        resolve();
      });
      this.#wakeAccept = () => {
        this.#wakeAccept = undefined;
        if (call.active()) call.cancel();
        resolve();
      };
    });
  }

  #handle(conn: Deno.Conn): void {
    const prepare = this.#binding.prepare;
    if (!prepare) return this.#serve(conn);
    this.#preparing.add(conn);
    prepare(conn).then(() => {
      this.#preparing.delete(conn);
      this.#serve(conn);
    }, (e) => {
      if (!this.#preparing.delete(conn)) return; // Closed at shutdown.
      log.msg(
        `Dropped a connection to ${this.#host}: ${(e as Error)?.message ?? e}`,
      );
      closeQuietly(conn);
    });
  }

  #serve(conn: Deno.Conn): void {
    if (this.#registry.stopped) {
      closeQuietly(conn); // Accepted as the reactor stopped.
      return;
    }
    let protocol;
    try {
      protocol = built(this.#factory.buildProtocol(this.#binding.peerOf(conn)));
    } catch (e) {
      log.err(e, "Unhandled error in buildProtocol");
      conn.close();
      return;
    }
    if (!protocol) {
      conn.close();
      return;
    }
    startConnection(
      this.#registry,
      conn,
      protocol,
      this.#binding,
      this.#owner,
    );
  }

  /**
   * Stops accepting connections. The Deferred fires once the listener is
   * closed and the factory's `doStop` has run. Open connections are not
   * closed (at reactor shutdown they are, separately).
   */
  stopListening(): Deferred<void> {
    if (this.#stopping) return this.#stopping;
    const d = new Deferred<void>();
    this.#stopping = d;
    const listener = this.#listener;
    if (!listener) {
      d.callback();
      return d;
    }
    closeQuietly(listener);
    this.#wakeAccept?.();
    if (this.#registry.stopped) {
      // Handshakes in progress would otherwise keep the process alive.
      for (const conn of this.#preparing) closeQuietly(conn);
      this.#preparing.clear();
    }
    this.#acceptDone.then(() => {
      this.#registry.unregister(this);
      this.#listener = undefined;
      try {
        this.#binding.cleanup?.();
      } catch (e) {
        log.err(e, "Error cleaning up after a port");
      }
      try {
        watchResult(this.#factory.doStop(), "Unhandled error in doStop");
      } catch (e) {
        log.err(e, "Unhandled error in doStop");
      }
      d.callback();
    });
    return d;
  }

  /** The bound address (with the real port when 0 was asked for). */
  getHost(): A {
    if (!this.#host) throw new Error("The port is not listening");
    return this.#host;
  }

  /** The reactor this port belongs to. */
  get reactor(): ReactorBase {
    return this.#reactor;
  }

  /** A readable form for logs. */
  toString(): string {
    return `<Port ${this.#host ?? this.#binding.describe()}>`;
  }
}

/** The first wait after a failed accept, in seconds; it doubles up to the max. */
const ACCEPT_RETRY_MIN = 0.01;
const ACCEPT_RETRY_MAX = 1;

function closeQuietly(closer: { close(): void }): void {
  try {
    closer.close();
  } catch {
    // Already closed.
  }
}

/**
 * What `Deno.listen` (and `Deno.listenTls`) is given for the options of
 * `listenTCP`: `backlog` is Deno's `tcpBacklog` (when it is not given Deno's
 * default, 511, is used), `reusePort` sets `SO_REUSEPORT`.
 *
 * `Deno.listen({ reusePort: true })` without `--unstable-net` ends the
 * process (exit code 70, nothing to catch), so the flag is checked first:
 * `Deno.listenDatagram` exists only with it.
 *
 * @throws {RangeError} for a backlog that is not a positive integer
 * @throws {CannotListenError} for `reusePort` without `--unstable-net`
 */
export function denoListenOptions(
  hostname: string,
  port: number,
  options: ListenTCPOptions,
): { tcpBacklog?: number; reusePort?: boolean } {
  const { backlog, reusePort } = options;
  if (backlog !== undefined && !(Number.isInteger(backlog) && backlog > 0)) {
    throw new RangeError(
      `Invalid backlog "${backlog}": expected a positive integer`,
    );
  }
  const listenOptions: { tcpBacklog?: number; reusePort?: boolean } = {};
  if (backlog !== undefined) listenOptions.tcpBacklog = backlog;
  if (reusePort) {
    if (!hasUnstableNet()) {
      throw new CannotListenError(
        hostname,
        port,
        "reusePort needs Deno's unstable network APIs: run again with --unstable-net",
      );
    }
    listenOptions.reusePort = true;
  }
  return listenOptions;
}

/** Whether Deno runs with `--unstable-net` (or `"unstable": ["net"]`). */
function hasUnstableNet(): boolean {
  return typeof (Deno as { listenDatagram?: unknown }).listenDatagram ===
    "function";
}

/** Binds TCP `port` on `iface`. */
function tcpBinding(
  port: number,
  options: ListenTCPOptions,
): StreamBinding<IPv4Address | IPv6Address> {
  checkPort(port, 0);
  const iface = options.interface ?? "0.0.0.0";
  const hostname = iface.startsWith("[") && iface.endsWith("]")
    ? iface.slice(1, -1)
    : iface;
  const listenOptions = denoListenOptions(hostname, port, options);
  return {
    tcp: true,
    listen() {
      try {
        return Deno.listen({
          hostname,
          port,
          transport: "tcp",
          ...listenOptions,
        });
      } catch (e) {
        throw new CannotListenError(
          hostname,
          port,
          listenErrorDetail(e, hostname, port),
          { cause: e },
        );
      }
    },
    hostOf: ipHostOf,
    peerOf: ipPeerOf,
    describe: () => `${hostname}:${port}`,
  };
}

/**
 * Why listening on `host:port` failed, for a `CannotListenError` message: a
 * missing permission names the flag to add (`--allow-net=0.0.0.0:8000`).
 *
 * @param e what `Deno.listen` threw
 * @returns the detail after `Cannot listen on "host:port": `
 */
export function listenErrorDetail(
  e: unknown,
  host: string,
  port: number,
): string {
  if (isNotCapable(e)) {
    return `permission denied: run again with ${allowNetFlag(host, port)}`;
  }
  if (e instanceof Deno.errors.AddrInUse) return "address in use";
  if (e instanceof Deno.errors.AddrNotAvailable) {
    return "address not available on this machine";
  }
  if (e instanceof Deno.errors.PermissionDenied) {
    return "the operating system refused (a privileged port?)";
  }
  return (e as Error)?.message ?? String(e);
}

export type { ConnectorState } from "./interfaces.ts";

/**
 * How a connector reaches its destination: TCP here, UNIX sockets in
 * `unix.ts`. The attempt, timeout and factory events are the same for all.
 */
export interface StreamDialer {
  /** Starts connecting. */
  dial(): Promise<Deno.Conn>;
  /** Turns what `dial` rejected with into a `ConnectError`. */
  errorFor(e: unknown): Error;
  /** The address being connected to. */
  readonly destination: IAddress;
  /** The address of the connected peer, for `buildProtocol`. */
  peerOf(conn: Deno.Conn): IAddress;
  /** The destination, for messages. */
  describe(): string;
  /** Whether connections have TCP options (`setTcpNoDelay`...). */
  readonly tcp: boolean;
  /** Whether connections run over TLS. */
  readonly tls?: boolean;
}

/**
 * A connection attempt, as `reactor.connectTCP` (and `connectUNIX`) return it.
 * `connect()` connects again with the same factory (reconnecting clients use
 * it).
 *
 * @example
 * ```ts
 * import { ClientFactory, ConnectionRefusedError, Reactor, type Failure } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * const reactor = new Reactor();
 * const failed = Promise.withResolvers<Failure>();
 * const factory = new ClientFactory();
 * factory.clientConnectionFailed = (_c, reason) => failed.resolve(reason);
 * // Port 1 on loopback: nothing listens there.
 * reactor.connectTCP("127.0.0.1", 1, factory);
 * assert((await failed.promise).check(ConnectionRefusedError));
 * ```
 */
export class Connector implements IConnector {
  /** Where the connector is in its life. */
  state: ConnectorState = "disconnected";
  /** The connection's transport once connected. */
  transport: Connection | undefined;
  readonly #reactor: ReactorBase;
  readonly #registry: ResourceRegistry;
  readonly #factory: IProtocolFactory;
  readonly #dialer: StreamDialer;
  readonly #timeout: number;
  #factoryStarted = false;
  #attempt = 0;
  #timeoutCall: DelayedCall | undefined;
  /** Hears that this connector's connection is gone (one object per connector, not per connection). */
  readonly #owner: ConnectionOwner = {
    connectionClosed: (connection, reason) => {
      this.#registry.unregister(connection);
      this.#lost(reason);
    },
  };

  /**
   * A connector is registered from `connect()` until it is disconnected
   * again; at shutdown an attempt still in progress fails with
   * `ConnectError`, as in Twisted (its connection, if made, is closed as a
   * connection).
   */
  static readonly #KIND: ResourceKind<Connector> = {
    name: "connector",
    order: 1,
    shutdown: (connector) => {
      if (connector.state !== "connecting") return;
      connector.#failed(
        connector.#attempt,
        new ConnectError("The reactor stopped before the connection was made"),
      );
    },
  };

  /**
   * Creates the connector; `connect()` starts an attempt.
   *
   * @throws {RangeError} for a timeout that is not a positive number of seconds
   */
  constructor(
    reactor: ReactorBase,
    factory: IProtocolFactory,
    dialer: StreamDialer,
    timeout = 30,
  ) {
    if (!(timeout > 0)) {
      throw new RangeError(
        `Invalid timeout "${timeout}": expected a number of seconds > 0`,
      );
    }
    this.#reactor = reactor;
    this.#registry = registryOfReactor(reactor);
    this.#factory = factory;
    this.#dialer = dialer;
    this.#timeout = timeout;
  }

  /**
   * Starts a connection attempt: the factory's `doStart` runs (unless it has
   * already), then its `startedConnecting`.
   *
   * @throws {Error} unless disconnected, or once the reactor has stopped
   */
  connect(): void {
    if (this.state !== "disconnected") {
      throw new Error(`Cannot connect while ${this.state}`);
    }
    if (this.#registry.stopped) {
      throw new Error(
        `Cannot connect to "${this.#dialer.describe()}": the reactor has stopped`,
      );
    }
    this.state = "connecting";
    if (!this.#factoryStarted) {
      this.#factory.doStart();
      this.#factoryStarted = true;
    }
    const attempt = ++this.#attempt;
    this.#registry.register(this, Connector.#KIND);
    this.#timeoutCall = this.#reactor.callLater(
      this.#timeout,
      () =>
        this.#failed(
          attempt,
          new TimeoutError(
            `Connecting to ${this.#dialer.describe()} timed out after ${this.#timeout} seconds`,
          ),
        ),
    );
    const started =
      (this.#factory as { startedConnecting?(c: IConnector): void })
        .startedConnecting;
    if (typeof started === "function") {
      try {
        watchResult(
          started.call(this.#factory, this),
          "Unhandled error in startedConnecting",
        );
      } catch (e) {
        log.err(e, "Unhandled error in startedConnecting");
      }
    }
    let pending: Promise<Deno.Conn>;
    try {
      pending = this.#dialer.dial();
    } catch (e) {
      pending = Promise.reject(e);
    }
    pending.then(
      (conn) => this.#connected(attempt, conn),
      (e) => this.#failed(attempt, this.#dialer.errorFor(e)),
    );
  }

  #connected(attempt: number, conn: Deno.Conn): void {
    if (attempt !== this.#attempt || this.state !== "connecting") {
      conn.close(); // The attempt was stopped or timed out meanwhile.
      return;
    }
    this.#cancelTimeout();
    let protocol;
    try {
      protocol = built(this.#factory.buildProtocol(this.#dialer.peerOf(conn)));
    } catch (e) {
      conn.close();
      this.#failed(attempt, e);
      return;
    }
    this.state = "connected";
    this.transport = startConnection(
      this.#registry,
      conn,
      // As in Twisted, a client factory may decline: the connection is made
      // with a stand-in protocol and closed at once (clientConnectionLost).
      protocol ?? declined(),
      this.#dialer,
      this.#owner,
    );
  }

  #failed(attempt: number, error: unknown): void {
    if (attempt !== this.#attempt || this.state !== "connecting") return;
    this.#attempt++;
    this.#cancelTimeout();
    this.state = "disconnected";
    this.#registry.unregister(this);
    const reason = Failure.from(error);
    const failed = (this.#factory as {
      clientConnectionFailed?(c: IConnector, r: Failure): void;
    })
      .clientConnectionFailed;
    if (typeof failed === "function") {
      try {
        watchResult(
          failed.call(this.#factory, this, reason),
          "Unhandled error in clientConnectionFailed",
        );
      } catch (e) {
        log.err(e, "Unhandled error in clientConnectionFailed");
      }
    }
    this.#stopFactoryIfIdle();
  }

  #lost(reason: Failure): void {
    this.transport = undefined;
    this.state = "disconnected";
    this.#registry.unregister(this);
    const lost = (this.#factory as {
      clientConnectionLost?(c: IConnector, r: Failure): void;
    }).clientConnectionLost;
    if (typeof lost === "function") {
      try {
        watchResult(
          lost.call(this.#factory, this, reason),
          "Unhandled error in clientConnectionLost",
        );
      } catch (e) {
        log.err(e, "Unhandled error in clientConnectionLost");
      }
    }
    this.#stopFactoryIfIdle();
  }

  /** The factory stops unless the failure/loss handler reconnected. */
  #stopFactoryIfIdle(): void {
    if (this.state !== "disconnected" || !this.#factoryStarted) return;
    this.#factoryStarted = false;
    try {
      watchResult(this.#factory.doStop(), "Unhandled error in doStop");
    } catch (e) {
      log.err(e, "Unhandled error in doStop");
    }
  }

  #cancelTimeout(): void {
    if (this.#timeoutCall?.active()) this.#timeoutCall.cancel();
    this.#timeoutCall = undefined;
  }

  /**
   * Stops the attempt in progress: it fails with `UserError`.
   *
   * @throws {Error} if not connecting
   */
  stopConnecting(): void {
    if (this.state !== "connecting") {
      throw new Error(`Cannot stop connecting while ${this.state}`);
    }
    this.#failed(this.#attempt, new UserError());
  }

  /** Closes the connection (`loseConnection`), or stops the attempt if still connecting. */
  disconnect(): void {
    if (this.state === "connecting") this.stopConnecting();
    else if (this.state === "connected") this.transport?.loseConnection();
  }

  /** The address being connected to. */
  getDestination(): IAddress {
    return this.#dialer.destination;
  }

  /** A readable form for logs. */
  toString(): string {
    return `<Connector to ${this.#dialer.describe()} (${this.state})>`;
  }
}

/** A stand-in protocol that closes its connection as soon as it is made. */
/** What `buildProtocol` returned, which must be a protocol, not a promise of one. */
function built<P>(protocol: P): P {
  if (protocol instanceof Promise) {
    watchResult(protocol, "Unhandled error in buildProtocol");
    throw new TypeError(
      "buildProtocol returned a promise: it must return the protocol itself",
    );
  }
  return protocol;
}

function declined(): IProtocol {
  return {
    makeConnection(transport: ITransport): void {
      transport.loseConnection();
    },
    connectionMade(): void {},
    dataReceived(): void {},
    connectionLost(): void {},
  };
}

/** Dials TCP `host:port`. */
function tcpDialer(
  host: string,
  port: number,
  options: ConnectTCPOptions,
): StreamDialer {
  checkPort(port, 1);
  // Refused rather than ignored: Deno.connect has no local address option.
  if (options.bindAddress !== undefined) {
    throw new TypeError(
      `Cannot bind the local address "${
        options.bindAddress.join(":")
      }": Deno.connect does not support binding a local address`,
    );
  }
  const hostname = host.startsWith("[") && host.endsWith("]")
    ? host.slice(1, -1)
    : host;
  return {
    tcp: true,
    destination: ipAddress(hostname, port),
    dial: () => Deno.connect({ hostname, port, transport: "tcp" }),
    errorFor: (e) => connectError(e, hostname, port),
    peerOf: ipPeerOf,
    describe:
      () => (hostname.includes(":")
        ? `[${hostname}]:${port}`
        : `${hostname}:${port}`),
  };
}

/**
 * Maps what `Deno.connect` rejected with to Twisted's connect errors:
 * `ConnectionRefusedError`, `TCPTimedOutError`, `NoRouteError`,
 * `DNSLookupError`, or a `ConnectError` — for a missing permission, one whose
 * message names the flag to add (`--allow-net=example.com:80`). The Deno
 * error is the `cause`.
 *
 * @param e what `Deno.connect` rejected with
 * @returns the reason for `clientConnectionFailed`
 */
export function connectError(e: unknown, host: string, port: number): Error {
  const where = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  const opts = { cause: e };
  if (isNotCapable(e)) {
    return new ConnectError(
      `Permission denied connecting to "${where}": run again with ${
        allowNetFlag(host, port)
      }`,
      opts,
    );
  }
  if (e instanceof Deno.errors.ConnectionRefused) {
    return new ConnectionRefusedError(
      `Connection to "${where}" was refused by other side`,
      opts,
    );
  }
  if (e instanceof Deno.errors.TimedOut) {
    return new TCPTimedOutError(`Connecting to "${where}" timed out`, opts);
  }
  if (e instanceof Deno.errors.NetworkUnreachable) {
    return new NoRouteError(`No route to "${where}"`, opts);
  }
  const message = (e as Error)?.message ?? String(e);
  if (
    /lookup address|name or service not known|nodename nor servname|no address associated/i
      .test(message)
  ) {
    return new DNSLookupError(
      `DNS lookup failed for "${host}": ${message}`,
      opts,
    );
  }
  if (
    /no route to host|host is unreachable|network is unreachable/i.test(message)
  ) {
    return new NoRouteError(`No route to "${where}": ${message}`, opts);
  }
  if (e instanceof URIError || e instanceof TypeError) {
    return new DNSLookupError(`Invalid host "${host}": ${message}`, opts);
  }
  return new ConnectError(`Connecting to "${where}" failed: ${message}`, opts);
}

/**
 * Listens on TCP `port` for `reactor`; what `reactor.listenTCP` calls. The
 * factory's `doStart` runs once listening starts, `doStop` once
 * `stopListening()` has closed the port.
 *
 * `options.interface` defaults to `"0.0.0.0"` (`"::"` for every IPv6
 * interface). `options.backlog` is the listen queue's length (Deno's
 * `tcpBacklog`; Deno's default, 511, when not given; the kernel may cap it).
 * `options.reusePort` sets `SO_REUSEPORT` so several processes (or Workers)
 * can listen on one port and share its connections (Linux only; elsewhere
 * Deno ignores it); it needs `--unstable-net`.
 *
 * Requires `--allow-net` for the interface and port (e.g.
 * `--allow-net=0.0.0.0:8000`; for port 0, `--allow-net=0.0.0.0`), and
 * `--unstable-net` for `reusePort`.
 *
 * @example Listening on a port the OS picks
 * ```ts
 * import { Factory, Protocol, Reactor } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const reactor = new Reactor();
 * const factory = Factory.forProtocol(Protocol);
 * const port = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
 * assertEquals(port.getHost().host, "127.0.0.1");
 * await port.stopListening();
 * ```
 *
 * @throws {CannotListenError} for a port in use, an interface this machine
 * does not have, a missing permission (the message names the flag; the
 * Deno error is the `cause`), or `reusePort` without `--unstable-net`
 * @throws {RangeError} for a port outside 0-65535 or a backlog that is not a
 * positive integer
 */
export function listenTCP(
  reactor: ReactorBase,
  port: number,
  factory: IProtocolFactory,
  options: ListenTCPOptions = {},
): Port<IPv4Address | IPv6Address> {
  const p = new Port(reactor, factory, tcpBinding(port, options));
  p.startListening();
  return p;
}

/**
 * Connects to `host:port` for `reactor`; what `reactor.connectTCP` calls.
 * A host name is resolved and connected with Happy Eyeballs (by
 * `Deno.connect`). The factory's `doStart` and `startedConnecting` run at
 * once; a failed attempt reaches `clientConnectionFailed` with a
 * `ConnectionRefusedError`, `DNSLookupError`, `TimeoutError` (after
 * `options.timeout` seconds, 30 by default, timed with `reactor.callLater`),
 * `NoRouteError`, or a `ConnectError` naming the flag to add when the
 * permission is missing.
 *
 * Requires `--allow-net` for the host and port as written (e.g.
 * `--allow-net=localhost:8000`; `127.0.0.1` does not cover `localhost`).
 *
 * @example A refused connection
 * ```ts
 * import { ClientFactory, ConnectionRefusedError, Reactor, type Failure } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * const reactor = new Reactor();
 * const failed = Promise.withResolvers<Failure>();
 * const factory = new ClientFactory();
 * factory.clientConnectionFailed = (_connector, reason) => failed.resolve(reason);
 * reactor.connectTCP("127.0.0.1", 1, factory); // nothing listens on port 1
 * assert((await failed.promise).check(ConnectionRefusedError));
 * ```
 *
 * @throws {TypeError} for `options.bindAddress`: `Deno.connect` cannot bind a
 * local address, and ignoring it silently would be worse
 * @throws {RangeError} for a port outside 1-65535 or a timeout that is not a
 * positive number of seconds
 */
export function connectTCP(
  reactor: ReactorBase,
  host: string,
  port: number,
  factory: IProtocolFactory,
  options: ConnectTCPOptions = {},
): Connector {
  const c = new Connector(
    reactor,
    factory,
    tcpDialer(host, port, options),
    options.timeout,
  );
  c.connect();
  return c;
}

/** The IP address of a connection's peer, as bindings and dialers report it. */
export function ipPeerOf(conn: Deno.Conn): IPv4Address | IPv6Address {
  const addr = conn.remoteAddr as Deno.NetAddr;
  return ipAddress(addr.hostname, addr.port);
}

/** The IP address a listener is bound to. */
export function ipHostOf(listener: Deno.Listener): IPv4Address | IPv6Address {
  const addr = listener.addr as Deno.NetAddr;
  return ipAddress(addr.hostname, addr.port);
}

/**
 * Checks a port number for listening (`min` 0) or connecting (`min` 1).
 *
 * @throws {RangeError} for a port out of range
 */
export function checkPort(port: number, min: 0 | 1): void {
  if (!Number.isInteger(port) || port < min || port > 65535) {
    throw new RangeError(
      `Invalid port "${port}": expected an integer from ${min} to 65535`,
    );
  }
}
