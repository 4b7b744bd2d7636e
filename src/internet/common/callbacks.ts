/**
 * Watching what user callbacks return. An `async dataReceived` (or any
 * callback that returns a promise) that rejects must be treated like one that
 * throws: logged, and the connection it belongs to closed. Left alone, Deno
 * exits the whole process on the unhandled rejection.
 *
 * @module
 */
import { log } from "../../logger.ts";

/** Whether `value` is a promise or another thenable. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function";
}

/**
 * If a callback returned a promise (an `async` callback does), reports its
 * rejection as the callback's error: logged with `why`, then handed to
 * `onError` (which closes the connection, say). Anything else is ignored:
 * `undefined`, what almost every callback returns, costs one comparison, and
 * a Deferred reports its own unhandled failures.
 */
export function watchResult(
  result: unknown,
  why: string,
  onError?: (e: unknown) => void,
): void {
  if (result === undefined || !(result instanceof Promise)) return;
  result.then(undefined, (e: unknown) => {
    log.err(e, why);
    onError?.(e);
  });
}

/**
 * Calls a user callback `f`, logging what it throws, or what the promise it
 * returns rejects with, as `Unhandled error in WHAT`; never throws.
 */
export function callLogged(f: () => unknown, what: string): void {
  try {
    watchResult(f(), `Unhandled error in ${what}`);
  } catch (e) {
    log.err(e, `Unhandled error in ${what}`);
  }
}

/**
 * The reactors running now. While there is one, an unhandled rejection
 * anywhere in the program is logged as Twisted logs an unhandled error, and
 * the process goes on instead of exiting.
 */
let running = 0;

function onUnhandledRejection(event: PromiseRejectionEvent): void {
  event.preventDefault();
  log.err(event.reason, "Unhandled error in a promise nobody awaited");
}

/** Called when a reactor starts running: from then on unhandled rejections are logged. */
export function guardRejections(): void {
  if (running++ === 0) {
    globalThis.addEventListener("unhandledrejection", onUnhandledRejection);
  }
}

/** Called when a running reactor has shut down: the last one removes the guard. */
export function unguardRejections(): void {
  if (running > 0 && --running === 0) {
    globalThis.removeEventListener("unhandledrejection", onUnhandledRejection);
  }
}
