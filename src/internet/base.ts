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
import { TimerHeap } from "./common/timer_heap.ts";
import { grantReactorInternals, ResourceRegistry } from "./common/registry.ts";

export { type HeapEntry, TimerHeap } from "./common/timer_heap.ts";
import { Deferred, reportUnhandledDeferreds } from "./defer.ts";
import { log } from "../logger.ts";
import { resolve } from "./resolve.ts";
import {
  guardRejections,
  isThenable,
  unguardRejections,
  watchResult,
} from "./common/callbacks.ts";

let nodeSetImmediate: ((f: () => void) => unknown) | undefined;

/**
 * `node:timers`' `setImmediate`, loaded when the first due call needs it:
 * importing any `node:` module starts Deno's Node compatibility layer, about
 * half the start-up time of a program that imports the reactor.
 * `getBuiltinModule` loads it synchronously, so calls run as before.
 */
function setImmediate(f: () => void): void {
  nodeSetImmediate ??= globalThis.process.getBuiltinModule("node:timers")
    .setImmediate;
  nodeSetImmediate(f);
}

/**
 * What a `DelayedCall` needs from whoever runs it: the time, the heap it sits
 * in, and a hook to hear that the earliest deadline may have moved. The
 * reactor and `Clock` each provide one; a custom clock can too.
 *
 * @example A minimal scheduler driven by hand
 * ```ts
 * import { DelayedCall, type DelayedCallScheduler } from "./base.ts";
 * import { TimerHeap } from "./common/timer_heap.ts";
 * import { assertEquals } from "@std/assert";
 *
 * let changes = 0;
 * const scheduler: DelayedCallScheduler = {
 *   seconds: () => 100,
 *   heap: new TimerHeap<DelayedCall>(),
 *   changed: () => changes++,
 * };
 * const call = new DelayedCall(105, () => {}, [], scheduler);
 * scheduler.heap.push(call);
 * call.reset(1); // now due at 101
 * assertEquals(scheduler.heap.peek()?.getTime(), 101);
 * assertEquals(changes, 1);
 * ```
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
  /** Whether the call has run (it is set just before the function is called). */
  called: boolean = false;
  /** Whether the call was cancelled. */
  cancelled: boolean = false;
  /** The function to call. */
  readonly f: (...args: never[]) => unknown;
  /** Its arguments. */
  readonly args: unknown[];
  #scheduler: DelayedCallScheduler;

  /**
   * Creates a call due at `time`; the scheduler pushes it into its heap.
   *
   * @param time the deadline, in the scheduler's seconds
   * @param f the function to call
   * @param args its arguments
   * @param scheduler what runs the call
   */
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

  /**
   * The time at which the call will run.
   *
   * @returns the deadline, in the scheduler's seconds
   */
  getTime(): number {
    return this.time;
  }

  /**
   * Whether the call has neither run nor been cancelled.
   *
   * @returns `true` while the call is pending
   */
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
   * @throws {AlreadyCalled} if it has run (or is running)
   */
  cancel(): void {
    this.#check();
    this.cancelled = true;
    this.#scheduler.heap.remove(this);
    this.#scheduler.changed();
  }

  /**
   * Runs the call `secondsFromNow` seconds from now instead, earlier or later
   * than planned. It then runs after calls already due at the same time.
   *
   * @param secondsFromNow the new delay, from now
   * @throws {RangeError} for a negative or non-finite delay
   * @throws {AlreadyCancelled} if it was cancelled
   * @throws {AlreadyCalled} if it has run
   */
  reset(secondsFromNow: number): void {
    this.#check();
    checkDelay(secondsFromNow);
    this.time = this.#scheduler.seconds() + secondsFromNow;
    this.#scheduler.heap.update(this);
    this.#scheduler.changed();
  }

  /**
   * Runs the call `secondsLater` seconds later than planned (earlier for a
   * negative number, as in Twisted).
   *
   * @param secondsLater how much to add to the deadline
   * @throws {RangeError} for a non-finite amount
   * @throws {AlreadyCancelled} if it was cancelled
   * @throws {AlreadyCalled} if it has run
   */
  delay(secondsLater: number): void {
    this.#check();
    if (typeof secondsLater !== "number" || !Number.isFinite(secondsLater)) {
      throw new RangeError(
        `Cannot delay a call by "${secondsLater}" seconds: not a finite number`,
      );
    }
    this.time += secondsLater;
    this.#scheduler.heap.update(this);
    this.#scheduler.changed();
  }

  /**
   * A readable form for debugging.
   *
   * @returns for example `<DelayedCall tick in 1.500s>`
   */
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
 * @param delay the delay in seconds
 * @throws {RangeError} for a negative, infinite or non-number delay
 *
 * @example Rejecting a negative delay
 * ```ts
 * import { checkDelay } from "./base.ts";
 * import { assertThrows } from "@std/assert";
 *
 * checkDelay(0.5);
 * assertThrows(() => checkDelay(-1), RangeError, 'Invalid delay "-1"');
 * ```
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

