/**
 * Endpoints (`twisted.internet.endpoints`): where to listen and where to
 * connect as objects, and Twisted's string grammar for them
 * (`serverFromString(reactor, "tcp:8080:interface=127.0.0.1")`).
 *
 * @module
 */
import type {
  IAddress,
  IConnector,
  IListeningPort,
  IProtocol,
  IProtocolFactory,
  IReactorCore,
  IReactorProcess,
  IReactorSSL,
  IReactorTCP,
  IReactorUNIX,
} from "./interfaces.ts";
import { PipeAddress, StandardIO, type StandardIOOptions } from "./stdio.ts";
import {
  type StandardErrorBehavior,
  WrappedProcessProtocol,
} from "./process_endpoint.ts";
import { Deferred } from "./defer.ts";
import type { Failure } from "./failure.ts";
import { ConnectingCancelledError } from "./error.ts";
import { ClientFactory } from "./protocol.ts";
import { requirePermissions } from "./common/permissions.ts";
import type { ConnectUNIXOptions, ListenUNIXOptions } from "./unix.ts";
import {
  readPEMFile,
  type TLSClientOptions,
  type TLSServerOptions,
  tlsServerOptionsFromFiles,
} from "./tls.ts";
import {
  installServerFromString,
  serverEndpointParser,
} from "./common/endpoint_parsers.ts";

export {
  type IStreamServerEndpointStringParser,
  registerServerEndpointParser,
} from "./common/endpoint_parsers.ts";

/**
 * What `serverFromString` and `clientFromString` need of a reactor: TCP, TLS
 * and UNIX sockets. The `Reactor`, `MemoryReactor` and `MemoryReactorClock`
 * all provide it.
 *
 * @example Parsing endpoints against a recording reactor
 * ```ts
 * import { ClientFactory, clientFromString, type IReactorEndpoints } from "@twist/twist";
 * import { MemoryReactor } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const reactor: IReactorEndpoints = new MemoryReactor();
 * clientFromString(reactor, "tcp:example.com:80").connect(new ClientFactory());
 * ```
 */
export type IReactorEndpoints = IReactorTCP & IReactorSSL & IReactorUNIX;

/**
 * Somewhere to listen: `listen(factory)` fires with the listening port.
 *
 * @example Implementing or using `IStreamServerEndpoint`
 * ```ts
 * import { Factory, Protocol, Reactor, TCP4ServerEndpoint, type IStreamServerEndpoint } from "@twist/twist";
 *
 * const endpoint: IStreamServerEndpoint = new TCP4ServerEndpoint(new Reactor(), 0, { interface: "127.0.0.1" });
 * const port = await endpoint.listen(Factory.forProtocol(Protocol));
 * await port.stopListening();
 * ```
 */
export interface IStreamServerEndpoint {
  /** Listens with `factory`; fires with the port, or fails with `CannotListenError`. */
  listen(factory: IProtocolFactory): Deferred<IListeningPort>;
}

/**
 * Somewhere to connect to: `connect(factory)` fires with the connected
 * protocol. Cancelling the Deferred stops the attempt.
 *
 * @example Implementing or using `IStreamClientEndpoint`
 * ```ts
 * import { ClientFactory, Protocol, Reactor, TCP4ClientEndpoint, type IStreamClientEndpoint } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * const endpoint: IStreamClientEndpoint = new TCP4ClientEndpoint(new Reactor(), "127.0.0.1", 1);
 * let failed = false;
 * await endpoint.connect(ClientFactory.forProtocol(Protocol)).addErrback(() => { failed = true; });
 * assert(failed); // nothing listens on port 1
 * ```
 */
export interface IStreamClientEndpoint {
  /** Connects with `factory`; fires with the protocol once connected, or fails with a `ConnectError`. */
  connect(factory: IProtocolFactory): Deferred<IProtocol>;
}

/**
 * Runs a client connection attempt for an endpoint: wraps the user's factory
 * so the Deferred fires with the protocol once `connectionMade` has run, or
 * fails with the connection error; cancelling stops the attempt.
 */
function connectWith(
  factory: IProtocolFactory,
  start: (wrapper: ClientFactory) => IConnector,
): Deferred<IProtocol> {
  // Set just below; the canceller only runs after connectWith returns.
  // deno-lint-ignore prefer-const
  let connector: IConnector | undefined;
  let cancelling = false;
  const d = new Deferred<IProtocol>(() => {
    const state = connector?.state ?? "connecting";
    if (connector && state === "connecting") {
      const address = connector.getDestination();
      cancelling = true; // The UserError from stopConnecting is ours, not the caller's.
      connector.stopConnecting();
      if (!d.called) d.errback(new ConnectingCancelledError(address));
    }
  });
  class EndpointFactory extends ClientFactory {
    override noisy = false;
    override doStart(): void {
      factory.doStart();
    }
    override doStop(): void {
      factory.doStop();
    }
    override buildProtocol(addr: IAddress): IProtocol | null {
      const p = factory.buildProtocol(addr);
      if (!p) return null;
      // Fire once the protocol is connected (after its connectionMade).
      const made = p.makeConnection.bind(p);
      p.makeConnection = (transport) => {
        made(transport);
        if (!d.called) d.callback(p);
      };
      return p;
    }
    override clientConnectionFailed(_c: unknown, reason: Failure): void {
      if (!d.called && !cancelling) d.errback(reason);
    }
  }
  connector = start(new EndpointFactory());
  return d;
}

