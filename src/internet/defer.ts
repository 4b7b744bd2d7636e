/**
 * Deferreds (`twisted.internet.defer`): results that arrive later, with chains
 * of callbacks and errbacks that fire synchronously, exactly as Twisted's do —
 * and `PromiseLike`, so `await d` works.
 *
 * @module
 */
import { Failure } from "./failure.ts";
import { TimeoutError } from "./error.ts";
import type { IReactorTime } from "./interfaces.ts";
import { log } from "../logger.ts";

/**
 * A Deferred was fired (`callback`/`errback`) a second time.
 *
 * @example
 * ```ts
 * import { AlreadyCalledError, Deferred } from "@twist/twist";
 * import { assertThrows } from "@std/assert";
 *
 * const d = new Deferred<number>();
 * d.callback(1);
 * assertThrows(() => d.callback(2), AlreadyCalledError);
 * ```
 */
export class AlreadyCalledError extends Error {
  /** The error's name. */
  override name = "AlreadyCalledError";
  /** Creates the error. */
  constructor(
    message = "Deferred has already been called",
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The failure of a cancelled Deferred.
 *
 * @example
 * ```ts
 * import { CancelledError, Deferred } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * const d = new Deferred();
 * let cancelled = false;
 * d.addErrback((f) => { cancelled = !!f.check(CancelledError); });
 * d.cancel();
 * assert(cancelled);
 * ```
 */
export class CancelledError extends Error {
  /** The error's name. */
  override name = "CancelledError";
  /** Creates the error. */
  constructor(message = "Deferred was cancelled", options?: ErrorOptions) {
    super(message, options);
  }
}

/** What a callback may return: a value, a Deferred or Promise of one, or a Failure. */
export type CallbackReturn<U> = U | PromiseLike<U> | Failure;

type AnyFn = (result: unknown, ...args: unknown[]) => unknown;

/** The marker for "pass the result to this chained Deferred" (Twisted's `_CONTINUE`). */
const CONTINUE: AnyFn = () => undefined;

interface ChainItem {
  cb: AnyFn | null;
  cbArgs: unknown[];
  eb: AnyFn | null;
  ebArgs: unknown[];
  /** For CONTINUE items: the Deferred waiting for this one's result. */
  chainee?: Deferred<unknown>;
}

// ---------------------------------------------------------------------------
// Unhandled failures: tracked per Deferred with a token that does not refer to
// the Deferred, so the FinalizationRegistry can report it once collected.

interface UnhandledToken {
  failure: Failure;
}

const unhandled = new Set<UnhandledToken>();
/** Failures already handed to a Promise (via `then`): the Promise reports them. */
const deliveredToPromise = new WeakSet<Failure>();

function reportToken(token: UnhandledToken): void {
  if (!unhandled.delete(token)) return;
  log.err(token.failure, "Unhandled error in Deferred");
}

const registry = new FinalizationRegistry<UnhandledToken>(reportToken);

/**
 * Logs (through `log.err`) every Deferred that still holds an unhandled failure
 * at the end of its chain, and returns how many there were. Each is reported
 * once. The reactor calls this at the end of shutdown; failures in Deferreds
 * that are garbage collected are reported when they are collected.
 *
 * @example
 * ```ts
 * import { fail, log, reportUnhandledDeferreds } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * using logs = log.capture();
 * const d = fail(new Error("nobody handles me"));
 * assertEquals(reportUnhandledDeferreds(), 1);
 * assertEquals(logs.flushErrors(Error).length, 1);
 * d.addErrback(() => {}); // handled now, and never reported again
 * ```
 */
export function reportUnhandledDeferreds(): number {
  const tokens = [...unhandled];
  for (const token of tokens) reportToken(token);
  return tokens.length;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function";
}

/** The options of {@linkcode Deferred.addCallbacks}. */
export interface AddCallbacksOptions {
  /** Extra arguments for the callback. */
  callbackArgs?: unknown[];
  /** Extra arguments for the errback. */
  errbackArgs?: unknown[];
}

/**
 * A result that will arrive later, with a chain of callbacks and errbacks.
 *
 * Each callback receives the previous one's result; a callback that throws (or
 * returns a `Failure`) switches the chain to the errback path, and an errback
 * that returns a value switches it back. A callback that returns a Deferred
 * (or a Promise) pauses the chain until that settles. Callbacks run
 * synchronously: when `callback()` is called, or when they are added to a
 * Deferred that has already fired.
 *
 * Deferreds are `PromiseLike`, so `await d` works. Unlike Twisted, where
 * `await` consumes the result, observing with `then`/`await` does not change
 * the value later callbacks see. Callbacks added before an `await` run before
 * the awaiting code resumes, since they fire synchronously.
 *
 * @example Chaining callbacks and errbacks
 * ```ts
 * import { Deferred } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const d = new Deferred<number>();
 * const seen: string[] = [];
 * d.addCallback((n) => n * 2)
 *   .addCallback((n) => { throw new Error(`too big: ${n}`); })
 *   .addErrback((f) => f.getErrorMessage())
 *   .addCallback((text) => seen.push(text));
 * d.callback(21);
 * assertEquals(seen, ["too big: 42"]);
 * ```
 *
 * @example Awaiting does not consume the result, and callbacks run first
 * ```ts
 * import { Deferred } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const d = new Deferred<string>();
 * const order: string[] = [];
 * setTimeout(() => d.callback("hello"), 0);
 * d.addCallback((v) => { order.push("callback"); return v; });
 * const value = await d;
 * order.push("await resumed");
 * assertEquals(value, "hello");
 * assertEquals(order, ["callback", "await resumed"]);
 * d.addCallback((v) => assertEquals(v, "hello")); // still there
 * ```
 */
export class Deferred<T = unknown> implements PromiseLike<T> {
  /** Whether `callback` or `errback` has been called. */
  called = false;
  /** How many times `pause` was called more than `unpause`. */
  paused = 0;
  /**
   * The current result: the value (or `Failure`) the next callback will get,
   * or the Deferred being waited on while paused by one.
   */
  result: unknown = undefined;

  #chain: ChainItem[] = [];
  #next = 0;
  #running = false;
  // Typed loosely so Deferred<T> stays covariant in T (Deferred<never> fits Deferred<number>).
  #canceller?: (d: never) => void;
  #suppressAlreadyCalled = false;
  #token: UnhandledToken | undefined;

  /**
   * Creates a Deferred. `canceller` is called by `cancel()` before it fires; if
   * the canceller does not fire it, it fails with `CancelledError`.
   */
  constructor(canceller?: (d: Deferred<T>) => void) {
    this.#canceller = canceller;
  }

  /** Makes a Deferred that fires when `promise` settles. */
  static fromPromise<U>(promise: PromiseLike<U>): Deferred<U> {
    if (promise instanceof Deferred) return promise;
    const d = new Deferred<U>();
    promise.then((v) => d.callback(v), (e) => d.errback(e));
    return d;
  }

  /**
   * Fires the Deferred with `result`, running the callbacks.
   *
   * @throws {AlreadyCalledError} if it has fired already
   */
  callback(result: T): void {
    if (result instanceof Deferred) {
      throw new TypeError(
        "Cannot fire a Deferred with another Deferred: chain them with chainDeferred",
      );
    }
    this.#startRunCallbacks(result);
  }

  /**
   * Fires the Deferred with a failure (anything thrown; wrapped in a `Failure`),
   * running the errbacks.
   *
   * @throws {AlreadyCalledError} if it has fired already
   */
  errback(reason?: unknown): void {
    const failure = reason === undefined
      ? new Failure(new Error("Deferred.errback() was called without a reason"))
      : Failure.from(reason);
    this.#startRunCallbacks(failure);
  }

  #startRunCallbacks(result: unknown): void {
    if (this.called) {
      if (this.#suppressAlreadyCalled) {
        this.#suppressAlreadyCalled = false;
        return;
      }
      throw new AlreadyCalledError();
    }
    this.called = true;
    this.result = result;
    this.#runCallbacks();
  }

  /**
   * Adds a callback and an errback at the same level of the chain: only one of
   * them runs, depending on whether the result is a failure.
   */
  addCallbacks<U, V = U>(
    callback: ((result: T, ...args: never[]) => CallbackReturn<U>) | null,
    errback: ((failure: Failure, ...args: never[]) => CallbackReturn<V>) | null,
    options: AddCallbacksOptions = {},
  ): Deferred<U | V> {
    this.#chain.push({
      cb: callback as AnyFn | null,
      cbArgs: options.callbackArgs ?? [],
      eb: errback as AnyFn | null,
      ebArgs: options.errbackArgs ?? [],
    });
    if (this.called) this.#runCallbacks();
    return this as unknown as Deferred<U | V>;
  }

  /** Adds a callback, called with the result and `args`. */
  addCallback<U, A extends unknown[] = []>(
    callback: (result: T, ...args: A) => CallbackReturn<U>,
    ...args: A
  ): Deferred<U> {
    return this.addCallbacks(
      callback as unknown as (result: T) => CallbackReturn<U>,
      null,
      { callbackArgs: args },
    );
  }

  /** Adds an errback, called with the `Failure` and `args`. */
  addErrback<U = T, A extends unknown[] = []>(
    errback: (failure: Failure, ...args: A) => CallbackReturn<U>,
    ...args: A
  ): Deferred<T | U> {
    return this.addCallbacks(
      null,
      errback as unknown as (f: Failure) => CallbackReturn<U>,
      { errbackArgs: args },
    ) as Deferred<
      T | U
    >;
  }

  /** Adds a function called with the result or the `Failure`, whichever comes. */
  addBoth<U, A extends unknown[] = []>(
    f: (result: T | Failure, ...args: A) => CallbackReturn<U>,
    ...args: A
  ): Deferred<U> {
    return this.addCallbacks(
      f as unknown as (r: T) => CallbackReturn<U>,
      f as unknown as (r: Failure) => CallbackReturn<U>,
      {
        callbackArgs: args,
        errbackArgs: args,
      },
    );
  }

  /**
   * Fires `other` with this Deferred's result when it arrives; the rest of this
   * chain then sees `undefined`, as in Twisted.
   */
  chainDeferred(other: Deferred<T>): Deferred<undefined> {
    return this.addCallbacks(
      (r: T) => other.callback(r),
      (f: Failure) => other.errback(f),
    ) as Deferred<undefined>;
  }

  /**
   * Fails the Deferred with `TimeoutError` if it has not fired `timeout`
   * seconds from now on `clock` (it is cancelled, then the `CancelledError` is
   * turned into a `TimeoutError`, or into what `onTimeoutCancel` returns).
   */
  addTimeout(
    timeout: number,
    clock: IReactorTime,
    onTimeoutCancel?: (result: unknown, timeout: number) => unknown,
  ): Deferred<T> {
    let timedOut = false;
    const call = clock.callLater(timeout, () => {
      timedOut = true;
      this.cancel();
    });
    this.addBoth((result: T | Failure) => {
      if (!timedOut) return result;
      if (onTimeoutCancel) return onTimeoutCancel(result, timeout);
      if (result instanceof Failure) {
        result.trap(CancelledError);
        throw new TimeoutError(`Deferred timed out after ${timeout} seconds`);
      }
      return result;
    });
    this.addBoth((result) => {
      if (call.active()) call.cancel();
      return result;
    });
    return this;
  }

  /**
   * Cancels the Deferred: if it has not fired, calls the canceller and, if that
   * did not fire it, fails it with `CancelledError`; if it is waiting on a
   * Deferred returned by a callback, cancels that one.
   */
  cancel(): void {
    if (!this.called) {
      const canceller = this.#canceller;
      if (canceller) canceller(this as never);
      else this.#suppressAlreadyCalled = true;
      if (!this.called) this.errback(new CancelledError());
    } else if (this.result instanceof Deferred) {
      this.result.cancel();
    }
  }

  /** Stops running callbacks until `unpause` is called as many times. */
  pause(): void {
    this.paused++;
  }

  /** Undoes one `pause`; runs the pending callbacks once no pause is left. */
  unpause(): void {
    this.paused--;
    if (this.paused > 0) return;
    if (this.called) this.#runCallbacks();
  }

  /**
   * Observes the result as a Promise does. It does not change the result that
   * later callbacks see; a failure handed to `onrejected` counts as handled.
   */
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.asPromise().then(onfulfilled, onrejected);
  }

  /** A Promise that settles with this Deferred's result (the result itself is unchanged). */
  asPromise(): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.addCallbacks(
        (value: T) => {
          resolve(value);
          return value;
        },
        (failure: Failure) => {
          deliveredToPromise.add(failure);
          reject(failure.value);
          return failure;
        },
      );
    });
  }

  #untrack(): void {
    const token = this.#token;
    if (!token) return;
    this.#token = undefined;
    unhandled.delete(token);
    registry.unregister(token);
  }

  #track(failure: Failure): void {
    if (deliveredToPromise.has(failure)) return this.#untrack();
    if (this.#token?.failure === failure) return;
    this.#untrack();
    const token = { failure };
    this.#token = token;
    unhandled.add(token);
    registry.register(this, token, token);
  }

  /** The continuation a chained Deferred leaves in the chain of the one it waits on. */
  #continueTo(chainee: Deferred<unknown>): void {
    this.#chain.push({
      cb: CONTINUE,
      cbArgs: [],
      eb: CONTINUE,
      ebArgs: [],
      chainee,
    });
  }

  /**
   * Runs the chain. Deferreds returned by callbacks are followed with an
   * explicit stack instead of recursion, so long chains cannot overflow.
   */
  #runCallbacks(): void {
    if (this.#running) return; // Already running further up the stack.
    const stack: Deferred<unknown>[] = [this as Deferred<unknown>];
    while (stack.length > 0) {
      const current = stack[stack.length - 1];
      if (current.paused > 0) return;
      let finished = true;
      while (current.#next < current.#chain.length) {
        const item = current.#chain[current.#next++];
        const isFailure = current.result instanceof Failure;
        const f = isFailure ? item.eb : item.cb;
        if (f === null) continue;
        if (f === CONTINUE) {
          const chainee = item.chainee!;
          chainee.result = current.result;
          current.result = undefined;
          current.#untrack();
          chainee.paused--;
          stack.push(chainee);
          finished = false;
          break;
        }
        current.#untrack();
        let result: unknown;
        current.#running = true;
        try {
          result = f(
            current.result,
            ...(isFailure ? item.ebArgs : item.cbArgs),
          );
        } catch (e) {
          result = Failure.from(e);
        } finally {
          current.#running = false;
        }
        if (result === current) {
          result = new Failure(
            new TypeError(
              "A callback returned the Deferred it was attached to",
            ),
          );
        }
        if (isThenable(result) && !(result instanceof Deferred)) {
          result = Deferred.fromPromise(result);
        }
        current.result = result;
        if (result instanceof Deferred) {
          const inner = result as Deferred<unknown>;
          if (
            !inner.called || inner.result instanceof Deferred ||
            inner.paused > 0 || inner.#running
          ) {
            // Wait for the inner Deferred: it hands its result back through CONTINUE.
            current.pause();
            inner.#continueTo(current);
            if (inner.called && !inner.#running) {
              // It has a result but is paused; it resumes (and continues us) on unpause.
            }
            finished = false;
            break;
          }
          // The inner Deferred already has a result: take it.
          current.result = inner.result;
          inner.result = undefined;
          inner.#untrack();
        }
      }
      if (finished) {
        if (current.#next === current.#chain.length) {
          current.#chain = [];
          current.#next = 0;
        }
        if (current.result instanceof Failure) current.#track(current.result);
        else current.#untrack();
        stack.pop();
      } else if (stack[stack.length - 1] === current) {
        // Paused on an inner Deferred.
        if (current.result instanceof Deferred) current.#untrack();
        return;
      }
    }
  }

  /** A readable form for debugging. */
  toString(): string {
    if (!this.called) return "<Deferred (pending)>";
    if (this.result instanceof Deferred) {
      return "<Deferred (waiting on a Deferred)>";
    }
    return this.result instanceof Failure
      ? `<Deferred (failed: ${this.result.getErrorMessage()})>`
      : `<Deferred (fired: ${String(this.result)})>`;
  }
}

