/**
 * Policies for connections (`twisted.protocols.policies`): wrapping
 * protocols and factories, connection limits, bandwidth throttling,
 * timeouts, and traffic logging. Everything that schedules takes an
 * injectable clock (an `IReactorTime`), so tests drive it with a `Clock`.
 *
 * - {@linkcode WrappingFactory} / {@linkcode ProtocolWrapper}: the base of
 *   every policy; a wrapper is the transport of the wrapped protocol.
 * - {@linkcode ThrottlingFactory}: a connection cap and read/write bandwidth
 *   limits.
 * - {@linkcode LimitConnectionsByPeer}, {@linkcode LimitTotalConnectionsFactory}:
 *   connection caps per peer host and in total.
 * - {@linkcode TimeoutMixin} (and {@linkcode IdleTimeout}): a protocol that
 *   times out its own connection; {@linkcode TimeoutFactory}: idle timeouts
 *   for any factory's connections.
 * - {@linkcode TrafficLoggingFactory}, {@linkcode SpewingFactory}: traffic
 *   logs for debugging.
 *
 * @example Closing connections idle for five minutes, at most 100 at once
 * ```ts ignore
 * import { Factory, reactor } from "@twist/twist";
 * import { Echo } from "@twist/twist/protocols/wire";
 * import { ThrottlingFactory, TimeoutFactory } from "@twist/twist/protocols/policies";
 *
 * const echo = Factory.forProtocol(Echo);
 * const factory = new ThrottlingFactory(
 *   new TimeoutFactory(echo, { timeoutPeriod: 300 }),
 *   { maxConnectionCount: 100 },
 * );
 * reactor.listenTCP(8000, factory);
 * reactor.run();
 * ```
 *
 * @module
 */
export * from "./protocol_wrapper.ts";
export * from "./throttling.ts";
export * from "./connection_limits.ts";
export * from "./timeout.ts";
export * from "./traffic_logging.ts";

// The core types this entry point's signatures mention, re-exported as types
// only (the values live in the root module), so that it is documented on its
// own.
export type * from "../internet/common/entry_types.ts";