/** How long the keepalive interval waits between its (empty) ticks. */
const KEEPALIVE_MS = 1_073_741_824;

const PHASES: readonly TriggerPhase[] = ["before", "during", "after"];

/**
 * A signal this soon after the one that started the shutdown is the same
 * Ctrl-C delivered twice, not the user insisting: a terminal signals the
 * whole foreground process group, and `deno task` forwards what it receives
 * to its child as well (measured: one SIGINT sent to `deno task echo` reached
 * the server twice, 8 ms apart, in 5 runs of 60; sent straight to `deno run`,
 * in none of 120).
 */
const DUPLICATE_SIGNAL_MS = 250;

/** The signal numbers, for the exit code of a forced exit (128 + number). */
const SIGNAL_NUMBERS: Partial<Record<Deno.Signal, number>> = {
  SIGINT: 2,
  SIGTERM: 15,
  SIGBREAK: 21,
};

/**
 * Options of {@linkcode ReactorBase.run}.
 *
 * @example Running without signal handlers
 * ```ts
 * import { Reactor } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const reactor = new Reactor();
 * const seen: boolean[] = [];
 * reactor.callWhenRunning(() => {
 *   seen.push(reactor.running);
 *   reactor.stop();
 * });
 * await reactor.run({ installSignalHandlers: false });
 * assertEquals(seen, [true]);
 * ```
 */
export interface RunOptions {
  /**
   * Whether to stop the reactor gracefully on SIGINT and SIGTERM (SIGINT and
   * SIGBREAK on Windows). Turn it off when the program handles signals
   * itself (Twisted's `installSignalHandlers=False`).
   *
   * @default {true}
   */
  installSignalHandlers?: boolean;
}

interface Trigger {
  readonly id: number;
  readonly f: (...args: never[]) => unknown;
  readonly args: unknown[];
}

/**
 * The pending triggers of one system event, by phase (Twisted's
 * `_ThreePhaseEvent`). A trigger leaves its list when it runs, so each runs
 * once, and a trigger added to a phase while that phase fires runs in it.
 */
class ThreePhaseEvent {
  readonly phases: Record<TriggerPhase, Trigger[]> = {
    before: [],
    during: [],
    after: [],
  };
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

function checkCallable(f: unknown): void {
  if (typeof f !== "function") {
    throw new TypeError(`Invalid callable "${String(f)}": expected a function`);
  }
}

function describeTrigger(id: unknown): string {
  if (typeof id !== "object" || id === null) return String(id);
  const { phase, eventType, id: n } = id as Partial<TriggerID>;
  return `${String(phase)} ${String(eventType)} #${String(n)}`;
}

let nextTriggerId = 1;

/**
 * The life cycle and timers every reactor shares: `run`/`stop`, system event
 * triggers, and `callLater` on one timer heap with one native timer armed for
 * the earliest deadline.
 *
 * Internal: its behaviour is documented on `Reactor`, the public face of
 * every reactor (users see `IReactorCore` and `IReactorTime`).
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
 *
 * @internal
 */
export class ReactorBase implements IReactorCore, IReactorTime {
  /**
   * Seconds that `stop()` lets connections flush their writes before
   * aborting them.
   *
   * @default {5}
   */
  shutdownTimeout: number = 5;

  #heap = new TimerHeap<DelayedCall>();
  #scheduler: DelayedCallScheduler;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The deadline `#timer` was armed for (it may fire earlier: see MAX_TIMER_MS). */
  #timerDeadline = Infinity;
  #immediate = false;
  #inPass = false;

  #events = new Map<string, ThreePhaseEvent>();
  /** Between the "during" phases of startup and shutdown. */
  #running = false;
  /** From `run()` to the "during" phase of shutdown (Twisted's `_started`). */
  #started = false;
  /** True until `run()`, and again from `stop()` on (Twisted's `_stopped`). */
  #stopped = true;
  /** `stop()` was called; the next pass fires "shutdown". */
  #justStopped = false;
  /** `stop()` was called once: the reactor cannot run again. */
  #startedBefore = false;
  #installSignals = true;
  #keepAlive: ReturnType<typeof setInterval> | undefined;
  #signals: [Deno.Signal, () => void][] = [];
  /** When a signal started the shutdown (`performance.now()`). */
  #signalledAt = -Infinity;
  /** `run()` installed the unhandled-rejection guard; shutdown removes it. */
  #guarding = false;
  #done = Promise.withResolvers<void>();
  /** Every port, connection, UDP port and process live on this reactor. */
  readonly #resources: ResourceRegistry = new ResourceRegistry(this);

