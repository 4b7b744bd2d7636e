/**
 * A TCP proxy (`twisted.protocols.portforward`): every connection accepted is
 * forwarded to a destination endpoint, with backpressure both ways — each
 * side's transport is registered as the producer of the other, so a slow
 * reader on one side pauses reading on the other and memory stays bounded.
 *
 * @example Getting started
 * ```ts ignore
 * import { clientFromString, reactor } from "@twist/twist";
 * import { ProxyFactory } from "@twist/twist/protocols/portforward";
 *
 * reactor.listenTCP(8080, new ProxyFactory(clientFromString(reactor, "tcp:host=127.0.0.1:port=80")));
 * reactor.run();
 * ```
 *
 * @module
 */
import { Factory, Protocol } from "../internet/protocol.ts";
import type { IAddress, IProtocol } from "../internet/interfaces.ts";
import type { IStreamClientEndpoint } from "../internet/endpoints.ts";
import type { Failure } from "../internet/failure.ts";
import { log } from "../logger.ts";
import { isNotCapable } from "../internet/common/permissions.ts";

/**
 * One side of a proxied connection; `peer` is the other side.
 *
 * @example Using `Proxy`
 * ```ts
 * import { Proxy } from "@twist/twist/protocols/portforward";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new Proxy().peer, undefined);
 * ```
 */
export class Proxy extends Protocol {
  /** The other side, once connected. */
  peer: Proxy | undefined;

  /** Pairs this side with `peer`: each transport becomes the other's producer. */
  setPeer(peer: Proxy): void {
    this.peer = peer;
  }

  /** Forwards data to the other side. */
  override dataReceived(data: Uint8Array): void {
    this.peer?.transport.write(data);
  }

  /** Closes the other side once it has sent what it has. */
  override connectionLost(_reason: Failure): void {
    const peer = this.peer;
    this.peer = undefined;
    if (peer?.connected) {
      peer.transport.unregisterProducer();
      peer.transport.loseConnection();
    }
  }
}

/**
 * The side that connects to the destination.
 *
 * @example Using `ProxyClient`
 * ```ts
 * import { ProxyClient, ProxyServer } from "@twist/twist/protocols/portforward";
 * import { assert } from "@std/assert";
 *
 * assert(new ProxyClient(new ProxyServer()).server instanceof ProxyServer);
 * ```
 */
export class ProxyClient extends Proxy {
  /** The accepted connection this one serves. */
  readonly server: ProxyServer;

  /** Creates the client side for `server`. */
  constructor(server: ProxyServer) {
    super();
    this.server = server;
  }

  /** Pairs the two sides and starts the flow: backpressure both ways. */
  override connectionMade(): void {
    const server = this.server;
    this.setPeer(server);
    server.setPeer(this);
    // A full write buffer on one side pauses reading on the other.
    this.transport.registerProducer(server.transport, true);
    server.transport.registerProducer(this.transport, true);
    server.transport.resumeProducing();
  }
}

/**
 * The accepted side: it holds its reading until the destination is connected.
 *
 * @example Using `ProxyServer`
 * ```ts
 * import { ProxyServer } from "@twist/twist/protocols/portforward";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new ProxyServer().peer, undefined);
 * ```
 */
export class ProxyServer extends Proxy {
  /** The factory, which knows the destination. */
  declare factory?: ProxyFactory;

  /** Pauses reading and connects to the destination. */
  override connectionMade(): void {
    this.transport.pauseProducing();
    const factory = this.factory;
    if (!factory) throw new Error("A ProxyServer needs a ProxyFactory");
    const clientFactory = new Factory();
    clientFactory.noisy = false;
    clientFactory.buildProtocol = (): IProtocol => new ProxyClient(this);
    factory.destination.connect(clientFactory).addErrback((reason: Failure) => {
      // Lack of permission: the core has warned once for this destination.
      if (!isNotCapable((reason.value as Error)?.cause)) {
        log.warn(`Cannot reach the destination: ${reason.getErrorMessage()}`);
      }
      this.transport.loseConnection();
    });
  }
}

/**
 * Accepts connections and forwards each to `destination`.
 *
 * @example Using `ProxyFactory`
 * ```ts
 * import { Reactor, TCP4ClientEndpoint } from "@twist/twist";
 * import { ProxyFactory, ProxyServer } from "@twist/twist/protocols/portforward";
 * import { IPv4Address } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * const factory = new ProxyFactory(new TCP4ClientEndpoint(new Reactor(), "127.0.0.1", 80));
 * assert(factory.buildProtocol(new IPv4Address("TCP", "127.0.0.1", 1)) instanceof ProxyServer);
 * ```
 */
export class ProxyFactory extends Factory {
  /** Where connections are forwarded to. */
  readonly destination: IStreamClientEndpoint;

  /** Creates a factory forwarding to `destination`. */
  constructor(destination: IStreamClientEndpoint) {
    super();
    this.destination = destination;
  }

  /** A `ProxyServer` for each accepted connection. */
  override buildProtocol(_addr: IAddress): ProxyServer {
    const p = new ProxyServer();
    p.factory = this;
    return p;
  }
}

// The core types this entry point's signatures mention, re-exported as types
// only (the values live in the root module), so that it is documented on its
// own.
export type * from "../internet/common/entry_types.ts";
