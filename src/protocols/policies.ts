/**
 * Policies for connections (`twisted.protocols.policies`): wrapping
 * protocols and factories, connection limits, bandwidth throttling and
 * timeouts. Built only on the public core API; everything that schedules
 * takes an injectable clock.
 *
 * @module
 */
import {
  ClientFactory,
  Protocol,
  type ProtocolClass,
  ServerFactory,
} from "../internet/protocol.ts";
import type {
  Data,
  IAddress,
  IConnector,
  IDelayedCall,
  IProtocol,
  IProtocolFactory,
  IPullProducer,
  IPushProducer,
  IReactorTime,
  ITCPTransport,
  WriteBufferLimits,
} from "../internet/interfaces.ts";
import type { Failure } from "../internet/failure.ts";
import { reactor } from "../internet/reactor.ts";
import { log } from "../logger.ts";

type HalfCloseable = IProtocol & {
  readConnectionLost?(): void;
  writeConnectionLost?(): void;
};

/** What a `ProtocolWrapper` needs from its factory. */
export interface WrapperFactory {
  /** Called when a wrapper connects. */
  registerProtocol(p: ProtocolWrapper): void;
  /** Called when a wrapper's connection is lost. */
  unregisterProtocol(p: ProtocolWrapper): void;
}

/**
 * A protocol that wraps another: it is the protocol of the real transport and
 * the transport of the wrapped protocol, forwarding everything both ways.
 * Subclass it to watch or change what passes.
 *
 * @example Counting bytes on the way in
 * ```ts
 * import { Factory, IPv4Address, Protocol, ProtocolWrapper, WrappingFactory } from "@twist/twist";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * class Echo extends Protocol {
 *   override dataReceived(d: Uint8Array): void {
 *     this.transport.write(d);
 *   }
 * }
 * const factory = new WrappingFactory(Factory.forProtocol(Echo));
 * const wrapper = factory.buildProtocol(new IPv4Address("TCP", "127.0.0.1", 1))!;
 * const transport = new StringTransport();
 * wrapper.makeConnection(transport);
 * wrapper.dataReceived(new TextEncoder().encode("hi"));
 * assertEquals(new TextDecoder().decode(transport.value()), "hi");
 * assertEquals(factory.protocols.size, 1);
 * ```
 */
export class ProtocolWrapper extends Protocol implements ITCPTransport {
  /** The wrapped protocol. */
  wrappedProtocol: IProtocol;
  /** The factory that made this wrapper. */
  readonly wrappingFactory: WrapperFactory;

  /** Wraps `wrappedProtocol` for `factory`. */
  constructor(factory: WrapperFactory, wrappedProtocol: IProtocol) {
    super();
    this.wrappingFactory = factory;
    this.wrappedProtocol = wrappedProtocol;
  }

  /** Connects to the real transport, registers with the factory, and connects the wrapped protocol to this. */
  override makeConnection(transport: ITCPTransport): void {
    super.makeConnection(transport);
    this.wrappingFactory.registerProtocol(this);
    this.wrappedProtocol.makeConnection(this);
  }

  /** Forwards data to the wrapped protocol. */
  override dataReceived(data: Uint8Array): void {
    this.wrappedProtocol.dataReceived(data);
  }

  /** Unregisters from the factory and tells the wrapped protocol. */
  override connectionLost(reason: Failure): void {
    this.wrappingFactory.unregisterProtocol(this);
    const p = this.wrappedProtocol as IProtocol & { connected?: boolean };
    if ("connected" in p) p.connected = false;
    p.connectionLost(reason);
  }

  /** Forwards the peer's half-close to a half-closeable wrapped protocol. */
  readConnectionLost(): void {
    const p = this.wrappedProtocol as HalfCloseable;
    if (typeof p.readConnectionLost === "function") p.readConnectionLost();
    else this.loseConnection();
  }

  /** Forwards the end of our write half to a half-closeable wrapped protocol. */
  writeConnectionLost(): void {
    (this.wrappedProtocol as HalfCloseable).writeConnectionLost?.();
  }

