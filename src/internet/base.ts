/**
 * The reactor's foundations (`twisted.internet.base`): `DelayedCall`, the timed
 * call every `callLater` returns, and `ReactorBase`, the life cycle (run, stop,
 * system event triggers) and timers shared by every reactor.
 *
 * @module
 */
import type {
  IDelayedCall,
  IReactorCore,
  IReactorTime,
  SystemEventType,
  TriggerID,
  TriggerPhase,
} from "./interfaces.ts";
import { AlreadyCalled, AlreadyCancelled } from "./error.ts";
import type { TimerHeap } from "./_timer_heap.ts";

/**
 * What a `DelayedCall` needs from whoever runs it: the time, the heap it sits
 * in, and a hook to hear that the earliest deadline may have moved.
 */
export interface DelayedCallScheduler {
  /** The scheduler's current time in seconds. */
  seconds(): number;
  /** The heap of pending calls. */
  readonly heap: TimerHeap<DelayedCall>;
  /** Called after a call was cancelled, reset or delayed. */
  changed(): void;
}

/**
 * A call scheduled to run later, as `callLater` returns it.
 *
 * @example Moving a call
 * ```ts
 * import { Clock } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const clock = new Clock();
 * const seen: number[] = [];
 * const call = clock.callLater(5, () => seen.push(clock.seconds()));
 * call.delay(2); // now due at 7
 * clock.advance(5);
 * assertEquals(seen, []);
 * call.reset(1); // due one second from now (6)
 * clock.advance(1);
 * assertEquals(seen, [6]);
 * ```
 */
export class DelayedCall implements IDelayedCall {
  /** The deadline, in the scheduler's seconds. */
  time: number;
  /** Tie-break order among equal deadlines (kept by the heap). */
  seq = 0;
  /** Position in the heap; -1 when not in it. */
  heapIndex = -1;
  /** Whether the call has run. */
  called = false;
  /** Whether the call was cancelled. */
  cancelled = false;
  /** The function to call. */
  readonly f: (...args: never[]) => unknown;
  /** Its arguments. */
  readonly args: unknown[];
  #scheduler: DelayedCallScheduler;

  /** Creates a call due at `time`; the scheduler pushes it into its heap. */
  constructor(
    time: number,
    f: (...args: never[]) => unknown,
    args: unknown[],
    scheduler: DelayedCallScheduler,
  ) {
    this.time = time;
    this.f = f;
    this.args = args;
    this.#scheduler = scheduler;
  }

  /** The time at which the call will run. */
  getTime(): number {
    return this.time;
  }

  /** Whether the call has neither run nor been cancelled. */
  active(): boolean {
    return !this.called && !this.cancelled;
  }

  #check(): void {
    if (this.cancelled) throw new AlreadyCancelled();
    if (this.called) throw new AlreadyCalled();
  }

  /**
   * Cancels the call.
   *
   * @throws {AlreadyCancelled} if it was cancelled already
   * @throws {AlreadyCalled} if it has run
   */
  cancel(): void {
    this.#check();
    this.cancelled = true;
    this.#scheduler.heap.remove(this);
    this.#scheduler.changed();
  }

  /** Runs the call `secondsFromNow` seconds from now instead. */
  reset(secondsFromNow: number): void {
    this.#check();
    checkDelay(secondsFromNow);
    this.time = this.#scheduler.seconds() + secondsFromNow;
    this.#scheduler.heap.update(this);
    this.#scheduler.changed();
  }

  /** Runs the call `secondsLater` seconds later than planned. */
  delay(secondsLater: number): void {
    this.#check();
    if (!Number.isFinite(secondsLater)) {
      throw new RangeError(`Cannot delay a call by "${secondsLater}" seconds: not a finite number`);
    }
    this.time += secondsLater;
    this.#scheduler.heap.update(this);
    this.#scheduler.changed();
  }

  /** A readable form for debugging. */
  toString(): string {
    const left = this.time - this.#scheduler.seconds();
    const state = this.called ? "called" : this.cancelled ? "cancelled" : `in ${left.toFixed(3)}s`;
    return `<DelayedCall ${this.f.name || "anonymous"} ${state}>`;
  }
}

/**
 * Checks a delay given to `callLater` or `reset`.
 *
 * @throws {RangeError} for a negative, infinite or non-number delay
 */
export function checkDelay(delay: number): void {
  if (typeof delay !== "number" || !(delay >= 0) || !Number.isFinite(delay)) {
    throw new RangeError(`Invalid delay "${delay}": expected a finite number of seconds >= 0`);
  }
}

/**
 * STUB — the life cycle and timers every reactor shares (helper "reactor" is
 * implementing it). The public members below are the contract.
 */
export class ReactorBase implements IReactorCore, IReactorTime {
  /** Seconds that `stop()` lets connections flush their writes before aborting them. @default {5} */
  shutdownTimeout = 5;

  /** Whether the reactor is running. */
  get running(): boolean {
    throw new Error("not implemented");
  }
  /** Runs the reactor until `stop()`. */
  run(): Promise<void> {
    throw new Error("not implemented");
  }
  /** Stops the reactor. */
  stop(): void {
    throw new Error("not implemented");
  }
  /** Calls `f(...args)` once running. */
  callWhenRunning<A extends unknown[]>(_f: (...args: A) => unknown, ..._args: A): TriggerID | undefined {
    throw new Error("not implemented");
  }
  /** Adds a system event trigger. */
  addSystemEventTrigger<A extends unknown[]>(
    _phase: TriggerPhase,
    _eventType: SystemEventType | string,
    _f: (...args: A) => unknown,
    ..._args: A
  ): TriggerID {
    throw new Error("not implemented");
  }
  /** Removes a system event trigger. */
  removeSystemEventTrigger(_id: TriggerID): void {
    throw new Error("not implemented");
  }
  /** Fires a system event. */
  fireSystemEvent(_eventType: SystemEventType | string): void {
    throw new Error("not implemented");
  }
  /** The current time in seconds (monotonic, epoch-aligned). */
  seconds(): number {
    throw new Error("not implemented");
  }
  /** Schedules `f(...args)` in `delay` seconds. */
  callLater<A extends unknown[]>(_delay: number, _f: (...args: A) => unknown, ..._args: A): DelayedCall {
    throw new Error("not implemented");
  }
  /** Every pending delayed call. */
  getDelayedCalls(): DelayedCall[] {
    throw new Error("not implemented");
  }
}