/**
 * A Deferred that has already fired with `result`.
 *
 * @example
 * ```ts
 * import { succeed } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(await succeed(42), 42);
 * ```
 */
export function succeed<T>(result: T): Deferred<T> {
  const d = new Deferred<T>();
  d.callback(result);
  return d;
}

/**
 * A Deferred that has already failed with `reason` (an Error, a Failure, or
 * anything thrown).
 *
 * @example
 * ```ts
 * import { fail } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * let message = "";
 * fail(new Error("nope")).addErrback((f) => { message = f.getErrorMessage(); });
 * assertEquals(message, "nope");
 * ```
 */
export function fail<T = never>(reason?: unknown): Deferred<T> {
  const d = new Deferred<T>();
  d.errback(reason);
  return d;
}

/**
 * Calls `f(...args)` and returns its result as a Deferred: a Deferred as is, a
 * Promise converted, a value as `succeed`, a throw as `fail`.
 *
 * @example
 * ```ts
 * import { maybeDeferred } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(await maybeDeferred((a: number, b: number) => a + b, 1, 2), 3);
 * let failed = false;
 * maybeDeferred(() => { throw new Error("x"); }).addErrback(() => { failed = true; });
 * assertEquals(failed, true);
 * ```
 */
export function maybeDeferred<T, A extends unknown[]>(
  f: (...args: A) => T | PromiseLike<T>,
  ...args: A
): Deferred<T> {
  let result: T | PromiseLike<T>;
  try {
    result = f(...args);
  } catch (e) {
    return fail(e);
  }
  if (result instanceof Deferred) return result;
  if (isThenable(result)) return Deferred.fromPromise(result);
  if (result instanceof Failure) return fail(result);
  return succeed(result as T);
}

