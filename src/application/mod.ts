/**
 * The application framework (`twisted.application`): a program as a tree of
 * services, started when it starts and stopped, in reverse, when it stops.
 * {@linkcode Service} is the base class, {@linkcode MultiService} holds
 * children (a Twisted `.tac` file's `application`),
 * {@linkcode StreamServerEndpointService} listens on an endpoint while it
 * runs, {@linkcode TimerService} calls a function every few seconds, and
 * {@linkcode ClientService} keeps a client connected, reconnecting with
 * backoff.
 *
 * `twist serve MODULE` runs a module whose default export is a service, as
 * Twisted's `twist`/`twistd -y` run a `.tac` file: it starts the service,
 * runs the reactor, and stops the service (waiting for it) on SIGINT or
 * SIGTERM.
 *
 * @example A program composed as a `.tac` file composes one (`twist serve app.ts`)
 * ```ts ignore
 * // app.ts
 * import { Factory, reactor, serverFromString } from "@twist/twist";
 * import { MultiService, StreamServerEndpointService, TimerService } from "@twist/twist/application";
 * import { Echo } from "@twist/twist/protocols/wire";
 *
 * const application = new MultiService();
 * application.setName("echo");
 * new StreamServerEndpointService(serverFromString(reactor, "tcp:8000"), Factory.forProtocol(Echo))
 *   .setServiceParent(application);
 * new TimerService(60, () => console.log("still here")).setServiceParent(application);
 * export default application;
 * ```
 *
 * @module
 */
export { MultiService, Service } from "./service.ts";
export {
  StreamServerEndpointService,
  type StreamServerEndpointServiceOptions,
  TimerService,
} from "./internet.ts";
export {
  type BackoffOptions,
  backoffPolicy,
  ClientService,
  type ClientServiceOptions,
  type RetryPolicy,
} from "../internet/client_service.ts";

// The core types this entry point's signatures mention, re-exported as types
// only (the values live in the root module), so that it is documented on its
// own.
export type * from "../internet/common/entry_types.ts";
