/**
 * `Protocol` and the factories that make protocols (`twisted.internet.protocol`).
 *
 * A protocol's life, as the reactor drives it:
 *
 * ```text
 * factory.doStart → buildProtocol(addr) → makeConnection → connectionMade →
 *   dataReceived* → [readConnectionLost] → connectionLost →
 *   (clientConnectionLost) → factory.doStop
 * ```
 *
 * @module
 */
import type { Failure } from "./failure.ts";
import type {
  IAddress,
  IClientFactory,
  IConnector,
  IDelayedCall,
  IProtocol,
  IProtocolFactory,
  IReactorTime,
  ITCPTransport,
} from "./interfaces.ts";
import { log } from "../logger.ts";
import { defaultClock } from "./common/default_reactor.ts";

/**
 * The base class of stream protocols: override the events you care about.
 *
 * `transport` is set by `makeConnection` and is `undefined` before it.
 *
 * @example An echo protocol, tested without sockets
 * ```ts
 * import { Protocol } from "@twist/twist";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * class Echo extends Protocol {
 *   override dataReceived(data: Uint8Array): void {
 *     this.transport.write(data);
 *   }
 * }
 * const transport = new StringTransport();
 * const echo = new Echo();
 * echo.makeConnection(transport);
 * echo.dataReceived(new TextEncoder().encode("hello"));
 * assertEquals(new TextDecoder().decode(transport.value()), "hello");
 * ```
 */
export class Protocol implements IProtocol {
  /** The connection; set by `makeConnection`. */
  transport!: ITCPTransport;
  /** The factory that built this protocol, if any. */
  factory?: Factory;
  /** Whether the protocol is connected (set by `makeConnection`). */
  connected = false;

  /**
   * Attaches `transport`, marks the protocol connected and calls
   * `connectionMade`, returning what it returns (so the transport can watch
   * the promise of an `async connectionMade`).
   */
  makeConnection(transport: ITCPTransport): void {
    this.connected = true;
    this.transport = transport;
    return this.connectionMade();
  }

  /** Called when the connection is up. Does nothing by default. */
  connectionMade(): void {}

  /** Called with each chunk of bytes received. Does nothing by default. */
  dataReceived(_data: Uint8Array): void {}

  /**
   * Called exactly once when the connection is gone; `reason` is a `Failure`
   * of `ConnectionDone` for a clean close. Does nothing by default.
   */
  connectionLost(_reason: Failure): void {}

  /** A prefix for log messages about this protocol. */
  logPrefix(): string {
    return this.constructor.name;
  }
}

/** A class whose instances are protocols, as `factory.protocol` holds. */
export type ProtocolClass = new () => IProtocol;

/**
 * Makes a protocol per connection, and is told when ports and connectors start
 * and stop using it.
 *
 * Subclass it and override `buildProtocol` for per-connection arguments, or
 * set `protocol` to a class.
 *
 * @example A factory shared by every connection
 * ```ts
 * import { Factory, IPv4Address, Protocol } from "@twist/twist";
 * import { assertStrictEquals } from "@std/assert";
 *
 * class Counter extends Factory {
 *   connections = 0;
 * }
 * const factory = Counter.forProtocol(Protocol);
 * const proto = factory.buildProtocol(new IPv4Address("TCP", "127.0.0.1", 1)) as Protocol;
 * assertStrictEquals(proto.factory, factory);
 * ```
 */
export class Factory implements IProtocolFactory {
  /** The protocol class `buildProtocol` instantiates. */
  protocol?: ProtocolClass;
  /** How many ports and connectors are using this factory. */
  numPorts = 0;
  /** Whether to log when the factory starts and stops. @default {true} */
  noisy = true;

  /** Makes an instance of this factory class whose `protocol` is `protocol`. */
  static forProtocol<F extends Factory>(
    this: new () => F,
    protocol: ProtocolClass,
  ): F {
    const factory = new this();
    factory.protocol = protocol;
    return factory;
  }

