/**
 * The runtime a `WorkerPool`'s Workers load (internal): it imports the
 * pool's module by URL and runs the calls it is sent, one at a time. It
 * loads no reactor.
 *
 * @module
 */
import {
  isOurs,
  reportEnd,
  sendError,
  TAG,
  type ToPoolWorker,
  unwrapTransfer,
} from "./messages.ts";

// deno-lint-ignore no-explicit-any
const scope = self as any;
reportEnd(scope);

let loaded: Promise<Record<string, unknown>> | undefined;
let moduleUrl = "";
/** Calls run one after the other, in the order sent. */
let queue: Promise<void> = Promise.resolve();

async function run(message: ToPoolWorker & { kind: "call" }): Promise<void> {
  const { id, name } = message;
  try {
    if (!loaded) throw new Error("The worker was not initialised");
    const exports = await loaded;
    const f = exports[name];
    if (typeof f !== "function") {
      throw new TypeError(
        `"${name}" is not a function exported by ${moduleUrl}`,
      );
    }
    const value = await f(...message.args);
    const list: Transferable[] = [];
    const sent = unwrapTransfer(value, list);
    scope.postMessage({ tag: TAG, kind: "result", id, value: sent }, list);
  } catch (e) {
    scope.postMessage({ tag: TAG, kind: "error", id, error: sendError(e) });
  }
}

scope.addEventListener("message", (e: MessageEvent) => {
  const message = e.data as ToPoolWorker;
  if (!isOurs(message)) return;
  if (message.kind === "init") {
    moduleUrl = message.module;
    loaded = import(moduleUrl);
    // An import that fails fails each call instead.
    loaded.catch(() => {});
  } else if (message.kind === "call") {
    queue = queue.then(() => run(message));
  }
});
