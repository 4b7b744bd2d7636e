/**
 * `Cooperator` and `cooperate` (`twisted.internet.task`): run many iterators
 * a little at a time, so long jobs share the event loop.
 *
 * @module
 */
import type { IDelayedCall, IReactorTime } from "../interfaces.ts";
import { Deferred } from "../defer.ts";
import { Failure } from "../failure.ts";
import { defaultClock } from "../common/default_reactor.ts";

/**
 * The base of the reasons a cooperative task ends with.
 *
 * @example Using `SchedulerError`
 * ```ts
 * import { SchedulerError, TaskDone } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * assert(new TaskDone() instanceof SchedulerError);
 * ```
 */
export class SchedulerError extends Error {
  /** The error's name. */
  override name = "SchedulerError";
}

/**
 * The task finished: its iterator is exhausted.
 *
 * @example Using `TaskDone`
 * ```ts
 * import { TaskDone } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new TaskDone().name, "TaskDone");
 * ```
 */
export class TaskDone extends SchedulerError {
  /** The error's name. */
  override name = "TaskDone";
}

/**
 * The task was stopped with `stop()`.
 *
 * @example Using `TaskStopped`
 * ```ts
 * import { TaskStopped } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new TaskStopped().name, "TaskStopped");
 * ```
 */
export class TaskStopped extends SchedulerError {
  /** The error's name. */
  override name = "TaskStopped";
}

/**
 * The task's iterator threw (or a Deferred it yielded failed).
 *
 * @example Using `TaskFailed`
 * ```ts
 * import { TaskFailed } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new TaskFailed().name, "TaskFailed");
 * ```
 */
export class TaskFailed extends SchedulerError {
  /** The error's name. */
  override name = "TaskFailed";
}

/**
 * `resume()` was called on a task that is not paused.
 *
 * @example Using `NotPaused`
 * ```ts
 * import { NotPaused } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new NotPaused().name, "NotPaused");
 * ```
 */
export class NotPaused extends SchedulerError {
  /** The error's name. */
  override name = "NotPaused";
}

/**
 * The cooperator was stopped while the task was running.
 *
 * @example Using `SchedulerStopped`
 * ```ts
 * import { SchedulerStopped } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new SchedulerStopped().name, "SchedulerStopped");
 * ```
 */
export class SchedulerStopped extends SchedulerError {
  /** The error's name. */
  override name = "SchedulerStopped";
}

/**
 * One iterator being run by a `Cooperator`: it can be paused, resumed and
 * stopped, and `whenDone()` tells when it ends.
 *
 * @example Using `CooperativeTask`
 * ```ts
 * import { Cooperator } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const work: (() => void)[] = [];
 * const coop = new Cooperator({ scheduler: (f) => (work.push(f), { cancel() {} }) });
 * const seen: number[] = [];
 * function* job() {
 *   for (const n of [1, 2, 3]) yield seen.push(n);
 * }
 * const task = coop.cooperate(job());
 * const done = task.whenDone();
 * while (work.length) work.shift()!();
 * await done;
 * assertEquals(seen, [1, 2, 3]);
 * ```
 */
export class CooperativeTask {
  #iterator: Iterator<unknown>;
  #cooperator: Cooperator;
  #waiters: Deferred<Iterator<unknown>>[] = [];
  #pauseCount = 0;
  #completion: SchedulerError | undefined;
  #result: Iterator<unknown> | Failure | undefined;

  /** Creates a task of `iterator` on `cooperator` (use `cooperator.cooperate`). */
  constructor(iterator: Iterator<unknown>, cooperator: Cooperator) {
    this.#iterator = iterator;
    this.#cooperator = cooperator;
    cooperator.addTask(this);
  }

