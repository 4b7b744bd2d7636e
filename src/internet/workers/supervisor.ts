/**
 * `serveOnWorkers`: one server on every core. N Workers, each with its own
 * reactor and the module's factory, listen on one port (`reusePort`), and
 * the reactor thread supervises them: a worker that crashes is restarted
 * with backoff; the owning reactor's shutdown stops them all gracefully.
 * Public through `../workers.ts`.
 *
 * @module
 */
import { Deferred } from "../defer.ts";
import { log } from "../../logger.ts";
import type { IDelayedCall, IReactorTime } from "../interfaces.ts";
import {
  registryOf,
  type ResourceKind,
  type ResourceRegistry,
} from "../common/registry.ts";
import { defaultReactor } from "../common/default_reactor.ts";
import { checkReadable, type FromWorker, isOurs, TAG } from "./messages.ts";

/** What the supervisor needs of a Worker (a test can give a fake). */
export type SupervisedWorker = Pick<
  Worker,
  "postMessage" | "terminate" | "onmessage" | "onerror"
>;

/** Options of `serveOnWorkers`. */
export interface ServeOnWorkersOptions {
  /** How many Workers. @default {navigator.hardwareConcurrency} */
  workers?: number;
  /**
   * Where each Worker listens: server endpoint descriptions (TCP ones get
   * `reusePort=true`, which needs `--unstable-net`).
   *
   * @default {["tcp:8000"]}
   */
  listen?: string[];
  /**
   * The reactor that owns the Workers: its shutdown (SIGINT, SIGTERM,
   * `stop()`) stops them gracefully, within its `shutdownTimeout`.
   *
   * @default {the shared reactor}
   */
  reactor?: object;
  /**
   * Restart delays after a crash, in seconds: `initial`, doubled after each
   * crash in a row up to `max`; a worker that ran `max` seconds before it
   * crashed starts again from `initial`.
   *
   * @default {{ initial: 0.5, max: 30 }}
   */
  backoff?: { initial?: number; max?: number };
  /**
   * Starts worker `index` (for tests).
   *
   * @internal
   */
  spawn?: (
    index: number,
  ) => Pick<Worker, "postMessage" | "terminate" | "onmessage" | "onerror">;
  /**
   * The clock for restart delays and the stop deadline (for tests).
   *
   * @default {the reactor}
   * @internal
   */
  clock?: IReactorTime;
}

/** The Workers `serveOnWorkers` runs. */
export interface ServedWorkers {
  /**
   * Fires once every Worker listens; fails (and everything stops) when one
   * cannot start: its module does not load, or it cannot listen.
   */
  readonly ready: Deferred<void>;
  /** How many Workers are listening now. */
  readonly listening: number;
  /** How many times a crashed Worker was restarted. */
  readonly restarts: number;
  /**
   * Stops every Worker gracefully (each stops its reactor: ports close,
   * connections flush their writes within the shutdown timeout); Workers
   * still running after it, plus one second, are terminated.
   *
   * @returns a Deferred fired once every Worker has ended
   */
  stop(): Deferred<void>;
}

interface Slot {
  readonly index: number;
  worker?: SupervisedWorker;
  listening: boolean;
  everListened: boolean;
  /** Crashes in a row. */
  failures: number;
  startedAt: number;
  restart?: IDelayedCall;
  fatal?: string;
}

const RUNTIME = new URL("./_serve_main.ts", import.meta.url).href;

function realWorker(index: number): SupervisedWorker {
  return new Worker(RUNTIME, {
    type: "module",
    name: `twist-serve-${index + 1}`,
  });
}

class Supervisor implements ServedWorkers {
  readonly ready: Deferred<void> = new Deferred<void>();
  readonly #module: string;
  readonly #listen: string[];
  readonly #clock: IReactorTime;
  readonly #owner: { shutdownTimeout?: number };
  readonly #spawn: (index: number) => SupervisedWorker;
  readonly #initial: number;
  readonly #max: number;
  readonly #slots: Slot[] = [];
  #restarts = 0;
  #stopping = false;
  #stops: Deferred<void>[] = [];
  #deadline: IDelayedCall | undefined;
  #registry: ResourceRegistry | undefined;