  static {
    // The internal modules (tcp.ts, udp.ts, process.ts, tests' bookkeeping)
    // reach the registry through this; users never see it.
    grantReactorInternals({
      registry: (reactor) =>
        #resources in reactor ? (reactor as ReactorBase).#resources : undefined,
      triggerCount: (reactor) =>
        #events in reactor
          ? (reactor as ReactorBase).#triggerCount()
          : undefined,
    });
  }

  /** Creates a reactor that is not running. */
  constructor() {
    this.#scheduler = {
      seconds: () => this.seconds(),
      heap: this.#heap,
      changed: () => this.#rearm(),
    };
    // The first triggers of their phases, so user triggers in "during" and
    // "after" see the new state (Twisted's `_reallyStartRunning` and `crash`).
    this.addSystemEventTrigger("during", "startup", () => {
      // A shutdown may have finished while a "before" trigger held startup.
      if (!this.#started) return;
      this.#running = true;
      if (this.#installSignals) this.#installSignalHandlers();
    });
    this.addSystemEventTrigger("during", "shutdown", () => {
      this.#running = false;
      this.#started = false;
    });
    // One trigger closes everything the reactor owns (Twisted's
    // `disconnectAll`, installed here as Twisted does): resources register
    // with the registry instead of adding triggers of their own.
    this.addSystemEventTrigger(
      "during",
      "shutdown",
      () => this.#resources.shutdown(),
    );
  }

  #triggerCount(): number {
    let count = 0;
    for (const event of this.#events.values()) {
      for (const phase of PHASES) count += event.phases[phase].length;
    }
    return count;
  }

  /**
   * Whether the reactor is running: from the `"during"` phase of startup to
   * that of shutdown.
   */
  get running(): boolean {
    return this.#running;
  }

