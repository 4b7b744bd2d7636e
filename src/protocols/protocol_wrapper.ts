/**
 * `ProtocolWrapper` and `WrappingFactory`: the base of every policy in
 * `twisted.protocols.policies`. A wrapper sits between a real transport and
 * the protocol a wrapped factory built, so a policy can watch or change what
 * passes either way.
 *
 * @module
 */
import { ClientFactory, Factory, Protocol } from "../internet/protocol.ts";
import type {
  Data,
  IAddress,
  IConnector,
  IProtocol,
  IProtocolFactory,
  IPullProducer,
  IPushProducer,
  ITCPTransport,
  PeerCertificate,
  WriteBufferLimits,
} from "../internet/interfaces.ts";
import type { Failure } from "../internet/failure.ts";

type HalfCloseable = IProtocol & {
  readConnectionLost?(): void;
  writeConnectionLost?(): void;
  handshakeCompleted?(): void;
};

/**
 * What a {@linkcode ProtocolWrapper} needs from the factory that made it: to
 * be told when its connection starts and ends.
 *
 * @example A factory that counts live wrappers
 * ```ts
 * import { Protocol } from "@twist/twist";
 * import { ProtocolWrapper, type WrapperFactory } from "@twist/twist/protocols/policies";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * let live = 0;
 * const counter: WrapperFactory = {
 *   registerProtocol: () => live++,
 *   unregisterProtocol: () => live--,
 * };
 * new ProtocolWrapper(counter, new Protocol()).makeConnection(new StringTransport());
 * assertEquals(live, 1);
 * ```
 */
export interface WrapperFactory {
  /** Called when a wrapper's connection is made. */
  registerProtocol(p: ProtocolWrapper): void;
  /** Called when a wrapper's connection is lost. */
  unregisterProtocol(p: ProtocolWrapper): void;
}

/** The class name of `o`, for log prefixes. */
function className(o: unknown): string {
  return (o as { constructor?: { name?: string } } | null)?.constructor
    ?.name ?? String(o);
}

/** `"Wrapped (Wrapper)"`, as Twisted's log prefixes of wrappers read. */
function wrappedLogPrefix(wrapper: object, wrapped: unknown): string {
  const own = (wrapped as { logPrefix?: () => string } | null)?.logPrefix;
  const inner = typeof own === "function"
    ? own.call(wrapped)
    : className(wrapped);
  return `${inner} (${className(wrapper)})`;
}

/**
 * A protocol that wraps another: it is the protocol of the real transport and
 * the transport of the wrapped protocol. Everything the wrapped protocol asks
 * of its transport (writes, closing, producers, pausing, addresses, TCP
 * options, TLS) goes to the real transport, and every event of the real
 * transport goes to the wrapped protocol. Subclass it to watch or change what
 * passes; see {@linkcode WrappingFactory}.
 *
 * Unlike Twisted's, `connectionLost` leaves `wrappedProtocol` in place
 * (JavaScript's collector frees reference cycles; Twisted clears it to help
 * CPython's).
 *
 * @example Counting bytes on the way in
 * ```ts
 * import { Factory, IPv4Address, Protocol } from "@twist/twist";
 * import { ProtocolWrapper, WrappingFactory } from "@twist/twist/protocols/policies";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals, assertStrictEquals } from "@std/assert";
 *
 * class Echo extends Protocol {
 *   override dataReceived(d: Uint8Array): void {
 *     this.transport.write(d);
 *   }
 * }
 * class Counting extends ProtocolWrapper {
 *   bytesIn = 0;
 *   override dataReceived(data: Uint8Array): void {
 *     this.bytesIn += data.length;
 *     super.dataReceived(data);
 *   }
 * }
 * const factory = new WrappingFactory(Factory.forProtocol(Echo));
 * factory.wrapperClass = Counting;
 * const wrapper = factory.buildProtocol(new IPv4Address("TCP", "127.0.0.1", 1)) as Counting;
 * const transport = new StringTransport();
 * wrapper.makeConnection(transport);
 * wrapper.dataReceived(new TextEncoder().encode("hi"));
 * assertEquals(new TextDecoder().decode(transport.value()), "hi");
 * assertEquals(wrapper.bytesIn, 2);
 * assertStrictEquals((wrapper.wrappedProtocol as Echo).transport, wrapper);
 * ```
 */
export class ProtocolWrapper extends Protocol implements ITCPTransport {
  /** The wrapped protocol. */
  wrappedProtocol: IProtocol;
  /** The factory that made this wrapper (Twisted's `factory` attribute). */
  readonly wrappingFactory: WrapperFactory;
  #disconnecting = false;

  /**
   * Wraps `wrappedProtocol` for `factory`.
   *
   * @param factory The factory told when the connection starts and ends.
   * @param wrappedProtocol The protocol this wrapper is the transport of.
   */
  constructor(factory: WrapperFactory, wrappedProtocol: IProtocol) {
    super();
    this.wrappingFactory = factory;
    this.wrappedProtocol = wrappedProtocol;
    if (factory instanceof Factory) this.factory = factory;
  }

