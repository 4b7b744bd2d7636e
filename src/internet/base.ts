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
import {
  AlreadyCalled,
  AlreadyCancelled,
  ReactorAlreadyRunning,
  ReactorNotRestartable,
  ReactorNotRunning,
} from "./error.ts";
import { TimerHeap } from "./_timer_heap.ts";

export { type HeapEntry, TimerHeap } from "./_timer_heap.ts";
import { reportUnhandledDeferreds } from "./defer.ts";
import { log } from "../logger.ts";
import { setImmediate } from "node:timers";

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
  seq: number = 0;
  /** Position in the heap; -1 when not in it. */
  heapIndex: number = -1;
  /** Whether the call has run. */
  called: boolean = false;
  /** Whether the call was cancelled. */
  cancelled: boolean = false;
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
      throw new RangeError(
        `Cannot delay a call by "${secondsLater}" seconds: not a finite number`,
      );
    }
    this.time += secondsLater;
    this.#scheduler.heap.update(this);
    this.#scheduler.changed();
  }

  /** A readable form for debugging. */
  toString(): string {
    const left = this.time - this.#scheduler.seconds();
    const state = this.called
      ? "called"
      : this.cancelled
      ? "cancelled"
      : `in ${left.toFixed(3)}s`;
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
    throw new RangeError(
      `Invalid delay "${delay}": expected a finite number of seconds >= 0`,
    );
  }
}

/** The longest delay `setTimeout` can hold, in milliseconds (2^31 - 1). */
const MAX_TIMER_MS = 2_147_483_647;

const PHASES: readonly TriggerPhase[] = ["before", "during", "after"];

interface Trigger {
  readonly id: number;
  readonly f: (...args: never[]) => unknown;
  readonly args: unknown[];
}

/** The triggers of one system event, by phase (Twisted's `_ThreePhaseEvent`). */
class ThreePhaseEvent {
  readonly phases: Record<TriggerPhase, Trigger[]> = {
    before: [],
    during: [],
    after: [],
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function";
}

/** Calls `f(...args)`, logging (never throwing) what it throws; returns its result. */
function callLogged(
  f: (...args: never[]) => unknown,
  args: unknown[],
  why: string,
): unknown {
  try {
    return f(...(args as never[]));
  } catch (e) {
    log.err(e, why);
    return undefined;
  }
}

let nextTriggerId = 1;

/**
 * The life cycle and timers every reactor shares: `run`/`stop`, system event
 * triggers, and `callLater` on one timer heap with one native timer armed for
 * the earliest deadline.
 *
 * Differences from Twisted, on purpose:
 * - Timed calls run whether or not `run()` was called (Deno's event loop is
 *   always turning); `run()` is what keeps the process alive until `stop()`.
 *   A pending call keeps the process alive as a `setTimeout` would.
 * - `seconds()` is monotonic (epoch-aligned), calls with equal deadlines run in
 *   the order they were scheduled, a call scheduled while timed calls run waits
 *   for the next pass, and delays longer than `setTimeout` can hold are re-armed
 *   instead of firing at once.
 * - A trigger of any phase (not only `"before"`) that returns a Deferred or a
 *   Promise delays the next phase until it settles.
 * - Every user callback the reactor invokes is contained: what it throws is
 *   logged and the reactor goes on.
 *
 * A reactor runs once: after `stop()` it cannot be run again
 * (`ReactorNotRestartable`), as in Twisted.
 *
 * @example Startup and shutdown triggers
 * ```ts
 * import { Reactor } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const reactor = new Reactor();
 * const seen: string[] = [];
 * reactor.addSystemEventTrigger("before", "shutdown", () => seen.push("before shutdown"));
 * reactor.addSystemEventTrigger("after", "shutdown", () => seen.push("after shutdown"));
 * reactor.callWhenRunning(() => {
 *   seen.push("running");
 *   reactor.callLater(0.01, () => reactor.stop());
 * });
 * await reactor.run();
 * assertEquals(seen, ["running", "before shutdown", "after shutdown"]);
 * ```
 */
export class ReactorBase implements IReactorCore, IReactorTime {
  /**
   * Seconds that `stop()` lets connections flush their writes before
   * aborting them.
   *
   * @default {5}
   */
  shutdownTimeout = 5;

  #heap = new TimerHeap<DelayedCall>();
  #scheduler: DelayedCallScheduler;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerDeadline = Infinity;
  #immediate = false;
  #inPass = false;

  #events = new Map<string, ThreePhaseEvent>();
  #running = false;
  #started = false;
  #stopped = true;
  #startedBefore = false;
  #keepAlive: ReturnType<typeof setInterval> | undefined;
  #signals: [Deno.Signal, () => void][] = [];
  #done = Promise.withResolvers<void>();

