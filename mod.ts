/**
 * Twist: Python Twisted's event-driven networking model, native to Deno 2.
 *
 * A reactor, `Protocol`/`Factory` classes over `Deno.listen`/`Deno.connect`,
 * Deferreds, timed calls and the classic framing protocols.
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
export * from "./src/internet/interfaces.ts";
export * from "./src/internet/error.ts";
export * from "./src/internet/address.ts";
export * from "./src/internet/failure.ts";
export * from "./src/internet/defer.ts";
export * from "./src/internet/base.ts";
export * from "./src/internet/reactor.ts";
export * from "./src/internet/protocol.ts";
export {
  Connector,
  type ConnectorState,
  Port,
  type StreamBinding,
  type StreamDialer,
} from "./src/internet/tcp.ts";
export {
  type ConnectUNIXOptions,
  type ListenUNIXOptions,
  unixFlags,
} from "./src/internet/unix.ts";
export { Connection, type ConnectionOwner } from "./src/internet/connection.ts";
export * from "./src/internet/task.ts";
export * from "./src/internet/endpoints.ts";
export * from "./src/internet/client_service.ts";
export * from "./src/internet/process.ts";
export * from "./src/internet/utils.ts";
export * from "./src/internet/udp.ts";
export {
  type TLSClientOptions,
  type TLSServerOptions,
  tlsServerOptionsFromFiles,
} from "./src/internet/tls.ts";
export * from "./src/logger.ts";
export * from "./src/protocols/basic.ts";
export * from "./src/protocols/policies.ts";
export * from "./src/protocols/wire.ts";
export * from "./src/protocols/portforward.ts";