/** Listens through `listen`, turning a synchronous failure into a failed Deferred. */
function listenWith(listen: () => IListeningPort): Deferred<IListeningPort> {
  const d = new Deferred<IListeningPort>();
  let port: IListeningPort;
  try {
    port = listen();
  } catch (e) {
    d.errback(e);
    return d;
  }
  d.callback(port);
  return d;
}

/** Options of the TCP server endpoints. */
export interface TCPServerEndpointOptions {
  /**
   * The listen queue's length (Deno's `tcpBacklog`).
   *
   * @default {Deno's, 511 (the kernel may cap it)}
   */
  backlog?: number;
  /** The interface to bind. @default {"0.0.0.0" (TCP4) or "::" (TCP6)} */
  interface?: string;
  /** The sockets to use, as `ListenTCPOptions.backend`. @default {"deno"} */
  backend?: "deno" | "node";
  /**
   * Shares the port with other listeners that set it (`SO_REUSEPORT`):
   * several reactors, in Workers or processes, serve one port and the
   * kernel spreads connections across them. Needs `--unstable-net`.
   */
  reusePort?: boolean;
}

/**
 * Listens on an IPv4 TCP port.
 *
 * @example Using `TCP4ServerEndpoint`
 * ```ts
 * import { Factory, Protocol, Reactor, TCP4ServerEndpoint } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * const port = await new TCP4ServerEndpoint(new Reactor(), 0, { interface: "127.0.0.1" })
 *   .listen(Factory.forProtocol(Protocol));
 * assert(port.getHost().type === "TCP");
 * await port.stopListening();
 * ```
 */
export class TCP4ServerEndpoint implements IStreamServerEndpoint {
  readonly #reactor: IReactorTCP;
  /** The port to listen on (0: the OS picks). */
  readonly port: number;
  /** The interface and backlog. */
  readonly options: TCPServerEndpointOptions;

  /** Creates the endpoint. */
  constructor(
    reactor: IReactorTCP,
    port: number,
    options?: TCPServerEndpointOptions,
  ) {
    options ??= {};
    this.#reactor = reactor;
    this.port = port;
    this.options = { interface: "0.0.0.0", ...options };
  }

  /** Listens with `factory`. */
  listen(factory: IProtocolFactory): Deferred<IListeningPort> {
    return listenWith(() =>
      this.#reactor.listenTCP(this.port, factory, this.options)
    );
  }
}

/**
 * Listens on an IPv6 TCP port (default interface `"::"`).
 *
 * @example Using `TCP6ServerEndpoint`
 * ```ts
 * import { Reactor, TCP6ServerEndpoint } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new TCP6ServerEndpoint(new Reactor(), 8080).options.interface, "::");
 * ```
 */
export class TCP6ServerEndpoint extends TCP4ServerEndpoint {
  /** Creates the endpoint. */
  constructor(
    reactor: IReactorTCP,
    port: number,
    options?: TCPServerEndpointOptions,
  ) {
    options ??= {};
    super(reactor, port, { interface: "::", ...options });
  }
}

/** Options of the TCP client endpoints. */
export interface TCPClientEndpointOptions {
  /** Seconds to wait for the connection. @default {30} */
  timeout?: number;
  /** A local address to bind (Deno cannot: rejected with a clear error). */
  bindAddress?: [string, number];
  /** The sockets to use, as `ConnectTCPOptions.backend`. @default {"deno"} */
  backend?: "deno" | "node";
}

/**
 * Connects over TCP to an IPv4 host (names are resolved, and Deno tries the
 * addresses Happy-Eyeballs style).
 *
 * @example Using `TCP4ClientEndpoint`
 * ```ts
 * import { Reactor, TCP4ClientEndpoint } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const endpoint = new TCP4ClientEndpoint(new Reactor(), "example.com", 80, { timeout: 5 });
 * assertEquals(endpoint.host, "example.com");
 * ```
 */
export class TCP4ClientEndpoint implements IStreamClientEndpoint {
  readonly #reactor: IReactorTCP;
  /** The host to connect to. */
  readonly host: string;
  /** The port to connect to. */
  readonly port: number;
  /** The timeout and local address. */
  readonly options: TCPClientEndpointOptions;

  /** Creates the endpoint. */
  constructor(
    reactor: IReactorTCP,
    host: string,
    port: number,
    options?: TCPClientEndpointOptions,
  ) {
    options ??= {};
    this.#reactor = reactor;
    this.host = host;
    this.port = port;
    this.options = options;
  }

  /** Connects with `factory`; fires with the protocol once connected. */
  connect(factory: IProtocolFactory): Deferred<IProtocol> {
    return connectWith(
      factory,
      (wrapper) =>
        this.#reactor.connectTCP(this.host, this.port, wrapper, this.options),
    );
  }
}

