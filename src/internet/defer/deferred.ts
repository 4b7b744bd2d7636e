/**
 * `Deferred` and the functions that make one (`twisted.internet.defer`):
 * `succeed`, `fail`, `maybeDeferred`, `ensureDeferred`, `inlineCallbacks`, and
 * the reporting of failures nobody handled.
 *
 * @module
 */
import { Failure } from "../failure.ts";
import { TimeoutError } from "../error.ts";
import type { IReactorTime } from "../interfaces.ts";
import { log } from "../../logger.ts";
import { isThenable } from "../common/callbacks.ts";

/**
 * A Deferred was fired (`callback`/`errback`) a second time.
 *
 * @example Using `AlreadyCalledError`
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
 * @example Using `CancelledError`
 * ```ts
 * import { CancelledError, Deferred } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * const d = new Deferred();
 * let cancelled = false;
 * d.addErrback((f) => { cancelled = f.check(CancelledError) !== null; });
 * d.cancel();
 * assert(cancelled);
 * ```
 */
export class CancelledError extends Error {
  /** The error's name. */
  override name = "CancelledError";
  /** Creates the error. */
  constructor(message?: string, options?: ErrorOptions) {
    message ??= "Deferred was cancelled";
    super(message, options);
  }
}

/**
 * `ensureDeferred` (or `Deferred.fromCoroutine`) was given something that is
 * neither a Deferred, a Promise, nor a generator.
 *
 * @example Using `NotACoroutineError`
 * ```ts
 * import { ensureDeferred, NotACoroutineError } from "@twist/twist";
 * import { assertThrows } from "@std/assert";
 *
 * assertThrows(() => ensureDeferred(42 as never), NotACoroutineError);
 * ```
 */
export class NotACoroutineError extends TypeError {
  /** The error's name. */
  override name = "NotACoroutineError";
}

/** What a callback may return: a value, a Deferred or Promise of one, or a Failure. */
export type CallbackReturn<U> = U | PromiseLike<U> | Failure;

/** The options of {@linkcode Deferred.addCallbacks}. */
export interface AddCallbacksOptions {
  /** Extra arguments for the callback. */
  callbackArgs?: unknown[];
  /** Extra arguments for the errback. */
  errbackArgs?: unknown[];
}

type AnyFn = (result: unknown, ...args: unknown[]) => unknown;

/** The marker for "hand the result to the chained Deferred" (Twisted's `_CONTINUE`). */
const CONTINUE: AnyFn = () => undefined;

const NO_ARGS: unknown[] = [];

/** One level of a callback chain; a class so every item has the same shape. */
class ChainItem {
  constructor(
    readonly cb: AnyFn | null,
    readonly cbArgs: unknown[],
    readonly eb: AnyFn | null,
    readonly ebArgs: unknown[],
    /** For `CONTINUE` items: the Deferred waiting for this one's result. */
    readonly chainee: Deferred<unknown> | undefined,
  ) {}
}

// ---------------------------------------------------------------------------
// Unhandled failures. A Deferred whose chain ends in a failure is noted, and
// at the end of the current job (one microtask for all of them) each one still
// holding its failure gets a token, kept in `unhandled` and registered with a
// FinalizationRegistry. Most failures are handled in the same job (`fail()`
// followed by `addErrback`), so they cost no more than the note.
//
// The token holds the Deferred only weakly, and a copy of the failure detached
// from the original error: V8 keeps an error's stack frames, receivers
// included, for as long as the error lives, so an error thrown from a callback
// refers back to the Deferred, and holding it strongly here would keep the
// Deferred (and its failure) alive forever. A token is reported at most once:
// whoever removes it from `unhandled` logs it.

interface UnhandledToken {
  /** The Deferred, while it lives: reported with its own failure. */
  readonly deferred: WeakRef<Deferred<unknown>>;
  /** What is reported once the Deferred has been collected. */
  readonly snapshot: Failure;
}

const unhandled = new Set<UnhandledToken>();
/** Failures handed to a Promise (`then`/`await`): the Promise owns them now. */
const deliveredToPromise = new WeakSet<Failure>();

function reportToken(token: UnhandledToken): void {
  if (!unhandled.delete(token)) return;
  registry.unregister(token);
  const live = token.deferred.deref()?.result;
  log.err(
    live instanceof Failure ? live : token.snapshot,
    "Unhandled error in Deferred",
  );
}

/**
 * A copy of `value` that keeps what a log shows (class, message, formatted
 * stack, other own fields, causes) without the error's captured stack frames.
 */