  /** `"Wrapped (Wrapper)"`: the wrapped protocol's prefix and this class's name. */
  override logPrefix(): string {
    return wrappedLogPrefix(this, this.wrappedProtocol);
  }

  /**
   * Keeps the real transport, registers with the factory, then connects the
   * wrapped protocol to this wrapper, so every call it makes on its transport
   * passes through here.
   */
  override makeConnection(transport: ITCPTransport): void {
    super.makeConnection(transport);
    this.wrappingFactory.registerProtocol(this);
    // What the wrapped protocol returns (the promise of an async
    // connectionMade) reaches the transport, which watches it.
    return this.wrappedProtocol.makeConnection(this);
  }

  // -- the protocol the real transport sees ----------------------------------

  /**
   * Passes `data` to the wrapped protocol, returning what it returns (so the
   * transport watches the promise of an async `dataReceived`).
   */
  override dataReceived(data: Uint8Array): void {
    return this.wrappedProtocol.dataReceived(data);
  }

  /** Unregisters from the factory, then tells the wrapped protocol. */
  override connectionLost(reason: Failure): void {
    this.wrappingFactory.unregisterProtocol(this);
    const p = this.wrappedProtocol as IProtocol & { connected?: boolean };
    if ("connected" in p) p.connected = false;
    return p.connectionLost(reason);
  }

  /**
   * The peer closed its write half: a half-closeable wrapped protocol is told;
   * any other loses the connection, as a transport would do for it.
   */
  readConnectionLost(): void {
    const p = this.wrappedProtocol as HalfCloseable;
    if (typeof p.readConnectionLost === "function") {
      return p.readConnectionLost();
    }
    this.loseConnection();
  }

  /** This side's write half is closed: tells a half-closeable wrapped protocol. */
  writeConnectionLost(): void {
    return (this.wrappedProtocol as HalfCloseable).writeConnectionLost?.();
  }

  /** The TLS handshake is done: tells a wrapped protocol that listens for it. */
  handshakeCompleted(): void {
    return (this.wrappedProtocol as HalfCloseable).handshakeCompleted?.();
  }

  // -- the transport the wrapped protocol sees -------------------------------

  /** Whether this wrapper or the real transport is closing. */
  get disconnecting(): boolean {
    return this.#disconnecting || (this.transport?.disconnecting ?? false);
  }

  /** Writes to the real transport. */
  write(data: Data): void {
    this.transport.write(data);
  }

  /** Writes each item to the real transport. */
  writeSequence(data: Iterable<Data>): void {
    this.transport.writeSequence(data);
  }

  /** Closes the real transport once its buffer is sent. */
  loseConnection(): void {
    this.#disconnecting = true;
    this.transport.loseConnection();
  }

  /** Closes the real transport at once. */
  abortConnection(): void {
    this.#disconnecting = true;
    this.transport.abortConnection();
  }

  /** Half-closes the real transport. */
  loseWriteConnection(): void {
    this.transport.loseWriteConnection();
  }

  /** The real transport's peer address. */
  getPeer(): IAddress {
    return this.transport.getPeer();
  }

  /** The real transport's own address. */
  getHost(): IAddress {
    return this.transport.getHost();
  }

  /** Registers `producer` with the real transport. */
  registerProducer(
    producer: IPushProducer | IPullProducer,
    streaming: boolean,
  ): void {
    this.transport.registerProducer(producer, streaming);
  }

  /** Unregisters the producer from the real transport. */
  unregisterProducer(): void {
    this.transport.unregisterProducer();
  }

  /** Pauses the real transport's reading. */
  pauseProducing(): void {
    this.transport.pauseProducing();
  }

  /** Resumes the real transport's reading. */
  resumeProducing(): void {
    this.transport.resumeProducing();
  }

  /** Stops the real transport as a producer (it closes). */
  stopProducing(): void {
    this.transport.stopProducing();
  }

  /** The real transport's no-delay option. */
  getTcpNoDelay(): boolean {
    return this.transport.getTcpNoDelay();
  }

  /** Sets the real transport's no-delay option. */
  setTcpNoDelay(enabled: boolean): void {
    this.transport.setTcpNoDelay(enabled);
  }

  /** The real transport's keepalive option. */
  getTcpKeepAlive(): boolean {
    return this.transport.getTcpKeepAlive();
  }

  /** Sets the real transport's keepalive option. */
  setTcpKeepAlive(enabled: boolean): void {
    this.transport.setTcpKeepAlive(enabled);
  }

  /** The bytes the real transport has buffered. */
  getWriteBufferSize(): number {
    return this.transport.getWriteBufferSize();
  }

  /** Sets the real transport's write-buffer limits. */
  setWriteBufferLimits(limits: WriteBufferLimits): void {
    this.transport.setWriteBufferLimits(limits);
  }

