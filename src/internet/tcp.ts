/**
 * TCP (`twisted.internet.tcp`): listening ports and connectors over
 * `Deno.listen` / `Deno.connect`, with the shared `Connection` transport.
 *
 * @module
 */
import type {
  ConnectTCPOptions,
  IAddress,
  IConnector,
  IListeningPort,
  IProtocolFactory,
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
import { log } from "../logger.ts";

/** Every port and connection a reactor owns, so `stop()` can close them. */
interface Registry extends ConnectionOwner {
  ports: Set<Port<IAddress>>;
  connections: Set<Connection>;
  connectors: Set<Connector>;
  /** Resolved when `connections` becomes empty. */
  emptyWaiters: (() => void)[];
}

const registries = new WeakMap<ReactorBase, Registry>();

function registryOf(reactor: ReactorBase): Registry {
  let registry = registries.get(reactor);
  if (!registry) {
    const r: Registry = {
      ports: new Set(),
      connections: new Set(),
      connectors: new Set(),
      emptyWaiters: [],
      connectionClosed(connection: Connection): void {
        r.connections.delete(connection);
        if (r.connections.size === 0) {
          for (const resolve of r.emptyWaiters.splice(0)) {
            resolve();
          }
        }
      },
    };
    registries.set(reactor, r);
    reactor.addSystemEventTrigger(
      "during",
      "shutdown",
      () => shutdown(reactor, r),
    );
    registry = r;
  }
  return registry;
}

/**
 * Stops accepting, lets connections send what they have buffered for up to
 * `reactor.shutdownTimeout` seconds, then aborts what is left
 * (`ConnectionLost`, as Twisted's `disconnectAll`).
 */
function shutdown(reactor: ReactorBase, registry: Registry): Promise<unknown> {
  const waits: Promise<unknown>[] = [];
  for (const port of registry.ports) {
    waits.push(port.stopListening().asPromise());
  }
  for (const connector of registry.connectors) {
    if (connector.state === "connecting") connector.stopConnecting();
  }
  const allClosed = (): Promise<void> =>
    registry.connections.size === 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => registry.emptyWaiters.push(resolve));
  for (const c of registry.connections) c.loseConnection();
  const drained = allClosed();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, reactor.shutdownTimeout * 1000);
  });
  waits.push(
    Promise.race([drained, deadline]).then(() => {
      clearTimeout(timer);
      for (const c of registry.connections) {
        c.abortConnection(new ConnectionLost());
      }
      return allClosed();
    }),
  );
  return Promise.all(waits);
}

