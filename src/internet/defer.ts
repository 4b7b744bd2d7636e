/**
 * Deferreds (`twisted.internet.defer`): results that arrive later, with chains
 * of callbacks and errbacks that fire synchronously, exactly as Twisted's do —
 * and `PromiseLike`, so `await d` works (without consuming the result).
 *
 * @example Waiting for several results
 * ```ts
 * import { Deferred, gatherResults } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const a = new Deferred<number>();
 * const b = new Deferred<number>();
 * const both = gatherResults([a, b]).addCallback(([x, y]) => x + y);
 * b.callback(2);
 * a.callback(1);
 * assertEquals(await both, 3);
 * ```
 *
 * @module
 */
export {
  type AddCallbacksOptions,
  AlreadyCalledError,
  type CallbackReturn,
  CancelledError,
  type Coroutine,
  Deferred,
  ensureDeferred,
  fail,
  inlineCallbacks,
  maybeDeferred,
  NotACoroutineError,
  reportUnhandledDeferreds,
  succeed,
} from "./defer/deferred.ts";
export {
  DeferredList,
  type DeferredListOptions,
  type DeferredListResult,
  FirstError,
  gatherResults,
  type GatherResultsOptions,
} from "./defer/deferred_list.ts";
export {
  ConcurrencyPrimitive,
  DeferredLock,
  DeferredQueue,
  DeferredSemaphore,
  QueueOverflow,
  QueueUnderflow,
} from "./defer/primitives.ts";