function detach(value: unknown, depth = 0): unknown {
  if (!(value instanceof Error) || depth >= 8) return value;
  const copy = Object.create(Object.getPrototypeOf(value)) as Error;
  for (const key of Reflect.ownKeys(value)) {
    if (key === "stack") continue;
    const descriptor = Object.getOwnPropertyDescriptor(value, key);
    if (descriptor === undefined || !("value" in descriptor)) continue;
    if (key === "cause") descriptor.value = detach(descriptor.value, depth + 1);
    Object.defineProperty(copy, key, descriptor);
  }
  let stack: string | undefined;
  try {
    stack = value.stack;
  } catch {
    // A hostile getter: the copy goes without a stack.
  }
  Object.defineProperty(copy, "stack", {
    value: stack,
    writable: true,
    configurable: true,
  });
  return copy;
}

const registry = new FinalizationRegistry<UnhandledToken>(reportToken);

/**
 * Logs (through `log.err`, with the why "Unhandled error in Deferred") every
 * Deferred that holds an unhandled failure at the end of its chain right now,
 * and returns how many there were. Each failure is reported once, whether here
 * or when its Deferred is garbage collected. The reactor calls this at the end
 * of shutdown, and Twist at process exit (for scripts that never run it).
 *
 * @returns how many failures were reported
 *
 * @example Reporting a failure nobody handled
 * ```ts
 * import { fail, log, reportUnhandledDeferreds } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * using logs = log.capture();
 * const d = fail(new Error("nobody handles me"));
 * assertEquals(reportUnhandledDeferreds(), 1);
 * assertEquals(reportUnhandledDeferreds(), 0); // not twice
 * assertEquals(logs.flushErrors(Error).length, 1);
 * d.addErrback(() => {}); // handled at last
 * ```
 */
export function reportUnhandledDeferreds(): number {
  flushTracking();
  const tokens = [...unhandled];
  for (const token of tokens) reportToken(token);
  return tokens.length;
}

let reportingAtExit = false;

/**
 * A failure nobody handled is reported when its Deferred is collected or when
 * the reactor shuts down; a script that never runs the reactor may exit
 * before either, so what is left is reported at process exit too.
 */
function reportAtExit(): void {
  if (reportingAtExit) return;
  reportingAtExit = true;
  globalThis.addEventListener("unload", () => {
    reportUnhandledDeferreds();
  });
}

/** Set in `Deferred`'s static block: gives the noted failures their tokens. */
let flushTracking: () => void;

/** Set in `Deferred`'s static block: lets `inlineCallbacks` reach its chain. */
let prependErrback: (
  d: Deferred<never>,
  errback: (failure: Failure) => unknown,
) => void;

/**
 * A result that will arrive later, with a chain of callbacks and errbacks.
 *
 * Each callback receives the previous one's result. A callback that throws (or
 * returns a `Failure`) switches the chain to the errback path, and an errback
 * that returns a value switches it back. A callback that returns a Deferred or
 * a Promise pauses the chain until that settles, then the chain goes on with
 * its result. Callbacks run synchronously: when `callback()` or `errback()` is
 * called, or at once when they are added to a Deferred that has fired.
 *
 * Deferreds are `PromiseLike`, so `await d` works, with two differences from
 * Twisted worth knowing:
 * - observing a Deferred with `then`/`await` does not change its result:
 *   callbacks added afterwards see the same value (Twisted's `await` consumes
 *   it and leaves `None`). A failure observed that way counts as handled.
 * - callbacks added before an `await` run before the awaiting code resumes,
 *   because they run synchronously when the Deferred fires, while `await`
 *   resumes in a later microtask.
 *
 * A failure left at the end of a chain that nobody handles is logged with its
 * stack ("Unhandled error in Deferred") when the Deferred is garbage collected,
 * or by {@linkcode reportUnhandledDeferreds} when the reactor shuts down.
 *
 * @typeParam T the type of the result the Deferred fires with
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
 * @example Awaiting does not consume the result
 * ```ts
 * import { Deferred } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const d = new Deferred<string>();
 * setTimeout(() => d.callback("hello"), 0);
 * assertEquals(await d, "hello");
 * let later = "";
 * d.addCallback((v) => (later = v)); // still "hello", not undefined
 * assertEquals(later, "hello");
 * ```
 *
 * @example Callbacks added before an await run before it resumes
 * ```ts
 * import { Deferred } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const d = new Deferred<number>();
 * const order: string[] = [];
 * d.addCallback((n) => { order.push("callback"); return n + 1; });
 * setTimeout(() => d.callback(1), 0);
 * const value = await d;
 * order.push("await resumed");
 * assertEquals(order, ["callback", "await resumed"]);
 * assertEquals(value, 2); // the await sees what the callbacks made of it
 * ```
 */
