/**
 * `LoopingCall` (`twisted.internet.task.LoopingCall`).
 *
 * @module
 */
import type { IDelayedCall, IReactorTime } from "../interfaces.ts";
import { Deferred, maybeDeferred } from "../defer.ts";
import type { Failure } from "../failure.ts";
import { defaultClock } from "../common/default_reactor.ts";

/**
 * Calls a function every `interval` seconds, on a grid that starts when it is
 * started: a call that runs late is not made up for, and the next one is
 * scheduled at the next point of the grid (use `LoopingCall.withCount` to
 * learn how many intervals passed). If the function returns a Deferred or a
 * Promise, the next call waits for it.
 *
 * @example A heartbeat driven by a Clock
 * ```ts
 * import { Clock, LoopingCall } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const clock = new Clock();
 * const beats: number[] = [];
 * const loop = new LoopingCall(() => beats.push(clock.seconds()));
 * loop.clock = clock;
 * const done = loop.start(1); // calls at once, then every second
 * clock.pump([1, 1, 1]);
 * loop.stop();
 * assertEquals(beats, [0, 1, 2, 3]);
 * assertEquals((await done) === loop, true);
 * ```
 */
export class LoopingCall<A extends unknown[] = unknown[]> {
  /** Whether it has been started and not stopped. */
  running = false;
  /** Seconds between calls, once started. */
  interval: number | undefined;
  /** The pending scheduled call, if any. */
  call: IDelayedCall | undefined;
  /** The function called. */
  readonly f: (...args: A) => unknown;
  /** Its arguments. */
  readonly args: A;
  #startTime = 0;
  #runAtStart = true;
  #deferred: Deferred<LoopingCall<A>> | undefined;
  #realLastTime: number | undefined;
  #clock: IReactorTime | undefined;

  /** Creates a looping call of `f(...args)`; `start` starts it. */
  constructor(f: (...args: A) => unknown, ...args: A) {
    this.f = f;
    this.args = args;
  }

  /** The clock that schedules the calls (unset: the shared `reactor`, looked up when first needed). */
  get clock(): IReactorTime {
    return this.#clock ?? defaultClock();
  }
  set clock(clock: IReactorTime) {
    this.#clock = clock;
  }

  /**
   * A looping call whose function gets the number of intervals that passed
   * since it was last called (1 unless calls ran late; always 1 for an
   * interval of 0).
   */
  static withCount(countCallable: (count: number) => unknown): LoopingCall<[]> {
    const loop: LoopingCall<[]> = new LoopingCall<[]>(() => {
      const now = loop.clock.seconds();
      if (loop.interval === 0) {
        loop.#realLastTime = now;
        return countCallable(1);
      }
      let lastTime = loop.#realLastTime;
      if (lastTime === undefined) {
        lastTime = loop.#startTime;
        if (loop.#runAtStart) lastTime -= loop.interval!;
      }
      const count = loop.#intervalOf(now) - loop.#intervalOf(lastTime);
      if (count > 0) {
        loop.#realLastTime = now;
        return countCallable(count);
      }
      return undefined;
    });
    return loop;
  }

  #intervalOf(t: number): number {
    return Math.trunc((t - this.#startTime) / this.interval!);
  }

  /**
   * Starts calling every `interval` seconds, first at once (or after one
   * interval when `now` is false). The Deferred fires with this LoopingCall
   * when `stop()` is called, or fails with what the function threw (or how
   * its Deferred or Promise failed), which also stops it.
   *
   * @throws {Error} if it is already running
   * @throws {RangeError} for a negative interval
   */
  start(interval: number, now?: boolean): Deferred<LoopingCall<A>> {
    now ??= true;
    if (this.running) {
      throw new Error("Tried to start an already running LoopingCall");
    }
    if (!(interval >= 0)) {
      throw new RangeError(
        `Invalid interval "${interval}": expected seconds >= 0`,
      );
    }
    this.running = true;
    const d = this.#deferred = new Deferred<LoopingCall<A>>();
    this.#startTime = this.clock.seconds();
    this.interval = interval;
    this.#runAtStart = now;
    this.#realLastTime = undefined;
    if (now) this.#run();
    else this.#scheduleFrom(this.#startTime);
    return d;
  }

  /**
   * Stops calling. The Deferred from `start` fires (at once, or when a pending
   * Deferred from the function fires).
   *
   * @throws {Error} if it is not running
   */
  stop(): void {
    if (!this.running) {
      throw new Error("Tried to stop a LoopingCall that was not running");
    }
    this.running = false;
    if (this.call) {
      this.call.cancel();
      this.call = undefined;
      this.#fire();
    }
  }

  /**
   * Skips the next call and restarts the interval grid from now.
   *
   * @throws {Error} if it is not running
   */
  reset(): void {
    if (!this.running) {
      throw new Error("Tried to reset a LoopingCall that was not running");
    }
    if (this.call) {
      this.call.cancel();
      this.call = undefined;
      this.#startTime = this.clock.seconds();
      this.#scheduleFrom(this.#startTime);
    }
  }

  #fire(): void {
    const d = this.#deferred;
    this.#deferred = undefined;
    d?.callback(this);
  }

  #run = (): void => {
    this.call = undefined;
    maybeDeferred(this.f, ...this.args).addCallbacks(
      () => {
        if (this.running) this.#scheduleFrom(this.clock.seconds());
        else this.#fire();
      },
      (failure: Failure) => {
        this.running = false;
        const d = this.#deferred;
        this.#deferred = undefined;
        d?.errback(failure);
      },
    );
  };

  #scheduleFrom(when: number): void {
    let delay: number;
    if (this.interval === 0) {
      delay = 0;
    } else {
      const interval = this.interval!;
      const runningFor = when - this.#startTime;
      const untilNext = interval - (runningFor % interval);
      // Floating point: when the remainder is too small to move the time, wait a whole interval.
      delay = when === when + untilNext ? interval : untilNext;
    }
    this.call = this.clock.callLater(delay, this.#run);
  }

  /** A readable form. */
  toString(): string {
    return `LoopingCall<${this.interval}>(${this.f.name || "anonymous"})`;
  }
}
