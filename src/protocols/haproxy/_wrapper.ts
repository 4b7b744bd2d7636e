/**
 * The PROXY protocol's wrapping factory and endpoint wrapper.
 *
 * @module
 */
import { Protocol } from "../../internet/protocol.ts";
import type {
  IAddress,
  IDelayedCall,
  IListeningPort,
  IProtocolFactory,
  IReactorTime,
  ITCPTransport,
} from "../../internet/interfaces.ts";
import type { IStreamServerEndpoint } from "../../internet/endpoints.ts";
import type { Deferred } from "../../internet/defer.ts";
import type { Failure } from "../../internet/failure.ts";
import { defaultClock } from "../../internet/common/default_reactor.ts";
import { watchResult } from "../../internet/common/callbacks.ts";
import { log } from "../../logger.ts";
import { ProtocolWrapper, WrappingFactory } from "../protocol_wrapper.ts";
import {
  InvalidProxyHeader,
  ProxyHeaderParser,
  type ProxyInfo,
} from "./_header.ts";

/** `host:port`, `[host]:port` or a socket path, for log lines. */
function describe(addr: IAddress): string {
  const a = addr as { host?: string; port?: number; name?: string | null };
  if (a.host !== undefined && a.port !== undefined) {
    return a.host.includes(":")
      ? `[${a.host}]:${a.port}`
      : `${a.host}:${a.port}`;
  }
  return a.name ?? String(addr);
}

/** Stands in for the wrapped protocol until the header has been read. */
class AwaitingHeader extends Protocol {}

/**
 * The protocol of a connection that starts with a PROXY header: it reads the
 * header (version 1 or 2, in chunks of any size), then builds the wrapped
 * factory's protocol for the client's address and connects it to itself, so
 * the wrapped protocol's `transport.getPeer()` and `getHost()` are the
 * addresses the proxy reported, and it never sees a byte of the header. A
 * connection whose header is missing, malformed or too slow to arrive is
 * dropped, with the reason logged as a warning, and the wrapped factory
 * never hears of it.
 *
 * Unlike Twisted's, which connects the wrapped protocol at once (so that in
 * its `connectionMade` `getPeer()` is still the proxy's address), this
 * wrapper waits for the header: `buildProtocol` gets the client's address
 * (so per-peer limits count clients, not the proxy) and `connectionMade`
 * sees it too.
 *
 * @example A header, then the proxied bytes
 * ```ts
 * import { Factory, Protocol } from "@twist/twist";
 * import { HAProxyWrappingFactory } from "@twist/twist/protocols/haproxy";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const seen: string[] = [];
 * class Greeter extends Protocol {
 *   override connectionMade(): void {
 *     seen.push(String(this.transport.getPeer()));
 *   }
 *   override dataReceived(data: Uint8Array): void {
 *     seen.push(new TextDecoder().decode(data));
 *   }
 * }
 * const factory = new HAProxyWrappingFactory(Factory.forProtocol(Greeter), { timeout: null });
 * const wrapper = factory.buildProtocol(new StringTransport().getPeer());
 * wrapper.makeConnection(new StringTransport());
 * wrapper.dataReceived(new TextEncoder().encode("PROXY TCP6 2001:db8::1 ::1 4000 443\r\nhello"));
 * assertEquals(seen, [
 *   'IPv6Address(type="TCP", host="2001:db8::1", port=4000, flowInfo=0, scopeID=0)',
 *   "hello",
 * ]);
 * ```
 */
export class HAProxyProtocolWrapper extends ProtocolWrapper {
  readonly #factory: HAProxyWrappingFactory;
  #parser: ProxyHeaderParser | undefined = new ProxyHeaderParser();
  #info: ProxyInfo | null = null;
  #timer: IDelayedCall | undefined;
  /** Whether the wrapped protocol has been built and connected. */
  #proxying = false;

