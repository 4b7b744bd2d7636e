/**
 * Connection caps: per peer host (`LimitConnectionsByPeer`) and in total
 * (`LimitTotalConnectionsFactory`).
 *
 * @module
 */
import { type ProtocolClass, ServerFactory } from "../internet/protocol.ts";
import type { IAddress, IProtocolFactory } from "../internet/interfaces.ts";
import {
  ProtocolWrapper,
  type WrapperFactory,
  WrappingFactory,
} from "./protocol_wrapper.ts";

/** The host part of an address (a UNIX socket's path), for counting by peer. */
function hostOf(addr: IAddress): string {
  const a = addr as { host?: string; name?: string | null };
  return a.host ?? a.name ?? String(addr);
}

/** Options of {@linkcode LimitConnectionsByPeer}. */
export interface LimitConnectionsByPeerOptions {
  /** The most connections a peer host may have at once. @default {5} */
  maxConnectionsPerPeer?: number;
}

/** Options of {@linkcode LimitTotalConnectionsFactory}. */
export interface LimitTotalConnectionsOptions {
  /** The protocol served under the limit (or set `factory.protocol`). */
  protocol?: ProtocolClass;
  /** The most connections at once (`null`: no limit). @default {null} */
  connectionLimit?: number | null;
  /** The protocol served over the limit (`undefined`: refuse). @default {undefined: refuse} */
  overflowProtocol?: ProtocolClass;
}

/**
 * Limits how many connections each peer host may have at once
 * (`maxConnectionsPerPeer`, default 5); a connection over the limit is
 * refused (`buildProtocol` returns `null`, so the port closes it at once).
 * A slot is freed when its connection is lost.
 *
 * Peers are counted by the host of the address `buildProtocol` is given (the
 * path for UNIX sockets), and the count is kept per wrapper, so it stays right
 * whatever the transport's `getPeer()` later says.
 *
 * @example Two connections from one host, one allowed
 * ```ts
 * import { Factory, IPv4Address, Protocol } from "@twist/twist";
 * import { LimitConnectionsByPeer } from "@twist/twist/protocols/policies";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const factory = new LimitConnectionsByPeer(Factory.forProtocol(Protocol), {
 *   maxConnectionsPerPeer: 1,
 * });
 * assert(factory.buildProtocol(new IPv4Address("TCP", "10.0.0.1", 1234)) !== null);
 * assertEquals(factory.buildProtocol(new IPv4Address("TCP", "10.0.0.1", 1235)), null);
 * assert(factory.buildProtocol(new IPv4Address("TCP", "10.0.0.2", 1234)) !== null);
 * ```
 */
export class LimitConnectionsByPeer extends WrappingFactory {
  /** The most connections a peer host may have at once. @default {5} */
  maxConnectionsPerPeer: number = 5;
  /** Connections by peer host (hosts with none are absent). */
  readonly peerConnections: Map<string, number> = new Map();
  #hostOf: WeakMap<ProtocolWrapper, string> = new WeakMap();

  /**
   * Wraps `wrappedFactory`.
   *
   * @param wrappedFactory the factory whose protocols are limited
   * @param options the limit per peer host
   */
  constructor(
    wrappedFactory: IProtocolFactory,
    options?: LimitConnectionsByPeerOptions,
  ) {
    options ??= {};
    super(wrappedFactory);
    if (options.maxConnectionsPerPeer !== undefined) {
      this.maxConnectionsPerPeer = options.maxConnectionsPerPeer;
    }
  }

  /**
   * Wraps the wrapped factory's protocol, unless the peer host is at its
   * limit.
   *
   * @returns the wrapper, or `null` to refuse the connection
   */
  override buildProtocol(addr: IAddress): ProtocolWrapper | null {
    const host = hostOf(addr);
    const count = this.peerConnections.get(host) ?? 0;
    if (count >= this.maxConnectionsPerPeer) return null;
    const p = super.buildProtocol(addr);
    if (!p) return null;
    this.peerConnections.set(host, count + 1);
    this.#hostOf.set(p, host);
    return p;
  }

