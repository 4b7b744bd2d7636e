/**
 * What the reactor thread and its Workers say to each other (internal), and
 * the transfer marker both sides share. Loads nothing: the worker side must
 * not load the reactor.
 *
 * @module
 */
import type { LogLevel } from "../../logger.ts";

/** Marks a value to be transferred, not copied (the same in every copy of this module). */
const TRANSFER = "twist.workers.transfer";

/** A value sent with the buffers to move instead of copy; see `transfer`. */
export interface Transferred<T> {
  /** The marker. */
  readonly marker: "twist.workers.transfer";
  /** The value. */
  readonly value: T;
  /** What moves to the other thread (and becomes unusable here). */
  readonly transfer: Transferable[];
}

/**
 * Marks `value` to be moved to the other thread instead of copied: an
 * `ArrayBuffer`, or a typed array (its buffer moves), or any value with the
 * buffers given in `buffers`. After the call the buffers are detached on
 * the sending side (zero length).
 *
 * @param value what to send
 * @param buffers what to move; by default `value` itself, or its buffer
 * @returns the marked value, for a call's argument or a function's result
 * @throws {TypeError} when `value` is neither a buffer nor a typed array
 * and no `buffers` are given
 *
 * @example Hashing a large payload in a Worker without copying it
 * ```ts ignore
 * import { deferToWorker, transfer, WorkerPool } from "@twist/twist";
 *
 * const pool = new WorkerPool(new URL("./hash_worker.ts", import.meta.url));
 * const payload = new Uint8Array(1 << 20);
 * const digest = await deferToWorker(pool, "sha256", transfer(payload));
 * // payload.byteLength is now 0: its memory moved to the worker.
 * ```
 */
export function transfer<T>(
  value: T,
  ...buffers: Transferable[]
): Transferred<T> {
  if (buffers.length === 0) {
    if (value instanceof ArrayBuffer) buffers = [value];
    else if (ArrayBuffer.isView(value)) {
      buffers = [value.buffer as ArrayBuffer];
    } else {
      throw new TypeError(
        "transfer() needs an ArrayBuffer or a typed array, or the buffers to move as further arguments",
      );
    }
  }
  return { marker: TRANSFER, value, transfer: buffers };
}

/**
 * Unwraps a value that may be marked by `transfer`, adding its buffers to
 * `list`.
 *
 * @param value a value, marked or not
 * @param list collects what to transfer
 * @returns the value to send
 */
export function unwrapTransfer(value: unknown, list: Transferable[]): unknown {
  if (
    typeof value === "object" && value !== null &&
    (value as { marker?: unknown }).marker === TRANSFER
  ) {
    const t = value as Transferred<unknown>;
    for (const b of t.transfer) if (!list.includes(b)) list.push(b);
    return t.value;
  }
  return value;
}

/** The tag of every message of this protocol. */
export const TAG = "twist.workers";

/** An error as it crosses threads. */
export interface SentError {
  name: string;
  message: string;
  stack: string;
}

/**
 * An error (or anything thrown) in a form that crosses threads.
 *
 * @param e what was thrown
 * @returns its name, message and stack
 */
export function sendError(e: unknown): SentError {
  if (e instanceof Error) {
    return {
      name: e.name,
      message: e.message,
      stack: e.stack ?? `${e.name}: ${e.message}`,
    };
  }
  const message = String(e);
  return { name: "Error", message, stack: message };
}

/** From the reactor thread to a pool worker. */
export type ToPoolWorker =
  | { tag: typeof TAG; kind: "init"; module: string }
  | {
    tag: typeof TAG;
    kind: "call";
    id: number;
    name: string;
    args: unknown[];
  };

/** From a pool worker (or a served worker) to the reactor thread. */
export type FromWorker =
  | { tag: typeof TAG; kind: "result"; id: number; value: unknown }
  | { tag: typeof TAG; kind: "error"; id: number; error: SentError }
  | { tag: typeof TAG; kind: "post"; value: unknown }
  | { tag: typeof TAG; kind: "fatal"; error: SentError }
  | { tag: typeof TAG; kind: "exit" }
  | { tag: typeof TAG; kind: "listening"; hosts: string[] }
  | {
    tag: typeof TAG;
    kind: "log";
    event: { time: number; level: LogLevel; message: string };
  }
  | { tag: typeof TAG; kind: "stopped" };

/** From the reactor thread to a served worker. */
export type ToServeWorker =
  | {
    tag: typeof TAG;
    kind: "serve";
    module: string;
    listen: string[];
    shutdownTimeout: number;
    index: number;
  }
  | { tag: typeof TAG; kind: "stop" };

/**
 * Whether `data` is a message of this protocol.
 *
 * @param data a message's data
 * @returns `true` for ours
 */
export function isOurs(
  data: unknown,
): data is { tag: typeof TAG; kind: string } {
  return typeof data === "object" && data !== null &&
    (data as { tag?: unknown }).tag === TAG;
}

/**
 * Reports a worker's end to its parent: an uncaught error (with its stack),
 * or the worker's own end (`Deno.exit`, `self.close()`). Installed by both
 * worker runtimes.
 *
 * @param scope the worker's global scope
 */
export function reportEnd(scope: {
  addEventListener(type: string, f: (e: Event) => void): void;
  postMessage(message: unknown): void;
  close(): void;
}): void {
  const fatal = (e: Event, error: unknown): void => {
    // Reported here, with its stack; the worker then ends.
    e.preventDefault();
    scope.postMessage({ tag: TAG, kind: "fatal", error: sendError(error) });
    scope.close();
  };
  scope.addEventListener("error", (e: Event) => {
    fatal(e, (e as ErrorEvent).error ?? (e as ErrorEvent).message);
  });
  scope.addEventListener("unhandledrejection", (e: Event) => {
    fatal(e, (e as PromiseRejectionEvent).reason);
  });
  scope.addEventListener("unload", () => {
    scope.postMessage({ tag: TAG, kind: "exit" });
  });
}

/**
 * A TCP description with `reusePort=true` added: every Worker listens on
 * the same port.
 *
 * @param description a server endpoint description
 * @returns it, with `reusePort=true` when it is TCP
 */
export function withReusePort(description: string): string {
  const type = description.split(":", 1)[0];
  if (type !== "tcp" && type !== "tcp6") return description;
  return /(^|:)reusePort=/.test(description)
    ? description
    : `${description}:reusePort=true`;
}

/**
 * Checks, without prompting, that Workers can load `urls` (local files need
 * read access; Deno would end the Worker with an uncaught error).
 *
 * @param urls the modules a Worker loads
 * @param what who needs them, for the message
 * @throws {Deno.errors.NotCapable} naming the `--allow-read` flag to add
 */
export function checkReadable(urls: string[], what: string): void {
  for (const url of urls) {
    if (!url.startsWith("file:")) continue;
    const path = decodeURIComponent(new URL(url).pathname);
    const state = Deno.permissions.querySync({ name: "read", path }).state;
    if (state !== "granted") {
      const dir = path.slice(0, path.lastIndexOf("/")) || "/";
      throw new Deno.errors.NotCapable(
        `${what} cannot load "${path}" in its Workers: add --allow-read=${dir} (or --allow-read)`,
      );
    }
  }
}
