/**
 * The Deno reactor, and `reactor`, the default instance.
 *
 * The life cycle and timers live in `base.ts` (`ReactorBase`); this class adds
 * the network: TCP, TLS, UNIX sockets, UDP and child processes.
 *
 * @module
 */
import type { IPv4Address, IPv6Address, UNIXAddress } from "./address.ts";
import {
  connectUNIX,
  type ConnectUNIXOptions,
  listenUNIX,
  type ListenUNIXOptions,
} from "./unix.ts";
import {
  connectSSL,
  listenSSL,
  type TLSClientOptions,
  type TLSServerOptions,
} from "./tls.ts";
import { spawnProcess, type SpawnProcessOptions } from "./process.ts";
import {
  listenMulticast,
  type ListenMulticastOptions,
  listenUDP,
  type ListenUDPOptions,
} from "./udp.ts";
import { ReactorBase } from "./base.ts";
import type {
  ConnectTCPOptions,
  IConnector,
  IDatagramProtocol,
  IListeningPort,
  IMulticastTransport,
  IProcessProtocol,
  IProcessTransport,
  IProtocolFactory,
  IReactorCore,
  IReactorMulticast,
  IReactorProcess,
  IReactorSSL,
  IReactorTCP,
  IReactorTime,
  IReactorUDP,
  IReactorUNIX,
  IUDPTransport,
  ListenTCPOptions,
} from "./interfaces.ts";
import { connectTCP, listenTCP } from "./tcp.ts";
import { installDefaultReactor } from "./common/default_reactor.ts";

/**
 * A reactor: timers, the run/stop life cycle, TCP, TLS, UNIX sockets, UDP and
 * processes. Use the shared {@linkcode reactor}, or `new Reactor()` for an
 * isolated one (tests do). Besides the network methods below it has
 * {@linkcode IReactorCore}'s `run`, `stop`, `callWhenRunning` and system
 * event triggers, {@linkcode IReactorTime}'s `callLater`, `seconds` and
 * `getDelayedCalls`, and `shutdownTimeout`: the seconds `stop()` lets
 * connections flush their writes before aborting them (default 5).
 *
 * The life cycle is Twisted's: `run()` fires the `"startup"` event (the
 * reactor is `running` from its `"during"` phase; `callWhenRunning` functions
 * run in its `"after"` phase), and `stop()` fires `"shutdown"` on the next
 * pass of the event loop, after the timed calls already due: `"before"`
 * triggers, then `"during"` (the reactor stops `running`; one trigger,
 * installed when the reactor is made, closes what it owns: listening ports,
 * attempts still connecting, connections (given `shutdownTimeout` seconds
 * to flush), UDP ports; child processes are not killed but stop keeping the
 * process alive), then `"after"`. Then every pending delayed call is
 * cancelled, unhandled failures of Deferreds are logged, the signal handlers
 * are removed and the promise `run()` returned resolves; nothing the reactor
 * made keeps the process alive any more.
 *
 * Differences from Twisted, on purpose:
 * - Timed calls run whether or not `run()` was called, because Deno's event
 *   loop is always turning, and a pending call keeps the process alive as a
 *   `setTimeout` would (so `await deferLater(new Reactor(), 1)` works in a
 *   test or a script). `run()` is what keeps the process alive until `stop()`.
 *   After shutdown, calls scheduled anew still run the same way.
 * - `seconds()` is monotonic (and epoch-aligned), calls with equal deadlines
 *   run in the order they were scheduled, a call scheduled while timed calls
 *   run waits for the next pass, and delays longer than `setTimeout` can hold
 *   are re-armed instead of firing at once.
 * - A trigger of any phase (not only `"before"`) that returns a Deferred or a
 *   Promise delays the next phase until it settles. A Deferred's result passes
 *   through untouched (a failure nobody handles is logged as for any
 *   Deferred); a rejected Promise is logged.
 * - Every user callback the reactor invokes (timed calls, triggers,
 *   `callWhenRunning` functions, protocol and factory callbacks) is
 *   contained: what it throws, or the rejection of a promise it returns, is
 *   logged and the reactor goes on. While it runs, any other unhandled
 *   promise rejection is logged too instead of ending the process.
 * - A SIGINT or SIGTERM that arrives while the shutdown is already under way
 *   (a second Ctrl-C during a slow shutdown) exits the process at once with
 *   code 128 + the signal number (130 for SIGINT), as a shell reports a
 *   process killed by that signal; one within 250 ms of the first is taken
 *   for that one delivered twice (a terminal signals the process group, and
 *   `deno task` forwards it too) and ignored.
 *
 * A reactor runs once: after `stop()` it cannot be run again
 * (`ReactorNotRestartable`), as in Twisted.
 *
 * @example Listening and connecting on loopback
 * ```ts
 * import { ClientFactory, Factory, Protocol, Reactor } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const reactor = new Reactor();
 * const port = reactor.listenTCP(0, Factory.forProtocol(Protocol), { interface: "127.0.0.1" });
 * const { port: portNumber } = port.getHost();
 * const connected = Promise.withResolvers<void>();
 * class Client extends Protocol {
 *   override connectionMade(): void {
 *     this.transport.loseConnection();
 *     connected.resolve();
 *   }
 * }
 * reactor.connectTCP("127.0.0.1", portNumber, ClientFactory.forProtocol(Client));
 * await connected.promise;
 * await port.stopListening();
 * assertEquals(port.getHost().type, "TCP");
 * ```
 */