/**
 * Connects over TCP to an IPv6 host.
 *
 * @example Using `TCP6ClientEndpoint`
 * ```ts
 * import { Reactor, TCP6ClientEndpoint } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new TCP6ClientEndpoint(new Reactor(), "::1", 80).host, "::1");
 * ```
 */
export class TCP6ClientEndpoint extends TCP4ClientEndpoint {}

/**
 * Connects to a host name, trying its IPv4 and IPv6 addresses
 * Happy-Eyeballs style (Deno's `Deno.connect` does this).
 *
 * @example Using `HostnameEndpoint`
 * ```ts
 * import { HostnameEndpoint, Reactor } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new HostnameEndpoint(new Reactor(), "localhost", 8000).port, 8000);
 * ```
 */
export class HostnameEndpoint extends TCP4ClientEndpoint {}

/**
 * Listens on a UNIX socket.
 *
 * @example Using `UNIXServerEndpoint`
 * ```ts
 * import { Reactor, UNIXServerEndpoint } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new UNIXServerEndpoint(new Reactor(), "/tmp/s.sock", { mode: 0o600 }).path, "/tmp/s.sock");
 * ```
 */
export class UNIXServerEndpoint implements IStreamServerEndpoint {
  readonly #reactor: IReactorUNIX;
  /** The socket's path. */
  readonly path: string;
  /** The mode, lock and backlog. */
  readonly options: ListenUNIXOptions;

  /** Creates the endpoint. */
  constructor(
    reactor: IReactorUNIX,
    path: string,
    options?: ListenUNIXOptions,
  ) {
    options ??= {};
    this.#reactor = reactor;
    this.path = path;
    this.options = options;
  }

  /** Listens with `factory`. */
  listen(factory: IProtocolFactory): Deferred<IListeningPort> {
    return listenWith(() =>
      this.#reactor.listenUNIX(this.path, factory, this.options)
    );
  }
}

/**
 * Connects to a UNIX socket.
 *
 * @example Using `UNIXClientEndpoint`
 * ```ts
 * import { Reactor, UNIXClientEndpoint } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new UNIXClientEndpoint(new Reactor(), "/tmp/s.sock").path, "/tmp/s.sock");
 * ```
 */
export class UNIXClientEndpoint implements IStreamClientEndpoint {
  readonly #reactor: IReactorUNIX;
  /** The socket's path. */
  readonly path: string;
  /** The timeout. */
  readonly options: ConnectUNIXOptions;

  /** Creates the endpoint. */
  constructor(
    reactor: IReactorUNIX,
    path: string,
    options?: ConnectUNIXOptions,
  ) {
    options ??= {};
    this.#reactor = reactor;
    this.path = path;
    this.options = options;
  }

  /** Connects with `factory`; fires with the protocol once connected. */
  connect(factory: IProtocolFactory): Deferred<IProtocol> {
    return connectWith(
      factory,
      (wrapper) => this.#reactor.connectUNIX(this.path, wrapper, this.options),
    );
  }
}

/**
 * Listens with TLS on an IPv4 TCP port.
 *
 * @example Using `SSL4ServerEndpoint`
 * ```ts
 * import { Reactor, SSL4ServerEndpoint } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const endpoint = new SSL4ServerEndpoint(new Reactor(), 8443, { cert: "PEM...", key: "PEM..." });
 * assertEquals(endpoint.port, 8443);
 * ```
 */
export class SSL4ServerEndpoint implements IStreamServerEndpoint {
  readonly #reactor: IReactorSSL;
  /** The port to listen on. */
  readonly port: number;
  /** The certificate, key and ALPN protocols. */
  readonly tls: TLSServerOptions;
  /** The interface and backlog. */
  readonly options: TCPServerEndpointOptions;

  /** Creates the endpoint. */
  constructor(
    reactor: IReactorSSL,
    port: number,
    tls: TLSServerOptions,
    options?: TCPServerEndpointOptions,
  ) {
    options ??= {};
    this.#reactor = reactor;
    this.port = port;
    this.tls = tls;
    this.options = { interface: "0.0.0.0", ...options };
  }

  /** Listens with `factory`. */
  listen(factory: IProtocolFactory): Deferred<IListeningPort> {
    return listenWith(() =>
      this.#reactor.listenSSL(this.port, factory, this.tls, this.options)
    );
  }
}

/**
 * Connects with TLS over TCP.
 *
 * @example Using `SSL4ClientEndpoint`
 * ```ts
 * import { Reactor, SSL4ClientEndpoint } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new SSL4ClientEndpoint(new Reactor(), "example.com", 443).host, "example.com");
 * ```
 */
export class SSL4ClientEndpoint implements IStreamClientEndpoint {
  readonly #reactor: IReactorSSL;
  /** The host to connect to. */
  readonly host: string;
  /** The port to connect to. */
  readonly port: number;
  /** Trusted CAs and ALPN protocols. */
  readonly tls: TLSClientOptions;
  /** The timeout. */
  readonly options: { timeout?: number };

  /** Creates the endpoint. */
  constructor(
    reactor: IReactorSSL,
    host: string,
    port: number,
    tls?: TLSClientOptions,
    options?: { timeout?: number },
  ) {
    tls ??= {};
    options ??= {};
    this.#reactor = reactor;
    this.host = host;
    this.port = port;
    this.tls = tls;
    this.options = options;
  }

