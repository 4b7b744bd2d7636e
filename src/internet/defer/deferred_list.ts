/**
 * `DeferredList` and `gatherResults` (`twisted.internet.defer`).
 *
 * @module
 */
import { Deferred } from "./deferred.ts";
import type { Failure } from "../failure.ts";
import { log } from "../../logger.ts";

/**
 * The failure of a `DeferredList` with `fireOnOneErrback` (and so of
 * `gatherResults`): which Deferred failed first, and how.
 *
 * @example Using `FirstError`
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

  /**
   * Creates the error for the Deferred at `index` failing with `failure`.
   *
   * @param failure how it failed
   * @param index its position in the list
   */
  constructor(failure: Failure, index: number) {
    super(`FirstError[#${index}, ${failure}]`, { cause: failure.value });
    this.subFailure = failure;
    this.index = index;
  }
}

/** The options of {@linkcode DeferredList}. */
export interface DeferredListOptions {
  /**
   * Fire with `[result, index]` as soon as one Deferred succeeds.
   *
   * @default {false}
   */
  fireOnOneCallback?: boolean;
  /**
   * Fail with `FirstError` as soon as one Deferred fails.
   *
   * @default {false}
   */
  fireOnOneErrback?: boolean;
  /**
   * Leave `undefined` as the result of each Deferred that fails (its failure
   * is in the list's results), so it is not reported as unhandled.
   *
   * @default {false}
   */
  consumeErrors?: boolean;
}

/** Options of {@linkcode gatherResults}. */
export interface GatherResultsOptions {
  /**
   * Leave `undefined` as the result of each Deferred that fails, so its
   * failure is not reported as unhandled (the gathered Deferred still fails).
   *
   * @default {false}
   */
  consumeErrors?: boolean;
}

/** One entry of a `DeferredList`'s result: `[true, value]` or `[false, failure]`. */
export type DeferredListResult<T> = [true, T] | [false, Failure];

/**
 * Collects the results of several Deferreds: fires with a list of
 * `[success, result]` pairs, in the order of the list whatever the order they
 * fire in, once all have fired. An empty list fires at once with `[]`.
 * `fireOnOneCallback` fires with `[result, index]` at the first success
 * instead; `fireOnOneErrback` fails with a {@linkcode FirstError} at the
 * first failure. Cancelling it cancels every Deferred in the list.
 *
 * For Deferreds of different result types, name the union:
 * `new DeferredList<number | string>([a, b])`.
 *
 * @typeParam T the result type of the Deferreds in the list
 *
 * @example Using `DeferredList`
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
  finishedCount: number = 0;
  #deferreds: Deferred<T>[];

  /**
   * Starts collecting the results of `deferreds`.
   *
   * @param deferreds the Deferreds to wait for
   * @param options when to fire, and whether to consume failures
   */
  constructor(
    deferreds: Iterable<Deferred<T>>,
    options?: DeferredListOptions,
  ) {
    options ??= {};
    super();
    this.#deferreds = [...deferreds];
    const {
      fireOnOneCallback = false,
      fireOnOneErrback = false,
      consumeErrors = false,
    } = options;
    this.resultList = new Array(this.#deferreds.length).fill(undefined);
    if (this.#deferreds.length === 0 && !fireOnOneCallback) this.callback([]);
    const settle = (
      result: T | Failure,
      index: number,
      succeeded: boolean,
    ): unknown => {
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
    this.#deferreds.forEach((d, index) => {
      d.addCallbacks(settle, settle, {
        callbackArgs: [index, true],
        errbackArgs: [index, false],
      });
    });
  }

  /**
   * Cancels every Deferred in the list, unless the list has fired; a
   * canceller that throws is logged and the others are still cancelled.
   */
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
 * Fires with the list of results of `deferreds`, in order, once all succeed;
 * fails with a {@linkcode FirstError} wrapping the first failure. Cancelling
 * it cancels them all.
 *
 * @param deferreds the Deferreds to wait for
 * @param options whether to consume the errors of the ones that fail
 * @returns a Deferred of the results
 *
 * @example Calling `gatherResults`
 * ```ts
 * import { gatherResults, succeed } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(await gatherResults([succeed(1), succeed(2)]), [1, 2]);
 * ```
 *
 * @example Consuming the errors
 * ```ts
 * import { fail, FirstError, gatherResults } from "@twist/twist";
 * import { assertInstanceOf } from "@std/assert";
 *
 * const failing = fail(new Error("boom"));
 * const gathered = gatherResults([failing], { consumeErrors: true });
 * let error: unknown;
 * gathered.addErrback((f) => { error = f.value; });
 * assertInstanceOf(error, FirstError);
 * ```
 */
export function gatherResults<T>(
  deferreds: Iterable<Deferred<T>>,
  options?: GatherResultsOptions,
): Deferred<T[]> {
  options ??= {};
  const list = new DeferredList<T>(deferreds, {
    fireOnOneErrback: true,
    consumeErrors: options.consumeErrors ?? false,
  });
  return list.addCallback((results) => results.map((r) => r[1] as T));
}