  constructor(module: string, options: ServeOnWorkersOptions) {
    const owner = options.reactor ?? defaultReactor();
    this.#module = module;
    this.#listen = options.listen ?? ["tcp:8000"];
    this.#owner = owner as { shutdownTimeout?: number };
    this.#clock = options.clock ?? (owner as IReactorTime);
    this.#spawn = options.spawn ?? realWorker;
    this.#initial = options.backoff?.initial ?? 0.5;
    this.#max = options.backoff?.max ?? 30;
    const n = options.workers ?? navigator.hardwareConcurrency ?? 1;
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(
        `Invalid number of workers "${n}": expected a positive integer`,
      );
    }
    if (!options.spawn) checkReadable([RUNTIME, module], "serveOnWorkers");
    const registry = registryOf(owner);
    if (registry) {
      this.#registry = registry;
      registry.register(this, Supervisor.#KIND);
    }
    for (let i = 0; i < n; i++) {
      const slot: Slot = {
        index: i,
        listening: false,
        everListened: false,
        failures: 0,
        startedAt: 0,
      };
      this.#slots.push(slot);
      this.#start(slot);
    }
  }

  get listening(): number {
    return this.#slots.filter((s) => s.listening).length;
  }

  get restarts(): number {
    return this.#restarts;
  }

  toString(): string {
    return `${this.#slots.length} workers serving ${this.#module}`;
  }

  get #timeout(): number {
    return this.#owner.shutdownTimeout ?? 5;
  }

  #start(slot: Slot): void {
    slot.restart = undefined;
    slot.fatal = undefined;
    slot.listening = false;
    const worker = this.#spawn(slot.index);
    slot.worker = worker;
    slot.startedAt = this.#clock.seconds();
    worker.onmessage = (e) => this.#onMessage(slot, worker, e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      this.#ended(slot, worker, e.message);
    };
    worker.postMessage({
      tag: TAG,
      kind: "serve",
      module: this.#module,
      listen: this.#listen,
      shutdownTimeout: this.#timeout,
      index: slot.index,
    });
  }

  #onMessage(slot: Slot, worker: SupervisedWorker, m: FromWorker): void {
    if (!isOurs(m) || slot.worker !== worker) return;
    switch (m.kind) {
      case "listening": {
        slot.listening = true;
        slot.everListened = true;
        log.msg(`worker ${slot.index + 1} listening on ${m.hosts.join(", ")}`);
        if (this.#slots.every((s) => s.everListened) && !this.ready.called) {
          this.ready.callback(undefined);
        }
        if (this.#stopping) worker.postMessage({ tag: TAG, kind: "stop" });
        return;
      }
      case "log":
        log.publish({
          ...m.event,
          message: `worker ${slot.index + 1}: ${m.event.message}`,
        });
        return;
      case "fatal":
        this.#ended(slot, worker, m.error.stack);
        return;
      case "exit":
        this.#ended(slot, worker, "it ended (Deno.exit() or self.close())");
        return;
      case "stopped":
        this.#ended(slot, worker, undefined);
        return;
    }
  }

  /** Worker `slot` ended: stopped (`why` undefined), or crashed. */
  #ended(slot: Slot, worker: SupervisedWorker, why: string | undefined): void {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    slot.listening = false;
    worker.terminate();
    if (this.#stopping) {
      if (why !== undefined && !slot.everListened) {
        log.warn(`worker ${slot.index + 1} ended while stopping: ${why}`);
      }
      this.#maybeStopped();
      return;
    }
    why ??= "it stopped by itself";
    if (!slot.everListened) {
      // It never started: restarting would fail the same way.
      const error = new Error(
        `Worker ${slot.index + 1} could not start: ${why.split("\n")[0]}`,
      );
      log.err(error, `Cannot serve ${this.#module} on workers`);
      this.stop();
      if (!this.ready.called) this.ready.errback(error);
      return;
    }
    const uptime = this.#clock.seconds() - slot.startedAt;
    if (uptime >= this.#max) slot.failures = 0;
    const delay = Math.min(this.#initial * 2 ** slot.failures, this.#max);
    slot.failures++;
    log.publish({
      time: Date.now(),
      level: "error",
      message: `worker ${
        slot.index + 1
      } crashed: ${why}; restarting it in ${delay} s`,
    });
    slot.restart = this.#clock.callLater(delay, () => {
      this.#restarts++;
      this.#start(slot);
    });
  }

  stop(): Deferred<void> {
    const d = new Deferred<void>();
    this.#stops.push(d);
    if (!this.#stopping) {
      this.#stopping = true;
      for (const slot of this.#slots) {
        if (slot.restart?.active()) slot.restart.cancel();
        slot.restart = undefined;
        slot.worker?.postMessage({ tag: TAG, kind: "stop" });
      }
      if (this.#slots.some((s) => s.worker)) {
        const grace = this.#timeout + 1;
        this.#deadline = this.#clock.callLater(grace, () => {
          for (const slot of this.#slots) {
            const worker = slot.worker;
            if (!worker) continue;
            log.warn(
              `worker ${
                slot.index + 1
              } was still running ${grace} s after it was told to stop: terminated`,
            );
            this.#ended(slot, worker, undefined);
          }
        });
      }
    }
    this.#maybeStopped();
    return d;
  }

  #maybeStopped(): void {
    if (!this.#stopping || this.#slots.some((s) => s.worker)) return;
    if (this.#deadline?.active()) this.#deadline.cancel();
    this.#deadline = undefined;
    this.#registry?.unregister(this);
    this.#registry = undefined;
    if (!this.ready.called) {
      this.ready.errback(
        new Error("The workers were stopped before they all listened"),
      );
    }
    for (const d of this.#stops.splice(0)) d.callback(undefined);
  }

  static readonly #KIND: ResourceKind<Supervisor> = {
    name: "worker supervisor",
    order: 5,
    shutdown: (supervisor) => supervisor.stop(),
  };
}