  /**
   * Upgrades the real transport to TLS.
   *
   * @throws {TypeError} if the real transport cannot start TLS
   */
  startTLS(
    options: Parameters<NonNullable<ITCPTransport["startTLS"]>>[0],
  ): void {
    const transport = this.transport;
    if (typeof transport.startTLS !== "function") {
      throw new TypeError(
        `Cannot start TLS on "${
          className(transport)
        }": the transport does not support it`,
      );
    }
    transport.startTLS(options);
  }

  /** The real transport's negotiated ALPN protocol, or `null`. */
  get negotiatedProtocol(): string | null {
    return this.transport?.negotiatedProtocol ?? null;
  }

  /** The certificate the real transport's peer presented, or `null`. */
  getPeerCertificate(): PeerCertificate | null {
    return this.transport?.getPeerCertificate?.() ?? null;
  }
}

/** A class of wrappers, as {@linkcode WrappingFactory.wrapperClass} holds. */
export type WrapperClass = new (
  factory: WrappingFactory,
  wrapped: IProtocol,
) => ProtocolWrapper;

/**
 * A factory that wraps every protocol its wrapped factory builds in a
 * {@linkcode ProtocolWrapper} (or `wrapperClass`), forwards the factory events
 * (`doStart`/`doStop`, and the client events) to the wrapped factory, and
 * keeps the live wrappers in `protocols`. When the wrapped factory refuses a
 * connection (`buildProtocol` returns `null`), so does this one.
 *
 * `wrapperClass` is Twisted's `WrappingFactory.protocol` attribute: the name
 * differs because a wrapper's constructor takes the factory and the wrapped
 * protocol, which `Factory.protocol` (a no-argument class) cannot hold.
 *
 * @example Wrapping a server factory
 * ```ts
 * import { Factory, IPv4Address, Protocol } from "@twist/twist";
 * import { WrappingFactory } from "@twist/twist/protocols/policies";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const inner = Factory.forProtocol(Protocol);
 * const factory = new WrappingFactory(inner);
 * factory.doStart();
 * assertEquals(inner.numPorts, 1);
 * const wrapper = factory.buildProtocol(new IPv4Address("TCP", "1.2.3.4", 5))!;
 * wrapper.makeConnection(new StringTransport());
 * assertEquals(factory.protocols.size, 1);
 * assertEquals(wrapper.logPrefix(), "Protocol (ProtocolWrapper)");
 * ```
 */
export class WrappingFactory extends ClientFactory implements WrapperFactory {
  /** The factory whose protocols are wrapped. */
  readonly wrappedFactory: IProtocolFactory;
  /** The wrappers whose connections are live. */
  readonly protocols: Set<ProtocolWrapper> = new Set();
  /** The class of the wrappers made. @default {ProtocolWrapper} */
  wrapperClass: WrapperClass = ProtocolWrapper;

  /**
   * Wraps `wrappedFactory`.
   *
   * @param wrappedFactory The factory that builds the protocols to wrap.
   */
  constructor(wrappedFactory: IProtocolFactory) {
    super();
    this.wrappedFactory = wrappedFactory;
  }

  /** `"Wrapped (Wrapper)"`: the wrapped factory's prefix and this class's name. */
  logPrefix(): string {
    return wrappedLogPrefix(this, this.wrappedFactory);
  }

  /** Starts the wrapped factory, then this one. */
  override doStart(): void {
    this.wrappedFactory.doStart();
    super.doStart();
  }

  /** Stops the wrapped factory, then this one. */
  override doStop(): void {
    this.wrappedFactory.doStop();
    super.doStop();
  }

  /** Forwards to the wrapped factory (if it has the method). */
  override startedConnecting(connector: IConnector): void {
    (this.wrappedFactory as Partial<ClientFactory>).startedConnecting?.(
      connector,
    );
  }

  /** Forwards to the wrapped factory (if it has the method). */
  override clientConnectionFailed(
    connector: IConnector,
    reason: Failure,
  ): void {
    (this.wrappedFactory as Partial<ClientFactory>).clientConnectionFailed?.(
      connector,
      reason,
    );
  }

  /** Forwards to the wrapped factory (if it has the method). */
  override clientConnectionLost(connector: IConnector, reason: Failure): void {
    (this.wrappedFactory as Partial<ClientFactory>).clientConnectionLost?.(
      connector,
      reason,
    );
  }

  /**
   * Wraps the protocol the wrapped factory builds for `addr`.
   *
   * @returns the wrapper, or `null` when the wrapped factory refuses
   */
  override buildProtocol(addr: IAddress): ProtocolWrapper | null {
    const wrapped = this.wrappedFactory.buildProtocol(addr);
    if (!wrapped) return null;
    return new this.wrapperClass(this, wrapped);
  }

  /** Records a wrapper whose connection is made. */
  registerProtocol(p: ProtocolWrapper): void {
    this.protocols.add(p);
  }

  /** Forgets a wrapper whose connection is lost. */
  unregisterProtocol(p: ProtocolWrapper): void {
    this.protocols.delete(p);
  }
}