/**
 * Turns a Promise, a Deferred, or a coroutine (an async function's result, or
 * an async generator whose last value is the result) into a Deferred.
 *
 * @example
 * ```ts
 * import { ensureDeferred } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const d = ensureDeferred((async () => 7)());
 * assertEquals(await d, 7);
 * ```
 */
export function ensureDeferred<T>(
  coro: PromiseLike<T> | Deferred<T> | AsyncIterator<unknown, T>,
): Deferred<T> {
  if (coro instanceof Deferred) return coro;
  if (isThenable(coro)) return Deferred.fromPromise(coro as PromiseLike<T>);
  if (typeof (coro as AsyncIterator<unknown, T>)?.next === "function") {
    const iterator = coro as AsyncIterator<unknown, T>;
    return Deferred.fromPromise((async () => {
      for (;;) {
        const step = await iterator.next();
        if (step.done) return step.value;
      }
    })());
  }
  throw new TypeError(
    `ensureDeferred() expects a Promise, a Deferred or a coroutine, got "${
      String(coro)
    }"`,
  );
}

/**
 * The failure of a `DeferredList` with `fireOnOneErrback`: which Deferred
 * failed first, and how.
 *
 * @example
 * ```ts
 * import { DeferredList, fail, FirstError, succeed } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * let index = -1;
 * new DeferredList([succeed(1), fail(new Error("two"))], { fireOnOneErrback: true, consumeErrors: true })
 *   .addErrback((f) => { index = (f.value as FirstError).index; });
 * assertEquals(index, 1);
 * ```
 */
