/**
 * `WorkerPool`: functions exported by a module, run in Web Workers
 * (Twisted's thread pool, the Deno way). Public through `../workers.ts`.
 *
 * @module
 */
import { Deferred } from "../defer.ts";
import { log } from "../../logger.ts";
import {
  registryOf,
  type ResourceKind,
  type ResourceRegistry,
} from "../common/registry.ts";
import { defaultReactor } from "../common/default_reactor.ts";
import {
  checkReadable,
  type FromWorker,
  isOurs,
  type SentError,
  TAG,
  unwrapTransfer,
} from "./messages.ts";

/**
 * The function a `WorkerPool` ran threw (or its module could not be
 * imported): the worker's error, with its name, message and stack.
 *
 * @example
 * ```ts
 * import { WorkerError } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const e = new WorkerError({ name: "RangeError", message: "too big", stack: "RangeError: too big\n    at f (file:///w.ts:1:1)" });
 * assertEquals([e.remoteName, e.message], ["RangeError", "too big"]);
 * ```
 */
export class WorkerError extends Error {
  /** The error's name. */
  override name = "WorkerError";
  /** The name of the error in the worker (`"TypeError"`...). */
  readonly remoteName: string;

  /**
   * Makes the error from the one the worker sent.
   *
   * @param remote its name, message and stack
   */
  constructor(remote: SentError) {
    super(remote.message);
    this.remoteName = remote.name;
    this.stack = remote.stack;
  }
}

/**
 * The worker running a call ended before it answered: it threw an uncaught
 * error, called `Deno.exit()` or `self.close()`, or was terminated at the
 * reactor's shutdown. The pool replaces it; the calls queued go on.
 *
 * @example
 * ```ts
 * import { WorkerLost } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * assert(new WorkerLost("it called Deno.exit()") instanceof Error);
 * ```
 */
export class WorkerLost extends Error {
  /** The error's name. */
  override name = "WorkerLost";
}

/**
 * The pool was stopped (by `stop()` or the reactor's shutdown) before the
 * call ran.
 *
 * @example
 * ```ts
 * import { WorkerPoolStopped } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * assert(new WorkerPoolStopped("the pool was stopped") instanceof Error);
 * ```
 */
export class WorkerPoolStopped extends Error {
  /** The error's name. */
  override name = "WorkerPoolStopped";
}

/** Options of a `WorkerPool`. */
export interface WorkerPoolOptions {
  /**
   * How many Workers at most (they start when calls need them).
   *
   * @default {navigator.hardwareConcurrency}
   */
  size?: number;
  /**
   * Receives what worker code sends with `postToReactor` (from
   * `@twist/twist/worker`), on the reactor thread, at any time.
   */
  onMessage?: (value: unknown) => void;
  /**
   * Narrower permissions for the Workers (Deno's Worker `deno.permissions`,
   * e.g. `{ net: false, read: ["./data"] }`; `"none"` for none). By default
   * Workers have the process's permissions. Deno 2 needs the
   * `--unstable-worker-options` flag for this: without it Deno ends the
   * process (exit code 70) when the first Worker starts.
   */
  permissions?: Deno.PermissionOptions;
  /**
   * The reactor that owns the pool: its shutdown stops it.
   *
   * @default {the shared reactor}
   */
  reactor?: object;
  /** The Workers' name (in Deno's messages). @default {"twist-worker"} */
  name?: string;
}

interface Call {
  readonly id: number;
  readonly name: string;
  readonly args: unknown[];
  readonly transfer: Transferable[];
  readonly d: Deferred<unknown>;
  slot?: Slot;
}

interface Slot {
  readonly worker: Worker;
  call?: Call;
  /** Why the worker is ending, when it said so (an uncaught error). */
  fatal?: SentError;
  ended: boolean;
}

const RUNTIME = new URL("./_worker_main.ts", import.meta.url).href;

/**
 * A pool of Web Workers that run the functions a module exports
 * (`twisted.python.threadpool`, the Deno way). Call them with
 * `deferToWorker`. Workers start when calls need them, up to `size`; each
 * runs one call at a time, the others queue. A worker that dies fails the
 * call it was running and is replaced.
 *
 * The pool belongs to a reactor (the shared one by default): the reactor's
 * shutdown stops it, failing queued calls with `WorkerPoolStopped` and
 * terminating the Workers still running a call after the reactor's
 * `shutdownTimeout`.
 *
 * Workers have the process's permissions; `options.permissions` narrows
 * them (Deno needs `--unstable-worker-options` for that).
 *
 * @example Hashing off the reactor thread
 * ```ts ignore
 * // hash_worker.ts: plain functions, no reactor
 * export async function sha256(data: Uint8Array): Promise<string> {
 *   const digest = await crypto.subtle.digest("SHA-256", data);
 *   return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
 * }
 *
 * // server.ts
 * import { deferToWorker, WorkerPool } from "@twist/twist";
 *
 * const pool = new WorkerPool(new URL("./hash_worker.ts", import.meta.url), { size: 2 });
 * const hex = await deferToWorker<string>(pool, "sha256", new Uint8Array([1, 2, 3]));
 * await pool.stop();
 * ```
 */