  /** Connects with `factory`; fires with the protocol once the TLS connection is up. */
  connect(factory: IProtocolFactory): Deferred<IProtocol> {
    return connectWith(
      factory,
      (wrapper) =>
        this.#reactor.connectSSL(
          this.host,
          this.port,
          wrapper,
          this.tls,
          this.options,
        ),
    );
  }
}

/** Reads PEM CA certificates from a file, or every `.pem`/`.crt` file of a directory. */
function readCACerts(
  description: string,
  file?: string,
  dir?: string,
): string[] | undefined {
  const certs: string[] = [];
  try {
    if (file) certs.push(readPEMFile(file));
    if (dir) {
      let entries;
      try {
        requirePermissions({ name: "read", path: dir }); // Never Deno's prompt.
        entries = [...Deno.readDirSync(dir)];
      } catch (e) {
        if (e instanceof Deno.errors.NotCapable) {
          throw new Error(
            `Cannot read "${dir}": run again with --allow-read=${dir}`,
          );
        }
        throw new Error(`Cannot read "${dir}": ${(e as Error).message}`);
      }
      const names = entries
        .filter((e) => e.isFile && /\.(pem|crt)$/.test(e.name))
        .map((e) => e.name)
        .sort();
      if (names.length === 0) {
        throw new Error(
          `Cannot use "${dir}": it holds no .pem or .crt CA certificate`,
        );
      }
      for (const name of names) certs.push(readPEMFile(`${dir}/${name}`));
    }
  } catch (e) {
    invalid(description, lowerFirst((e as Error).message));
  }
  return certs.length > 0 ? certs : undefined;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/**
 * A client certificate from Twisted's `certKey=` (the certificate, PEM) and
 * `privateKey=` (its key; by default in the `certKey` file too).
 */
function clientCertificate(
  description: string,
  certFile?: string,
  keyFile?: string,
): { cert?: string; key?: string } {
  if (certFile === undefined) {
    if (keyFile !== undefined) {
      invalid(description, "privateKey needs certKey (the certificate file)");
    }
    return {};
  }
  try {
    const cert = readPEMFile(certFile);
    const key = keyFile === undefined ? cert : readPEMFile(keyFile);
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) {
      throw new Error(
        `Cannot use "${keyFile ?? certFile}": it holds no PEM private key`,
      );
    }
    return { cert, key };
  } catch (e) {
    return invalid(description, lowerFirst((e as Error).message));
  }
}

/** The `handshakeTimeout=` of a TLS description, in seconds. */
function handshakeTimeoutKeyword(
  description: string,
  kwargs: Record<string, string>,
): { handshakeTimeout?: number } {
  if (kwargs.handshakeTimeout === undefined) return {};
  const t = Number(kwargs.handshakeTimeout);
  if (!(t > 0) || !Number.isFinite(t)) {
    invalid(
      description,
      `handshakeTimeout "${kwargs.handshakeTimeout}" is not a number of seconds > 0`,
    );
  }
  return { handshakeTimeout: t };
}

/**
 * The `handshakeTimeout=` and `engine=` of a TLS description (Twist's
 * keywords: Twisted's endpoints have no such choice).
 */
function tlsKeywords(
  description: string,
  kwargs: Record<string, string>,
): { handshakeTimeout?: number; engine?: "deno" | "node" } {
  const timeout = handshakeTimeoutKeyword(description, kwargs);
  const engine = denoOrNode(description, kwargs, "engine");
  return engine === undefined ? timeout : { ...timeout, engine };
}

/**
 * "Listens" on this process's stdin and stdout (Twisted's
 * `StandardIOEndpoint`): `listen(factory)` builds one protocol and connects
 * it with {@linkcode StandardIO}. The port it fires with has the transport
 * (`port.transport`); `stopListening()` loses the connection and fires once
 * it is lost. The `stdio:` description makes one.
 *
 * @example An echo on stdin and stdout
 * ```ts ignore
 * import { Factory, Protocol, reactor, StandardIOEndpoint } from "@twist/twist";
 *
 * class Echo extends Protocol {
 *   override dataReceived(data: Uint8Array): void {
 *     this.transport.write(data);
 *   }
 * }
 * await new StandardIOEndpoint(reactor).listen(Factory.forProtocol(Echo));
 * reactor.run();
 * ```
 *
 * @example Made from a description
 * ```ts
 * import { Reactor, serverFromString, StandardIOEndpoint } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * assert(serverFromString(new Reactor(), "stdio:") instanceof StandardIOEndpoint);
 * ```
 */
export class StandardIOEndpoint implements IStreamServerEndpoint {
  readonly #reactor: IReactorCore | undefined;
  readonly #options: Omit<StandardIOOptions, "reactor">;

  /**
   * Creates the endpoint; `options.stdin` and `options.stdout` replace
   * `Deno.stdin` and `Deno.stdout` (tests do).
   */
  constructor(
    reactor?: IReactorCore,
    options: Omit<StandardIOOptions, "reactor"> = {},
  ) {
    this.#reactor = reactor;
    this.#options = options;
  }