  /** Called by ports and connectors as they start: runs `startFactory` the first time. */
  doStart(): void {
    if (this.numPorts === 0) {
      if (this.noisy) log.msg(`Starting factory ${this.constructor.name}`);
      this.startFactory();
    }
    this.numPorts++;
  }

  /** Called by ports and connectors as they stop: runs `stopFactory` after the last one. */
  doStop(): void {
    if (this.numPorts === 0) return;
    this.numPorts--;
    if (this.numPorts === 0) {
      if (this.noisy) log.msg(`Stopping factory ${this.constructor.name}`);
      this.stopFactory();
    }
  }

  /** Called once before the first port or connector uses the factory. */
  startFactory(): void {}

  /** Called once after the last port or connector has stopped using the factory. */
  stopFactory(): void {}

  /**
   * Makes the protocol for a connection from `addr` (an instance of `protocol`
   * whose `factory` is this factory). Return `null` to refuse the connection.
   */
  buildProtocol(_addr: IAddress): IProtocol | null {
    if (!this.protocol) {
      throw new TypeError(
        `${this.constructor.name} has no protocol: set factory.protocol or override buildProtocol`,
      );
    }
    const p = new this.protocol();
    (p as { factory?: unknown }).factory = this;
    return p;
  }
}

/**
 * A factory for servers (kept for Twisted's names; it adds nothing).
 *
 * @example Using `ServerFactory`
 * ```ts
 * import { Protocol, ServerFactory } from "@twist/twist";
 * import { assertStrictEquals } from "@std/assert";
 *
 * const factory = ServerFactory.forProtocol(Protocol);
 * assertStrictEquals(factory.protocol, Protocol);
 * ```
 */
export class ServerFactory extends Factory {}

/**
 * A factory for clients: it is also told how connecting went.
 *
 * @example Reporting a failed connection
 * ```ts
 * import { ClientFactory, type Failure, type IConnector } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * class Reporting extends ClientFactory {
 *   seen: string[] = [];
 *   override clientConnectionFailed(_c: IConnector, reason: Failure): void {
 *     this.seen.push(reason.getErrorMessage());
 *   }
 * }
 * const f = new Reporting();
 * assertEquals(f.seen, []);
 * ```
 */
export class ClientFactory extends Factory implements IClientFactory {
  /** Called when a connection attempt starts. */
  startedConnecting(_connector: IConnector): void {}

  /** Called when a connection attempt fails; `reason` says why. */
  clientConnectionFailed(_connector: IConnector, _reason: Failure): void {}

  /** Called when an established connection is lost; `reason` says why. */
  clientConnectionLost(_connector: IConnector, _reason: Failure): void {}
}

/**
 * A normally distributed random number (Box–Muller), from uniform `random()`.
 */
