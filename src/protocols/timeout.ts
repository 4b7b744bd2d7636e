/**
 * Timeouts: `TimeoutMixin` for protocols that time out their own
 * connections, `IdleTimeout` for a countdown held by anything, and
 * `TimeoutFactory`/`TimeoutProtocol` to time out any factory's connections
 * from outside.
 *
 * @module
 */
import type {
  Data,
  IDelayedCall,
  IProtocol,
  IProtocolFactory,
  IReactorTime,
  ITCPTransport,
  ITransport,
} from "../internet/interfaces.ts";
import type { Failure } from "../internet/failure.ts";
import { defaultClock } from "../internet/common/default_reactor.ts";
import {
  ProtocolWrapper,
  type WrapperFactory,
  WrappingFactory,
} from "./protocol_wrapper.ts";

function checkPeriod(period: number | null): void {
  if (period !== null && !(period >= 0 && period < Infinity)) {
    throw new RangeError(
      `Invalid timeout "${period}": expected a number of seconds >= 0, or null`,
    );
  }
}

/** Cancels `call` if it has neither run nor been cancelled. */
function cancelIfActive(call: IDelayedCall | undefined | null): void {
  if (call?.active()) call.cancel();
}

/** Options of {@linkcode IdleTimeout}. */
export interface IdleTimeoutOptions {
  /** Called when the countdown reaches zero. */
  onTimeout: () => void;
  /** What schedules the countdown. @default {the shared reactor} */
  clock?: IReactorTime;
}

/**
 * A countdown that something *has*, with `TimeoutMixin`'s methods: for a
 * protocol that needs several timeouts, or an object that is not a protocol.
 * `setTimeout(seconds)` arms it and returns the previous period,
 * `resetTimeout()` starts the countdown again (call it on activity),
 * `setTimeout(null)` disarms it, and `onTimeout` runs when it expires (once;
 * `setTimeout` arms it again).
 *
 * @example A login deadline beside an idle timeout
 * ```ts
 * import { Clock, Protocol } from "@twist/twist";
 * import { IdleTimeout } from "@twist/twist/protocols/policies";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const clock = new Clock();
 * class Session extends Protocol {
 *   idle = new IdleTimeout({ clock, onTimeout: () => this.transport.loseConnection() });
 *   login = new IdleTimeout({ clock, onTimeout: () => this.transport.abortConnection() });
 *   override connectionMade(): void {
 *     this.idle.setTimeout(60);
 *     this.login.setTimeout(10);
 *   }
 *   override dataReceived(_data: Uint8Array): void {
 *     this.idle.resetTimeout();
 *   }
 * }
 * const session = new Session();
 * const transport = new StringTransport();
 * session.makeConnection(transport);
 * assertEquals(session.login.setTimeout(null), 10); // logged in: no deadline
 * clock.advance(59);
 * session.dataReceived(new Uint8Array(1));
 * clock.advance(59);
 * assert(!transport.disconnecting);
 * clock.advance(1);
 * assert(transport.disconnecting && !transport.aborted);
 * ```
 */
export class IdleTimeout {
  /** The period in seconds, or `null` when disarmed. */
  timeOut: number | null = null;
  #call: IDelayedCall | undefined;
  #onTimeout: () => void;
  #clock: IReactorTime | undefined;

  /**
   * Creates a disarmed countdown.
   *
   * @param options What to call on expiry, and the clock.
   */
  constructor(options: IdleTimeoutOptions) {
    this.#onTimeout = options.onTimeout;
    this.#clock = options.clock;
  }

  /** Whether the countdown is running. */
  get active(): boolean {
    return this.#call?.active() ?? false;
  }

  /** Starts the countdown again from `timeOut`, if it is running. */
  resetTimeout(): void {
    if (this.timeOut !== null && this.#call?.active()) {
      this.#call.reset(this.timeOut);
    }
  }

  /**
   * Arms the countdown with `period` seconds from now, or disarms it with
   * `null`.
   *
   * @returns the previous period
   * @throws {RangeError} if `period` is negative or not a number
   */
  setTimeout(period: number | null): number | null {
    checkPeriod(period);
    const previous = this.timeOut;
    this.timeOut = period;
    if (period === null) {
      cancelIfActive(this.#call);
      this.#call = undefined;
    } else if (this.#call?.active()) {
      this.#call.reset(period);
    } else {
      this.#call = (this.#clock ?? defaultClock()).callLater(period, () => {
        this.#call = undefined;
        this.#onTimeout();
      });
    }
    return previous;
  }
}

