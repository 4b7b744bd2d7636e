/**
 * `Service` and `MultiService` (`twisted.application.service`): the pieces a
 * program is composed of, started at start-up and stopped at shutdown, in a
 * tree.
 *
 * @module
 */
import type { IService, IServiceCollection } from "../internet/interfaces.ts";
import { Deferred, maybeDeferred } from "../internet/defer.ts";
import type { Failure } from "../internet/failure.ts";
import { log } from "../logger.ts";
import {
  describeService,
  disownParent,
  setParent,
  setServiceName,
} from "../internet/common/service_parent.ts";

export { describeService };

/**
 * The base class of services: it keeps the bookkeeping (`name`, `running`,
 * `parent`) and does nothing when started or stopped. Subclass it and
 * override `startService` and `stopService` (calling `super`'s); a
 * `stopService` that returns a Deferred or a promise makes the parent, and
 * the reactor's shutdown, wait for it.
 *
 * @example A service that says hello and goodbye
 * ```ts
 * import { MultiService, Service } from "@twist/twist/application";
 * import { assertEquals } from "@std/assert";
 *
 * const said: string[] = [];
 * class Greeter extends Service {
 *   override startService(): void {
 *     super.startService();
 *     said.push(`hello from ${this.name}`);
 *   }
 *   override stopService(): void {
 *     super.stopService();
 *     said.push(`goodbye from ${this.name}`);
 *   }
 * }
 * const app = new MultiService();
 * const greeter = new Greeter();
 * greeter.setName("greeter");
 * greeter.setServiceParent(app);
 * app.startService();
 * await app.stopService();
 * assertEquals(said, ["hello from greeter", "goodbye from greeter"]);
 * ```
 */
export class Service implements IService {
  /** The service's name in its parent, or `null`; set it with `setName`. */
  name: string | null = null;
  /** Whether it has been started and not stopped. */
  running = false;
  /** The collection it belongs to, or `null`; set it with `setServiceParent`. */
  parent: IServiceCollection | null = null;

  /**
   * Names the service.
   *
   * @throws {TypeError} if it already has a parent (which files it by name)
   */
  setName(name: string): void {
    setServiceName(this, name);
  }

  /**
   * Adds the service to `parent`, leaving its previous parent first. A
   * running parent starts it at once.
   *
   * @throws {TypeError} if `parent` already has a service of its name
   */
  setServiceParent(parent: IServiceCollection): void {
    setParent(this, parent);
  }

  /**
   * Removes the service from its parent; a running parent stops it.
   *
   * @returns what `stopService` returned, when the parent stopped it
   * @throws {TypeError} if it has no parent
   */
  disownServiceParent(): PromiseLike<unknown> | void {
    return disownParent(this);
  }

  /** Does what must come before `startService` (nothing, here). */
  privilegedStartService(): void {}

  /** Marks the service running. */
  startService(): void {
    this.running = true;
  }

  /** Marks the service stopped. */
  stopService(): PromiseLike<unknown> | void {
    this.running = false;
  }
}

/**
 * A service made of services (Twisted's `MultiService`, and what a `.tac`
 * file's `application` is): starting it starts its children in the order
 * they were added, stopping it stops them in reverse order, and the Deferred
 * `stopService` returns fires once every child's stop (Deferred or promise)
 * has finished. A child that fails to stop is logged and does not hold the
 * others up. Children added while it runs are started at once, and removed
 * ones are stopped.
 *
 * @example Start in order, stop in reverse, wait for the slow one
 * ```ts
 * import { Clock, deferLater } from "@twist/twist";
 * import { MultiService, Service } from "@twist/twist/application";
 * import { assertEquals } from "@std/assert";
 *
 * const clock = new Clock();
 * const seen: string[] = [];
 * class Step extends Service {
 *   override startService(): void {
 *     super.startService();
 *     seen.push(`start ${this.name}`);
 *   }
 *   override stopService() {
 *     super.stopService();
 *     seen.push(`stop ${this.name}`);
 *     return deferLater(clock, 1, () => seen.push(`stopped ${this.name}`));
 *   }
 * }
 * const app = new MultiService();
 * for (const name of ["db", "web"]) {
 *   const step = new Step();
 *   step.setName(name);
 *   step.setServiceParent(app);
 * }
 * app.startService();
 * let done = false;
 * app.stopService().addCallback(() => { done = true; });
 * assertEquals(done, false);
 * clock.advance(1);
 * assertEquals(done, true);
 * assertEquals(seen, ["start db", "start web", "stop web", "stop db", "stopped web", "stopped db"]);
 * ```
 */
export class MultiService extends Service implements IServiceCollection {
  #services: IService[] = [];
  #named = new Map<string, IService>();

  /** The children, in the order they were added. */
  [Symbol.iterator](): Iterator<IService> {
    return this.#services[Symbol.iterator]();
  }

  /**
   * The child named `name`.
   *
   * @throws {RangeError} if there is none
   */
  getServiceNamed(name: string): IService {
    const service = this.#named.get(name);
    if (service === undefined) {
      throw new RangeError(
        `No service named "${name}" in ${describeService(this)}${
          this.#named.size > 0
            ? ` (it has ${
              [...this.#named.keys()].map((n) => `"${n}"`).join(", ")
            })`
            : ""
        }`,
      );
    }
    return service;
  }

  /**
   * Adds a child (`service.setServiceParent(this)` calls it); if this
   * service is running, the child is started at once.
   *
   * @throws {TypeError} if a child already has its name
   */
  addService(service: IService): void {
    const name = service.name;
    if (name !== null) {
      if (this.#named.has(name)) {
        throw new TypeError(
          `Cannot add a second service named "${name}" to ${
            describeService(this)
          }: names are unique among siblings`,
        );
      }
      this.#named.set(name, service);
    }
    this.#services.push(service);
    if (this.running) {
      service.privilegedStartService();
      service.startService();
    }
  }

  /**
   * Removes a child (`service.disownServiceParent()` calls it); if this
   * service is running, the child is stopped.
   *
   * @returns what the child's `stopService` returned, if it was stopped
   * @throws {TypeError} if `service` is not a child
   */
  removeService(service: IService): PromiseLike<unknown> | void {
    const i = this.#services.indexOf(service);
    if (i < 0) {
      throw new TypeError(
        `Cannot remove ${describeService(service)} from ${
          describeService(this)
        }: it is not one of its services`,
      );
    }
    this.#services.splice(i, 1);
    if (service.name !== null) this.#named.delete(service.name);
    if (this.running) return service.stopService();
  }

  /** Runs every child's `privilegedStartService`, in order. */
  override privilegedStartService(): void {
    super.privilegedStartService();
    for (const service of [...this.#services]) {
      service.privilegedStartService();
    }
  }

  /** Marks this service running, then starts every child, in order. */
  override startService(): void {
    super.startService();
    for (const service of [...this.#services]) service.startService();
  }

  /**
   * Stops every child, last added first, without waiting for one to finish
   * before stopping the next (as Twisted does).
   *
   * @returns a Deferred that fires once every child has stopped; a child
   *   whose stop fails is logged
   */
  override stopService(): Deferred<void> {
    super.stopService();
    const children = [...this.#services].reverse();
    const stopped = new Deferred<void>();
    let pending = children.length + 1;
    const one = (): void => {
      if (--pending === 0) stopped.callback();
    };
    for (const service of children) {
      maybeDeferred(() => service.stopService()).addCallbacks(
        one,
        (f: Failure) => {
          log.err(f, `Error stopping service ${describeService(service)}`);
          one();
        },
      );
    }
    one();
    return stopped;
  }
}