export class WorkerPool {
  readonly #module: string;
  readonly #size: number;
  readonly #options: WorkerPoolOptions;
  readonly #slots = new Set<Slot>();
  readonly #idle: Slot[] = [];
  readonly #queue: Call[] = [];
  #nextId = 1;
  #stopped = false;
  #stops: Deferred<void>[] = [];
  #registry: ResourceRegistry | undefined;

  /**
   * Creates the pool; no Worker starts until a call needs one.
   *
   * @param module the URL of the module whose exports the Workers run (an
   * absolute URL: `new URL("./work.ts", import.meta.url)`)
   * @param options size, `onMessage`, permissions, reactor
   * @throws {TypeError} for a relative module specifier
   * @throws {RangeError} for a size that is not a positive integer
   * @throws {Deno.errors.NotCapable} when the Workers could not read their
   * modules (local files need `--allow-read`), naming the flag
   */
  constructor(module: string | URL, options: WorkerPoolOptions = {}) {
    let url: URL;
    try {
      url = new URL(module);
    } catch {
      throw new TypeError(
        `Invalid worker module "${module}": give an absolute URL, e.g. new URL("./work.ts", import.meta.url)`,
      );
    }
    const size = options.size ?? navigator.hardwareConcurrency ?? 1;
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(
        `Invalid pool size "${size}": expected a positive integer`,
      );
    }
    checkReadable([RUNTIME, url.href], "WorkerPool");
    this.#module = url.href;
    this.#size = size;
    this.#options = options;
    const registry = registryOf(options.reactor ?? defaultReactor());
    if (registry) {
      this.#registry = registry;
      registry.register(this, WorkerPool.#KIND);
    }
  }

  /** The most Workers the pool runs. */
  get size(): number {
    return this.#size;
  }

  /** Workers alive (busy or idle). */
  get workers(): number {
    return this.#slots.size;
  }

