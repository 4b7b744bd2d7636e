/**
 * Test helpers for protocols and reactors (`twisted.internet.testing`):
 * in-memory transports, a recording reactor, loopback pumping and
 * deterministic time. Nothing here touches the network.
 *
 * @example Testing a protocol with StringTransport and Clock
 * ```ts
 * import { Clock, Protocol } from "@twist/twist";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assert } from "@std/assert";
 *
 * class Idle extends Protocol {
 *   clock = new Clock();
 *   override connectionMade(): void {
 *     this.clock.callLater(60, () => this.transport.loseConnection());
 *   }
 * }
 * const p = new Idle();
 * const transport = new StringTransport();
 * p.makeConnection(transport);
 * p.clock.advance(60);
 * assert(transport.disconnecting);
 * ```
 *
 * @module
 */
// The interfaces the helpers implement and take, so that this entry point is
// self-contained (its docs link to them); they are the root's own types.
export type * from "../internet/common/entry_types.ts";
export * from "./string_transport.ts";
export * from "./memory_reactor.ts";
export * from "./accumulating_protocol.ts";
export * from "./iosim.ts";
export * from "./loopback.ts";
export { Clock } from "../internet/task.ts";