export class Deferred<T = unknown> implements PromiseLike<T> {
  /** Whether `callback` or `errback` has been called. */
  called: boolean = false;
  /** How many times `pause` was called more than `unpause`. */
  paused: number = 0;
  /**
   * The current result: the value (or `Failure`) the next callback will get,
   * or, while the chain waits on a Deferred a callback returned, that Deferred.
   */
  result: unknown = undefined;

  #chain: ChainItem[] = [];
  /** The next item of `#chain` to run: an index, so running is not O(n²). */
  #next = 0;
  #running = false;
  // Typed loosely so Deferred<T> stays covariant in T (a Deferred<never> fits a Deferred<number>).
  #canceller: ((d: never) => void) | undefined;
  #suppressAlreadyCalled = false;
  /** The unhandled failure at the end of the chain, noted or tokened. */
  #tracked: Failure | undefined = undefined;
  #token: UnhandledToken | undefined = undefined;

  /** Deferreds whose `#tracked` failure has no token yet. */
  static #noted: Deferred<unknown>[] = [];

  static {
    flushTracking = () => {
      const noted = Deferred.#noted;
      if (noted.length === 0) return;
      Deferred.#noted = [];
      for (const d of noted) {
        const failure = d.#tracked;
        if (failure === undefined || d.#token !== undefined) continue;
        const token: UnhandledToken = {
          deferred: new WeakRef(d),
          snapshot: new Failure(detach(failure.value)),
        };
        d.#token = token;
        unhandled.add(token);
        reportAtExit();
        registry.register(d, token, token);
      }
    };
    prependErrback = (d, errback) => {
      d.#chain.splice(
        d.#next,
        0,
        new ChainItem(null, NO_ARGS, errback as AnyFn, NO_ARGS, undefined),
      );
    };
  }

  /**
   * Creates a Deferred.
   *
   * @param canceller called by `cancel()` before the Deferred has fired; it
   * should stop the operation and may fire the Deferred itself. If it does
   * not, the Deferred fails with `CancelledError`.
   */
  constructor(canceller?: (d: Deferred<T>) => void) {
    this.#canceller = canceller;
  }

  /**
   * Makes a Deferred that fires when `promise` settles (a Deferred is returned
   * as is). Cancelling it fails it with `CancelledError` at once; the Promise
   * cannot be stopped and its outcome is then ignored.
   *
   * @param promise the Promise (or any thenable) to follow
   * @returns a Deferred of the Promise's value
   *
   * @example Calling `Deferred.fromPromise`
   * ```ts
   * import { Deferred } from "@twist/twist";
   * import { assertEquals } from "@std/assert";
   *
   * const d = Deferred.fromPromise(Promise.resolve(3));
   * assertEquals(await d.addCallback((n) => n * 2), 6);
   * ```
   */
  static fromPromise<U>(promise: PromiseLike<U>): Deferred<U> {
    if (promise instanceof Deferred) return promise;
    const d = new Deferred<U>();
    promise.then(
      (value) => d.callback(value),
      (reason) => d.errback(Failure.from(reason)),
    );
    return d;
  }

  /**
   * Twisted's `Deferred.fromCoroutine`: the same as
   * {@linkcode ensureDeferred}, for a Promise (an async function's result), a
   * generator or an async generator.
   *
   * @param coro what to follow
   * @returns a Deferred of its result
   *
   * @example Calling `Deferred.fromCoroutine`
   * ```ts
   * import { Deferred } from "@twist/twist";
   * import { assertEquals } from "@std/assert";
   *
   * async function main(): Promise<string> {
   *   return "done";
   * }
   * assertEquals(await Deferred.fromCoroutine(main()), "done");
   * ```
   */
  static fromCoroutine<U>(
    coro: Coroutine<U>,
  ): Deferred<U> {
    return ensureDeferred(coro);
  }