  /** Forgets the wrapper and frees its peer's slot. */
  override unregisterProtocol(p: ProtocolWrapper): void {
    super.unregisterProtocol(p);
    const host = this.#hostOf.get(p);
    if (host === undefined) return;
    this.#hostOf.delete(p);
    const count = (this.peerConnections.get(host) ?? 1) - 1;
    if (count <= 0) this.peerConnections.delete(host);
    else this.peerConnections.set(host, count);
  }
}

/**
 * A server factory that allows at most `connectionLimit` connections at once
 * (`null`: no limit). Over the limit it serves `overflowProtocol` if one is
 * set (say, one that answers "too busy" and closes), and otherwise refuses
 * the connection (`buildProtocol` returns `null`, so the port closes it at
 * once). Overflow connections count too. Each protocol is wrapped in a
 * {@linkcode ProtocolWrapper} that frees its slot when its connection is lost;
 * the protocol's `factory` is this factory.
 *
 * @example Refusing, then serving the overflow protocol
 * ```ts
 * import { IPv4Address, Protocol } from "@twist/twist";
 * import { LimitTotalConnectionsFactory } from "@twist/twist/protocols/policies";
 * import { assert, assertEquals } from "@std/assert";
 *
 * class Busy extends Protocol {
 *   override connectionMade(): void {
 *     this.transport.write("Too busy, try later\r\n");
 *     this.transport.loseConnection();
 *   }
 * }
 * const factory = new LimitTotalConnectionsFactory({
 *   protocol: Protocol,
 *   connectionLimit: 1,
 * });
 * const peer = new IPv4Address("TCP", "1.1.1.1", 1);
 * assert(factory.buildProtocol(peer) !== null);
 * assertEquals(factory.buildProtocol(peer), null);
 * factory.overflowProtocol = Busy;
 * assert(factory.buildProtocol(peer)?.wrappedProtocol instanceof Busy);
 * assertEquals(factory.connectionCount, 2);
 * ```
 */
export class LimitTotalConnectionsFactory extends ServerFactory
  implements WrapperFactory {
  /** Live connections, overflow ones included. */
  connectionCount: number = 0;
  /** The most connections at once (`null`: no limit). @default {null} */
  connectionLimit: number | null = null;
  /** The protocol served over the limit (`undefined`: refuse). */
  overflowProtocol: ProtocolClass | undefined;

  /**
   * Creates the factory.
   *
   * @param options the protocol, the limit and the overflow protocol
   */
  constructor(options?: LimitTotalConnectionsOptions) {
    options ??= {};
    super();
    if (options.protocol) this.protocol = options.protocol;
    if (options.connectionLimit !== undefined) {
      this.connectionLimit = options.connectionLimit;
    }
    this.overflowProtocol = options.overflowProtocol;
  }

  /**
   * Builds `protocol`, or `overflowProtocol` over the limit, wrapped so its
   * slot is freed when its connection is lost.
   *
   * @returns the wrapper, or `null` to refuse the connection
   * @throws {TypeError} if `protocol` is not set
   */
  override buildProtocol(_addr: IAddress): ProtocolWrapper | null {
    let protocolClass: ProtocolClass | undefined;
    if (
      this.connectionLimit === null ||
      this.connectionCount < this.connectionLimit
    ) {
      protocolClass = this.protocol;
      if (!protocolClass) {
        throw new TypeError(
          `${this.constructor.name} has no protocol: set factory.protocol`,
        );
      }
    } else if (this.overflowProtocol) {
      protocolClass = this.overflowProtocol;
    } else {
      return null;
    }
    const wrapped = new protocolClass();
    (wrapped as { factory?: unknown }).factory = this;
    const wrapper = new ProtocolWrapper(this, wrapped);
    this.connectionCount++;
    return wrapper;
  }

  /** Nothing to record: the slot was taken in `buildProtocol`. */
  registerProtocol(_p: ProtocolWrapper): void {}

  /** Frees a slot. */
  unregisterProtocol(_p: ProtocolWrapper): void {
    this.connectionCount--;
  }
}