  /** Creates a reactor that is not running. */
  constructor() {
    this.#scheduler = {
      seconds: () => this.seconds(),
      heap: this.#heap,
      changed: () => this.#rearm(),
    };
    this.addSystemEventTrigger("during", "startup", () => {
      this.#running = true;
    });
    this.addSystemEventTrigger("during", "shutdown", () => {
      this.#running = false;
    });
  }

  /** Whether the reactor is running: from the `"during"` phase of startup to that of shutdown. */
  get running(): boolean {
    return this.#running;
  }

  /**
   * Runs the reactor: fires the `"startup"` event, keeps the process alive and
   * installs SIGINT/SIGTERM handlers that stop it gracefully, until `stop()`.
   * The returned promise resolves once shutdown has completely finished;
   * scripts need not await it.
   *
   * @throws {ReactorAlreadyRunning} if it is running
   * @throws {ReactorNotRestartable} if it has run before
   */
  run(): Promise<void> {
    if (this.#started) throw new ReactorAlreadyRunning();
    if (this.#startedBefore) throw new ReactorNotRestartable();
    this.#started = true;
    this.#stopped = false;
    // An empty interval is what keeps Deno's event loop (and the process) alive.
    this.#keepAlive = setInterval(() => {}, 1 << 30);
    this.#installSignalHandlers();
    this.fireSystemEvent("startup");
    return this.#done.promise;
  }

  /**
   * Stops the reactor: on the next turn of the event loop it fires the
   * `"shutdown"` event (`"before"`, `"during"`, `"after"`), then cancels every
   * pending call, logs unhandled failures of Deferreds, removes its signal
   * handlers and lets the process exit.
   *
   * @throws {ReactorNotRunning} if it is not running (or already stopping)
   */
  stop(): void {
    if (this.#stopped) throw new ReactorNotRunning();
    this.#stopped = true;
    this.#startedBefore = true;
    setImmediate(() => this.#fire("shutdown", () => this.#finishShutdown()));
  }

  /** Calls `f(...args)` once the reactor is running, or at once if it is. */
  callWhenRunning<A extends unknown[]>(
    f: (...args: A) => unknown,
    ...args: A
  ): TriggerID | undefined {
    if (this.#running) {
      callLogged(
        f as (...args: never[]) => unknown,
        args,
        "Unhandled error in callWhenRunning",
      );
      return undefined;
    }
    return this.addSystemEventTrigger("after", "startup", f, ...args);
  }

  /**
   * Calls `f(...args)` in `phase` of `eventType` (`"startup"`, `"shutdown"` or
   * any name given to `fireSystemEvent`). A trigger returning a Deferred or a
   * Promise delays the next phase until it settles. Each trigger runs once.
   */
  addSystemEventTrigger<A extends unknown[]>(
    phase: TriggerPhase,
    eventType: SystemEventType | string,
    f: (...args: A) => unknown,
    ...args: A
  ): TriggerID {
    if (!PHASES.includes(phase)) {
      throw new TypeError(
        `Invalid trigger phase "${phase}": expected "before", "during" or "after"`,
      );
    }
    if (typeof f !== "function") {
      throw new TypeError(`Trigger "${f}" is not callable`);
    }
    let event = this.#events.get(eventType);
    if (!event) this.#events.set(eventType, event = new ThreePhaseEvent());
    const id = nextTriggerId++;
    event.phases[phase].push({
      id,
      f: f as (...args: never[]) => unknown,
      args,
    });
    return { phase, eventType, id };
  }

  /**
   * Removes a trigger that has not run yet.
   *
   * @throws {TypeError} if `id` names no pending trigger
   */
  removeSystemEventTrigger(id: TriggerID): void {
    const triggers = this.#events.get(id?.eventType)?.phases[id.phase];
    const i = triggers?.findIndex((t) => t.id === id.id) ?? -1;
    if (i < 0) {
      throw new TypeError(
        "Invalid trigger handle: it was removed already or never added",
      );
    }
    triggers!.splice(i, 1);
  }

  /** Fires the triggers of `eventType`, phase by phase. */
  fireSystemEvent(eventType: SystemEventType | string): void {
    this.#fire(eventType, () => {});
  }

  #fire(eventType: string, done: () => void): void {
    const event = this.#events.get(eventType);
    if (!event) return done();
    const runFrom = (index: number): void => {
      for (let i = index; i < PHASES.length; i++) {
        const phase = event.phases[PHASES[i]];
        const waits: PromiseLike<unknown>[] = [];
        // Triggers added to this phase while it fires run in it too.
        for (let t = phase.shift(); t; t = phase.shift()) {
          const result = callLogged(
            t.f,
            t.args,
            `Unhandled error in "${eventType}" trigger`,
          );
          if (isThenable(result)) waits.push(result);
        }
        if (waits.length > 0) {
          const settled = waits.map((w) =>
            Promise.resolve(w).then(
              undefined,
              (e) => log.err(e, `Unhandled error in "${eventType}" trigger`),
            )
          );
          Promise.all(settled).then(() => runFrom(i + 1));
          return;
        }
      }
      done();
    };
    runFrom(0);
  }

  #finishShutdown(): void {
    this.#running = false;
    this.#started = false;
    for (const call of this.#heap.values()) call.cancelled = true;
    this.#heap.clear();
    this.#rearm();
    this.#removeSignalHandlers();
    clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
    reportUnhandledDeferreds();
    this.#done.resolve();
  }

  #installSignalHandlers(): void {
    const signals: Deno.Signal[] = Deno.build.os === "windows"
      ? ["SIGINT", "SIGBREAK"]
      : ["SIGINT", "SIGTERM"];
    for (const signal of signals) {
      const handler = (): void => {
        log.msg(`Received ${signal}, shutting down.`);
        if (!this.#stopped) this.stop();
      };
      try {
        Deno.addSignalListener(signal, handler);
        this.#signals.push([signal, handler]);
      } catch {
        // The platform cannot deliver this signal; nothing to install.
      }
    }
  }

  #removeSignalHandlers(): void {
    for (const [signal, handler] of this.#signals) {
      Deno.removeSignalListener(signal, handler);
    }
    this.#signals = [];
  }

  /** The current time in seconds: monotonic, and aligned with the epoch at startup. */
  seconds(): number {
    return (performance.timeOrigin + performance.now()) / 1000;
  }

  /**
   * Calls `f(...args)` after `delay` seconds. What `f` throws (or the promise it
   * returns rejects with) is logged; the reactor goes on.
   *
   * @throws {RangeError} for a negative or non-finite delay
   */
  callLater<A extends unknown[]>(
    delay: number,
    f: (...args: A) => unknown,
    ...args: A
  ): DelayedCall {
    checkDelay(delay);
    if (typeof f !== "function") throw new TypeError(`"${f}" is not callable`);
    const call = new DelayedCall(
      this.seconds() + delay,
      f as (...args: never[]) => unknown,
      args,
      this.#scheduler,
    );
    this.#heap.push(call);
    if (call.heapIndex === 0) this.#rearm();
    return call;
  }

  /** Every pending delayed call, earliest first. */
  getDelayedCalls(): DelayedCall[] {
    return this.#heap.values().sort((a, b) => a.time - b.time || a.seq - b.seq);
  }

  /**
   * Makes sure the native timer fires no later than the earliest deadline.
   * A timer armed for a later deadline than needed is replaced; one armed
   * earlier than needed is left to fire and re-arm (cheaper than re-arming on
   * every cancel).
   */
  #rearm(): void {
    if (this.#inPass) return;
    const next = this.#heap.peek();
    if (!next) {
      if (this.#timer !== undefined) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        this.#timerDeadline = Infinity;
      }
      return;
    }
    if (this.#immediate) return;
    const ms = (next.time - this.seconds()) * 1000;
    if (ms <= 0) {
      // Already due: setImmediate avoids setTimeout's nested-timer clamp.
      this.#immediate = true;
      setImmediate(this.#onImmediate);
      return;
    }
    if (this.#timer !== undefined && this.#timerDeadline <= next.time) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerDeadline = next.time;
    this.#timer = setTimeout(
      this.#onTimer,
      Math.min(Math.ceil(ms), MAX_TIMER_MS),
    );
  }

  #onImmediate = (): void => {
    this.#immediate = false;
    this.#runUntilCurrent();
  };

  #onTimer = (): void => {
    this.#timer = undefined;
    this.#timerDeadline = Infinity;
    this.#runUntilCurrent();
  };

  /** Runs every call due now; calls scheduled meanwhile wait for the next pass. */
  #runUntilCurrent(): void {
    const now = this.seconds();
    const heap = this.#heap;
    const due: DelayedCall[] = [];
    for (let next = heap.peek(); next && next.time <= now; next = heap.peek()) {
      due.push(heap.pop()!);
    }
    this.#inPass = true;
    try {
      for (const call of due) {
        // Cancelled meanwhile, or reset (back in the heap): not this pass.
        if (call.cancelled || call.called || call.heapIndex !== -1) continue;
        call.called = true;
        const result = callLogged(
          call.f,
          call.args,
          "Unhandled error in delayed call",
        );
        if (result instanceof Promise) {
          result.catch((e) => log.err(e, "Unhandled error in delayed call"));
        }
      }
    } finally {
      this.#inPass = false;
    }
    this.#rearm();
  }
}