/** Starts a connection for `protocol` over `conn`, tracked by the reactor's registry. */
function startConnection(
  registry: Registry,
  conn: Deno.Conn,
  protocol: NonNullable<ReturnType<IProtocolFactory["buildProtocol"]>>,
  kind: { tcp: boolean; tls?: boolean },
  owner: ConnectionOwner = registry,
): Connection {
  const connection = new Connection(conn, protocol, owner, {
    tcp: kind.tcp,
    tls: kind.tls,
  });
  registry.connections.add(connection);
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
 * Deno's `Deno.listen` has no backlog option: the `backlog` option is
 * accepted for Twisted compatibility and the operating system's default is
 * used.
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
  readonly #registry: Registry;
  readonly #factory: IProtocolFactory;
  readonly #binding: StreamBinding<A>;
  #listener: Deno.Listener | undefined;
  #host: A | undefined;
  #acceptDone: Promise<void> = Promise.resolve();
  #stopping: Deferred<void> | undefined;

  /** Creates the port; `startListening` binds it. */
  constructor(
    reactor: ReactorBase,
    factory: IProtocolFactory,
    binding: StreamBinding<A>,
  ) {
    this.#reactor = reactor;
    this.#registry = registryOf(reactor);
    this.#factory = factory;
    this.#binding = binding;
  }

  /**
   * Binds and starts accepting connections; the factory's `doStart` runs.
   *
   * @throws {CannotListenError} for an address in use, a bad interface or a
   * missing permission (the message names the flag to add)
   */
  startListening(): void {
    if (this.#listener) return;
    this.#listener = this.#binding.listen();
    this.#host = this.#binding.hostOf(this.#listener);
    this.#registry.ports.add(this as Port<IAddress>);
    this.#factory.doStart();
    this.#acceptDone = this.#acceptLoop(this.#listener);
  }

  async #acceptLoop(listener: Deno.Listener): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (
          this.#stopping || e instanceof Deno.errors.BadResource ||
          e instanceof Deno.errors.Interrupted
        ) return;
        log.err(e, `Error accepting a connection on ${this.#host}`);
        continue;
      }
      this.#handle(conn);
    }
  }

  #handle(conn: Deno.Conn): void {
    const prepare = this.#binding.prepare;
    if (!prepare) return this.#serve(conn);
    prepare(conn).then(() => this.#serve(conn), (e) => {
      log.msg(
        `Dropped a connection to ${this.#host}: ${(e as Error)?.message ?? e}`,
      );
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    });
  }

  #serve(conn: Deno.Conn): void {
    let protocol;
    try {
      protocol = this.#factory.buildProtocol(this.#binding.peerOf(conn));
    } catch (e) {
      log.err(e, "Unhandled error in buildProtocol");
      conn.close();
      return;
    }
    if (!protocol) {
      conn.close();
      return;
    }
    startConnection(this.#registry, conn, protocol, this.#binding);
  }

  /**
   * Stops accepting connections. The Deferred fires once the listener is
   * closed and the factory's `doStop` has run. Open connections are not
   * closed.
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
    try {
      listener.close();
    } catch {
      // Already closed.
    }
    this.#acceptDone.then(() => {
      this.#registry.ports.delete(this as Port<IAddress>);
      this.#listener = undefined;
      try {
        this.#binding.cleanup?.();
      } catch (e) {
        log.err(e, "Error cleaning up after a port");
      }
      try {
        this.#factory.doStop();
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

/** Binds TCP `port` on `iface`. */
function tcpBinding(
  port: number,
  options: ListenTCPOptions,
): StreamBinding<IPv4Address | IPv6Address> {
  checkPort(port, 0);
  const hostname = options.interface ?? "0.0.0.0";
  return {
    tcp: true,
    listen() {
      try {
        return Deno.listen({ hostname, port, transport: "tcp" });
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

/** The states of a connector. */
export type ConnectorState = "disconnected" | "connecting" | "connected";

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
  readonly #registry: Registry;
  readonly #factory: IProtocolFactory;
  readonly #dialer: StreamDialer;
  readonly #timeout: number;
  #factoryStarted = false;
  #attempt = 0;
  #timeoutCall: DelayedCall | undefined;
  /** Hears that this connector's connection is gone (one object per connector, not per connection). */
  readonly #owner: ConnectionOwner = {
    connectionClosed: (connection, reason) => {
      this.#registry.connectionClosed(connection, reason);
      this.#lost(reason);
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
    this.#registry = registryOf(reactor);
    this.#factory = factory;
    this.#dialer = dialer;
    this.#timeout = timeout;
  }

  /**
   * Starts a connection attempt; the factory's `startedConnecting` runs.
   *
   * @throws {Error} unless disconnected
   */
  connect(): void {
    if (this.state !== "disconnected") {
      throw new Error(`Cannot connect while ${this.state}`);
    }
    this.state = "connecting";
    if (!this.#factoryStarted) {
      this.#factory.doStart();
      this.#factoryStarted = true;
    }
    this.#registry.connectors.add(this);
    const attempt = ++this.#attempt;
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
        started.call(this.#factory, this);
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
      protocol = this.#factory.buildProtocol(this.#dialer.peerOf(conn));
    } catch (e) {
      conn.close();
      this.#failed(attempt, e);
      return;
    }
    if (!protocol) {
      conn.close();
      this.#failed(
        attempt,
        new UserError("The factory's buildProtocol returned null"),
      );
      return;
    }
    this.state = "connected";
    this.transport = startConnection(
      this.#registry,
      conn,
      protocol,
      this.#dialer,
      this.#owner,
    );
  }

  #failed(attempt: number, error: unknown): void {
    if (attempt !== this.#attempt || this.state !== "connecting") return;
    this.#attempt++;
    this.#cancelTimeout();
    this.state = "disconnected";
    this.#registry.connectors.delete(this);
    const reason = Failure.from(error);
    const failed = (this.#factory as {
      clientConnectionFailed?(c: IConnector, r: Failure): void;
    })
      .clientConnectionFailed;
    if (typeof failed === "function") {
      try {
        failed.call(this.#factory, this, reason);
      } catch (e) {
        log.err(e, "Unhandled error in clientConnectionFailed");
      }
    }
    this.#stopFactoryIfIdle();
  }

  #lost(reason: Failure): void {
    this.transport = undefined;
    this.state = "disconnected";
    this.#registry.connectors.delete(this);
    const lost = (this.#factory as {
      clientConnectionLost?(c: IConnector, r: Failure): void;
    }).clientConnectionLost;
    if (typeof lost === "function") {
      try {
        lost.call(this.#factory, this, reason);
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
      this.#factory.doStop();
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

/** Dials TCP `host:port`. */
function tcpDialer(
  host: string,
  port: number,
  options: ConnectTCPOptions,
): StreamDialer {
  checkPort(port, 1);
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

/** Listens on `port` for `reactor`; what `reactor.listenTCP` calls. */
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

/** Connects to `host:port` for `reactor`; what `reactor.connectTCP` calls. */
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