  // The transport the wrapped protocol sees: everything goes to the real one.

  /** Whether the real transport is closing. */
  get disconnecting(): boolean {
    return this.transport.disconnecting;
  }
  /** Writes to the real transport. */
  write(data: Data): void {
    this.transport.write(data);
  }
  /** Writes to the real transport. */
  writeSequence(data: Iterable<Data>): void {
    this.transport.writeSequence(data);
  }
  /** Closes the real transport. */
  loseConnection(): void {
    this.transport.loseConnection();
  }
  /** Aborts the real transport. */
  abortConnection(): void {
    this.transport.abortConnection();
  }
  /** Half-closes the real transport. */
  loseWriteConnection(): void {
    this.transport.loseWriteConnection();
  }
  /** The real transport's peer. */
  getPeer(): IAddress {
    return this.transport.getPeer();
  }
  /** The real transport's host. */
  getHost(): IAddress {
    return this.transport.getHost();
  }
  /** Registers the producer with the real transport. */
  registerProducer(
    producer: IPushProducer | IPullProducer,
    streaming: boolean,
  ): void {
    this.transport.registerProducer(producer, streaming);
  }
  /** Unregisters it from the real transport. */
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
  /** Stops the real transport. */
  stopProducing(): void {
    this.transport.stopProducing();
  }
  /** The real transport's option. */
  getTcpNoDelay(): boolean {
    return this.transport.getTcpNoDelay();
  }
  /** Sets the real transport's option. */
  setTcpNoDelay(enabled: boolean): void {
    this.transport.setTcpNoDelay(enabled);
  }
  /** The real transport's option. */
  getTcpKeepAlive(): boolean {
    return this.transport.getTcpKeepAlive();
  }
  /** Sets the real transport's option. */
  setTcpKeepAlive(enabled: boolean): void {
    this.transport.setTcpKeepAlive(enabled);
  }
  /** The real transport's buffered bytes. */
  getWriteBufferSize(): number {
    return this.transport.getWriteBufferSize();
  }
  /** Sets the real transport's limits. */
  setWriteBufferLimits(limits: WriteBufferLimits): void {
    this.transport.setWriteBufferLimits(limits);
  }
}

/** A class of wrappers, as `WrappingFactory.protocol` holds. */
export type WrapperClass = new (
  factory: WrappingFactory,
  wrapped: IProtocol,
) => ProtocolWrapper;

/**
 * A factory that wraps every protocol its wrapped factory builds in a
 * `ProtocolWrapper` (or `wrapperClass`), and forwards the factory events.
 * `protocols` holds the live wrappers. When the wrapped factory refuses a
 * connection (`buildProtocol` returns `null`), so does this one.
 *
 * @example
 * ```ts
 * import { Factory, IPv4Address, Protocol, WrappingFactory } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * const inner = Factory.forProtocol(Protocol);
 * const factory = new WrappingFactory(inner);
 * factory.doStart();
 * assert(inner.numPorts === 1);
 * assert(factory.buildProtocol(new IPv4Address("TCP", "1.2.3.4", 5)) !== null);
 * ```
 */
export class WrappingFactory extends ClientFactory {
  /** The factory whose protocols are wrapped. */
  readonly wrappedFactory: IProtocolFactory;
  /** The live wrappers. */
  readonly protocols: Set<ProtocolWrapper> = new Set();
  /** The class of wrappers made. @default {ProtocolWrapper} */
  wrapperClass: WrapperClass = ProtocolWrapper;

