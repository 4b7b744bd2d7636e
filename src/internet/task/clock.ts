/**
 * `Clock`: deterministic time for tests (`twisted.internet.task.Clock`).
 *
 * @module
 */
import type { IDelayedCall, IReactorTime } from "../interfaces.ts";
import { checkDelay, DelayedCall, type DelayedCallScheduler } from "../base.ts";
import { TimerHeap } from "../common/timer_heap.ts";

/**
 * A clock that only moves when told to: an `IReactorTime` for tests. Calls run
 * in deadline order (then in the order they were scheduled) when `advance`
 * reaches them; an exception from a call propagates out of `advance`.
 *
 * @example Driving time in a test
 * ```ts
 * import { Clock } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const clock = new Clock();
 * const seen: string[] = [];
 * clock.callLater(1, () => seen.push("one"));
 * clock.callLater(2, () => seen.push("two"));
 * clock.advance(1.5);
 * assertEquals(seen, ["one"]);
 * clock.pump([0.5, 1]);
 * assertEquals(seen, ["one", "two"]);
 * assertEquals(clock.seconds(), 3);
 * ```
 */
export class Clock implements IReactorTime {
  #now = 0;
  #scheduler: DelayedCallScheduler;

  /** Creates a clock at time 0. */
  constructor() {
    const heap = new TimerHeap<DelayedCall>();
    this.#scheduler = { seconds: () => this.#now, heap, changed: () => {} };
  }

  /** The clock's current time. */
  seconds(): number {
    return this.#now;
  }

  /** Calls `f(...args)` when the clock has advanced `delay` seconds. */
  callLater<A extends unknown[]>(
    delay: number,
    f: (...args: A) => unknown,
    ...args: A
  ): IDelayedCall {
    checkDelay(delay);
    const call = new DelayedCall(
      this.#now + delay,
      f as (...args: never[]) => unknown,
      args,
      this.#scheduler,
    );
    this.#scheduler.heap.push(call);
    return call;
  }

  /** The pending calls, earliest first. */
  getDelayedCalls(): IDelayedCall[] {
    return this.calls;
  }

  /** The pending calls, earliest first (Twisted's `Clock.calls`). */
  get calls(): IDelayedCall[] {
    return this.#scheduler.heap.values().sort((a, b) =>
      a.time - b.time || a.seq - b.seq
    );
  }

  /**
   * Moves time forward by `amount` seconds, running every call that becomes
   * due, including ones those calls schedule for no later than the new time.
   */
  advance(amount: number): void {
    if (!(amount >= 0)) {
      throw new RangeError(`Cannot advance a clock by "${amount}" seconds`);
    }
    this.#now += amount;
    const heap = this.#scheduler.heap;
    for (
      let next = heap.peek();
      next && next.time <= this.#now;
      next = heap.peek()
    ) {
      heap.pop();
      next.called = true;
      next.f(...(next.args as never[]));
    }
  }

  /** Advances by each amount in turn. */
  pump(timings: Iterable<number>): void {
    for (const amount of timings) this.advance(amount);
  }
}