export class FirstError extends Error {
  /** The error's name. */
  override name = "FirstError";
  /** The failure of the Deferred that failed. */
  readonly subFailure: Failure;
  /** Its position in the list. */
  readonly index: number;
  /** Creates the error for the Deferred at `index` failing with `failure`. */
  constructor(failure: Failure, index: number) {
    super(`FirstError[#${index}, ${failure}]`, { cause: failure.value });
    this.subFailure = failure;
    this.index = index;
  }
}

/** The options of {@linkcode DeferredList}. */
export interface DeferredListOptions {
  /** Fire with `[result, index]` as soon as one Deferred succeeds. */
  fireOnOneCallback?: boolean;
  /** Fail with `FirstError` as soon as one Deferred fails. */
  fireOnOneErrback?: boolean;
  /**
   * Turn each Deferred's failure into `undefined` for callbacks added to it
   * later, so it is not reported as unhandled.
   */
  consumeErrors?: boolean;
}

/** One entry of a `DeferredList`'s result: `[true, value]` or `[false, failure]`. */
export type DeferredListResult<T> = [true, T] | [false, Failure];

/**
 * Collects the results of several Deferreds: fires with a list of
 * `[success, result]` pairs, in the order of the list, once all have fired
 * (or as the options say).
 *
 * @example
 * ```ts
 * import { Deferred, DeferredList, succeed } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const later = new Deferred<number>();
 * const list = new DeferredList([later, succeed(2)]);
 * later.callback(1);
 * assertEquals(await list, [[true, 1], [true, 2]]);
 * ```
 */
