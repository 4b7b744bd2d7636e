/**
 * Every core: Web Workers for work that would block the reactor
 * (`WorkerPool`, `deferToWorker`: `twisted.internet.threads`, the Deno way)
 * and one server served by several Workers on one port (`serveOnWorkers`).
 * Worker code imports `@twist/twist/worker` (`postToReactor`, `transfer`).
 *
 * @module
 */
export {
  deferToWorker,
  WorkerError,
  WorkerLost,
  WorkerPool,
  type WorkerPoolOptions,
  WorkerPoolStopped,
} from "./workers/pool.ts";
export { transfer, type Transferred } from "./workers/messages.ts";
export {
  type ServedWorkers,
  serveOnWorkers,
  type ServeOnWorkersOptions,
} from "./workers/supervisor.ts";
