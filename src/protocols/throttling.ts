/**
 * `ThrottlingFactory`: caps the connections of a factory and the bandwidth
 * they use, with Twisted's once-a-second accounting.
 *
 * @module
 */
import type {
  Data,
  IAddress,
  IDelayedCall,
  IProtocolFactory,
  IPullProducer,
  IPushProducer,
  IReactorTime,
} from "../internet/interfaces.ts";
import { defaultClock } from "../internet/common/default_reactor.ts";
import { log } from "../logger.ts";
import { ProtocolWrapper, WrappingFactory } from "./protocol_wrapper.ts";
import { byteLength } from "./_data.ts";

/**
 * The wrapper {@linkcode ThrottlingFactory} puts around each connection: it
 * reports the bytes read and written to the factory, and pauses reading (or
 * the producer registered on it) when the factory says so.
 *
 * @example Throttling one connection's reads by hand
 * ```ts
 * import { Factory, IPv4Address, Protocol } from "@twist/twist";
 * import { ThrottlingFactory, ThrottlingProtocol } from "@twist/twist/protocols/policies";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals, assertInstanceOf } from "@std/assert";
 *
 * const factory = new ThrottlingFactory(Factory.forProtocol(Protocol));
 * const p = factory.buildProtocol(new IPv4Address("TCP", "1.1.1.1", 1));
 * assertInstanceOf(p, ThrottlingProtocol);
 * const transport = new StringTransport();
 * p.makeConnection(transport);
 * p.throttleReads();
 * assertEquals(transport.producerState, "paused");
 * p.unthrottleReads();
 * assertEquals(transport.producerState, "producing");
 * ```
 */
export class ThrottlingProtocol extends ProtocolWrapper {
  /** The producer registered through this wrapper, if any. */
  producer: IPushProducer | IPullProducer | undefined;

  #throttler(): ThrottlingFactory {
    return this.wrappingFactory as ThrottlingFactory;
  }

  /** Counts the bytes, then writes them. */
  override write(data: Data): void {
    this.#throttler().registerWritten(byteLength(data));
    super.write(data);
  }

  /** Counts the bytes, then writes them. */
  override writeSequence(data: Iterable<Data>): void {
    const items = [...data];
    let n = 0;
    for (const item of items) n += byteLength(item);
    this.#throttler().registerWritten(n);
    super.writeSequence(items);
  }

  /** Counts the bytes, then passes them on. */
  override dataReceived(data: Uint8Array): void {
    this.#throttler().registerRead(data.length);
    return super.dataReceived(data);
  }

  /** Remembers the producer, so writes can be throttled, and registers it. */
  override registerProducer(
    producer: IPushProducer | IPullProducer,
    streaming: boolean,
  ): void {
    this.producer = producer;
    super.registerProducer(producer, streaming);
  }

  /** Forgets the producer and unregisters it. */
  override unregisterProducer(): void {
    this.producer = undefined;
    super.unregisterProducer();
  }

  /** Stops reading from the connection. */
  throttleReads(): void {
    this.transport.pauseProducing();
  }

  /** Reads from the connection again. */
  unthrottleReads(): void {
    this.transport.resumeProducing();
  }

  /** Pauses the registered producer, if it can be paused. */
  throttleWrites(): void {
    const producer = this.producer as Partial<IPushProducer> | undefined;
    producer?.pauseProducing?.();
  }

  /** Resumes the registered producer, if any. */
  unthrottleWrites(): void {
    this.producer?.resumeProducing();
  }
}

/** Options of {@linkcode ThrottlingFactory}. */
export interface ThrottlingOptions {
  /** The most connections at once; more are refused. @default {Infinity} */
  maxConnectionCount?: number;
  /** Bytes per second to read, over all connections. @default {no limit} */
  readLimit?: number;
  /** Bytes per second to write, over all connections. @default {no limit} */
  writeLimit?: number;
  /** What schedules the checks. @default {the shared reactor} */
  clock?: IReactorTime;
}

function checkLimit(name: string, value: number | undefined): void {
  if (value !== undefined && !(value > 0)) {
    throw new RangeError(
      `Invalid ${name} "${value}": expected a number of bytes per second > 0`,
    );
  }
}

/**
 * Limits the connections of the wrapped factory and the bandwidth they use,
 * as Twisted's `ThrottlingFactory` does:
 *
 * - Over `maxConnectionCount` live connections, `buildProtocol` returns
 *   `null`, so the port closes the new connection at once.
 * - Bandwidth is counted over all connections. Once a second, if more than
 *   `readLimit` bytes were read in that second, every connection stops
 *   reading for as long as the excess would take at the limit
 *   (`read / readLimit - 1` seconds), then reads again; the count then starts
 *   over. Writes work the same against `writeLimit`, except that what is
 *   paused is the producer registered on each connection: writes are only
 *   throttled for protocols that write through a producer.
 *
 * The checks run while at least one connection is live: the first connection
 * starts them and the last one to go cancels them. (Twisted starts them even
 * for a connection it then refuses, which leaves them running; Twist does
 * not.)
 *
 * @example Reads pause after a second over the limit
 * ```ts
 * import { Clock, ConnectionDone, Factory, Failure, IPv4Address, Protocol } from "@twist/twist";
 * import { ThrottlingFactory } from "@twist/twist/protocols/policies";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const clock = new Clock();
 * const factory = new ThrottlingFactory(Factory.forProtocol(Protocol), { readLimit: 10, clock });
 * const p = factory.buildProtocol(new IPv4Address("TCP", "1.1.1.1", 1))!;
 * const transport = new StringTransport();
 * p.makeConnection(transport);
 * p.dataReceived(new Uint8Array(20)); // twice the limit: one second too many
 * clock.advance(1);
 * assertEquals(transport.producerState, "paused");
 * clock.advance(1);
 * assertEquals(transport.producerState, "producing");
 * p.connectionLost(new Failure(new ConnectionDone())); // the last connection stops the checks
 * assertEquals(clock.getDelayedCalls().length, 0);
 * ```
 */