export class DeferredList<T = unknown>
  extends Deferred<DeferredListResult<T>[]> {
  /** The results so far, by position (`undefined` until that one fires). */
  readonly resultList: (DeferredListResult<T> | undefined)[];
  /** How many of the Deferreds have fired. */
  finishedCount = 0;
  #deferreds: Deferred<T>[];

  /** Tracks `deferreds`. */
  constructor(
    deferreds: Iterable<Deferred<T>>,
    options: DeferredListOptions = {},
  ) {
    super();
    this.#deferreds = [...deferreds];
    const {
      fireOnOneCallback = false,
      fireOnOneErrback = false,
      consumeErrors = false,
    } = options;
    this.resultList = new Array(this.#deferreds.length).fill(undefined);
    if (this.#deferreds.length === 0 && !fireOnOneCallback) this.callback([]);
    this.#deferreds.forEach((d, index) => {
      const settle = (result: T | Failure, succeeded: boolean): unknown => {
        this.resultList[index] = succeeded
          ? [true, result as T]
          : [false, result as Failure];
        this.finishedCount++;
        if (!this.called) {
          if (succeeded && fireOnOneCallback) {
            (this as Deferred<unknown>).callback([result, index]);
          } else if (!succeeded && fireOnOneErrback) {
            this.errback(new FirstError(result as Failure, index));
          } else if (this.finishedCount === this.resultList.length) {
            this.callback(this.resultList as DeferredListResult<T>[]);
          }
        }
        return !succeeded && consumeErrors ? undefined : result;
      };
      d.addCallbacks(
        (r: T) => settle(r, true),
        (f: Failure) => settle(f, false),
      );
    });
  }

  /** Cancels every Deferred in the list, unless the list has fired. */
  override cancel(): void {
    if (this.called) return;
    for (const d of this.#deferreds) {
      try {
        d.cancel();
      } catch (e) {
        log.err(e, "Exception raised from user supplied canceller");
      }
    }
  }
}