  /** Calls waiting for a Worker. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Calls running. */
  get running(): number {
    let n = 0;
    for (const slot of this.#slots) if (slot.call) n++;
    return n;
  }

  /** Whether `stop()` was called (or the reactor shut down). */
  get stopped(): boolean {
    return this.#stopped;
  }

  /**
   * Runs the module's export `name` with `args` in a Worker; what
   * `deferToWorker` calls. Arguments marked with `transfer()` move instead
   * of being copied.
   *
   * @param name the exported function
   * @param args its arguments (structured-cloned)
   * @returns a Deferred of its result; cancelling it removes a queued call,
   * or terminates (and replaces) the Worker running it
   */
  call<T = unknown>(name: string, args: unknown[] = []): Deferred<T> {
    const transfer: Transferable[] = [];
    const sent = args.map((a) => unwrapTransfer(a, transfer));
    const call: Call = {
      id: this.#nextId++,
      name,
      args: sent,
      transfer,
      d: new Deferred<unknown>(() => this.#cancel(call)),
    };
    if (this.#stopped) {
      call.d.errback(
        new WorkerPoolStopped(
          `Cannot call "${name}": the worker pool is stopped`,
        ),
      );
    } else {
      this.#queue.push(call);
      this.#dispatch();
    }
    return call.d as Deferred<T>;
  }

  /**
   * Stops the pool: queued calls fail with `WorkerPoolStopped`, idle
   * Workers end, running calls finish first.
   *
   * @returns a Deferred fired once every Worker has ended
   */
  stop(): Deferred<void> {
    return this.#stop("the worker pool was stopped");
  }

  /** A readable form, for the reactor's registry. */
  toString(): string {
    return `WorkerPool(${this.#module}, ${this.#slots.size}/${this.#size} workers, ${this.#queue.length} queued)`;
  }

  #stop(why: string): Deferred<void> {
    const d = new Deferred<void>();
    this.#stopped = true;
    for (const call of this.#queue.splice(0)) {
      call.d.errback(
        new WorkerPoolStopped(`"${call.name}" did not run: ${why}`),
      );
    }
    for (const slot of this.#idle.splice(0)) this.#end(slot);
    this.#stops.push(d);
    this.#maybeStopped();
    return d;
  }

  /** The reactor shut down and calls still run: terminate their Workers. */
  #abort(afterSeconds: number): void {
    for (const slot of [...this.#slots]) {
      const call = slot.call;
      this.#end(slot);
      call?.d.errback(
        new WorkerLost(
          `"${call.name}" was still running ${afterSeconds} s after the reactor began shutting down: its worker was terminated`,
        ),
      );
    }
    this.#maybeStopped();
  }

  #maybeStopped(): void {
    if (!this.#stopped || this.#slots.size > 0) return;
    this.#registry?.unregister(this);
    this.#registry = undefined;
    for (const d of this.#stops.splice(0)) d.callback(undefined);
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      let slot = this.#idle.pop();
      if (!slot) {
        if (this.#slots.size >= this.#size) return;
        slot = this.#spawn();
      }
      const call = this.#queue.shift()!;
      slot.call = call;
      call.slot = slot;
      try {
        slot.worker.postMessage(
          {
            tag: TAG,
            kind: "call",
            id: call.id,
            name: call.name,
            args: call.args,
          },
          call.transfer,
        );
      } catch (e) {
        // An argument that cannot be cloned.
        slot.call = undefined;
        call.slot = undefined;
        this.#idle.push(slot);
        call.d.errback(e);
      }
    }
  }

  #spawn(): Slot {
    const options: WorkerOptions & { deno?: { permissions: unknown } } = {
      type: "module",
      name: this.#options.name ?? "twist-worker",
    };
    if (this.#options.permissions !== undefined) {
      options.deno = { permissions: this.#options.permissions };
    }
    const worker = new Worker(RUNTIME, options);
    const slot: Slot = { worker, ended: false };
    this.#slots.add(slot);
    worker.onmessage = (e: MessageEvent) => this.#onMessage(slot, e.data);
    worker.onerror = (e: ErrorEvent) => {
      // Not reported by the worker itself: keep it from ending this process.
      e.preventDefault();
      this.#died(slot, slot.fatal?.message ?? e.message);
    };
    worker.onmessageerror = () => {
      this.#died(slot, "a message from it could not be read");
    };
    worker.postMessage({ tag: TAG, kind: "init", module: this.#module });
    return slot;
  }

  #onMessage(slot: Slot, message: FromWorker): void {
    if (!isOurs(message) || slot.ended) return;
    switch (message.kind) {
      case "result":
      case "error": {
        const call = slot.call;
        if (!call || call.id !== message.id) return;
        slot.call = undefined;
        call.slot = undefined;
        if (this.#stopped) this.#end(slot);
        else this.#idle.push(slot);
        if (message.kind === "result") call.d.callback(message.value);
        else call.d.errback(new WorkerError(message.error));
        this.#dispatch();
        this.#maybeStopped();
        return;
      }
      case "post": {
        const onMessage = this.#options.onMessage;
        if (!onMessage) {
          log.warn(
            `A worker of ${this} called postToReactor, but the pool has no onMessage`,
          );
          return;
        }
        try {
          onMessage(message.value);
        } catch (e) {
          log.err(e, "Error in a WorkerPool's onMessage");
        }
        return;
      }
      case "fatal":
        // The worker ends after an uncaught error (it closes itself).
        slot.fatal = message.error;
        this.#died(slot, `uncaught ${message.error.stack}`);
        return;
      case "exit":
        this.#died(slot, "it ended (Deno.exit() or self.close())");
        return;
    }
  }

  /** A worker ended by itself: fail its call, replace it if calls wait. */
  #died(slot: Slot, why: string): void {
    if (slot.ended) return;
    const call = slot.call;
    this.#end(slot);
    if (call) {
      const lost = new WorkerLost(
        `The worker running "${call.name}" died: ${why}`,
      );
      if (slot.fatal) lost.stack = `WorkerLost: ${lost.message}`;
      call.d.errback(lost);
    } else {
      log.warn(`A worker of ${this} died: ${why}`);
    }
    this.#dispatch();
    this.#maybeStopped();
  }

  /** Terminates a worker and forgets it. */
  #end(slot: Slot): void {
    if (slot.ended) return;
    slot.ended = true;
    slot.worker.terminate();
    this.#slots.delete(slot);
    const i = this.#idle.indexOf(slot);
    if (i >= 0) this.#idle.splice(i, 1);
    if (slot.call) slot.call.slot = undefined;
    slot.call = undefined;
  }

  #cancel(call: Call): void {
    const i = this.#queue.indexOf(call);
    if (i >= 0) {
      this.#queue.splice(i, 1);
      return;
    }
    const slot = call.slot;
    if (slot) {
      this.#end(slot);
      this.#dispatch();
      this.#maybeStopped();
    }
  }

  /** How the reactor shuts pools down. */
  static readonly #KIND: ResourceKind<WorkerPool> = {
    name: "worker pool",
    order: 5,
    shutdown: (pool) => {
      pool.#stop("the reactor is shutting down");
    },
    abort: (pool, afterSeconds) => pool.#abort(afterSeconds),
  };
}

/**
 * Runs `pool`'s module export `name` with `args` in one of its Workers
 * (`deferToThread`'s counterpart: Workers cannot take closures, so work is
 * named by module and export). Arguments and the result travel by
 * structured clone; mark buffers with `transfer()` to move them instead.
 *
 * @param pool the pool
 * @param name the exported function
 * @param args its arguments
 * @returns a Deferred of the result, failing with `WorkerError` (the
 * function threw), `WorkerLost` (its worker died) or `WorkerPoolStopped`;
 * cancelling it removes a queued call, or terminates the Worker running it
 *
 * @example
 * ```ts ignore
 * import { deferToWorker, WorkerPool } from "@twist/twist";
 *
 * const pool = new WorkerPool(new URL("./math_worker.ts", import.meta.url));
 * const sum = await deferToWorker<number>(pool, "add", 1, 2);
 * ```
 */
export function deferToWorker<T = unknown>(
  pool: WorkerPool,
  name: string,
  ...args: unknown[]
): Deferred<T> {
  return pool.call<T>(name, args);
}