  /** Wraps `wrappedFactory`. */
  constructor(wrappedFactory: IProtocolFactory) {
    super();
    this.wrappedFactory = wrappedFactory;
    this.noisy = false;
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

  /** Forwards to the wrapped factory. */
  override startedConnecting(connector: IConnector): void {
    (this.wrappedFactory as Partial<ClientFactory>).startedConnecting?.(
      connector,
    );
  }

  /** Forwards to the wrapped factory. */
  override clientConnectionFailed(
    connector: IConnector,
    reason: Failure,
  ): void {
    (this.wrappedFactory as Partial<ClientFactory>).clientConnectionFailed?.(
      connector,
      reason,
    );
  }

  /** Forwards to the wrapped factory. */
  override clientConnectionLost(connector: IConnector, reason: Failure): void {
    (this.wrappedFactory as Partial<ClientFactory>).clientConnectionLost?.(
      connector,
      reason,
    );
  }

  /** Wraps the wrapped factory's protocol, or refuses when it does. */
  override buildProtocol(addr: IAddress): ProtocolWrapper | null {
    const wrapped = this.wrappedFactory.buildProtocol(addr);
    if (!wrapped) return null;
    const wrapper = new this.wrapperClass(this, wrapped);
    wrapper.factory = this;
    return wrapper;
  }

  /** Records a live wrapper. */
  registerProtocol(p: ProtocolWrapper): void {
    this.protocols.add(p);
  }

  /** Forgets a wrapper whose connection is gone. */
  unregisterProtocol(p: ProtocolWrapper): void {
    this.protocols.delete(p);
  }
}

/** The host part of an address, for counting by peer. */
function hostOf(addr: IAddress): string {
  const a = addr as { host?: string; name?: string | null };
  return a.host ?? a.name ?? String(addr);
}

/**
 * Limits how many connections each peer host may have at once
 * (`maxConnectionsPerPeer`, default 5); connections over it are refused.
 *
 * @example
 * ```ts
 * import { Factory, IPv4Address, LimitConnectionsByPeer, Protocol } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const factory = new LimitConnectionsByPeer(Factory.forProtocol(Protocol));
 * factory.maxConnectionsPerPeer = 1;
 * factory.doStart();
 * const peer = new IPv4Address("TCP", "10.0.0.1", 1234);
 * const first = factory.buildProtocol(peer);
 * assertEquals(factory.buildProtocol(peer), null);
 * ```
 */
export class LimitConnectionsByPeer extends WrappingFactory {
  /** The most connections a peer host may have at once. @default {5} */
  maxConnectionsPerPeer: number = 5;
  /** Open connections by peer host. */
  readonly peerConnections: Map<string, number> = new Map();

  /** Refuses the connection if the peer host is at its limit. */
  override buildProtocol(addr: IAddress): ProtocolWrapper | null {
    const host = hostOf(addr);
    const count = this.peerConnections.get(host) ?? 0;
    if (count >= this.maxConnectionsPerPeer) return null;
    const p = super.buildProtocol(addr);
    if (p) this.peerConnections.set(host, count + 1);
    return p;
  }