/**
 * Fires with the list of results of `deferreds` once all succeed, or fails
 * with the first failure (wrapped in `FirstError`).
 *
 * @example
 * ```ts
 * import { gatherResults, succeed } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(await gatherResults([succeed(1), succeed(2)]), [1, 2]);
 * ```
 */
export function gatherResults<T>(
  deferreds: Iterable<Deferred<T>>,
  consumeErrors = false,
): Deferred<T[]> {
  const list = new DeferredList<T>(deferreds, {
    fireOnOneErrback: true,
    consumeErrors,
  });
  return list.addCallback((results) => results.map((r) => r[1] as T));
}

/**
 * The base of `DeferredLock` and `DeferredSemaphore`: `acquire`, `release`,
 * and `run` to do something while holding it.
 *
 * @example
 * ```ts
 * import { type ConcurrencyPrimitive, DeferredLock } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const guard: ConcurrencyPrimitive = new DeferredLock();
 * assertEquals(await guard.run(() => "done"), "done");
 * ```
 */
export abstract class ConcurrencyPrimitive {
  /** The Deferreds waiting to acquire, in order. */
  readonly waiting: Deferred<this>[] = [];

  /** Returns a Deferred that fires with this object once acquired. */
  abstract acquire(): Deferred<this>;

  /** Releases what `acquire` took. */
  abstract release(): void;

