/**
 * TCP (`twisted.internet.tcp`): listening ports and connectors over
 * `Deno.listen` / `Deno.connect`, or, with the `node` stream backend
 * (`stream/backend.ts`: fair at 10,000 busy connections, where `Deno.Conn`
 * ops starve most of them), `node:net` sockets for IP addresses (host names
 * and `reusePort` stay on Deno's), with the shared `Connection` transport.
 *
 * @module
 */
import type {
  ConnectTCPOptions,
  IProtocolFactory,
  ListenTCPOptions,
} from "./interfaces.ts";
import type { ReactorBase } from "./base.ts";
import { IPv4Address, IPv6Address } from "./address.ts";
import {
  CannotListenError,
  ConnectError,
  ConnectionRefusedError,
  DNSLookupError,
  NoRouteError,
  TCPTimedOutError,
} from "./error.ts";
import {
  allowNetFlag,
  isNotCapable,
  requireNet,
} from "./common/permissions.ts";
import { Port, type StreamBinding } from "./stream/port.ts";
import { Connector, type StreamDialer } from "./stream/connector.ts";
import { backendOf } from "./stream/backend.ts";
import { log } from "../logger.ts";
import { canListenOnNode, dialNode, NodeListener } from "./stream/node_conn.ts";

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
  const hostname = unbracketed(iface);
  denoListenOptions(hostname, port, options); // Bad options throw now.
  const node = nodeSocketsFor(
    hostname,
    options,
    backendOf(options) === "node",
  );
  return {
    tcp: true,
    listen: () =>
      listening(
        hostname,
        port,
        () => listenStream(hostname, port, options, node),
      ),
    hostOf: ipHostOf,
    peerOf: ipPeerOf,
    describe: () => `${hostname}:${port}`,
  };
}

let warned = false;

function warnOnce(message: string): void {
  if (warned) return;
  warned = true;
  log.warn(message);
}

/**
 * Whether a port on `hostname` with `options` runs on node:net sockets, when
 * `wanted`: they can do what is asked (an IP address, without SO_REUSEPORT)
 * and this Deno has the binding they listen through (else one warning).
 */
export function nodeSocketsFor(
  hostname: string,
  options: ListenTCPOptions,
  wanted: boolean,
): boolean {
  if (!wanted || options.reusePort || !isIPLiteral(hostname)) return false;
  if (canListenOnNode()) return true;
  // It binds through an internal Deno binding: without it, Deno's sockets.
  warnOnce(
    "The node backend cannot listen in this Deno (no tcp_wrap binding): listening with Deno.listen",
  );
  return false;
}

/**
 * Binds a stream listener on `hostname:port` (node:net's with `node`, else
 * `Deno.listen`'s), after checking the permission: never Deno's prompt.
 */
export function listenStream(
  hostname: string,
  port: number,
  options: ListenTCPOptions,
  node: boolean,
): Deno.Listener {
  requireNet(hostname, port);
  if (node) {
    return new NodeListener(
      hostname,
      port,
      options.backlog ?? DEFAULT_BACKLOG,
    ) as unknown as Deno.Listener;
  }
  return Deno.listen({
    hostname,
    port,
    transport: "tcp",
    ...denoListenOptions(hostname, port, options),
  });
}

/** Deno's listen queue length when none is given (as `Deno.listen`'s). */
const DEFAULT_BACKLOG = 511;

/** Whether `host` is an IPv4 or IPv6 address (not a name to resolve). */
function isIPLiteral(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(":");
}

/** `host` without the brackets of an IPv6 literal (`[::1]` → `::1`). */
export function unbracketed(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/**
 * Calls `listen`, turning what it throws into a `CannotListenError` for
 * `host:port` whose message says why (see `listenErrorDetail`).
 */
export function listening<L>(host: string, port: number, listen: () => L): L {
  try {
    return listen();
  } catch (e) {
    throw new CannotListenError(
      host,
      port,
      listenErrorDetail(e, host, port),
      { cause: e },
    );
  }
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
  const hostname = unbracketed(host);
  // node:net sockets for an IP address (see stream/backend.ts); a host name
  // goes to Deno.connect, whose Happy Eyeballs and permission check are by
  // the name as written.
  const node = backendOf(options) === "node" && isIPLiteral(hostname);
  return {
    tcp: true,
    destination: ipAddress(hostname, port),
    dial: (signal) => {
      requireNet(hostname, port); // Never Deno's prompt.
      if (node) {
        return dialNode(hostname, port, signal) as Promise<unknown> as Promise<
          Deno.Conn
        >;
      }
      return Deno.connect({ hostname, port, transport: "tcp", signal });
    },
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
  options?: ListenTCPOptions,
): Port<IPv4Address | IPv6Address> {
  options ??= {};
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
  options?: ConnectTCPOptions,
): Connector {
  options ??= {};
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