function normalVariate(
  mean: number,
  stddev: number,
  random: () => number,
): number {
  const u = 1 - random(); // (0, 1]: log(0) is not a number
  const v = random();
  return mean +
    stddev * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * A client factory that reconnects, with Twisted's exponential backoff: after
 * each failed or lost connection the delay is multiplied by `factor` (e),
 * jittered by a normal variate with relative deviation `jitter`, and capped at
 * `maxDelay` (1 hour). Unlike Twisted, the cap is applied after the jitter, so
 * the delay is never above `maxDelay` and never negative. Call `resetDelay()`
 * once a connection is established (typically in `buildProtocol`), and
 * `stopTrying()` to give up.
 *
 * @example Delays step by step with a Clock
 * ```ts
 * import { Clock, type IConnector, ReconnectingClientFactory } from "@twist/twist";
 * import { assertAlmostEquals, assertEquals } from "@std/assert";
 *
 * const clock = new Clock();
 * const factory = new ReconnectingClientFactory();
 * factory.clock = clock;
 * factory.jitter = 0; // deterministic
 * let connects = 0;
 * const connector = { connect: () => connects++ } as unknown as IConnector;
 * factory.clientConnectionFailed(connector, undefined as never);
 * assertAlmostEquals(factory.delay, Math.E);
 * clock.advance(Math.E);
 * assertEquals(connects, 1);
 * factory.stopTrying();
 * ```
 */
export class ReconnectingClientFactory extends ClientFactory {
  /** The longest delay, in seconds. @default {3600} */
  maxDelay: number = 3600;
  /** The first delay, in seconds. @default {1} */
  initialDelay: number = 1;
  /** How much the delay grows each time. @default {Math.E} */
  factor: number = Math.E;
  /** The relative standard deviation of the delay's jitter. @default {0.119626565582} */
  jitter: number = 0.119626565582;
  /** The current delay. */
  delay: number = 1;
  /** How many retries since the last reset. */
  retries: number = 0;
  /** The most retries before giving up (`null`: never give up). */
  maxRetries: number | null = null;
  /** Whether it still reconnects. */
  continueTrying: boolean = true;
  /** The connector being retried. */
  connector: IConnector | undefined;
  /** The source of randomness for the jitter. @default {Math.random} */
  random: () => number = Math.random;
  #call: IDelayedCall | undefined;
  #clock: IReactorTime | undefined;

  /** The clock the retries are scheduled on (unset: the shared reactor, looked up when first needed). */
  get clock(): IReactorTime {
    return this.#clock ?? defaultClock();
  }
  set clock(clock: IReactorTime) {
    this.#clock = clock;
  }

  /** Retries, unless told to stop. */
  override clientConnectionFailed(
    connector: IConnector,
    _reason: Failure,
  ): void {
    if (this.continueTrying) {
      this.connector = connector;
      this.retry();
    }
  }

  /** Retries, unless told to stop. */
  override clientConnectionLost(connector: IConnector, _reason: Failure): void {
    if (this.continueTrying) {
      this.connector = connector;
      this.retry();
    }
  }

  /**
   * Schedules the next attempt on `connector` (default: the last one).
   *
   * @throws {Error} if there is no connector to retry
   */
  retry(connector?: IConnector): void {
    if (!this.continueTrying) {
      if (this.noisy) {
        log.msg(
          `Abandoning ${connector ?? this.connector} on explicit request`,
        );
      }
      return;
    }
    const target = connector ?? this.connector;
    if (!target) throw new Error("No connector to retry");
    this.retries++;
    if (this.maxRetries !== null && this.retries > this.maxRetries) {
      if (this.noisy) {
        log.msg(`Abandoning ${target} after ${this.retries} retries`);
      }
      return;
    }
    let delay = Math.min(this.delay * this.factor, this.maxDelay);
    if (this.jitter) {
      delay = normalVariate(delay, delay * this.jitter, this.random);
    }
    this.delay = Math.max(0, Math.min(delay, this.maxDelay));
    if (this.noisy) {
      log.msg(`${target} will retry in ${Math.round(this.delay)} seconds`);
    }
    this.#call = this.clock.callLater(this.delay, () => {
      this.#call = undefined;
      target.connect();
    });
  }

  /** Stops reconnecting: cancels a pending retry and a connection attempt in progress. */
  stopTrying(): void {
    if (this.#call?.active()) this.#call.cancel();
    this.#call = undefined;
    this.continueTrying = false;
    const c = this.connector as (IConnector & { state?: string }) | undefined;
    if (c && (c.state === undefined || c.state === "connecting")) {
      try {
        c.stopConnecting();
      } catch {
        // Not connecting: nothing to stop.
      }
    }
  }

  /** Starts the backoff afresh (call it once connected). */
  resetDelay(): void {
    this.delay = this.initialDelay;
    this.retries = 0;
    this.#call = undefined;
    this.continueTrying = true;
  }
}