  /** Frees the peer's slot. */
  override unregisterProtocol(p: ProtocolWrapper): void {
    super.unregisterProtocol(p);
    const host = hostOf(p.getPeer());
    const count = (this.peerConnections.get(host) ?? 1) - 1;
    if (count <= 0) this.peerConnections.delete(host);
    else this.peerConnections.set(host, count);
  }
}

/**
 * A server factory that allows at most `connectionLimit` connections at once;
 * over the limit it serves `overflowProtocol` if set (say, one that sends
 * "too busy" and closes), or refuses.
 *
 * @example
 * ```ts
 * import { IPv4Address, LimitTotalConnectionsFactory, Protocol } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const factory = new LimitTotalConnectionsFactory();
 * factory.protocol = Protocol;
 * factory.connectionLimit = 0;
 * assertEquals(factory.buildProtocol(new IPv4Address("TCP", "1.1.1.1", 1)), null);
 * ```
 */
export class LimitTotalConnectionsFactory extends ServerFactory
  implements WrapperFactory {
  /** Open connections. */
  connectionCount: number = 0;
  /** The most connections at once (`null`: no limit). */
  connectionLimit: number | null = null;
  /** The protocol served over the limit (`undefined`: refuse). */
  overflowProtocol: ProtocolClass | undefined;

  /** Builds `protocol` (or `overflowProtocol` over the limit), wrapped to count it. */
  override buildProtocol(_addr: IAddress): ProtocolWrapper | null {
    let ProtocolType: ProtocolClass | undefined;
    if (
      this.connectionLimit === null ||
      this.connectionCount < this.connectionLimit
    ) ProtocolType = this.protocol;
    else if (this.overflowProtocol) ProtocolType = this.overflowProtocol;
    else return null;
    if (!ProtocolType) {
      throw new TypeError(
        "LimitTotalConnectionsFactory has no protocol: set factory.protocol",
      );
    }
    const wrapped = new ProtocolType();
    (wrapped as { factory?: unknown }).factory = this;
    this.connectionCount++;
    return new ProtocolWrapper(this, wrapped);
  }

  /** Nothing to record. */
  registerProtocol(_p: ProtocolWrapper): void {}

  /** Frees a slot. */
  unregisterProtocol(_p: ProtocolWrapper): void {
    this.connectionCount--;
  }
}

/**
 * The wrapper `ThrottlingFactory` uses: it counts bytes and pauses reading or
 * the registered producer when told to.
 *
 * @example
 * ```ts
 * import { Factory, IPv4Address, Protocol, ThrottlingFactory, ThrottlingProtocol } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * const factory = new ThrottlingFactory(Factory.forProtocol(Protocol));
 * assert(factory.buildProtocol(new IPv4Address("TCP", "1.1.1.1", 1)) instanceof ThrottlingProtocol);
 * ```
 */
export class ThrottlingProtocol extends ProtocolWrapper {
  #producer: IPushProducer | IPullProducer | undefined;

  #throttler(): ThrottlingFactory {
    return this.wrappingFactory as ThrottlingFactory;
  }

  /** Counts, then writes. */
  override write(data: Data): void {
    this.#throttler().registerWritten(data.length);
    super.write(data);
  }

  /** Counts, then writes. */
  override writeSequence(data: Iterable<Data>): void {
    const items = [...data];
    this.#throttler().registerWritten(items.reduce((n, d) => n + d.length, 0));
    super.writeSequence(items);
  }

  /** Counts, then forwards. */
  override dataReceived(data: Uint8Array): void {
    this.#throttler().registerRead(data.length);
    super.dataReceived(data);
  }

  /** Remembers the producer so writes can be throttled. */
  override registerProducer(
    producer: IPushProducer | IPullProducer,
    streaming: boolean,
  ): void {
    this.#producer = producer;
    super.registerProducer(producer, streaming);
  }

  /** Forgets the producer. */
  override unregisterProducer(): void {
    this.#producer = undefined;
    super.unregisterProducer();
  }

  /** Stops reading. */
  throttleReads(): void {
    this.transport.pauseProducing();
  }

  /** Reads again. */
  unthrottleReads(): void {
    this.transport.resumeProducing();
  }