  /**
   * Creates the wrapper of one connection; the wrapped protocol is built
   * once the header has arrived.
   *
   * @param factory The factory that made it: its wrapped factory builds the
   *   protocol, and its options set the timeout.
   */
  constructor(factory: HAProxyWrappingFactory) {
    super(factory, new AwaitingHeader());
    this.#factory = factory;
  }

  /** What the header said; `null` until it has been read. */
  get proxyInfo(): ProxyInfo | null {
    return this.#info;
  }

  /** `"Wrapped (PROXY)"`, as the factory's. */
  override logPrefix(): string {
    return this.#proxying ? super.logPrefix() : this.#factory.logPrefix();
  }

  /**
   * Keeps the real transport and starts the header's countdown; the wrapped
   * protocol is connected once the header is in.
   */
  override makeConnection(transport: ITCPTransport): void {
    this.transport = transport;
    this.connected = true;
    this.wrappingFactory.registerProtocol(this);
    const timeout = this.#factory.timeout;
    if (timeout !== null) {
      this.#timer = (this.#factory.clock ?? defaultClock()).callLater(
        timeout,
        () => {
          this.#timer = undefined;
          this.#drop(
            `no complete PROXY protocol header within ${timeout} seconds`,
          );
        },
      );
    }
  }

  /** Reads the header, then passes everything after it to the wrapped protocol. */
  override dataReceived(data: Uint8Array): void {
    if (this.#proxying) return this.wrappedProtocol.dataReceived(data);
    const parser = this.#parser;
    if (!parser) return; // Dropped: what is still arriving is ignored.
    let parsed;
    try {
      parsed = parser.feed(data);
    } catch (e) {
      if (!(e instanceof InvalidProxyHeader)) throw e;
      return this.#drop(e.message);
    }
    if (!parsed) return;
    this.#parser = undefined;
    this.#cancelTimer();
    this.#info = parsed.info;
    const wrapped = this.#factory.wrappedFactory.buildProtocol(
      parsed.info.source ?? this.transport.getPeer(),
    );
    if (!wrapped) {
      // The wrapped factory refuses the client, as it may any connection.
      this.transport.loseConnection();
      return;
    }
    this.wrappedProtocol = wrapped;
    this.#proxying = true;
    watchResult(
      wrapped.makeConnection(this),
      "Unhandled error in connectionMade",
      () => this.abortConnection(),
    );
    if (parsed.rest.length > 0 && this.connected) {
      return wrapped.dataReceived(parsed.rest);
    }
  }

  /** Tells the wrapped protocol, if it was connected; forgets the countdown. */
  override connectionLost(reason: Failure): void {
    this.connected = false;
    this.#cancelTimer();
    this.#parser = undefined;
    if (this.#proxying) return super.connectionLost(reason);
    this.wrappingFactory.unregisterProtocol(this);
  }

  /** The client's address from the header, or the real peer's if it had none. */
  override getPeer(): IAddress {
    return this.#info?.source ?? this.transport.getPeer();
  }

  /** The address the client connected to, from the header, or the real one. */
  override getHost(): IAddress {
    return this.#info?.destination ?? this.transport.getHost();
  }

  #cancelTimer(): void {
    if (this.#timer?.active()) this.#timer.cancel();
    this.#timer = undefined;
  }

  #drop(reason: string): void {
    this.#parser = undefined;
    this.#cancelTimer();
    let peer: string;
    try {
      peer = describe(this.transport.getPeer());
    } catch {
      peer = "an unknown peer";
    }
    log.warn(`PROXY protocol: dropping the connection from ${peer}: ${reason}`);
    this.transport.loseConnection();
  }
}

/** Options of {@linkcode HAProxyWrappingFactory} and {@linkcode proxyEndpoint}. */
export interface HAProxyOptions {
  /**
   * Seconds a connection has to send its complete header before it is
   * dropped, or `null` for no limit (Twisted has none). A proxy sends the
   * header as soon as it connects.
   *
   * @default {30}
   */
  timeout?: number | null;
  /** What schedules the timeout. @default {the shared reactor} */
  clock?: IReactorTime;
}

