/**
 * `Protocol` and the factories that make protocols (`twisted.internet.protocol`).
 *
 * A protocol's life, as the reactor drives it:
 *
 * ```text
 * factory.doStart → buildProtocol(addr) → makeConnection → connectionMade →
 *   dataReceived* → [readConnectionLost] → connectionLost →
 *   (clientConnectionLost) → factory.doStop
 * ```
 *
 * @module
 */
import type { Failure } from "./failure.ts";
import type {
  IAddress,
  IConnector,
  IProtocol,
  IProtocolFactory,
  ITCPTransport,
} from "./interfaces.ts";
import { log } from "../logger.ts";

/**
 * The base class of stream protocols: override the events you care about.
 *
 * `transport` is set by `makeConnection` and is `undefined` before it.
 *
 * @example An echo protocol, tested without sockets
 * ```ts
 * import { Protocol } from "@twist/twist";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * class Echo extends Protocol {
 *   override dataReceived(data: Uint8Array): void {
 *     this.transport.write(data);
 *   }
 * }
 * const transport = new StringTransport();
 * const echo = new Echo();
 * echo.makeConnection(transport);
 * echo.dataReceived(new TextEncoder().encode("hello"));
 * assertEquals(new TextDecoder().decode(transport.value()), "hello");
 * ```
 */
export class Protocol implements IProtocol {
  /** The connection; set by `makeConnection`. */
  transport!: ITCPTransport;
  /** The factory that built this protocol, if any. */
  factory?: Factory;
  /** Whether the protocol is connected (set by `makeConnection`). */
  connected = false;

  /** Attaches `transport`, marks the protocol connected and calls `connectionMade`. */
  makeConnection(transport: ITCPTransport): void {
    this.connected = true;
    this.transport = transport;
    this.connectionMade();
  }

  /** Called when the connection is up. Does nothing by default. */
  connectionMade(): void {}

  /** Called with each chunk of bytes received. Does nothing by default. */
  dataReceived(_data: Uint8Array): void {}

  /**
   * Called exactly once when the connection is gone; `reason` is a `Failure`
   * of `ConnectionDone` for a clean close. Does nothing by default.
   */
  connectionLost(_reason: Failure): void {}

  /** A prefix for log messages about this protocol. */
  logPrefix(): string {
    return this.constructor.name;
  }
}

/** A class whose instances are protocols, as `factory.protocol` holds. */
export type ProtocolClass = new () => IProtocol;

/**
 * Makes a protocol per connection, and is told when ports and connectors start
 * and stop using it.
 *
 * Subclass it and override `buildProtocol` for per-connection arguments, or
 * set `protocol` to a class.
 *
 * @example A factory shared by every connection
 * ```ts
 * import { Factory, IPv4Address, Protocol } from "@twist/twist";
 * import { assertStrictEquals } from "@std/assert";
 *
 * class Counter extends Factory {
 *   connections = 0;
 * }
 * const factory = Counter.forProtocol(Protocol);
 * const proto = factory.buildProtocol(new IPv4Address("TCP", "127.0.0.1", 1)) as Protocol;
 * assertStrictEquals(proto.factory, factory);
 * ```
 */
export class Factory implements IProtocolFactory {
  /** The protocol class `buildProtocol` instantiates. */
  protocol?: ProtocolClass;
  /** How many ports and connectors are using this factory. */
  numPorts = 0;
  /** Whether to log when the factory starts and stops. @default {true} */
  noisy = true;

  /** Makes an instance of this factory class whose `protocol` is `protocol`. */
  static forProtocol<F extends Factory>(
    this: new () => F,
    protocol: ProtocolClass,
  ): F {
    const factory = new this();
    factory.protocol = protocol;
    return factory;
  }

  /** Called by ports and connectors as they start: runs `startFactory` the first time. */
  doStart(): void {
    if (this.numPorts === 0) {
      if (this.noisy) log.msg(`Starting factory ${this.constructor.name}`);
      this.startFactory();
    }
    this.numPorts++;
  }

  /** Called by ports and connectors as they stop: runs `stopFactory` after the last one. */
  doStop(): void {
    if (this.numPorts === 0) return;
    this.numPorts--;
    if (this.numPorts === 0) {
      if (this.noisy) log.msg(`Stopping factory ${this.constructor.name}`);
      this.stopFactory();
    }
  }

  /** Called once before the first port or connector uses the factory. */
  startFactory(): void {}

  /** Called once after the last port or connector has stopped using the factory. */
  stopFactory(): void {}

  /**
   * Makes the protocol for a connection from `addr` (an instance of `protocol`
   * whose `factory` is this factory). Return `null` to refuse the connection.
   */
  buildProtocol(_addr: IAddress): IProtocol | null {
    if (!this.protocol) {
      throw new TypeError(
        `${this.constructor.name} has no protocol: set factory.protocol or override buildProtocol`,
      );
    }
    const p = new this.protocol();
    (p as { factory?: unknown }).factory = this;
    return p;
  }
}

/**
 * A factory for servers (kept for Twisted's names; it adds nothing).
 *
 * @example
 * ```ts
 * import { Protocol, ServerFactory } from "@twist/twist";
 * import { assertStrictEquals } from "@std/assert";
 *
 * const factory = ServerFactory.forProtocol(Protocol);
 * assertStrictEquals(factory.protocol, Protocol);
 * ```
 */
export class ServerFactory extends Factory {}

/**
 * A factory for clients: it is also told how connecting went.
 *
 * @example Reporting a failed connection
 * ```ts
 * import { ClientFactory, type Failure, type IConnector } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * class Reporting extends ClientFactory {
 *   seen: string[] = [];
 *   override clientConnectionFailed(_c: IConnector, reason: Failure): void {
 *     this.seen.push(reason.getErrorMessage());
 *   }
 * }
 * const f = new Reporting();
 * assertEquals(f.seen, []);
 * ```
 */
export class ClientFactory extends Factory {
  /** Called when a connection attempt starts. */
  startedConnecting(_connector: IConnector): void {}

  /** Called when a connection attempt fails; `reason` says why. */
  clientConnectionFailed(_connector: IConnector, _reason: Failure): void {}

  /** Called when an established connection is lost; `reason` says why. */
  clientConnectionLost(_connector: IConnector, _reason: Failure): void {}
}
