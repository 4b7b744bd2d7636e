/**
 * The name and parent bookkeeping every `IService` shares (Twisted's
 * `Service.setName`, `setServiceParent`, `disownServiceParent`): used by
 * `ClientService` here and by the services of `src/application`.
 *
 * @module
 */
import type { IService, IServiceCollection } from "../interfaces.ts";

/** A service whose name and parent these functions may set. */
export interface ParentedService extends IService {
  name: string | null;
  parent: IServiceCollection | null;
}

/** How a service is named in messages: its name, else its class. */
export function describeService(service: IService): string {
  return service.name !== null
    ? `"${service.name}"`
    : (service as { constructor?: { name?: string } }).constructor?.name ??
      "a service";
}

/**
 * Names `service`.
 *
 * @throws {TypeError} if it already has a parent (which files it by name)
 */
export function setServiceName(service: ParentedService, name: string): void {
  if (service.parent !== null) {
    throw new TypeError(
      `Cannot rename ${
        describeService(service)
      } to "${name}": it has a parent; call disownServiceParent() first`,
    );
  }
  service.name = name;
}

/**
 * Adds `service` to `parent`, leaving its previous parent first; a running
 * parent starts it at once.
 *
 * @throws {TypeError} if `parent` already has a service of its name
 */
export function setParent(
  service: ParentedService,
  parent: IServiceCollection,
): void {
  if (service.parent !== null) service.disownServiceParent();
  service.parent = parent;
  try {
    parent.addService(service);
  } catch (e) {
    service.parent = null;
    throw e;
  }
}

/**
 * Removes `service` from its parent; a running parent stops it.
 *
 * @returns what `stopService` returned, when the parent stopped it
 * @throws {TypeError} if it has no parent
 */
export function disownParent(
  service: ParentedService,
): PromiseLike<unknown> | void {
  const parent = service.parent;
  if (parent === null) {
    throw new TypeError(
      `Cannot disown the parent of ${describeService(service)}: it has none`,
    );
  }
  const stopped = parent.removeService(service);
  service.parent = null;
  return stopped;
}