/** The header timeout `options` ask for, checked. */
function headerTimeout(options: HAProxyOptions): number | null {
  const timeout = options.timeout === undefined ? 30 : options.timeout;
  if (timeout !== null && !(timeout >= 0 && timeout < Infinity)) {
    throw new RangeError(
      `Invalid PROXY header timeout "${timeout}": expected a number of seconds >= 0, or null`,
    );
  }
  return timeout;
}

/**
 * A factory that adds PROXY protocol support to the connections of the
 * factory it wraps: each connection must start with a version 1 or 2
 * header, which is read and removed; the wrapped factory's protocol is built
 * for the client's address and sees the addresses the proxy reported
 * (Twisted's `HAProxyWrappingFactory`). See
 * {@linkcode HAProxyProtocolWrapper}.
 *
 * Only accept connections from your proxies: anyone who can connect can
 * claim any address. (`wrapperClass` is not used: the wrapper is always an
 * `HAProxyProtocolWrapper`; wrap the wrapped factory for other policies.)
 *
 * @example Serving behind a proxy
 * ```ts ignore
 * import { Factory, reactor } from "@twist/twist";
 * import { HAProxyWrappingFactory } from "@twist/twist/protocols/haproxy";
 * import { Echo } from "@twist/twist/protocols/wire";
 *
 * reactor.listenTCP(8080, new HAProxyWrappingFactory(Factory.forProtocol(Echo)), { interface: "127.0.0.1" });
 * reactor.run();
 * ```
 */
export class HAProxyWrappingFactory extends WrappingFactory {
  /** Seconds allowed for the header, or `null` for no limit. */
  readonly timeout: number | null;
  /** What schedules the timeout (unset: the shared reactor, looked up when first needed). */
  readonly clock: IReactorTime | undefined;

  /**
   * Wraps `wrappedFactory`.
   *
   * @param wrappedFactory The factory that builds the protocols of the proxied connections.
   * @param options The header timeout and its clock.
   * @throws {RangeError} if `timeout` is negative or not a number
   */
  constructor(wrappedFactory: IProtocolFactory, options: HAProxyOptions = {}) {
    super(wrappedFactory);
    this.timeout = headerTimeout(options);
    this.clock = options.clock;
  }

  /** `"Wrapped (PROXY)"`, as Twisted's log prefix reads. */
  override logPrefix(): string {
    return super.logPrefix().replace(/ \([^()]*\)$/, " (PROXY)");
  }

  /** Makes the wrapper of a connection; the wrapped protocol comes once its header is read. */
  override buildProtocol(_addr: IAddress): HAProxyProtocolWrapper {
    return new HAProxyProtocolWrapper(this);
  }
}

/**
 * Wraps a server endpoint with PROXY protocol support: what listens through
 * it sees the addresses the proxy reports (Twisted's `proxyEndpoint`). The
 * description `haproxy:tcp:8080` makes the same thing with
 * `serverFromString`.
 *
 * @param endpoint Where to listen.
 * @param options The header timeout and its clock.
 * @returns an endpoint whose factories are wrapped in an {@linkcode HAProxyWrappingFactory}
 *
 * @example
 * ```ts ignore
 * import { Factory, reactor, TCP4ServerEndpoint } from "@twist/twist";
 * import { proxyEndpoint } from "@twist/twist/protocols/haproxy";
 * import { Echo } from "@twist/twist/protocols/wire";
 *
 * await proxyEndpoint(new TCP4ServerEndpoint(reactor, 8080)).listen(Factory.forProtocol(Echo));
 * reactor.run();
 * ```
 */
export function proxyEndpoint(
  endpoint: IStreamServerEndpoint,
  options: HAProxyOptions = {},
): IStreamServerEndpoint {
  headerTimeout(options); // Checked now, not at the first listen.
  return {
    listen(factory: IProtocolFactory): Deferred<IListeningPort> {
      return endpoint.listen(new HAProxyWrappingFactory(factory, options));
    },
  };
}