  /** Builds the protocol and connects it to stdin and stdout. */
  listen(factory: IProtocolFactory): Deferred<StandardIOListeningPort> {
    const d = new Deferred<StandardIOListeningPort>();
    try {
      const protocol = factory.buildProtocol(new PipeAddress());
      if (!protocol) throw new TypeError("buildProtocol returned no protocol");
      const lost = new Deferred<void>();
      const connectionLost = protocol.connectionLost.bind(protocol);
      protocol.connectionLost = (reason) => {
        try {
          return connectionLost(reason);
        } finally {
          lost.callback(undefined);
        }
      };
      const transport = new StandardIO(protocol, {
        ...this.#options,
        reactor: this.#reactor,
      });
      d.callback({
        transport,
        startListening(): void {},
        stopListening(): Deferred<void> {
          transport.loseConnection();
          return lost;
        },
        getHost: () => new PipeAddress(),
      });
    } catch (e) {
      d.errback(e);
    }
    return d;
  }
}

/**
 * What `StandardIOEndpoint.listen` fires with: `transport` is the
 * `StandardIO`, and `stopListening()` loses its connection.
 *
 * @example Writing through the port's transport
 * ```ts ignore
 * import { Factory, Protocol, reactor, StandardIOEndpoint } from "@twist/twist";
 *
 * const port = await new StandardIOEndpoint(reactor).listen(Factory.forProtocol(Protocol));
 * port.transport.write("hello\n");
 * await port.stopListening();
 * ```
 */
export interface StandardIOListeningPort extends IListeningPort<PipeAddress> {
  /** The transport over stdin and stdout. */
  readonly transport: StandardIO;
}

/** Options of {@linkcode ProcessEndpoint}. */
export interface ProcessEndpointOptions {
  /** The arguments, the first being the program's own name. @default {[executable]} */
  args?: string[];
  /** The child's whole environment (nothing is inherited). @default {{}} */
  env?: Record<string, string>;
  /** The child's working directory. @default {this process's} */
  path?: string;
  /** What becomes of the child's stderr: logged or dropped. @default {"log"} */
  errFlag?: StandardErrorBehavior;
}

/**
 * Connects to a child process (Twisted's `endpoints.ProcessEndpoint`):
 * `connect(factory)` runs the program and connects the protocol to it, so
 * any stream protocol talks to a program as if over TCP. `write` goes to
 * the child's stdin, `dataReceived` gets its stdout, `loseConnection` closes
 * its stdin, and `connectionLost` comes when the process has ended
 * (`ConnectionDone` after a zero exit status, else the `ProcessTerminated`
 * failure). What the child writes to stderr is logged (`errFlag: "log"`) or
 * dropped (`"drop"`).
 *
 * Requires `--allow-run` for the program. A missing permission or a program
 * that cannot be found fails the Deferred.
 *
 * @example Talking to `cat`
 * ```ts
 * import { connectProtocol, ProcessEndpoint, Protocol, Reactor } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const echoed = Promise.withResolvers<string>();
 * class Hello extends Protocol {
 *   override connectionMade(): void {
 *     this.transport.write("hello");
 *     this.transport.loseConnection(); // closes cat's stdin: cat exits
 *   }
 *   override dataReceived(data: Uint8Array): void {
 *     echoed.resolve(new TextDecoder().decode(data));
 *   }
 * }
 * await connectProtocol(new ProcessEndpoint(new Reactor(), "cat"), new Hello());
 * assertEquals(await echoed.promise, "hello");
 * ```
 */
export class ProcessEndpoint implements IStreamClientEndpoint {
  readonly #reactor: IReactorProcess;
  /** The program to run. */
  readonly executable: string;
  /** The arguments, environment, directory and stderr behaviour. */
  readonly options: ProcessEndpointOptions;

  /** Creates the endpoint. */
  constructor(
    reactor: IReactorProcess,
    executable: string,
    options: ProcessEndpointOptions = {},
  ) {
    this.#reactor = reactor;
    this.executable = executable;
    this.options = options;
  }

  /**
   * Runs the program and connects a protocol built by `factory` to it;
   * fires with the protocol once its `connectionMade` has run.
   */
  connect(factory: IProtocolFactory): Deferred<IProtocol> {
    const d = new Deferred<IProtocol>();
    const { args, env, path, errFlag = "log" } = this.options;
    try {
      const protocol = factory.buildProtocol(new PipeAddress());
      if (!protocol) throw new TypeError("buildProtocol returned no protocol");
      const wrapper = new WrappedProcessProtocol(
        protocol,
        this.executable,
        errFlag,
        (reason) => d.errback(reason),
      );
      this.#reactor.spawnProcess(
        wrapper,
        this.executable,
        args ?? [this.executable],
        { env, path },
      );
      if (wrapper.connected) d.callback(protocol);
    } catch (e) {
      d.errback(e);
    }
    return d;
  }
}

/**
 * Connects `protocol` (an instance) through `endpoint`.
 *
 * @example Calling `connectProtocol`
 * ```ts ignore
 * import { connectProtocol, Protocol, reactor, TCP4ClientEndpoint } from "@twist/twist";
 *
 * const p = await connectProtocol(new TCP4ClientEndpoint(reactor, "localhost", 8000), new Protocol());
 * p.transport.write("hello");
 * ```
 */