  /** Pauses the registered producer, if any. */
  throttleWrites(): void {
    (this.#producer as IPushProducer | undefined)?.pauseProducing?.();
  }

  /** Resumes the registered producer, if any. */
  unthrottleWrites(): void {
    this.#producer?.resumeProducing();
  }
}

/** Options of {@linkcode ThrottlingFactory}. */
export interface ThrottlingOptions {
  /** The most connections at once. @default {Infinity} */
  maxConnectionCount?: number;
  /** Bytes per second to read, over all connections (default: no limit). */
  readLimit?: number;
  /** Bytes per second to write, over all connections (default: no limit). */
  writeLimit?: number;
  /** The clock. @default {the shared reactor} */
  clock?: IReactorTime;
}

/**
 * Limits the connections of the wrapped factory and the bandwidth they use:
 * every second the bytes read (and written) are checked against `readLimit`
 * (`writeLimit`); over the limit, reading (the producers) pause for as long
 * as the excess would take at the limit, as Twisted's `ThrottlingFactory`.
 *
 * @example
 * ```ts
 * import { Clock, ConnectionDone, Factory, Failure, IPv4Address, Protocol, ThrottlingFactory } from "@twist/twist";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const clock = new Clock();
 * const factory = new ThrottlingFactory(Factory.forProtocol(Protocol), { readLimit: 10, clock });
 * const p = factory.buildProtocol(new IPv4Address("TCP", "1.1.1.1", 1))!;
 * const transport = new StringTransport();
 * p.makeConnection(transport);
 * p.dataReceived(new Uint8Array(20)); // twice the limit
 * clock.advance(1);
 * assertEquals(transport.producerState, "paused");
 * clock.advance(1);
 * assertEquals(transport.producerState, "producing");
 * p.connectionLost(new Failure(new ConnectionDone())); // the last connection stops the checks
 * assertEquals(clock.getDelayedCalls().length, 0);
 * ```
 */
export class ThrottlingFactory extends WrappingFactory {
  /** Open connections. */
  connectionCount: number = 0;
  /** The most connections at once. */
  maxConnectionCount: number;
  /** Bytes per second to read (`undefined`: no limit). */
  readLimit: number | undefined;
  /** Bytes per second to write (`undefined`: no limit). */
  writeLimit: number | undefined;
  /** Bytes read in the current second. */
  readThisSecond: number = 0;
  /** Bytes written in the current second. */
  writtenThisSecond: number = 0;
  /** The clock. */
  clock: IReactorTime;
  #calls: {
    [K in "checkRead" | "checkWrite" | "unthrottleReads" | "unthrottleWrites"]?:
      IDelayedCall;
  } = {};

  /** Wraps `wrappedFactory` with the given limits. */
  constructor(
    wrappedFactory: IProtocolFactory,
    options: ThrottlingOptions = {},
  ) {
    super(wrappedFactory);
    this.wrapperClass = ThrottlingProtocol;
    this.maxConnectionCount = options.maxConnectionCount ?? Infinity;
    this.readLimit = options.readLimit;
    this.writeLimit = options.writeLimit;
    this.clock = options.clock ?? reactor;
  }

  /** Counts written bytes. */
  registerWritten(length: number): void {
    this.writtenThisSecond += length;
  }

  /** Counts read bytes. */
  registerRead(length: number): void {
    this.readThisSecond += length;
  }

  /** Checks the last second's reads; throttles if over the limit; checks again in a second. */
  checkReadBandwidth(): void {
    if (this.readLimit !== undefined && this.readThisSecond > this.readLimit) {
      this.throttleReads();
      const throttleTime = this.readThisSecond / this.readLimit - 1;
      this.#calls.unthrottleReads = this.clock.callLater(
        throttleTime,
        () => this.unthrottleReads(),
      );
    }
    this.readThisSecond = 0;
    this.#calls.checkRead = this.clock.callLater(
      1,
      () => this.checkReadBandwidth(),
    );
  }

  /** Checks the last second's writes; throttles if over the limit; checks again in a second. */
  checkWriteBandwidth(): void {
    if (
      this.writeLimit !== undefined && this.writtenThisSecond > this.writeLimit
    ) {
      this.throttleWrites();
      const throttleTime = this.writtenThisSecond / this.writeLimit - 1;
      this.#calls.unthrottleWrites = this.clock.callLater(
        throttleTime,
        () => this.unthrottleWrites(),
      );
    }
    this.writtenThisSecond = 0;
    this.#calls.checkWrite = this.clock.callLater(
      1,
      () => this.checkWriteBandwidth(),
    );
  }

  #each(f: (p: ThrottlingProtocol) => void): void {
    for (const p of this.protocols) f(p as ThrottlingProtocol);
  }

  /** Pauses reading on every connection. */
  throttleReads(): void {
    log.msg(`Throttling reads on ${this.constructor.name}`);
    this.#each((p) => p.throttleReads());
  }

  /** Resumes reading on every connection. */
  unthrottleReads(): void {
    this.#calls.unthrottleReads = undefined;
    this.#each((p) => p.unthrottleReads());
  }

  /** Pauses every connection's producer. */
  throttleWrites(): void {
    log.msg(`Throttling writes on ${this.constructor.name}`);
    this.#each((p) => p.throttleWrites());
  }

  /** Resumes every connection's producer. */
  unthrottleWrites(): void {
    this.#calls.unthrottleWrites = undefined;
    this.#each((p) => p.unthrottleWrites());
  }

  /** Refuses over `maxConnectionCount`; the first connection starts the bandwidth checks. */
  override buildProtocol(addr: IAddress): ProtocolWrapper | null {
    if (this.connectionCount === 0) {
      if (this.readLimit !== undefined) this.checkReadBandwidth();
      if (this.writeLimit !== undefined) this.checkWriteBandwidth();
    }
    if (this.connectionCount >= this.maxConnectionCount) {
      log.msg("Max connection count reached");
      return null;
    }
    const p = super.buildProtocol(addr);
    if (p) this.connectionCount++;
    return p;
  }

  /** Frees a slot; the last connection stops the bandwidth checks. */
  override unregisterProtocol(p: ProtocolWrapper): void {
    super.unregisterProtocol(p);
    this.connectionCount--;
    if (this.connectionCount === 0) {
      for (const call of Object.values(this.#calls)) {
        if (call?.active()) call.cancel();
      }
      this.#calls = {};
    }
  }
}