  /**
   * Fires the Deferred with `result`, running the callbacks.
   *
   * @param result the result; not a Deferred (use `chainDeferred` for that)
   * @throws {AlreadyCalledError} if it has fired already
   * @throws {TypeError} if `result` is a Deferred
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
   * Fires the Deferred with a failure, running the errbacks. Anything may be
   * given (it is wrapped in a `Failure`); with no reason at all, the failure
   * is an `Error` that says so.
   *
   * @param reason an `Error`, a `Failure`, or any thrown value
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
        // Cancelled without a canceller: the operation's late result is dropped once.
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
   * them runs, depending on whether the result is a failure, and the errback
   * does not see what the callback throws (add it with `addErrback` after, for
   * that).
   *
   * @param callback called with the result (or `null` to pass it on)
   * @param errback called with the `Failure` (or `null` to pass it on)
   * @param options extra arguments for each
   * @returns this Deferred, typed for the new result
   *
   * @example Calling `Deferred.addCallbacks`
   * ```ts
   * import { fail } from "@twist/twist";
   * import { assertEquals } from "@std/assert";
   *
   * let text = "";
   * fail<number>(new Error("no"))
   *   .addCallbacks((n) => `got ${n}`, (f) => `failed: ${f.getErrorMessage()}`)
   *   .addCallback((t) => (text = t));
   * assertEquals(text, "failed: no");
   * ```
   */
  addCallbacks<U, V = U>(
    callback: ((result: T, ...args: never[]) => CallbackReturn<U>) | null,
    errback: ((failure: Failure, ...args: never[]) => CallbackReturn<V>) | null,
    options?: AddCallbacksOptions,
  ): Deferred<U | V> {
    options ??= {};
    this.#chain.push(
      new ChainItem(
        callback as AnyFn | null,
        options.callbackArgs ?? NO_ARGS,
        errback as AnyFn | null,
        options.errbackArgs ?? NO_ARGS,
        undefined,
      ),
    );
    if (this.called) this.#runCallbacks();
    return this as unknown as Deferred<U | V>;
  }

  /**
   * Adds a callback, called with the result and `args`; errors pass it by.
   *
   * @param callback gets the result; returns the next one (or a Deferred or
   * Promise of it)
   * @param args extra arguments for `callback`
   * @returns this Deferred, typed for the new result
   *
   * @example Calling `Deferred.addCallback`
   * ```ts
   * import { succeed } from "@twist/twist";
   * import { assertEquals } from "@std/assert";
   *
   * const d = succeed(2).addCallback((n, times: number) => n * times, 10);
   * assertEquals(d.result, 20);
   * ```
   */
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

  /**
   * Adds an errback, called with the `Failure` and `args`; results pass it by.
   * Returning a value recovers the chain; throwing (or `failure.trap` not
   * matching) keeps it failed.
   *
   * @param errback gets the `Failure`
   * @param args extra arguments for `errback`
   * @returns this Deferred, typed for either result
   *
   * @example Calling `Deferred.addErrback`
   * ```ts
   * import { fail } from "@twist/twist";
   * import { assertEquals } from "@std/assert";
   *
   * const d = fail<string>(new RangeError("x")).addErrback((f) => {
   *   f.trap(RangeError);
   *   return "recovered";
   * });
   * assertEquals(d.result, "recovered");
   * ```
   */
  addErrback<U = T, A extends unknown[] = []>(
    errback: (failure: Failure, ...args: A) => CallbackReturn<U>,
    ...args: A
  ): Deferred<T | U> {
    return this.addCallbacks(
      null,
      errback as unknown as (f: Failure) => CallbackReturn<U>,
      { errbackArgs: args },
    ) as Deferred<T | U>;
  }

  /**
   * Adds a function called with the result or the `Failure`, whichever comes
   * (Twisted's `addBoth`; `finally` with a say in the result).
   *
   * @param f gets the result or the `Failure`
   * @param args extra arguments for `f`
   * @returns this Deferred, typed for the new result
   *
   * @example Calling `Deferred.addBoth`
   * ```ts
   * import { fail } from "@twist/twist";
   * import { assertEquals } from "@std/assert";
   *
   * let cleanedUp = false;
   * fail(new Error("x")).addBoth((r) => { cleanedUp = true; return r; })
   *   .addErrback(() => {});
   * assertEquals(cleanedUp, true);
   * ```
   */
  addBoth<U, A extends unknown[] = []>(
    f: (result: T | Failure, ...args: A) => CallbackReturn<U>,
    ...args: A
  ): Deferred<U> {
    return this.addCallbacks(
      f as unknown as (r: T) => CallbackReturn<U>,
      f as unknown as (r: Failure) => CallbackReturn<U>,
      { callbackArgs: args, errbackArgs: args },
    );
  }

  /**
   * Fires `other` with this Deferred's result (or failure) when it arrives;
   * the rest of this chain then sees `undefined`, as in Twisted.
   *
   * @param other the Deferred to fire
   * @returns this Deferred, whose result is now `undefined`
   *
   * @example Calling `Deferred.chainDeferred`
   * ```ts
   * import { Deferred } from "@twist/twist";
   * import { assertEquals } from "@std/assert";
   *
   * const a = new Deferred<number>();
   * const b = new Deferred<number>();
   * a.chainDeferred(b);
   * a.callback(5);
   * assertEquals(b.result, 5);
   * assertEquals(a.result, undefined);
   * ```
   */
  chainDeferred(other: Deferred<T>): Deferred<undefined> {
    return this.addCallbacks(
      (r: T) => other.callback(r),
      (f: Failure) => other.errback(f),
    ) as Deferred<undefined>;
  }

  /**
   * Cancels the Deferred if it has not fired `timeout` seconds from now on
   * `clock`, and then fails it with `TimeoutError` instead of
   * `CancelledError` (or gives it what `onTimeoutCancel` returns). The timed
   * call is cancelled when the Deferred fires first.
   *
   * @param timeout seconds to wait
   * @param clock what measures time: a reactor, or a `Clock` in tests
   * @param onTimeoutCancel called with the result after a timeout (usually the
   * `CancelledError` failure, unless the canceller fired the Deferred) and
   * `timeout`; what it returns or throws becomes the result
   * @returns this Deferred
   *
   * @example A request that takes too long
   * ```ts
   * import { Clock, Deferred, TimeoutError } from "@twist/twist";
   * import { assert } from "@std/assert";
   *
   * const clock = new Clock();
   * const d = new Deferred<string>().addTimeout(5, clock);
   * let timedOut = false;
   * d.addErrback((f) => { timedOut = f.check(TimeoutError) !== null; });
   * clock.advance(5);
   * assert(timedOut);
   * ```
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
        throw new TimeoutError(
          `Deferred timed out after ${timeout} seconds`,
          { cause: result.value },
        );
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
   * Cancels the Deferred. If it has not fired, calls the canceller and, if
   * that did not fire it, fails it with `CancelledError` (without a canceller,
   * the one result the stopped operation may still deliver is ignored). If it
   * is waiting on a Deferred a callback returned, cancels that one instead.
   * Once it has a result, does nothing.
   *
   * @example Calling `Deferred.cancel`
   * ```ts
   * import { CancelledError, Deferred } from "@twist/twist";
   * import { assert } from "@std/assert";
   *
   * let stopped = false;
   * const d = new Deferred(() => { stopped = true; });
   * let reason = "";
   * d.addErrback((f) => { reason = f.value instanceof CancelledError ? "cancelled" : "?"; });
   * d.cancel();
   * assert(stopped && reason === "cancelled");
   * ```
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

  /**
   * Stops running callbacks until `unpause` has been called as many times.
   *
   * @example Calling `Deferred.pause`
   * ```ts
   * import { succeed } from "@twist/twist";
   * import { assertEquals } from "@std/assert";
   *
   * const d = succeed(1);
   * d.pause();
   * let got = 0;
   * d.addCallback((n) => (got = n));
   * assertEquals(got, 0);
   * d.unpause();
   * assertEquals(got, 1);
   * ```
   */
  pause(): void {
    this.paused++;
  }

  /** Undoes one `pause`; once none is left, runs the callbacks waiting. */
  unpause(): void {
    this.paused--;
    if (this.paused > 0) return;
    if (this.called) this.#runCallbacks();
  }

  /**
   * Observes the result as a Promise does (what `await` calls). It does not
   * change the result later callbacks see; a failure is passed to
   * `onrejected` as the thrown value (`failure.value`) and counts as handled.
   *
   * @param onfulfilled called with the result
   * @param onrejected called with the failure's value
   * @returns a Promise of what the handler returns
   *
   * @example Calling `Deferred.then`
   * ```ts
   * import { succeed } from "@twist/twist";
   * import { assertEquals } from "@std/assert";
   *
   * assertEquals(await succeed(1).then((n) => n + 1), 2);
   * ```
   */
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.asPromise().then(onfulfilled, onrejected);
  }

  /**
   * A Promise that settles with this Deferred's result, rejecting with the
   * failure's value. The Deferred's own result is unchanged, and a failure
   * handed to the Promise counts as handled here (an unhandled rejection is
   * the Promise's to report).
   *
   * @returns a Promise of the result
   *
   * @example Calling `Deferred.asPromise`
   * ```ts
   * import { fail } from "@twist/twist";
   * import { assertRejects } from "@std/assert";
   *
   * await assertRejects(() => fail(new RangeError("no")).asPromise(), RangeError);
   * ```
   */
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

  /** Forgets the unhandled failure this Deferred held, if any: someone has it now. */
  #untrack(): void {
    this.#tracked = undefined;
    const token = this.#token;
    if (token === undefined) return;
    this.#token = undefined;
    unhandled.delete(token);
    registry.unregister(token);
  }

  /** Records that this Deferred's chain ended in `failure`, for later reporting. */
  #track(failure: Failure): void {
    if (deliveredToPromise.has(failure)) return this.#untrack();
    // Already tracked (or already reported): never report the same failure twice.
    if (this.#tracked === failure) return;
    this.#untrack();
    this.#tracked = failure;
    const noted = Deferred.#noted;
    if (noted.length === 0) queueMicrotask(flushTracking);
    noted.push(this as Deferred<unknown>);
  }

  /**
   * Runs the chain. A Deferred that hands its result to a chained Deferred
   * (one that waits on it) goes on with the chained one on an explicit stack,
   * not by recursion, so chains of any length cannot overflow the call stack
   * (Twisted's `_runCallbacks`).
   */
  #runCallbacks(): void {
    // Re-entered from one of our own callbacks: the running loop picks up new items.
    if (this.#running || this.paused > 0) return;
    const chainee = this.#runChain();
    // The common case: no chained Deferred was handed a result, no stack needed.
    if (chainee === undefined) return;
    const stack: Deferred<unknown>[] = [this as Deferred<unknown>, chainee];
    while (stack.length > 0) {
      const current = stack[stack.length - 1];
      const chainee = current.paused > 0 ? undefined : current.#runChain();
      if (chainee === undefined) {
        // Done for now (finished, paused, or waiting on a Deferred): go back to
        // the one that handed us our result, which may have callbacks left.
        stack.pop();
      } else {
        stack.push(chainee);
      }
    }
  }

  /**
   * Runs this Deferred's own callbacks until the chain is used up or it waits
   * on a Deferred a callback returned, then records an unhandled failure.
   * Returns the chained Deferred if it reaches a `CONTINUE` item instead.
   */
  #runChain(): Deferred<unknown> | undefined {
    while (this.#next < this.#chain.length) {
      const item = this.#chain[this.#next++];
      const isFailure = this.result instanceof Failure;
      const f = isFailure ? item.eb : item.cb;
      if (f === null) continue;
      if (f === CONTINUE) {
        const chainee = item.chainee!;
        chainee.result = this.result;
        this.result = undefined;
        this.#untrack();
        chainee.paused--;
        return chainee;
      }
      // The failure (if any) is in a callback's hands now.
      this.#untrack();
      const args = isFailure ? item.ebArgs : item.cbArgs;
      let result: unknown;
      this.#running = true;
      try {
        result = args.length === 0 ? f(this.result) : f(this.result, ...args);
      } catch (e) {
        result = Failure.from(e);
      } finally {
        this.#running = false;
      }
      if (result === this) {
        result = new Failure(
          new TypeError("A callback returned the Deferred it was attached to"),
        );
      } else if (!(result instanceof Deferred) && isThenable(result)) {
        result = Deferred.fromPromise(result);
      }
      if (!(result instanceof Deferred)) {
        this.result = result;
        continue;
      }
      const inner = result as Deferred<unknown>;
      if (
        !inner.called || inner.paused > 0 || inner.#running ||
        inner.result instanceof Deferred
      ) {
        // Wait: the inner Deferred hands its result over through CONTINUE.
        this.result = inner;
        this.pause();
        inner.#chain.push(
          new ChainItem(
            CONTINUE,
            NO_ARGS,
            CONTINUE,
            NO_ARGS,
            this as Deferred<unknown>,
          ),
        );
        break;
      }
      // The inner Deferred has its result already: take it, leaving undefined.
      this.result = inner.result;
      inner.result = undefined;
      inner.#untrack();
    }
    if (this.#next === this.#chain.length) {
      this.#chain = [];
      this.#next = 0;
    }
    if (this.result instanceof Failure) this.#track(this.result);
    else this.#untrack();
    return undefined;
  }

  /**
   * A readable form for debugging.
   *
   * @example Calling `Deferred.toString`
   * ```ts
   * import { succeed } from "@twist/twist";
   * import { assertEquals } from "@std/assert";
   *
   * assertEquals(String(succeed(1)), "<Deferred (fired: 1)>");
   * ```
   */
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
 * @param result the result
 * @returns a fired Deferred
 *
 * @example Calling `succeed`
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
 * A Deferred that has already failed with `reason` (an `Error`, a `Failure`,
 * or anything thrown).
 *
 * @param reason the failure
 * @returns a failed Deferred
 *
 * @example Calling `fail`
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
 * Calls `f(...args)` and returns its outcome as a Deferred: a Deferred as is,
 * a Promise followed, a `Failure` or a throw as a failed Deferred, any other
 * value as a fired one.
 *
 * @param f the function to call
 * @param args its arguments
 * @returns a Deferred of its result
 *
 * @example Calling `maybeDeferred`
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
  f: (...args: A) => T | PromiseLike<T> | Failure,
  ...args: A
): Deferred<T> {
  let result: T | PromiseLike<T> | Failure;
  try {
    result = f(...args);
  } catch (e) {
    return fail(e);
  }
  if (result instanceof Deferred) return result;
  if (isThenable(result)) return Deferred.fromPromise(result);
  if (result instanceof Failure) return fail(result);
  return succeed(result);
}