export function connectProtocol<P extends IProtocol>(
  endpoint: IStreamClientEndpoint,
  protocol: P,
): Deferred<P> {
  const factory = new ClientFactory();
  factory.noisy = false;
  factory.buildProtocol = () => protocol;
  return endpoint.connect(factory) as Deferred<P>;
}

/** A parsed endpoint description: its type, positional and named arguments. */
export interface ParsedDescription {
  /** The endpoint type (`tcp`, `tcp6`, `unix`...). */
  type: string;
  /** Positional arguments. */
  args: string[];
  /** Named arguments (`key=value`). */
  kwargs: Record<string, string>;
}

/**
 * Splits a description with Twisted's grammar: fields separated by `:`, a
 * field may be `key=value` (the value may contain `=`), and `\` escapes the
 * next character (`\:` for a literal colon).
 *
 * @example Calling `parseDescription`
 * ```ts
 * import { parseDescription } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(parseDescription("tcp6:8080:interface=\\:\\:1"), {
 *   type: "tcp6",
 *   args: ["8080"],
 *   kwargs: { interface: "::1" },
 * });
 * ```
 */
export function parseDescription(description: string): ParsedDescription {
  const fields: string[][] = [];
  let current = "";
  let field: string[] = [];
  let afterEquals = false;
  for (let i = 0; i < description.length; i++) {
    const c = description[i];
    if (c === "\\") {
      if (i + 1 >= description.length) {
        throw new TypeError(
          `Invalid endpoint description "${description}": it ends with a lone backslash`,
        );
      }
      current += description[++i];
    } else if (c === ":") {
      field.push(current);
      fields.push(field);
      field = [];
      current = "";
      afterEquals = false;
    } else if (c === "=" && !afterEquals) {
      field.push(current);
      current = "";
      afterEquals = true;
    } else {
      current += c;
    }
  }
  field.push(current);
  fields.push(field);
  const [head, ...rest] = fields;
  if (head.length !== 1 || head[0] === "") {
    throw new TypeError(
      `Invalid endpoint description "${description}": it must start with a type such as "tcp:"`,
    );
  }
  const args: string[] = [];
  const kwargs: Record<string, string> = {};
  for (const f of rest) {
    if (f.length === 1) args.push(f[0]);
    else kwargs[f[0]] = f[1];
  }
  return { type: head[0], args, kwargs };
}

function invalid(description: string, problem: string): never {
  throw new TypeError(
    `Invalid endpoint description "${description}": ${problem}`,
  );
}

function integer(
  description: string,
  name: string,
  value: string | undefined,
  min: number,
  max: number,
): number {
  if (value === undefined) invalid(description, `missing ${name}`);
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    invalid(
      description,
      `${name} "${value}" is not an integer from ${min} to ${max}`,
    );
  }
  return n;
}

function checkKeys(
  description: string,
  kwargs: Record<string, string>,
  allowed: string[],
): void {
  for (const key of Object.keys(kwargs)) {
    if (!allowed.includes(key)) {
      invalid(
        description,
        `unknown parameter "${key}" (expected ${
          allowed.map((k) => `"${k}"`).join(", ")
        })`,
      );
    }
  }
}

/** The port of a server description: its one positional argument, or `port=`. */
function serverPort(
  description: string,
  args: string[],
  kwargs: Record<string, string>,
): number {
  if (args.length > 1) {
    invalid(
      description,
      `unexpected arguments after the port: "${args.slice(1).join(":")}"`,
    );
  }
  return integer(description, "port", args[0] ?? kwargs.port, 0, 65535);
}

/** The `interface=`, `backlog=` and `reusePort=` of a TCP or TLS server description. */
function serverOptions(
  description: string,
  kwargs: Record<string, string>,
): TCPServerEndpointOptions {
  const options: TCPServerEndpointOptions = {};
  if (kwargs.interface !== undefined) options.interface = kwargs.interface;
  if (kwargs.backlog !== undefined) {
    options.backlog = integer(description, "backlog", kwargs.backlog, 1, 65535);
  }
  if (kwargs.reusePort !== undefined) {
    const v = kwargs.reusePort;
    if (v !== "true" && v !== "false" && v !== "1" && v !== "0") {
      invalid(description, `reusePort "${v}" is not true or false`);
    }
    options.reusePort = v === "true" || v === "1";
  }
  const backend = denoOrNode(description, kwargs, "backend");
  if (backend) options.backend = backend;
  return options;
}

/**
 * A keyword of Twist's that names Deno's or node's sockets or TLS
 * (`backend=`, `engine=`): `"deno"`, `"node"`, or not given.
 */
function denoOrNode(
  description: string,
  kwargs: Record<string, string>,
  key: "backend" | "engine",
): "deno" | "node" | undefined {
  const value = kwargs[key];
  if (value === undefined) return undefined;
  if (value !== "deno" && value !== "node") {
    invalid(description, `${key} "${value}" is not "deno" or "node"`);
  }
  return value;
}