/**
 * Serves `module`'s default export (a `Factory`, or a `Protocol` class) on
 * every core: `workers` Web Workers, each with its own reactor and factory,
 * listen on the same endpoints (TCP with `reusePort`, so the kernel
 * spreads connections across them; Deno needs `--unstable-net`). The
 * reactor thread supervises them: a worker that crashes is logged and
 * restarted with backoff. The owning reactor's shutdown (SIGINT, SIGTERM)
 * stops them gracefully. What `twist serve MODULE --workers N` runs.
 *
 * @param module the absolute URL of the module
 * @param options workers, listen, reactor, backoff
 * @returns the running Workers
 * @throws {RangeError} for a number of workers that is not a positive integer
 * @throws {Deno.errors.NotCapable} when the Workers could not read their
 * modules (local files need `--allow-read`), naming the flag
 *
 * @example Serving a factory on two cores
 * ```ts ignore
 * // deno run --allow-net --allow-read --unstable-net server.ts
 * import { reactor, serveOnWorkers } from "@twist/twist";
 *
 * const served = serveOnWorkers(new URL("./echo_factory.ts", import.meta.url), {
 *   workers: 2,
 *   listen: ["tcp:8000"],
 * });
 * await served.ready;
 * await reactor.run(); // SIGINT or SIGTERM stops every worker, gracefully
 * ```
 */
export function serveOnWorkers(
  module: string | URL,
  options: ServeOnWorkersOptions = {},
): ServedWorkers {
  let url: URL;
  try {
    url = new URL(module);
  } catch {
    throw new TypeError(
      `Invalid module "${module}": give an absolute URL, e.g. new URL("./factory.ts", import.meta.url)`,
    );
  }
  return new Supervisor(url.href, options);
}