  /**
   * Runs the reactor: fires the `"startup"` event, keeps the process alive
   * and, in the `"during"` phase of startup, installs SIGINT and SIGTERM
   * handlers (SIGINT and SIGBREAK on Windows) that stop it gracefully; all
   * until `stop()`. The returned promise resolves once shutdown has completely
   * finished; scripts need not await it.
   *
   * A reactor runs once: after `stop()` it cannot be run again.
   *
   * @param options whether to install the signal handlers
   * @returns a promise that resolves when shutdown has finished
   * @throws {ReactorAlreadyRunning} if it is running (or still shutting down)
   * @throws {ReactorNotRestartable} if it has been stopped before
   */
  run(options?: RunOptions): Promise<void> {
    options ??= {};
    if (this.#started) throw new ReactorAlreadyRunning();
    if (this.#startedBefore) throw new ReactorNotRestartable();
    this.#started = true;
    this.#stopped = false;
    this.#installSignals = options.installSignalHandlers ?? true;
    // A long empty interval is what keeps Deno's event loop (and the
    // process) alive; shutdown clears it.
    this.#keepAlive = setInterval(() => {}, KEEPALIVE_MS);
    // While it runs, a stray rejected promise is logged, not fatal.
    guardRejections();
    this.#guarding = true;
    this.fireSystemEvent("startup");
    return this.#done.promise;
  }

  /**
   * Stops the reactor: on the next pass of the event loop, after the timed
   * calls already due, it fires the `"shutdown"` event (`"before"`,
   * `"during"`, `"after"`), then cancels every pending call, logs unhandled
   * failures of Deferreds, removes its signal handlers and lets the process
   * exit.
   *
   * @throws {ReactorNotRunning} if it is not running (or already stopping)
   */
  stop(): void {
    if (this.#stopped) throw new ReactorNotRunning();
    this.#stopped = true;
    this.#justStopped = true;
    this.#startedBefore = true;
    this.#requestPass();
  }

  /**
   * Calls `f(...args)` once the reactor is running (in the `"after"` phase of
   * startup), or at once if it is. What `f` throws is logged.
   *
   * @param f the function to call
   * @param args its arguments
   * @returns the trigger's handle, or `undefined` if `f` was called at once
   */
  callWhenRunning<A extends unknown[]>(
    f: (...args: A) => unknown,
    ...args: A
  ): TriggerID | undefined {
    checkCallable(f);
    if (this.#running) {
      watchResult(
        callLogged(
          f as (...args: never[]) => unknown,
          args,
          "Unhandled error in callWhenRunning",
        ),
        "Unhandled error in callWhenRunning",
      );
      return undefined;
    }
    return this.addSystemEventTrigger("after", "startup", f, ...args);
  }

  /**
   * Calls `f(...args)` in `phase` of `eventType` (`"startup"`, `"shutdown"` or
   * any name given to `fireSystemEvent`). A trigger returning a Deferred or a
   * Promise delays the next phase until it settles. Each trigger runs once;
   * one added to a phase while that phase fires runs in it.
   *
   * @param phase `"before"`, `"during"` or `"after"`
   * @param eventType the event
   * @param f the function to call
   * @param args its arguments
   * @returns a handle for `removeSystemEventTrigger`
   * @throws {TypeError} for an unknown phase or a non-function
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
    checkCallable(f);
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
   * Removes a trigger that has not run yet; removed while its event fires, it
   * does not run.
   *
   * @param id the handle `addSystemEventTrigger` returned
   * @throws {TypeError} if `id` names no pending trigger (it ran, was removed
   * or is not a handle), as Twisted raises `ValueError`
   */
  removeSystemEventTrigger(id: TriggerID): void {
    const triggers = typeof id === "object" && id !== null &&
        PHASES.includes(id.phase)
      ? this.#events.get(id.eventType)?.phases[id.phase]
      : undefined;
    const i = triggers?.findIndex((t) => t.id === id.id) ?? -1;
    if (i < 0) {
      throw new TypeError(
        `Invalid trigger handle "${
          describeTrigger(id)
        }": it ran, was removed, or was never added`,
      );
    }
    triggers!.splice(i, 1);
  }

  /**
   * Fires the triggers of `eventType`, phase by phase; a phase whose triggers
   * returned Deferreds or Promises waits for them before the next one runs.
   *
   * @param eventType the event
   */
  fireSystemEvent(eventType: SystemEventType | string): void {
    this.#fire(eventType, () => {});
  }

  #fire(eventType: string, done: () => void): void {
    const event = this.#events.get(eventType);
    if (!event) return done();
    const why = `Unhandled error in "${eventType}" trigger`;
    const runFrom = (index: number): void => {
      for (let i = index; i < PHASES.length; i++) {
        const phase = event.phases[PHASES[i]];
        const waits: PromiseLike<unknown>[] = [];
        // Shift, not iterate: triggers added meanwhile run in this phase and
        // removed ones do not run.
        for (let t = phase.shift(); t; t = phase.shift()) {
          const result = callLogged(t.f, t.args, why);
          if (isThenable(result)) waits.push(result);
        }
        if (waits.length > 0) {
          let pending = waits.length;
          const settled = (): void => {
            if (--pending === 0) runFrom(i + 1);
          };
          for (const wait of waits) {
            if (wait instanceof Deferred) {
              // As Twisted's DeferredList: synchronous when it fires, and the
              // result (or failure) passes through to the owner's callbacks.
              wait.addBoth((result: unknown) => {
                settled();
                return result;
              });
            } else {
              Promise.resolve(wait).then(settled, (e) => {
                log.err(e, why);
                settled();
              });
            }
          }
          return;
        }
      }
      done();
    };
    runFrom(0);
  }

  #finishShutdown = (): void => {
    for (const call of this.#heap.values()) call.cancelled = true;
    this.#heap.clear();
    this.#rearm();
    this.#removeSignalHandlers();
    clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
    if (this.#guarding) {
      this.#guarding = false;
      unguardRejections();
    }
    reportUnhandledDeferreds();
    this.#done.resolve();
  };

  #installSignalHandlers(): void {
    const signals: Deno.Signal[] = Deno.build.os === "windows"
      ? ["SIGINT", "SIGBREAK"]
      : ["SIGINT", "SIGTERM"];
    for (const signal of signals) {
      const handler = (): void => this.#onSignal(signal);
      try {
        Deno.addSignalListener(signal, handler);
        this.#signals.push([signal, handler]);
      } catch {
        // This platform (or a worker) cannot deliver it; nothing to install.
      }
    }
  }

  #onSignal(signal: Deno.Signal): void {
    const now = performance.now();
    if (!this.#stopped) {
      log.msg(`Received ${signal}, shutting down`);
      this.#signalledAt = now;
      this.stop();
      return;
    }
    if (now - this.#signalledAt < DUPLICATE_SIGNAL_MS) return;
    // The shutdown is under way and the user insists: a stuck shutdown
    // trigger must not leave a process that only SIGKILL can end.
    log.warn(`Received ${signal} while shutting down, exiting at once`);
    Deno.exit(128 + (SIGNAL_NUMBERS[signal] ?? 0));
  }

  #removeSignalHandlers(): void {
    for (const [signal, handler] of this.#signals) {
      Deno.removeSignalListener(signal, handler);
    }
    this.#signals = [];
  }