export class ThrottlingFactory extends WrappingFactory {
  /** Live connections. */
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
  #clock: IReactorTime | undefined;
  #checkRead: IDelayedCall | undefined;
  #checkWrite: IDelayedCall | undefined;
  #unthrottleReads: IDelayedCall | undefined;
  #unthrottleWrites: IDelayedCall | undefined;

  /**
   * Wraps `wrappedFactory` with the given limits.
   *
   * @param wrappedFactory The factory whose connections are limited.
   * @param options The limits and the clock.
   * @throws {RangeError} if a bandwidth limit is not a positive number
   */
  constructor(
    wrappedFactory: IProtocolFactory,
    options?: ThrottlingOptions,
  ) {
    options ??= {};
    super(wrappedFactory);
    checkLimit("readLimit", options.readLimit);
    checkLimit("writeLimit", options.writeLimit);
    this.wrapperClass = ThrottlingProtocol;
    this.maxConnectionCount = options.maxConnectionCount ?? Infinity;
    this.readLimit = options.readLimit;
    this.writeLimit = options.writeLimit;
    this.#clock = options.clock;
  }

  /** What schedules the checks (unset: the shared reactor, looked up when first needed). */
  get clock(): IReactorTime {
    return this.#clock ?? defaultClock();
  }
  set clock(clock: IReactorTime) {
    this.#clock = clock;
  }

  /**
   * Schedules `f` on `clock` (Twisted's hook for tests; override it to
   * schedule elsewhere).
   */
  callLater(period: number, f: () => void): IDelayedCall {
    return this.clock.callLater(period, f);
  }

  /** Adds `length` to the bytes written this second. */
  registerWritten(length: number): void {
    this.writtenThisSecond += length;
  }

  /** Adds `length` to the bytes read this second. */
  registerRead(length: number): void {
    this.readThisSecond += length;
  }

  /**
   * Throttles reads if more than `readLimit` bytes were read this second,
   * starts a new second, and checks again in one.
   */
  checkReadBandwidth(): void {
    const limit = this.readLimit;
    if (limit !== undefined && this.readThisSecond > limit) {
      this.throttleReads();
      const throttleTime = this.readThisSecond / limit - 1;
      this.#unthrottleReads = this.callLater(
        throttleTime,
        () => this.unthrottleReads(),
      );
    }
    this.readThisSecond = 0;
    this.#checkRead = this.callLater(1, () => this.checkReadBandwidth());
  }

  /**
   * Throttles writes if more than `writeLimit` bytes were written this
   * second, starts a new second, and checks again in one.
   */
  checkWriteBandwidth(): void {
    const limit = this.writeLimit;
    if (limit !== undefined && this.writtenThisSecond > limit) {
      this.throttleWrites();
      const throttleTime = this.writtenThisSecond / limit - 1;
      this.#unthrottleWrites = this.callLater(
        throttleTime,
        () => this.unthrottleWrites(),
      );
    }
    this.writtenThisSecond = 0;
    this.#checkWrite = this.callLater(1, () => this.checkWriteBandwidth());
  }

  #each(f: (p: ThrottlingProtocol) => void): void {
    for (const p of [...this.protocols]) f(p as ThrottlingProtocol);
  }

  /** Stops reading on every connection. */
  throttleReads(): void {
    log.msg(`Throttling reads on ${this.logPrefix()}`);
    this.#each((p) => p.throttleReads());
  }

  /** Reads again on every connection. */
  unthrottleReads(): void {
    this.#unthrottleReads = undefined;
    log.msg(`Stopped throttling reads on ${this.logPrefix()}`);
    this.#each((p) => p.unthrottleReads());
  }

  /** Pauses every connection's producer. */
  throttleWrites(): void {
    log.msg(`Throttling writes on ${this.logPrefix()}`);
    this.#each((p) => p.throttleWrites());
  }

  /** Resumes every connection's producer. */
  unthrottleWrites(): void {
    this.#unthrottleWrites = undefined;
    log.msg(`Stopped throttling writes on ${this.logPrefix()}`);
    this.#each((p) => p.unthrottleWrites());
  }

  /**
   * Wraps the wrapped factory's protocol, unless `maxConnectionCount`
   * connections are live. The first connection starts the bandwidth checks.
   *
   * @returns the wrapper, or `null` to refuse the connection
   */
  override buildProtocol(addr: IAddress): ProtocolWrapper | null {
    if (this.connectionCount >= this.maxConnectionCount) {
      log.msg("Max connection count reached!");
      return null;
    }
    const p = super.buildProtocol(addr);
    if (!p) return null;
    if (this.connectionCount++ === 0) {
      if (this.readLimit !== undefined) this.checkReadBandwidth();
      if (this.writeLimit !== undefined) this.checkWriteBandwidth();
    }
    return p;
  }

  /** Frees the connection's slot; the last one cancels the bandwidth checks. */
  override unregisterProtocol(p: ProtocolWrapper): void {
    super.unregisterProtocol(p);
    this.connectionCount--;
    if (this.connectionCount === 0) {
      for (
        const call of [
          this.#unthrottleReads,
          this.#checkRead,
          this.#unthrottleWrites,
          this.#checkWrite,
        ]
      ) {
        if (call?.active()) call.cancel();
      }
      this.#unthrottleReads = this.#checkRead = undefined;
      this.#unthrottleWrites = this.#checkWrite = undefined;
    }
  }
}