/**
 * What {@linkcode ensureDeferred} accepts: a Promise (what an async function
 * returns), a Deferred, a generator (as `inlineCallbacks` runs them), or an
 * async generator.
 */
export type Coroutine<T> =
  | PromiseLike<T>
  // deno-lint-ignore no-explicit-any
  | Iterator<unknown, T, any>
  // deno-lint-ignore no-explicit-any
  | AsyncIterator<unknown, T, any>;

/**
 * Turns a coroutine into a Deferred (Twisted's `ensureDeferred`):
 * - a Deferred is returned as is, and a Promise (an async function's result)
 *   is followed;
 * - a generator runs as `inlineCallbacks` runs it: each value it yields that
 *   is a Deferred or a Promise is waited for and its result sent back (a
 *   failure is thrown in), and what it returns is the result. It runs
 *   synchronously for as long as what it yields has already fired, and
 *   cancelling the Deferred cancels the Deferred it is waiting on;
 * - an async generator is run to its end, each yielded value (awaited by the
 *   generator itself) sent back; cancelling stops it at its next step.
 *
 * @param coro what to follow
 * @returns a Deferred of its result
 * @throws {NotACoroutineError} for anything else
 *
 * @example An async function and a generator
 * ```ts
 * import { ensureDeferred, succeed } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(await ensureDeferred((async () => 7)()), 7);
 * function* addOne(): Generator<unknown, number, number> {
 *   const n = yield succeed(1);
 *   return n + 1;
 * }
 * assertEquals(ensureDeferred(addOne()).result, 2); // synchronous here
 * ```
 */