export class Reactor extends ReactorBase
  implements
    IReactorCore,
    IReactorTime,
    IReactorTCP,
    IReactorSSL,
    IReactorUNIX,
    IReactorUDP,
    IReactorMulticast,
    IReactorProcess {
  /**
   * Listens on TCP `port` (0 lets the OS pick), building a protocol with
   * `factory` for each connection.
   *
   * Requires `--allow-net` for the interface and port (e.g.
   * `--allow-net=0.0.0.0:8000`).
   *
   * @throws {CannotListenError} when the port is in use, the interface is bad
   * or the permission is missing (the message names the flag to add)
   */
  listenTCP(
    port: number,
    factory: IProtocolFactory,
    options?: ListenTCPOptions,
  ): IListeningPort<IPv4Address | IPv6Address> {
    options ??= {};
    return listenTCP(this, port, factory, options);
  }

  /**
   * Connects to `host:port`; `factory` (usually a `ClientFactory`) builds the
   * protocol and hears how connecting went.
   *
   * Requires `--allow-net` for the host and port (e.g.
   * `--allow-net=localhost:8000`).
   */
  connectTCP(
    host: string,
    port: number,
    factory: IProtocolFactory,
    options?: ConnectTCPOptions,
  ): IConnector {
    options ??= {};
    return connectTCP(this, host, port, factory, options);
  }

  /**
   * Listens with TLS on `port`; `tls` holds the certificate chain and key as
   * PEM text (`tlsServerOptionsFromFiles` reads them from files) and the ALPN
   * protocols offered.
   *
   * Requires `--allow-net` for the interface and port (and `--allow-read` for
   * files read with `tlsServerOptionsFromFiles`).
   *
   * @throws {CannotListenError} as `listenTCP`
   */
  listenSSL(
    port: number,
    factory: IProtocolFactory,
    tls: TLSServerOptions,
    options?: ListenTCPOptions,
  ): IListeningPort<IPv4Address | IPv6Address> {
    options ??= {};
    return listenSSL(this, port, factory, tls, options);
  }

  /**
   * Connects with TLS to `host:port`; `tls.caCerts` adds trusted CAs (for
   * private ones), `tls.alpnProtocols` offers ALPN protocols. The server's
   * certificate must be valid for `tls.hostname` when given (whatever
   * address is dialled, as Twisted's `optionsForClientTLS(hostname)`), else
   * for `host`. An untrusted certificate fails the attempt with `SSLError`.
   *
   * Requires `--allow-net` for the host and port.
   */
  connectSSL(
    host: string,
    port: number,
    factory: IProtocolFactory,
    tls?: TLSClientOptions,
    options?: ConnectTCPOptions,
  ): IConnector {
    tls ??= {};
    options ??= {};
    return connectSSL(this, host, port, factory, tls, options);
  }

  /**
   * Runs `executable` (with `args`, whose first item is the program's own
   * name, as in Twisted) connected to `protocol`.
   *
   * Requires `--allow-run` for the program (e.g. `--allow-run=cat`).
   *
   * @throws {Error} when `--allow-run` is missing (the message names the flag)
   */
  spawnProcess(
    protocol: IProcessProtocol,
    executable: string,
    args?: string[],
    options?: SpawnProcessOptions,
  ): IProcessTransport {
    args ??= [executable];
    options ??= {};
    // As in Twisted, children outlive the reactor; registered with it until
    // they end, they just stop keeping this process alive at its shutdown.
    return spawnProcess(protocol, executable, args, options, this);
  }

  /**
   * Listens on UDP `port` with `protocol` (binding finishes asynchronously:
   * await `port.listening`).
   *
   * Requires `--allow-net` for the interface and port, and for where
   * datagrams are sent.
   *
   * @throws {CannotListenError} for a missing permission (naming the flag)
   */
  listenUDP(
    port: number,
    protocol: IDatagramProtocol,
    options?: ListenUDPOptions,
  ): IUDPTransport {
    options ??= {};
    return listenUDP(port, protocol, options, this);
  }

  /** Listens on UDP `port` for multicast (`joinGroup`, `setTTL`, `setLoopbackMode`). */
  listenMulticast(
    port: number,
    protocol: IDatagramProtocol,
    options?: ListenMulticastOptions,
  ): IMulticastTransport {
    options ??= {};
    return listenMulticast(port, protocol, options, this);
  }

  /**
   * Listens on the UNIX socket at `path` (removed again by `stopListening`).
   *
   * Requires `--allow-read=PATH --allow-write=PATH --allow-net=unix:PATH`
   * with the absolute path.
   *
   * @throws {CannotListenError} when the path is in use (see `wantPID` for
   * stale socket files) or a permission is missing (the message names the
   * flags)
   */
  listenUNIX(
    path: string,
    factory: IProtocolFactory,
    options?: ListenUNIXOptions,
  ): IListeningPort<UNIXAddress> {
    options ??= {};
    return listenUNIX(this, path, factory, options);
  }

  /**
   * Connects to the UNIX socket at `path`.
   *
   * Requires the same permissions as `listenUNIX`.
   */
  connectUNIX(
    path: string,
    factory: IProtocolFactory,
    options?: ConnectUNIXOptions,
  ): IConnector {
    options ??= {};
    return connectUNIX(this, path, factory, options);
  }
}

/**
 * The default reactor. Importing Twist has no side effects: nothing is
 * scheduled and no signal listener is installed until it is used.
 *
 * @example Using `reactor`
 * ```ts
 * import { Reactor, reactor } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * assert(reactor instanceof Reactor);
 * assert(!reactor.running);
 * ```
 */
export const reactor: Reactor = new Reactor();
// Code that schedules without a clock finds it here, without importing this
// module (and every transport with it).
installDefaultReactor(reactor);