/** What {@linkcode TimeoutMixin} adds to a protocol class. */
export interface TimeoutMixinMembers {
  /**
   * The timeout period in seconds, or `null` when disabled. A subclass may
   * set a default (`override timeOut = 30`) and arm it in `connectionMade`
   * with `this.setTimeout(this.timeOut)`.
   */
  timeOut: number | null;
  /**
   * What schedules the timeout (unset: the shared reactor, looked up when
   * first needed). Setting it moves a running countdown to the new clock, so
   * a test may inject its `Clock` after `makeConnection`.
   */
  clock: IReactorTime;
  /** Schedules `f` in `period` seconds on `clock` (Twisted's hook for tests). */
  callLater(period: number, f: () => void): IDelayedCall;
  /** Starts the countdown again, if one is running (call it on activity). */
  resetTimeout(): void;
  /**
   * Sets the period and (re)starts the countdown from now, or cancels it
   * with `null`; returns the previous period.
   */
  setTimeout(period: number | null): number | null;
  /**
   * Called when the countdown expires. By default it closes the connection
   * with `transport.loseConnection()`, as Twisted 22.4 does; override it for
   * anything else (say, `abortConnection()` to drop what is unsent).
   */
  timeoutConnection(): void;
}

/**
 * A class whose instances have a `transport`: what {@linkcode TimeoutMixin}
 * extends. (`any[]` is what TypeScript requires of a mixin's base.)
 */
// deno-lint-ignore no-explicit-any
export type TimeoutMixinBase = new (...args: any[]) => {
  transport: ITransport;
};

/** The class {@linkcode TimeoutMixin} adds to its base. */
export type TimeoutMixinConstructor = new (
  // deno-lint-ignore no-explicit-any
  ...args: any[]
) => TimeoutMixinMembers;

/**
 * Twisted's `TimeoutMixin`, as a TypeScript class mixin: `class P extends
 * TimeoutMixin(Protocol)` is Twisted's `class P(Protocol, TimeoutMixin)`.
 * The protocol gets `setTimeout(seconds | null)` (which returns the previous
 * period), `resetTimeout()`, the overridable `timeoutConnection()` (by
 * default `transport.loseConnection()`), `timeOut`, and an injectable
 * `clock` (or override `callLater`) so tests drive it with a `Clock`; the
 * clock may be set at any time, even after `makeConnection`: a running
 * countdown moves to it.
 *
 * Why a mixin: a protocol times out its own connection by calling these
 * methods on itself and overriding `timeoutConnection`, which is what a
 * Twisted user writes; a mixin keeps exactly that shape on top of any
 * protocol base (`LineReceiver`, `NetstringReceiver`...) with one level of
 * inheritance. For more than one countdown, or outside a protocol, hold
 * {@linkcode IdleTimeout}s instead; to time out another factory's
 * connections without changing them, use {@linkcode TimeoutFactory}.
 *
 * As in Twisted, nothing is automatic: arm it in `connectionMade`, reset it
 * when data arrives, and disarm it (`setTimeout(null)`) in `connectionLost`.
 *
 * @example An idle timeout in a line protocol
 * ```ts
 * import { Clock } from "@twist/twist";
 * import { LineReceiver } from "@twist/twist/protocols/basic";
 * import { TimeoutMixin } from "@twist/twist/protocols/policies";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assert, assertEquals } from "@std/assert";
 *
 * class Idle extends TimeoutMixin(LineReceiver) {
 *   override timeOut = 30;
 *   override connectionMade(): void {
 *     this.setTimeout(this.timeOut);
 *   }
 *   override lineReceived(): void {
 *     this.resetTimeout();
 *   }
 *   override timeoutConnection(): void {
 *     this.sendLine("Timed out");
 *     super.timeoutConnection();
 *   }
 *   override connectionLost(): void {
 *     this.setTimeout(null);
 *   }
 * }
 * const clock = new Clock();
 * const p = new Idle();
 * p.clock = clock;
 * const transport = new StringTransport();
 * p.makeConnection(transport);
 * clock.advance(29);
 * p.dataReceived(new TextEncoder().encode("still here\r\n"));
 * clock.advance(29);
 * assert(!transport.disconnecting);
 * clock.advance(1);
 * assert(transport.disconnecting);
 * assertEquals(new TextDecoder().decode(transport.value()), "Timed out\r\n");
 * ```
 */