/** Options of {@linkcode TimeoutMixin}. */
export interface TimeoutOptions {
  /** Called when the timeout expires. */
  onTimeout: () => void;
  /** The clock. @default {the shared reactor} */
  clock?: IReactorTime;
}

/**
 * Twisted's `TimeoutMixin`, as something a protocol *has* rather than *is*
 * (TypeScript classes have one base): `setTimeout(seconds)` arms it (and
 * returns the previous period), `resetTimeout()` restarts it (call it when
 * data arrives), `setTimeout(null)` disarms it (call it in `connectionLost`),
 * and `onTimeout` runs when it expires — usually `transport.loseConnection()`,
 * Twisted's default `timeoutConnection`.
 *
 * @example An idle timeout in a line protocol
 * ```ts
 * import { Clock, LineReceiver, TimeoutMixin } from "@twist/twist";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assert } from "@std/assert";
 *
 * const clock = new Clock();
 * class Idle extends LineReceiver {
 *   timeout = new TimeoutMixin({ onTimeout: () => this.transport.loseConnection(), clock });
 *   override connectionMade(): void {
 *     this.timeout.setTimeout(30);
 *   }
 *   override dataReceived(data: Uint8Array): void {
 *     this.timeout.resetTimeout();
 *     super.dataReceived(data);
 *   }
 *   override lineReceived(): void {}
 * }
 * const p = new Idle();
 * const transport = new StringTransport();
 * p.makeConnection(transport);
 * clock.advance(29);
 * p.dataReceived(new TextEncoder().encode("still here\r\n"));
 * clock.advance(29);
 * assert(!transport.disconnecting);
 * clock.advance(1);
 * assert(transport.disconnecting);
 * ```
 */
export class TimeoutMixin {
  /** The current period in seconds, or `null` when disarmed. */
  timeOut: number | null = null;
  #call: IDelayedCall | undefined;
  #onTimeout: () => void;
  #clock: IReactorTime;

  /** Creates a disarmed timeout. */
  constructor(options: TimeoutOptions) {
    this.#onTimeout = options.onTimeout;
    this.#clock = options.clock ?? reactor;
  }

  /** Restarts the countdown, if armed. */
  resetTimeout(): void {
    if (this.#call && this.timeOut !== null) this.#call.reset(this.timeOut);
  }

  /** Arms (a number) or disarms (`null`) the timeout; returns the previous period. */
  setTimeout(period: number | null): number | null {
    const previous = this.timeOut;
    this.timeOut = period;
    if (this.#call) {
      if (period === null) {
        if (this.#call.active()) this.#call.cancel();
        this.#call = undefined;
      } else {
        this.#call.reset(period);
      }
    } else if (period !== null) {
      this.#call = this.#clock.callLater(period, () => {
        this.#call = undefined;
        this.#onTimeout();
      });
    }
    return previous;
  }
}