  /**
   * Acquires, calls `f(...args)`, and releases once its result (a value, or a
   * Deferred or Promise of one) is in; fires with that result.
   */
  run<R, A extends unknown[]>(
    f: (...args: A) => R | PromiseLike<R>,
    ...args: A
  ): Deferred<R> {
    return this.acquire().addCallback(() =>
      maybeDeferred(f, ...args).addBoth((r: R | Failure) => {
        this.release();
        return r;
      })
    ) as Deferred<R>;
  }

  /** Removes a cancelled waiter from the queue. */
  protected cancelAcquire(d: Deferred<this>): void {
    const i = this.waiting.indexOf(d);
    if (i >= 0) this.waiting.splice(i, 1);
  }
}

/**
 * A lock for event-driven code: `acquire()` returns a Deferred that fires when
 * the lock is yours.
 *
 * @example
 * ```ts
 * import { DeferredLock } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const lock = new DeferredLock();
 * const order: string[] = [];
 * lock.acquire().addCallback(() => order.push("first"));
 * lock.acquire().addCallback(() => order.push("second"));
 * assertEquals(order, ["first"]);
 * lock.release();
 * assertEquals(order, ["first", "second"]);
 * ```
 */
export class DeferredLock extends ConcurrencyPrimitive {
  /** Whether the lock is held. */
  locked = false;

  /** Fires with the lock when it is acquired (at once if it is free). Cancelling a waiter removes it. */
  acquire(): Deferred<this> {
    const d = new Deferred<this>((waiter) => this.cancelAcquire(waiter));
    if (this.locked) {
      this.waiting.push(d);
    } else {
      this.locked = true;
      d.callback(this);
    }
    return d;
  }

  /**
   * Releases the lock, handing it to the first waiter.
   *
   * @throws {Error} if the lock is not held
   */
  release(): void {
    if (!this.locked) throw new Error("Tried to release an unlocked lock");
    this.locked = false;
    const next = this.waiting.shift();
    if (next) {
      this.locked = true;
      next.callback(this);
    }
  }
}

/**
 * A semaphore for event-driven code: at most `tokens` holders at once.
 *
 * @example Limiting concurrency
 * ```ts
 * import { Deferred, DeferredSemaphore } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const sem = new DeferredSemaphore(2);
 * const jobs = [new Deferred(), new Deferred(), new Deferred()];
 * let started = 0;
 * for (const job of jobs) sem.run(() => { started++; return job; });
 * assertEquals(started, 2);
 * jobs[0].callback(undefined);
 * assertEquals(started, 3);
 * ```
 */
export class DeferredSemaphore extends ConcurrencyPrimitive {
  /** Tokens left. */
  tokens: number;
  /** Tokens in all. */
  readonly limit: number;

  /**
   * Creates a semaphore with `tokens` tokens.
   *
   * @throws {RangeError} if `tokens` is less than 1
   */
  constructor(tokens: number) {
    super();
    if (!(tokens >= 1)) {
      throw new RangeError(
        `Invalid token count "${tokens}": a semaphore needs at least 1`,
      );
    }
    this.tokens = tokens;
    this.limit = tokens;
  }

