/**
 * The reactor's registry of live resources (internal, not exported from
 * `mod.ts`): listening ports, connectors, connections, UDP ports, child
 * processes — anything the reactor must close (or let go of) when it stops.
 *
 * Each reactor owns one registry and installs one `"during"` `"shutdown"`
 * trigger for it when it is made (Twisted's `disconnectAll`), so opening and
 * closing resources costs no trigger and leaves nothing behind: a resource
 * registers while it is live and unregisters when it is closed, both O(1).
 *
 * How a resource is shut down is given by its {@linkcode ResourceKind}, one
 * object shared by every resource of that kind, so a resource (a connection
 * among thousands) costs one map entry and no closure of its own.
 *
 * @module
 */
import { log } from "../../logger.ts";

/**
 * How the reactor shuts down one kind of resource at its shutdown.
 *
 * @typeParam R the resource
 */
export interface ResourceKind<R extends object> {
  /** What the resource is, for messages ("TCP port", "connection"...). */
  readonly name: string;
  /**
   * Kinds are shut down in increasing order (ports stop accepting before the
   * connections they made are closed); resources of one kind in the order
   * they registered.
   */
  readonly order: number;
  /**
   * Starts closing `resource`. Shutdown waits for a returned promise (or
   * Deferred) to settle.
   */
  shutdown(resource: R): PromiseLike<unknown> | void;
  /**
   * Closes `resource` at once. With it, shutdown also waits for every
   * resource of the kind to unregister, and calls it on those still
   * registered after `reactor.shutdownTimeout` seconds (connections still
   * flushing their writes).
   *
   * @param afterSeconds the timeout that passed, for the reason given
   */
  abort?(resource: R, afterSeconds: number): void;
  /** A readable form of `resource`; `String(resource)` by default. */
  describe?(resource: R): string;
}

/** What the registry needs of its reactor. */
export interface RegistryClock {
  /** Seconds shutdown lets resources with an `abort` close by themselves. */
  readonly shutdownTimeout: number;
  /** Schedules the shutdown deadline (on the reactor's own clock). */
  callLater(
    delay: number,
    f: () => void,
  ): { active(): boolean; cancel(): void };
}

// deno-lint-ignore no-explicit-any
type AnyKind = ResourceKind<any>;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function";
}

/**
 * The live resources of one reactor, and its one shutdown path.
 */
export class ResourceRegistry {
  readonly #clock: RegistryClock;
  /** Insertion-ordered, so resources of a kind shut down in the order made. */
  readonly #live = new Map<object, AnyKind>();
  /** Registered resources whose kind has `abort`. */
  #abortable = 0;
  #stopped = false;
  /** Ends shutdown's wait once no resource with an `abort` is left. */
  #drained: (() => void) | undefined;

  /**
   * Creates the registry of a reactor.
   *
   * @param clock the reactor (its `shutdownTimeout` and `callLater`)
   */
  constructor(clock: RegistryClock) {
    this.#clock = clock;
  }

  /** Whether shutdown has begun: nothing new should listen or connect. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** How many resources are live. */
  get size(): number {
    return this.#live.size;
  }

