/**
 * What code running in a `WorkerPool`'s Worker imports: `postToReactor`
 * (`callFromThread`'s counterpart) and `transfer`. It loads no reactor, so
 * worker modules stay small.
 *
 * @example A worker module that reports progress
 * ```ts ignore
 * import { postToReactor } from "@twist/twist/worker";
 *
 * export function count(to: number): number {
 *   for (let i = 1; i <= to; i++) postToReactor({ done: i });
 *   return to;
 * }
 * ```
 *
 * @module
 */
import { TAG, unwrapTransfer } from "./workers/messages.ts";

export { transfer, type Transferred } from "./workers/messages.ts";

/**
 * Whether this code runs in a Worker (not on the main thread).
 *
 * @returns `true` in a Worker
 *
 * @example
 * ```ts
 * import { inWorker } from "@twist/twist/worker";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(inWorker(), false);
 * ```
 */
export function inWorker(): boolean {
  return typeof (globalThis as { WorkerGlobalScope?: unknown })
        .WorkerGlobalScope !== "undefined" &&
    typeof (globalThis as { postMessage?: unknown }).postMessage ===
      "function" &&
    typeof (globalThis as { window?: unknown }).window === "undefined";
}

/**
 * Hands `value` to the reactor thread, at any time (during a call or not):
 * the pool's `onMessage` receives it there (`callFromThread`'s
 * counterpart). Structured-cloned; mark buffers with `transfer()` to move
 * them.
 *
 * @param value what to send
 * @throws {TypeError} outside a Worker
 *
 * @example
 * ```ts ignore
 * import { postToReactor, transfer } from "@twist/twist/worker";
 *
 * postToReactor({ progress: 0.5 });
 * postToReactor(transfer(new Uint8Array(1024)));
 * ```
 */
export function postToReactor(value: unknown): void {
  if (!inWorker()) {
    throw new TypeError(
      "postToReactor() works in a WorkerPool's worker only; on the reactor thread call the function directly",
    );
  }
  const list: Transferable[] = [];
  const sent = unwrapTransfer(value, list);
  (globalThis as unknown as {
    postMessage(m: unknown, t: Transferable[]): void;
  })
    .postMessage({ tag: TAG, kind: "post", value: sent }, list);
}