export function TimeoutMixin<B extends TimeoutMixinBase>(
  Base: B,
): B & TimeoutMixinConstructor {
  return class extends Base implements TimeoutMixinMembers {
    timeOut: number | null = null;
    #clock: IReactorTime | undefined;
    #timeoutCall: IDelayedCall | undefined;

    // deno-lint-ignore no-explicit-any
    constructor(...args: any[]) {
      super(...args);
      // A `clock` the base class set (a field of its own, or assigned in its
      // constructor before this class's fields existed) is an own property
      // that would hide the accessor below: adopt it.
      if (Object.hasOwn(this, "clock")) {
        const own = this as { clock?: IReactorTime };
        const clock = own.clock;
        delete own.clock;
        if (clock !== undefined) this.#clock = clock;
      }
    }

    get clock(): IReactorTime {
      return this.#clock ?? defaultClock();
    }

    set clock(clock: IReactorTime) {
      if (!(#clock in this)) {
        // Set by a base class constructor: the constructor above adopts it.
        Object.defineProperty(this, "clock", {
          value: clock,
          writable: true,
          configurable: true,
        });
        return;
      }
      const armed = this.#timeoutCall;
      if (this.#clock === clock || !armed?.active()) {
        this.#clock = clock;
        return;
      }
      // A countdown armed on the old clock (say, in connectionMade, before a
      // test injected its Clock) continues on the new one for what is left.
      const left = Math.min(
        Math.max(armed.getTime() - this.clock.seconds(), 0),
        this.timeOut ?? Infinity,
      );
      armed.cancel();
      this.#clock = clock;
      this.#arm(left);
    }

    callLater(period: number, f: () => void): IDelayedCall {
      return this.clock.callLater(period, f);
    }

    #arm(period: number): void {
      this.#timeoutCall = this.callLater(period, () => {
        this.#timeoutCall = undefined;
        this.timeoutConnection();
      });
    }

    resetTimeout(): void {
      if (this.timeOut !== null && this.#timeoutCall?.active()) {
        this.#timeoutCall.reset(this.timeOut);
      }
    }

    setTimeout(period: number | null): number | null {
      checkPeriod(period);
      const previous = this.timeOut;
      this.timeOut = period;
      if (period === null) {
        cancelIfActive(this.#timeoutCall);
        this.#timeoutCall = undefined;
      } else if (this.#timeoutCall?.active()) {
        this.#timeoutCall.reset(period);
      } else {
        this.#arm(period);
      }
      return previous;
    }

    timeoutConnection(): void {
      this.transport.loseConnection();
    }
  };
}

/** What {@linkcode TimeoutProtocol} needs from its factory. */
export interface TimeoutWrapperFactory extends WrapperFactory {
  /** The idle period given to new connections, or `null` for none. */
  timeoutPeriod?: number | null;
  /** Schedules `f` in `period` seconds. */
  callLater?(period: number, f: () => void): IDelayedCall;
}

/**
 * The wrapper {@linkcode TimeoutFactory} puts around each connection: it
 * loses the connection after `timeoutPeriod` seconds without traffic either
 * way (data received, or written with `write`/`writeSequence`). The countdown
 * starts when the connection is made and is cancelled when it is lost.
 *
 * @example Changing the period of one connection
 * ```ts
 * import { Clock, Factory, IPv4Address, Protocol } from "@twist/twist";
 * import { TimeoutFactory, TimeoutProtocol } from "@twist/twist/protocols/policies";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assert } from "@std/assert";
 *
 * const clock = new Clock();
 * const factory = new TimeoutFactory(Factory.forProtocol(Protocol), { timeoutPeriod: 10, clock });
 * const p = factory.buildProtocol(new IPv4Address("TCP", "1.1.1.1", 1)) as TimeoutProtocol;
 * const transport = new StringTransport();
 * p.makeConnection(transport);
 * p.setTimeout(60);
 * clock.advance(59);
 * assert(!transport.disconnecting);
 * clock.advance(1);
 * assert(transport.disconnecting);
 * ```
 */
export class TimeoutProtocol extends ProtocolWrapper {
  /** The idle period in seconds, or `null` when disarmed. */
  timeoutPeriod: number | null = null;
  /** The pending timeout, or `null`. */
  timeoutCall: IDelayedCall | null = null;
  #initialPeriod: number | null;
  #periodChosen = false;