  /**
   * Registers a live resource. One registered once shutdown has begun is
   * shut down at once (a process spawned by a shutdown trigger stops keeping
   * this one alive all the same).
   *
   * @param resource the resource
   * @param kind how to shut it down
   */
  register<R extends object>(resource: R, kind: ResourceKind<R>): void {
    if (this.#live.has(resource)) return;
    this.#live.set(resource, kind);
    if (kind.abort) this.#abortable++;
    if (this.#stopped) this.#shutdownOne(resource, kind);
  }

  /**
   * Forgets a resource that is closed; a resource not registered is ignored.
   *
   * @param resource the resource
   */
  unregister(resource: object): void {
    const kind = this.#live.get(resource);
    if (!kind) return;
    this.#live.delete(resource);
    if (kind.abort && --this.#abortable === 0) this.#drained?.();
  }

  /**
   * Whether `resource` is registered.
   *
   * @param resource the resource
   * @returns `true` while it is live
   */
  has(resource: object): boolean {
    return this.#live.has(resource);
  }

  /**
   * The live resources, readable (for tests and debugging).
   *
   * @returns one line per resource
   */
  describe(): string[] {
    return [...this.#live].map(([resource, kind]) =>
      `${kind.name}: ${kind.describe?.(resource) ?? String(resource)}`
    );
  }

  /**
   * The reactor's `"during"` `"shutdown"` trigger: marks the registry
   * stopped, shuts every live resource down, kind by kind, and waits for
   * what they return. Resources whose kind has an `abort` are waited for
   * until they unregister; those left after `shutdownTimeout` seconds are
   * aborted (and waited for again).
   *
   * @returns a promise that settles once everything is closed (it never
   * rejects: errors are logged), or `undefined` when all closed at once, so
   * an idle reactor's shutdown stays synchronous
   */
  shutdown(): Promise<void> | undefined {
    this.#stopped = true;
    const entries = [...this.#live].sort((a, b) => a[1].order - b[1].order);
    const waits: Promise<unknown>[] = [];
    for (const [resource, kind] of entries) {
      // Closing one may have closed another (a port's pending connection).
      if (!this.#live.has(resource)) continue;
      const wait = this.#shutdownOne(resource, kind);
      if (wait) waits.push(wait);
    }
    if (this.#abortable > 0) waits.push(this.#drain());
    if (waits.length === 0) return undefined;
    return Promise.all(waits).then(() => {});
  }

  #shutdownOne(resource: object, kind: AnyKind): Promise<unknown> | undefined {
    const why = `Error closing a ${kind.name} at shutdown`;
    try {
      const result = kind.shutdown(resource);
      if (isThenable(result)) {
        return Promise.resolve(result).then(undefined, (e) => log.err(e, why));
      }
    } catch (e) {
      log.err(e, why);
    }
    return undefined;
  }

  /** Waits until no resource with an `abort` is left, aborting them at the deadline. */
  #drain(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timeout = this.#clock.shutdownTimeout;
      const deadline = this.#clock.callLater(timeout, () => {
        for (const [resource, kind] of [...this.#live]) {
          if (!kind.abort || !this.#live.has(resource)) continue;
          try {
            kind.abort(resource, timeout);
          } catch (e) {
            log.err(e, `Error aborting a ${kind.name} at shutdown`);
          }
        }
      });
      this.#drained = () => {
        this.#drained = undefined;
        if (deadline.active()) deadline.cancel();
        resolve();
      };
    });
  }
}

/** How the internal modules reach into a reactor; set by `base.ts`. */
interface ReactorInternals {
  registry(reactor: object): ResourceRegistry | undefined;
  triggerCount(reactor: object): number | undefined;
}

let internals: ReactorInternals | undefined;

/**
 * Called once by `ReactorBase` (from a static block, so its private fields
 * stay private to everyone but these internal modules).
 *
 * @param access reads a reactor's registry and counts its triggers
 */
export function grantReactorInternals(access: ReactorInternals): void {
  internals = access;
}

/**
 * The registry of `reactor`, or `undefined` for an object that is not a
 * `ReactorBase` (a test double such as `MemoryReactor`).
 *
 * @param reactor the reactor
 * @returns its registry
 */
export function registryOf(reactor: object): ResourceRegistry | undefined {
  return internals?.registry(reactor);
}

/** A reactor's bookkeeping, as `reactorBookkeeping` reads it. */
export interface ReactorBookkeeping {
  /** System event triggers not yet run, every event and phase together. */
  readonly triggers: number;
  /** Live resources in the reactor's registry. */
  readonly resources: number;
  /** Delayed calls pending (neither run nor cancelled). */
  readonly delayedCalls: number;
}

/**
 * Reads what a reactor is holding on to, for tests that check nothing is
 * left behind. Internal: not part of the public API.
 *
 * @param reactor a `ReactorBase`
 * @returns its trigger, resource and delayed call counts
 * @throws {TypeError} if `reactor` is not a `ReactorBase`
 */
export function reactorBookkeeping(
  reactor: { getDelayedCalls(): unknown[] },
): ReactorBookkeeping {
  const registry = registryOf(reactor);
  const triggers = internals?.triggerCount(reactor);
  if (!registry || triggers === undefined) {
    throw new TypeError("Cannot read the bookkeeping: not a ReactorBase");
  }
  return {
    triggers,
    resources: registry.size,
    delayedCalls: reactor.getDelayedCalls().length,
  };
}