  /**
   * The current time in seconds: monotonic, and aligned with the epoch when
   * the process started.
   *
   * @returns seconds since the epoch, with sub-millisecond precision
   */
  seconds(): number {
    return (performance.timeOrigin + performance.now()) / 1000;
  }

  /**
   * Calls `f(...args)` after `delay` seconds. What `f` throws (or the promise
   * it returns rejects with) is logged; the reactor goes on. Calls run whether
   * or not the reactor was started with `run()` (see the class docs).
   *
   * @param delay seconds from now (0 runs it on the next pass of the event
   * loop, without `setTimeout`'s minimum delay)
   * @param f the function to call
   * @param args its arguments
   * @returns the call, to cancel, reset or delay it
   * @throws {RangeError} for a negative or non-finite delay
   * @throws {TypeError} if `f` is not a function
   */
  callLater<A extends unknown[]>(
    delay: number,
    f: (...args: A) => unknown,
    ...args: A
  ): DelayedCall {
    checkDelay(delay);
    checkCallable(f);
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

  /**
   * Resolves a host name to an IPv4 address (Twisted's
   * `IReactorCore.resolve`) with the system resolver, so names in the hosts
   * file (`localhost`) resolve too. `""` is `"0.0.0.0"`; an IPv4 address is
   * itself.
   *
   * Requires `--allow-net` for the name (e.g. `--allow-net=example.com`).
   *
   * @param name the host name
   * @param timeout seconds to wait, or Twisted's list of retry delays
   * (summed); default `[1, 3, 11, 45]`
   * @returns a Deferred of the address; fails with `DNSLookupError` when the
   * name does not resolve, the lookup times out, or the permission is missing
   * (the message names the flag)
   *
   * @example Looking up a name
   * ```ts
   * import { DNSLookupError, Reactor } from "@twist/twist";
   * import { assertEquals, assertInstanceOf } from "@std/assert";
   *
   * const reactor = new Reactor();
   * assertEquals(await reactor.resolve("localhost"), "127.0.0.1"); // --allow-net=localhost
   * await reactor.resolve("nonexistent.invalid").addErrback((failure) => {
   *   assertInstanceOf(failure.value, DNSLookupError);
   * });
   * ```
   */
  resolve(
    name: string,
    timeout?: number | readonly number[],
  ): Deferred<string> {
    return resolve(this, name, timeout);
  }

  /**
   * Every pending delayed call, earliest first.
   *
   * @returns the calls that have neither run nor been cancelled
   */
  getDelayedCalls(): DelayedCall[] {
    return this.#heap.values().sort((a, b) => a.time - b.time || a.seq - b.seq);
  }

  /**
   * Makes sure a pass runs no later than the earliest deadline. A timer armed
   * for a later deadline than needed is replaced; one armed earlier than
   * needed is left to fire and re-arm (cheaper than re-arming on every
   * cancel). Due calls go through `setImmediate`, which does not pay
   * `setTimeout`'s nested-timer clamp (about 2 ms per chained call here,
   * against 5 µs).
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
      this.#requestPass();
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

  #requestPass(): void {
    if (this.#immediate) return;
    this.#immediate = true;
    setImmediate(this.#onImmediate);
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

  /**
   * Runs every call due now (calls scheduled meanwhile wait for the next
   * pass), then fires "shutdown" if `stop()` was called, as Twisted's
   * `runUntilCurrent` does.
   */
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
        // Cancelled meanwhile, or reset or delayed (back in the heap): not now.
        if (call.cancelled || call.called || call.heapIndex !== -1) continue;
        call.called = true;
        const result = callLogged(
          call.f,
          call.args,
          "Unhandled error in delayed call",
        );
        watchResult(result, "Unhandled error in delayed call");
      }
    } finally {
      this.#inPass = false;
    }
    if (this.#justStopped) {
      this.#justStopped = false;
      this.#fire("shutdown", this.#finishShutdown);
    }
    this.#rearm();
  }
}