export function ensureDeferred<T>(coro: Coroutine<T>): Deferred<T> {
  if (coro instanceof Deferred) return coro;
  if (isThenable(coro)) return Deferred.fromPromise(coro);
  if (typeof coro === "object" && coro !== null) {
    if (
      Symbol.iterator in coro && typeof (coro as Iterator<unknown>).next ===
        "function"
    ) {
      return runGenerator(coro as Iterator<unknown, T, unknown>);
    }
    if (Symbol.asyncIterator in coro) {
      return runAsyncGenerator(coro as AsyncIterator<unknown, T, unknown>);
    }
  }
  throw new NotACoroutineError(
    `Invalid coroutine "${
      String(coro)
    }": expected a Promise, a Deferred or a generator`,
  );
}

/**
 * Wraps a generator function so that it can wait on Deferreds and Promises by
 * yielding them, as Twisted's `@inlineCallbacks` does: calling the wrapped
 * function returns a Deferred of what the generator returns. In new code,
 * `async` functions with `ensureDeferred` say the same thing; this is for code
 * that must stay synchronous while what it waits on has already fired.
 *
 * @param f a generator function
 * @returns a function returning a Deferred of the generator's result (if it
 * returns a Deferred or a Promise, of that one's result)
 * @throws {NotACoroutineError} (from the returned function) if `f` does not
 * return a generator
 *
 * @example Waiting on Deferreds in sequence
 * ```ts
 * import { Deferred, inlineCallbacks } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const fetch = new Deferred<string>();
 * const greet = inlineCallbacks(function* (name: string) {
 *   const greeting: string = yield fetch;
 *   return `${greeting}, ${name}`;
 * });
 * const d = greet("world");
 * fetch.callback("hello");
 * assertEquals(d.result, "hello, world");
 * ```
 */