  /**
   * A Deferred that fires with the iterator when the task is done, or fails
   * with `TaskStopped`, `SchedulerStopped`, or what the iterator threw.
   */
  whenDone(): Deferred<Iterator<unknown>> {
    const d = new Deferred<Iterator<unknown>>();
    if (this.#completion === undefined) this.#waiters.push(d);
    else d.callback(this.#result as Iterator<unknown>);
    return d;
  }

  /**
   * Pauses the task (pauses nest).
   *
   * @throws {SchedulerError} if it has finished
   */
  pause(): void {
    this.#checkFinish();
    this.#pauseCount++;
    if (this.#pauseCount === 1) this.#cooperator.removeTask(this);
  }

  /**
   * Undoes one `pause`.
   *
   * @throws {NotPaused} if it is not paused
   */
  resume(): void {
    if (this.#pauseCount === 0) throw new NotPaused();
    this.#pauseCount--;
    if (this.#pauseCount === 0 && this.#completion === undefined) {
      this.#cooperator.addTask(this);
    }
  }

  /**
   * Stops the task: `whenDone()` fails with `TaskStopped`.
   *
   * @throws {SchedulerError} if it has finished
   */
  stop(): void {
    this.#checkFinish();
    this.completeWith(new TaskStopped(), new Failure(new TaskStopped()));
  }

  #checkFinish(): void {
    if (this.#completion) throw this.#completion;
  }

  /** Ends the task with `state`, firing the `whenDone` Deferreds with `result`. */
  completeWith(
    state: SchedulerError,
    result: Iterator<unknown> | Failure,
  ): void {
    this.#completion = state;
    this.#result = result;
    if (this.#pauseCount === 0) this.#cooperator.removeTask(this);
    for (const d of this.#waiters) d.callback(result as Iterator<unknown>);
    this.#waiters = [];
  }

  /** Advances the iterator once; a yielded Deferred pauses the task until it fires. */
  oneWorkUnit(): void {
    let step: IteratorResult<unknown>;
    try {
      step = this.#iterator.next();
    } catch (e) {
      this.completeWith(new TaskFailed(), new Failure(e));
      return;
    }
    if (step.done) {
      this.completeWith(new TaskDone(), this.#iterator);
      return;
    }
    if (step.value instanceof Deferred) {
      this.pause();
      step.value.addCallbacks(
        () => this.resume(),
        (failure: Failure) => this.completeWith(new TaskFailed(), failure),
      );
    }
  }
}

/** Options of {@linkcode Cooperator}. */
export interface CooperatorOptions {
  /**
   * Makes, for each tick, a predicate that says when the tick has used its
   * time. @default {a 10 ms time slice}
   */
  terminationPredicateFactory?: () => () => boolean;
  /**
   * Schedules a tick (Twisted's hook). @default {clock.callLater(0, tick)}
   */
  scheduler?: (tick: () => void) => Pick<IDelayedCall, "cancel">;
  /**
   * The clock ticks are scheduled on, when no `scheduler` is given.
   *
   * @default {the shared reactor, looked up when first needed}
   */
  clock?: IReactorTime;
  /** Whether it starts running at once. @default {true} */
  started?: boolean;
}

function timeSlice(): () => boolean {
  const end = performance.now() + 10;
  return () => performance.now() >= end;
}

/**
 * Runs iterators a step at a time, round-robin, a time slice per tick, so
 * long jobs do not starve the event loop.
 *
 * @example Deterministic scheduling in a test
 * ```ts
 * import { Cooperator } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const ticks: (() => void)[] = [];
 * const coop = new Cooperator({
 *   scheduler: (tick) => (ticks.push(tick), { cancel() {} }),
 *   terminationPredicateFactory: () => () => true, // one step per tick
 * });
 * const order: string[] = [];
 * function* job(name: string) {
 *   for (let i = 0; i < 2; i++) yield order.push(`${name}${i}`);
 * }
 * coop.cooperate(job("a"));
 * coop.cooperate(job("b"));
 * while (ticks.length) ticks.shift()!();
 * assertEquals(order, ["a0", "b0", "a1", "b1"]);
 * ```
 *
 * @example Ticks on a test Clock
 * ```ts
 * import { Clock, Cooperator } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const clock = new Clock();
 * const coop = new Cooperator({ clock, terminationPredicateFactory: () => () => true });
 * let steps = 0;
 * function* job() {
 *   while (steps < 2) yield steps++;
 * }
 * const done = coop.coiterate(job());
 * assertEquals(clock.getDelayedCalls().length, 1); // the first tick
 * clock.advance(0);
 * clock.advance(0);
 * clock.advance(0);
 * await done;
 * assertEquals(steps, 2);
 * ```
 */
export class Cooperator {
  #tasks: CooperativeTask[] = [];
  #cursor = 0;
  #predicateFactory: () => () => boolean;
  #scheduler: (tick: () => void) => Pick<IDelayedCall, "cancel">;
  #pending: Pick<IDelayedCall, "cancel"> | undefined;
  #stopped = false;
  #started: boolean;
  #mustScheduleOnStart = false;

  /** Creates a cooperator. */
  constructor(options?: CooperatorOptions) {
    options ??= {};
    this.#predicateFactory = options.terminationPredicateFactory ?? timeSlice;
    const clock = options.clock;
    this.#scheduler = options.scheduler ??
      ((tick) => (clock ?? defaultClock()).callLater(0, tick));
    this.#started = options.started ?? true;
  }

  /** Runs `iterator` as a task; the Deferred fires with it when it is done. */
  coiterate<T>(iterator: Iterator<T>): Deferred<Iterator<T>> {
    return new CooperativeTask(iterator, this).whenDone() as Deferred<
      Iterator<T>
    >;
  }

  /** Runs `iterator` as a task and returns the task. */
  cooperate(iterator: Iterator<unknown>): CooperativeTask {
    return new CooperativeTask(iterator, this);
  }

  /** Adds a task to the round (used by `CooperativeTask`). */
  addTask(task: CooperativeTask): void {
    this.#tasks.push(task);
    if (this.#stopped) {
      task.completeWith(
        new SchedulerStopped(),
        new Failure(new SchedulerStopped()),
      );
      return;
    }
    this.#reschedule();
  }

  /** Removes a task from the round (used by `CooperativeTask`). */
  removeTask(task: CooperativeTask): void {
    const i = this.#tasks.indexOf(task);
    if (i < 0) return;
    this.#tasks.splice(i, 1);
    if (i < this.#cursor) this.#cursor--;
    if (this.#tasks.length === 0 && this.#pending) {
      this.#pending.cancel();
      this.#pending = undefined;
    }
  }

  #tick = (): void => {
    this.#pending = undefined;
    const done = this.#predicateFactory();
    while (this.#tasks.length > 0) {
      if (this.#cursor >= this.#tasks.length) this.#cursor = 0;
      const task = this.#tasks[this.#cursor++];
      task.oneWorkUnit();
      if (done()) break;
    }
    this.#reschedule();
  };

  #reschedule(): void {
    if (!this.#started) {
      this.#mustScheduleOnStart = true;
      return;
    }
    if (this.#pending === undefined && this.#tasks.length > 0) {
      this.#pending = this.#scheduler(this.#tick);
    }
  }

  /** Starts a cooperator made with `started: false`. */
  start(): void {
    this.#stopped = false;
    this.#started = true;
    if (this.#mustScheduleOnStart) {
      this.#mustScheduleOnStart = false;
      this.#reschedule();
    }
  }

  /** Stops every task (`SchedulerStopped`) and the cooperator. */
  stop(): void {
    this.#stopped = true;
    const tasks = this.#tasks;
    this.#tasks = [];
    for (const task of tasks) {
      task.completeWith(
        new SchedulerStopped(),
        new Failure(new SchedulerStopped()),
      );
    }
    this.#pending?.cancel();
    this.#pending = undefined;
  }

  /** Whether it is started and not stopped. */
  get running(): boolean {
    return this.#started && !this.#stopped;
  }
}

const theCooperator = new Cooperator();

/**
 * Runs `iterator` on the shared cooperator (which runs on the shared reactor).
 *
 * @example Calling `cooperate`
 * ```ts
 * import { cooperate } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * let steps = 0;
 * function* job() {
 *   while (steps < 3) yield steps++;
 * }
 * const task = cooperate(job());
 * await task.whenDone();
 * assertEquals(steps, 3);
 * ```
 */
export function cooperate(iterator: Iterator<unknown>): CooperativeTask {
  return theCooperator.cooperate(iterator);
}

/**
 * Runs `iterator` on the shared cooperator; fires with it when done.
 *
 * @example Calling `coiterate`
 * ```ts
 * import { coiterate } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const seen: number[] = [];
 * function* job() {
 *   yield seen.push(1);
 *   yield seen.push(2);
 * }
 * await coiterate(job());
 * assertEquals(seen, [1, 2]);
 * ```
 */
export function coiterate<T>(iterator: Iterator<T>): Deferred<Iterator<T>> {
  return theCooperator.coiterate(iterator);
}