/**
 * Makes a server endpoint from a description in Twisted's grammar:
 * `tcp:PORT[:interface=IP][:backlog=N][:reusePort=true][:backend=node]`,
 * `tcp6:PORT[:interface=IP][:backlog=N][:reusePort=true][:backend=node]`,
 * `unix:PATH[:mode=660][:lockfile=1][:backlog=N]`,
 * `ssl:PORT:privateKey=KEY.pem[:certKey=CERT.pem][:interface=IP][:alpn=h2,http/1.1]`
 * `[:caCerts=CA.pem][:caCertsDir=DIR][:handshakeTimeout=S][:engine=node]` (with
 * `caCerts` or `caCertsDir`, clients must present a certificate signed by one
 * of those CAs; `engine` as in `TLSServerOptions`). The files are read at once: `--allow-read` on them. Also `stdio:`
 * (this process's stdin and stdout, {@linkcode StandardIOEndpoint}). Other types come
 * from parsers registered with `registerServerEndpointParser`, as
 * `haproxy:tcp:8080` once `@twist/twist/protocols/haproxy` is imported.
 *
 * @throws {TypeError} for a malformed description, naming the problem
 *
 * @example Calling `serverFromString`
 * ```ts
 * import { Reactor, serverFromString, TCP4ServerEndpoint } from "@twist/twist";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const endpoint = serverFromString(new Reactor(), "tcp:8080:interface=127.0.0.1");
 * assert(endpoint instanceof TCP4ServerEndpoint);
 * assertEquals(endpoint.options.interface, "127.0.0.1");
 * ```
 */
export function serverFromString(
  reactor: IReactorEndpoints,
  description: string,
): IStreamServerEndpoint {
  const { type, args, kwargs } = parseDescription(description);
  switch (type) {
    case "tcp":
    case "tcp6": {
      checkKeys(description, kwargs, [
        "port",
        "interface",
        "backlog",
        "reusePort",
        "backend",
      ]);
      const port = serverPort(description, args, kwargs);
      const options = serverOptions(description, kwargs);
      return type === "tcp"
        ? new TCP4ServerEndpoint(reactor, port, {
          interface: "0.0.0.0",
          ...options,
        })
        : new TCP6ServerEndpoint(reactor, port, options);
    }
    case "unix": {
      checkKeys(description, kwargs, [
        "address",
        "mode",
        "lockfile",
        "backlog",
      ]);
      const path = args[0] ?? kwargs.address;
      if (!path) invalid(description, "missing the socket path");
      const options: ListenUNIXOptions = {};
      if (kwargs.mode !== undefined) {
        if (!/^[0-7]{1,4}$/.test(kwargs.mode)) {
          invalid(description, `mode "${kwargs.mode}" is not an octal number`);
        }
        options.mode = parseInt(kwargs.mode, 8);
      }
      if (kwargs.lockfile !== undefined) {
        options.wantPID =
          integer(description, "lockfile", kwargs.lockfile, 0, 1) === 1;
      }
      if (kwargs.backlog !== undefined) {
        options.backlog = integer(
          description,
          "backlog",
          kwargs.backlog,
          1,
          65535,
        );
      }
      return new UNIXServerEndpoint(reactor, path, options);
    }
    case "ssl": {
      checkKeys(description, kwargs, [
        "port",
        "interface",
        "backlog",
        "privateKey",
        "certKey",
        "alpn",
        "caCerts",
        "caCertsDir",
        "handshakeTimeout",
        "engine",
      ]);
      const port = serverPort(description, args, kwargs);
      if (!kwargs.privateKey) {
        invalid(description, "missing privateKey (the PEM key file)");
      }
      let tls: TLSServerOptions;
      try {
        tls = tlsServerOptionsFromFiles(
          kwargs.certKey ?? kwargs.privateKey,
          kwargs.privateKey,
        );
      } catch (e) {
        return invalid(description, (e as Error).message);
      }
      if (kwargs.alpn) tls.alpnProtocols = kwargs.alpn.split(",");
      const caCerts = readCACerts(
        description,
        kwargs.caCerts,
        kwargs.caCertsDir,
      );
      if (caCerts) Object.assign(tls, { verify: true, caCerts });
      Object.assign(tls, tlsKeywords(description, kwargs));
      const options = serverOptions(description, kwargs);
      return new SSL4ServerEndpoint(reactor, port, tls, options);
    }
    case "stdio": {
      if (args.some((a) => a !== "") || Object.keys(kwargs).length > 0) {
        invalid(description, '"stdio:" takes no arguments');
      }
      // Any reactor: one with a registry owns the transport.
      return new StandardIOEndpoint(reactor as unknown as IReactorCore);
    }
    default: {
      const parser = serverEndpointParser(type);
      if (parser) return parser.parseStreamServer(reactor, args, kwargs);
      if (type === "haproxy") {
        invalid(
          description,
          'the "haproxy" type is registered by the PROXY protocol module: import "@twist/twist/protocols/haproxy" first',
        );
      }
      return invalid(
        description,
        `unknown endpoint type "${type}" (expected "tcp", "tcp6", "unix", "ssl" or "stdio")`,
      );
    }
  }
}
installServerFromString(serverFromString);