  /** Fires with the semaphore when a token is acquired. Cancelling a waiter removes it. */
  acquire(): Deferred<this> {
    const d = new Deferred<this>((waiter) => this.cancelAcquire(waiter));
    if (this.tokens === 0) {
      this.waiting.push(d);
    } else {
      this.tokens--;
      d.callback(this);
    }
    return d;
  }

  /**
   * Releases a token, handing it to the first waiter.
   *
   * @throws {Error} if released more often than acquired
   */
  release(): void {
    if (this.tokens >= this.limit) {
      throw new Error("Someone released me too many times: too many tokens");
    }
    this.tokens++;
    const next = this.waiting.shift();
    if (next) {
      this.tokens--;
      next.callback(this);
    }
  }
}

/**
 * `DeferredQueue.put` on a full queue.
 *
 * @example
 * ```ts
 * import { DeferredQueue, QueueOverflow } from "@twist/twist";
 * import { assertThrows } from "@std/assert";
 *
 * const q = new DeferredQueue<number>(1);
 * q.put(1);
 * assertThrows(() => q.put(2), QueueOverflow);
 * ```
 */
export class QueueOverflow extends Error {
  /** The error's name. */
  override name = "QueueOverflow";
  /** Creates the error. */
  constructor(message = "Queue is full", options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * `DeferredQueue.get` when the backlog of waiters is full.
 *
 * @example
 * ```ts
 * import { DeferredQueue, QueueUnderflow } from "@twist/twist";
 * import { assertThrows } from "@std/assert";
 *
 * const q = new DeferredQueue<number>(undefined, 1);
 * q.get();
 * assertThrows(() => q.get(), QueueUnderflow);
 * ```
 */
export class QueueUnderflow extends Error {
  /** The error's name. */
  override name = "QueueUnderflow";
  /** Creates the error. */
  constructor(
    message = "Too many waiters on the queue",
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * An event-driven queue: `get()` returns a Deferred that fires when an item is
 * there.
 *
 * @example
 * ```ts
 * import { DeferredQueue } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const q = new DeferredQueue<string>();
 * const got = q.get();
 * q.put("job");
 * assertEquals(await got, "job");
 * ```
 */
export class DeferredQueue<T> {
  /** Deferreds waiting for items. */
  readonly waiting: Deferred<T>[] = [];
  /** Items waiting for a `get`. */
  readonly pending: T[] = [];
  /** The most items held at once (`undefined`: no limit). */
  readonly size: number | undefined;
  /** The most waiters at once (`undefined`: no limit). */
  readonly backlog: number | undefined;

  /** Creates a queue holding at most `size` items, with at most `backlog` waiters. */
  constructor(size?: number, backlog?: number) {
    this.size = size;
    this.backlog = backlog;
  }

  /**
   * Adds an item, or hands it to the first waiter.
   *
   * @throws {QueueOverflow} if the queue is full
   */
  put(item: T): void {
    const waiter = this.waiting.shift();
    if (waiter) waiter.callback(item);
    else if (this.size === undefined || this.pending.length < this.size) {
      this.pending.push(item);
    } else throw new QueueOverflow();
  }

  /**
   * Takes the next item; the Deferred fires when there is one. Cancelling it
   * removes the waiter.
   *
   * @throws {QueueUnderflow} if the backlog of waiters is full
   */
  get(): Deferred<T> {
    if (this.pending.length > 0) return succeed(this.pending.shift() as T);
    if (this.backlog !== undefined && this.waiting.length >= this.backlog) {
      throw new QueueUnderflow();
    }
    const d: Deferred<T> = new Deferred<T>((waiter) => {
      const i = this.waiting.indexOf(waiter);
      if (i >= 0) this.waiting.splice(i, 1);
    });
    this.waiting.push(d);
    return d;
  }
}