export function inlineCallbacks<A extends unknown[], R>(
  // deno-lint-ignore no-explicit-any
  f: (...args: A) => Generator<unknown, R, any>,
): (...args: A) => Deferred<Awaited<R>> {
  return (...args: A): Deferred<Awaited<R>> => {
    const gen: unknown = f(...args);
    if (
      typeof gen !== "object" || gen === null ||
      typeof (gen as Iterator<unknown>).next !== "function" ||
      typeof (gen as Iterator<unknown>).throw !== "function"
    ) {
      throw new NotACoroutineError(
        `Invalid generator "${
          String(gen)
        }": inlineCallbacks needs a generator function`,
      );
    }
    return runGenerator(gen as Iterator<unknown, Awaited<R>, unknown>);
  };
}

/** Thrown into the outer Deferred to cancel an `inlineCallbacks` run. */
class InlineCallbacksCancelled extends Error {
  override name = "InlineCallbacksCancelled";
}

/**
 * Drives a generator as Twisted's `_inlineCallbacks` does: a loop while what
 * it yields has fired (so there is no recursion), a callback to resume it
 * when something it yields fires later.
 */
function runGenerator<R>(gen: Iterator<unknown, R, unknown>): Deferred<R> {
  // The Deferred the generator's outcome goes to; replaced on cancellation.
  let target: Deferred<R>;
  // What the generator is waiting on, so cancellation can reach it.
  let waitingOn: Deferred<unknown> | undefined;

  // Cancelling the returned Deferred: make it wait on a fresh target, then
  // cancel what the generator awaits, which throws CancelledError into the
  // generator; the generator decides the outcome (as in Twisted).
  const cancel = (it: Deferred<R>): void => {
    prependErrback(it as Deferred<never>, handleCancel);
    it.errback(new InlineCallbacksCancelled());
  };
  const handleCancel = (failure: Failure): Deferred<R> => {
    failure.trap(InlineCallbacksCancelled);
    target = new Deferred<R>(cancel);
    waitingOn?.cancel();
    return target;
  };

  const resume = (value: unknown, isFailure: boolean): void => {
    for (;;) {
      if (isFailure && typeof gen.throw !== "function") {
        // A plain iterator cannot be told of the failure: it ends there.
        target.errback(value);
        return;
      }
      let step: IteratorResult<unknown, R>;
      try {
        step = isFailure
          ? gen.throw!((value as Failure).value)
          : gen.next(value);
      } catch (e) {
        target.errback(e);
        return;
      }
      if (step.done) {
        const outcome = step.value;
        if (isThenable(outcome)) {
          Deferred.fromPromise(outcome as PromiseLike<R>).chainDeferred(target);
        } else {
          target.callback(outcome);
        }
        return;
      }
      let yielded = step.value;
      if (!(yielded instanceof Deferred) && isThenable(yielded)) {
        yielded = Deferred.fromPromise(yielded);
      }
      if (!(yielded instanceof Deferred)) {
        // Anything else is sent straight back, as Twisted does.
        value = yielded;
        isFailure = false;
        continue;
      }
      let synchronous = true;
      let settled = false;
      let outcome: unknown;
      (yielded as Deferred<unknown>).addBoth((r: unknown) => {
        if (synchronous) {
          settled = true;
          outcome = r;
        } else {
          waitingOn = undefined;
          resume(r, r instanceof Failure);
        }
        // The generator has the result now; the yielded Deferred keeps none.
        return undefined;
      });
      synchronous = false;
      if (!settled) {
        waitingOn = yielded as Deferred<unknown>;
        return;
      }
      value = outcome;
      isFailure = outcome instanceof Failure;
    }
  };

  target = new Deferred<R>(cancel);
  const result = target;
  resume(undefined, false);
  return result;
}

/**
 * Runs an async generator to its end; each yielded value (which the generator
 * has already awaited) is sent back. Cancelling stops it at its next step.
 */
function runAsyncGenerator<R>(
  gen: AsyncIterator<unknown, R, unknown>,
): Deferred<R> {
  let cancelled = false;
  const d = new Deferred<R>(() => {
    cancelled = true;
  });
  (async (): Promise<R | undefined> => {
    let sent: unknown = undefined;
    for (;;) {
      if (cancelled) {
        // Let the generator run its `finally` blocks; its outcome is dropped.
        await gen.return?.(undefined);
        return undefined;
      }
      const step = await gen.next(sent);
      if (step.done) return step.value;
      sent = step.value;
    }
  })().then(
    (value) => {
      if (!d.called) d.callback(value as R);
    },
    (reason) => {
      if (!d.called) d.errback(Failure.from(reason));
      else if (!(reason instanceof CancelledError)) {
        log.err(reason, "Error in a cancelled async generator");
      }
    },
  );
  return d;
}