/** The host and port of a client description: `HOST:PORT`, `host=...:port=...`, or a mix. */
function hostAndPort(
  description: string,
  args: string[],
  kwargs: Record<string, string>,
): { host: string; port: number } {
  let host = kwargs.host;
  let portText = kwargs.port;
  if (args.length === 2) [host, portText] = args;
  else if (args.length === 1) {
    if (host !== undefined) portText = args[0];
    else host = args[0];
  } else if (args.length > 2) {
    invalid(description, `too many arguments: "${args.join(":")}"`);
  }
  if (!host) invalid(description, "missing host");
  return { host, port: integer(description, "port", portText, 1, 65535) };
}

/**
 * Makes a client endpoint from a description in Twisted's grammar:
 * `tcp:host=HOST:port=PORT[:timeout=S][:backend=node]` (or `tcp:HOST:PORT`),
 * `tcp6:...`,
 * `unix:path=PATH[:timeout=S]` (or `unix:PATH`), and
 * `ssl:HOST:PORT[:caCerts=CA.pem][:caCertsDir=DIR][:hostname=NAME][:alpn=...]`
 * `[:certKey=CERT.pem[:privateKey=KEY.pem]][:handshakeTimeout=S][:engine=node]`
 * (`tls:` is the same, and takes Twisted's `tls:` names too: `trustRoots=DIR`,
 * `certificate=CERT.pem`). Files are read at once: `--allow-read` on them.
 *
 * @throws {TypeError} for a malformed description, naming the problem
 *
 * @example Calling `clientFromString`
 * ```ts
 * import { clientFromString, Reactor, TCP4ClientEndpoint } from "@twist/twist";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const endpoint = clientFromString(new Reactor(), "tcp:host=example.com:port=80");
 * assert(endpoint instanceof TCP4ClientEndpoint);
 * assertEquals([endpoint.host, endpoint.port], ["example.com", 80]);
 * ```
 */
export function clientFromString(
  reactor: IReactorEndpoints,
  description: string,
): IStreamClientEndpoint {
  const { type, args, kwargs } = parseDescription(description);
  switch (type) {
    case "tcp":
    case "tcp6": {
      checkKeys(description, kwargs, [
        "host",
        "port",
        "timeout",
        "bindAddress",
        "backend",
      ]);
      const { host, port } = hostAndPort(description, args, kwargs);
      const options: TCPClientEndpointOptions = {};
      const backend = denoOrNode(description, kwargs, "backend");
      if (backend) options.backend = backend;
      if (kwargs.timeout !== undefined) {
        options.timeout = integer(
          description,
          "timeout",
          kwargs.timeout,
          1,
          86_400,
        );
      }
      if (kwargs.bindAddress !== undefined) {
        invalid(
          description,
          "bindAddress is not supported: Deno.connect cannot bind a local address",
        );
      }
      return type === "tcp"
        ? new TCP4ClientEndpoint(reactor, host, port, options)
        : new TCP6ClientEndpoint(reactor, host, port, options);
    }
    case "unix": {
      checkKeys(description, kwargs, [
        "path",
        "timeout",
        "lockfile",
        "checkPID",
      ]);
      const path = args[0] ?? kwargs.path;
      if (!path) invalid(description, "missing the socket path");
      const options: ConnectUNIXOptions = {};
      if (kwargs.timeout !== undefined) {
        options.timeout = integer(
          description,
          "timeout",
          kwargs.timeout,
          1,
          86_400,
        );
      }
      return new UNIXClientEndpoint(reactor, path, options);
    }
    case "ssl":
    case "tls": {
      checkKeys(description, kwargs, [
        "host",
        "port",
        "timeout",
        "caCerts",
        "caCertsDir",
        "trustRoots",
        "hostname",
        "alpn",
        "certKey",
        "certificate",
        "privateKey",
        "handshakeTimeout",
        "engine",
      ]);
      const { host, port } = hostAndPort(description, args, kwargs);
      if (kwargs.caCertsDir !== undefined && kwargs.trustRoots !== undefined) {
        invalid(description, "give caCertsDir or trustRoots, not both");
      }
      if (kwargs.certKey !== undefined && kwargs.certificate !== undefined) {
        invalid(description, "give certKey or certificate, not both");
      }
      const tls: TLSClientOptions = {
        caCerts: readCACerts(
          description,
          kwargs.caCerts,
          kwargs.caCertsDir ?? kwargs.trustRoots,
        ),
        ...clientCertificate(
          description,
          kwargs.certKey ?? kwargs.certificate,
          kwargs.privateKey,
        ),
        ...tlsKeywords(description, kwargs),
      };
      if (kwargs.hostname) tls.hostname = kwargs.hostname;
      if (kwargs.alpn) tls.alpnProtocols = kwargs.alpn.split(",");
      const options: { timeout?: number } = {};
      if (kwargs.timeout !== undefined) {
        options.timeout = integer(
          description,
          "timeout",
          kwargs.timeout,
          1,
          86_400,
        );
      }
      return new SSL4ClientEndpoint(reactor, host, port, tls, options);
    }
    default:
      return invalid(
        description,
        `unknown endpoint type "${type}" (expected "tcp", "tcp6", "unix", "ssl" or "tls")`,
      );
  }
}