  /**
   * Wraps `wrappedProtocol`; the countdown starts with the connection.
   *
   * @param factory The factory; its `timeoutPeriod` and `callLater` are used.
   * @param wrappedProtocol The protocol to time out.
   * @param timeoutPeriod The idle period (default: the factory's).
   */
  constructor(
    factory: TimeoutWrapperFactory,
    wrappedProtocol: IProtocol,
    timeoutPeriod?: number | null,
  ) {
    super(factory, wrappedProtocol);
    this.#initialPeriod = timeoutPeriod !== undefined
      ? timeoutPeriod
      : factory.timeoutPeriod ?? null;
    checkPeriod(this.#initialPeriod);
  }

  /**
   * Starts the countdown (unless the period is `null`), then connects as
   * every wrapper does. (Twisted starts it when the wrapper is built, which
   * for a real connection is the same moment; starting at the connection
   * leaves nothing scheduled for a wrapper that is never connected.)
   */
  override makeConnection(transport: ITCPTransport): void {
    // A period chosen before the connection (setTimeout/cancelTimeout) stands.
    if (!this.#periodChosen) this.setTimeout(this.#initialPeriod);
    return super.makeConnection(transport);
  }

  /**
   * Cancels the countdown, then starts one of `period` seconds (none when
   * `null`).
   *
   * @throws {RangeError} if `period` is negative or not a number
   */
  setTimeout(period?: number | null): void {
    period ??= null;
    checkPeriod(period);
    this.cancelTimeout();
    this.timeoutPeriod = period;
    if (period !== null) {
      const f = (): void => this.timeoutFunc();
      const factory = this.wrappingFactory as TimeoutWrapperFactory;
      this.timeoutCall = typeof factory.callLater === "function"
        ? factory.callLater(period, f)
        : defaultClock().callLater(period, f);
    }
  }

  /** Cancels the countdown; does nothing if it has run or was cancelled. */
  cancelTimeout(): void {
    this.#periodChosen = true;
    this.timeoutPeriod = null;
    cancelIfActive(this.timeoutCall);
    this.timeoutCall = null;
  }

  /** Starts the countdown again, if it is running. */
  resetTimeout(): void {
    if (this.timeoutPeriod !== null && this.timeoutCall?.active()) {
      this.timeoutCall.reset(this.timeoutPeriod);
    }
  }

  /** Resets the countdown, then writes. */
  override write(data: Data): void {
    this.resetTimeout();
    super.write(data);
  }

  /** Resets the countdown, then writes. */
  override writeSequence(data: Iterable<Data>): void {
    this.resetTimeout();
    super.writeSequence(data);
  }

  /** Resets the countdown, then passes the data on. */
  override dataReceived(data: Uint8Array): void {
    this.resetTimeout();
    return super.dataReceived(data);
  }

  /** Cancels the countdown, then passes the loss on. */
  override connectionLost(reason: Failure): void {
    this.cancelTimeout();
    return super.connectionLost(reason);
  }

  /** Called when the countdown expires: loses the connection. Override for anything else. */
  timeoutFunc(): void {
    this.loseConnection();
  }
}

/** Options of {@linkcode TimeoutFactory}. */
export interface TimeoutFactoryOptions {
  /**
   * Seconds without traffic before a connection is lost (`null`: none).
   *
   * @default {1800}
   */
  timeoutPeriod?: number | null;
  /** What schedules the timeouts. @default {the shared reactor} */
  clock?: IReactorTime;
}

/**
 * Wraps a factory so that its connections are lost after `timeoutPeriod`
 * seconds (default 30 minutes, as Twisted's) without traffic either way; see
 * {@linkcode TimeoutProtocol}.
 *
 * @example An idle connection is closed
 * ```ts
 * import { Clock, Factory, IPv4Address, Protocol } from "@twist/twist";
 * import { TimeoutFactory } from "@twist/twist/protocols/policies";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assert, assertEquals } from "@std/assert";
 *
 * assertEquals(new TimeoutFactory(Factory.forProtocol(Protocol)).timeoutPeriod, 1800);
 * const clock = new Clock();
 * const factory = new TimeoutFactory(Factory.forProtocol(Protocol), { timeoutPeriod: 10, clock });
 * const p = factory.buildProtocol(new IPv4Address("TCP", "1.1.1.1", 1))!;
 * const transport = new StringTransport();
 * p.makeConnection(transport);
 * clock.advance(10);
 * assert(transport.disconnecting);
 * ```
 */
export class TimeoutFactory extends WrappingFactory
  implements TimeoutWrapperFactory {
  /** Seconds without traffic before a new connection is lost (`null`: none). */
  timeoutPeriod: number | null;
  #clock: IReactorTime | undefined;

  /**
   * Wraps `wrappedFactory`.
   *
   * @param wrappedFactory The factory whose connections time out.
   * @param options The period and the clock.
   * @throws {RangeError} if `timeoutPeriod` is negative or not a number
   */
  constructor(
    wrappedFactory: IProtocolFactory,
    options?: TimeoutFactoryOptions,
  ) {
    options ??= {};
    super(wrappedFactory);
    const period = options.timeoutPeriod === undefined
      ? 30 * 60
      : options.timeoutPeriod;
    checkPeriod(period);
    this.wrapperClass = TimeoutProtocol;
    this.timeoutPeriod = period;
    this.#clock = options.clock;
  }

  /** What schedules the timeouts (unset: the shared reactor, looked up when first needed). */
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
}