/**
 * The wrapper `TimeoutFactory` uses: it loses the connection after
 * `timeoutPeriod` seconds without traffic either way.
 *
 * @example
 * ```ts
 * import { Clock, Factory, IPv4Address, Protocol, TimeoutFactory } from "@twist/twist";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assert } from "@std/assert";
 *
 * const clock = new Clock();
 * const factory = new TimeoutFactory(Factory.forProtocol(Protocol), { timeoutPeriod: 10, clock });
 * const p = factory.buildProtocol(new IPv4Address("TCP", "1.1.1.1", 1))!;
 * const transport = new StringTransport();
 * p.makeConnection(transport);
 * clock.advance(10);
 * assert(transport.disconnecting);
 * ```
 */
export class TimeoutProtocol extends ProtocolWrapper {
  /** The idle period in seconds, or `null` when disarmed. */
  timeoutPeriod: number | null = null;
  /** The pending timeout call. */
  timeoutCall: IDelayedCall | undefined;

  #clock(): IReactorTime {
    return (this.wrappingFactory as TimeoutFactory).clock;
  }

  /** Arms the timeout when connected. */
  override makeConnection(transport: ITCPTransport): void {
    this.setTimeout((this.wrappingFactory as TimeoutFactory).timeoutPeriod);
    super.makeConnection(transport);
  }

  /** Re-arms the timeout with `period` seconds (or disarms it with `null`). */
  setTimeout(period: number | null = null): void {
    this.cancelTimeout();
    this.timeoutPeriod = period;
    if (period !== null) {
      this.timeoutCall = this.#clock().callLater(
        period,
        () => this.timeoutFunc(),
      );
    }
  }

  /** Disarms the timeout. */
  cancelTimeout(): void {
    this.timeoutPeriod = null;
    if (this.timeoutCall?.active()) this.timeoutCall.cancel();
    this.timeoutCall = undefined;
  }

  /** Restarts the countdown. */
  resetTimeout(): void {
    if (this.timeoutCall?.active() && this.timeoutPeriod !== null) {
      this.timeoutCall.reset(this.timeoutPeriod);
    }
  }

  /** Resets the timeout, then writes. */
  override write(data: Data): void {
    this.resetTimeout();
    super.write(data);
  }

  /** Resets the timeout, then writes. */
  override writeSequence(data: Iterable<Data>): void {
    this.resetTimeout();
    super.writeSequence(data);
  }

  /** Resets the timeout, then forwards. */
  override dataReceived(data: Uint8Array): void {
    this.resetTimeout();
    super.dataReceived(data);
  }

  /** Disarms the timeout, then forwards. */
  override connectionLost(reason: Failure): void {
    this.cancelTimeout();
    super.connectionLost(reason);
  }

  /** Called when the timeout expires: loses the connection. */
  timeoutFunc(): void {
    this.loseConnection();
  }
}

/** Options of {@linkcode TimeoutFactory}. */
export interface TimeoutFactoryOptions {
  /** Seconds without traffic before the connection is lost. @default {1800} */
  timeoutPeriod?: number;
  /** The clock. @default {the shared reactor} */
  clock?: IReactorTime;
}

/**
 * Wraps a factory so its connections are lost after `timeoutPeriod` seconds
 * (default 30 minutes) without traffic.
 *
 * @example
 * ```ts
 * import { Factory, Protocol, TimeoutFactory } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new TimeoutFactory(Factory.forProtocol(Protocol)).timeoutPeriod, 1800);
 * ```
 */
export class TimeoutFactory extends WrappingFactory {
  /** Seconds without traffic before the connection is lost. */
  timeoutPeriod: number;
  /** The clock. */
  clock: IReactorTime;

  /** Wraps `wrappedFactory`. */
  constructor(
    wrappedFactory: IProtocolFactory,
    options: TimeoutFactoryOptions = {},
  ) {
    super(wrappedFactory);
    this.wrapperClass = TimeoutProtocol;
    this.timeoutPeriod = options.timeoutPeriod ?? 30 * 60;
    this.clock = options.clock ?? reactor;
  }
}
