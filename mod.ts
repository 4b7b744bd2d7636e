/**
 * Twist: Python Twisted's event-driven networking model, native to Deno 2.
 *
 * This entry point is `twisted.internet`: the reactor, `Protocol`/`Factory`
 * classes over `Deno.listen`/`Deno.connect`, Deferreds, timed calls
 * (`task`), endpoints, errors, addresses, the interfaces, `Failure` and
 * logging. The protocol families live at their own entry points, as in
 * Twisted: `@twist/twist/protocols/basic` (`LineReceiver`...),
 * `/protocols/policies`, `/protocols/wire` and `/protocols/portforward`; the
 * test doubles at `@twist/twist/testing`.
 *
 * @example An echo server
 * ```ts ignore
 * import { Factory, Protocol, reactor } from "@twist/twist";
 *
 * class Echo extends Protocol {
 *   override dataReceived(data: Uint8Array): void {
 *     this.transport.write(data);
 *   }
 * }
 *
 * reactor.listenTCP(8000, Factory.forProtocol(Echo));
 * reactor.run();
 * ```
 *
 * @module
 */
export type * from "./src/internet/interfaces.ts";
export * from "./src/internet/error.ts";
export {
  type IPAddressType,
  IPv4Address,
  IPv6Address,
  UNIXAddress,
} from "./src/internet/address.ts";
export * from "./src/internet/failure.ts";
export * from "./src/internet/defer.ts";
export type { RunOptions } from "./src/internet/base.ts";
export * from "./src/internet/reactor.ts";
export * from "./src/internet/protocol.ts";
export type {
  ConnectUNIXOptions,
  ListenUNIXOptions,
} from "./src/internet/unix.ts";
export * from "./src/internet/task.ts";
export * from "./src/internet/endpoints.ts";
export * from "./src/internet/client_service.ts";
export {
  ProcessProtocol,
  type SpawnProcessOptions,
} from "./src/internet/process.ts";
export * from "./src/internet/utils.ts";
export {
  PipeAddress,
  StandardIO,
  type StandardIOOptions,
  type StandardIOReader,
  type StandardIOWriter,
} from "./src/internet/stdio.ts";
export {
  type ProcessEndpointTransport,
  type StandardErrorBehavior,
} from "./src/internet/process_endpoint.ts";
export {
  DatagramProtocol,
  type ListenMulticastOptions,
  type ListenUDPOptions,
} from "./src/internet/udp.ts";
export {
  type TLSClientOptions,
  type TLSServerFilesOptions,
  type TLSServerOptions,
  tlsServerOptionsFromFiles,
} from "./src/internet/tls.ts";
export * from "./src/internet/workers.ts";
export * from "./src/logger.ts";
