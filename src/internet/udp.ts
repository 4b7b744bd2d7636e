/**
 * UDP (`IReactorUDP`, `IReactorMulticast`): `listenUDP` and `listenMulticast`
 * with Twisted's `DatagramProtocol`.
 *
 * Built on `node:dgram`, which Deno 2 supports without flags
 * (`Deno.listenDatagram` still needs `--unstable-net`). Requires `--allow-net`
 * for the address bound and the addresses sent to.
 *
 * Two differences from Twisted, from the platform: binding finishes
 * asynchronously (`port.listening` settles when it has; a missing permission
 * still throws at once), and `connectionRefused()` is never called, since
 * Deno's `node:dgram` does not report ICMP "port unreachable".
 *
 * @module
 */
import type dgram from "node:dgram";
import type {
  DatagramAddress,
  IDatagramProtocol,
  IMulticastTransport,
  IReactorCore,
  IUDPTransport,
} from "./interfaces.ts";
import { IPv4Address, IPv6Address } from "./address.ts";
import { Deferred } from "./defer.ts";
import { CannotListenError, MessageLengthError } from "./error.ts";
import { allowNetFlag, netTarget } from "./common/permissions.ts";
import { toBytes } from "./common/bytes.ts";
import {
  registryOf,
  type ResourceKind,
  type ResourceRegistry,
} from "./common/registry.ts";
import { log } from "../logger.ts";
import { watchResult } from "./common/callbacks.ts";
import type { ListenMulticastOptions, ListenUDPOptions } from "./interfaces.ts";
export type { ListenMulticastOptions, ListenUDPOptions } from "./interfaces.ts";

/**
 * The base class of datagram protocols: override `datagramReceived`. `T` is
 * the transport's type: `IMulticastTransport` for a protocol given to
 * `listenMulticast` that joins groups from `this.transport`.
 *
 * @example A UDP echo protocol
 * ```ts
 * import { DatagramProtocol, type IPv4Address } from "@twist/twist";
 *
 * class Echo extends DatagramProtocol {
 *   override datagramReceived(data: Uint8Array, addr: IPv4Address): void {
 *     this.transport.write(data, addr);
 *   }
 * }
 * ```
 */
export class DatagramProtocol<T extends IUDPTransport = IUDPTransport>
  implements IDatagramProtocol {
  /** The port; set by `makeConnection`. */
  transport!: T;

  /** Attaches the port and calls `startProtocol`. */
  makeConnection(transport: T): void {
    this.transport = transport;
    return this.startProtocol();
  }

  /** Called when the protocol starts listening. */
  startProtocol(): void {}

  /** Called when the protocol stops listening. */
  stopProtocol(): void {}

  /** Called with each datagram and where it came from. */
  datagramReceived(_data: Uint8Array, _addr: IPv4Address | IPv6Address): void {}

  /** Twisted calls this when a connected port's peer refuses; Deno cannot tell (see the module docs). */
  connectionRefused(): void {}
}

function toAddress(host: string, port: number): IPv4Address | IPv6Address {
  return host.includes(":")
    ? new IPv6Address("UDP", host, port)
    : new IPv4Address("UDP", host, port);
}

/**
 * `node:dgram`, loaded by the first UDP port rather than imported, so that a
 * program without UDP does not pay for it at start-up; `getBuiltinModule`
 * loads it synchronously, so a port is created and bound as before.
 */
function nodeDgram(): typeof dgram {
  return globalThis.process.getBuiltinModule("node:dgram");
}

/** Hosts already known to be permitted (a permission once granted stays granted). */
const permitted = new Set<string>();

/**
 * Checks the net permission for `host:port` before `node:dgram` would fail
 * on it outside our reach (it throws from a later tick, uncatchably).
 */
function hasNetPermission(host: string, port: number): boolean {
  const target = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  if (permitted.has(target)) return true;
  const granted =
    Deno.permissions.querySync({ name: "net", host: target }).state ===
      "granted";
  if (granted) {
    // Bounded: a port that answers many peers must not grow it for ever.
    if (permitted.size >= 1024) permitted.clear();
    permitted.add(target);
  }
  return granted;
}

function splitAddress(addr: DatagramAddress): [string, number] {
  const [host, port] = Array.isArray(addr) ? addr : [addr.host, addr.port];
  if (
    typeof host !== "string" || host === "" || !Number.isInteger(port) ||
    port < 1 || port > 65535
  ) {
    throw new TypeError(
      `Invalid datagram address "${
        Array.isArray(addr) ? addr.join(":") : addr
      }": expected [host, port]`,
    );
  }
  return [host, port];
}

/**
 * A bound UDP port, as `listenUDP` returns it: the transport of a
 * `DatagramProtocol`.
 *
 * @example Using `UDPPort`
 * ```ts
 * import { DatagramProtocol, Reactor } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * const port = new Reactor().listenUDP(0, new DatagramProtocol(), { interface: "127.0.0.1" });
 * await port.listening;
 * assert(port.getHost().port > 0);
 * await port.stopListening();
 * ```
 */
export class UDPPort implements IUDPTransport {
  /** Settles once the port is bound (rejects with `CannotListenError`). */
  readonly listening: Promise<void>;
  readonly #socket: dgram.Socket;
  readonly #protocol: IDatagramProtocol;
  readonly #port: number;
  readonly #interface: string;
  readonly #maxPacketSize: number;
  #host: IPv4Address | IPv6Address | undefined;
  #connected: [string, number] | undefined;
  #broadcast = false;
  #stopping: Deferred<void> | undefined;
  /** The reactor's registry, while the port is registered with it. */
  #registry: ResourceRegistry | undefined;

  /**
   * Creates and binds the port for `protocol`; `listenUDP` does this. With a
   * `reactor`, the port is closed when the reactor shuts down.
   */
  constructor(
    port: number,
    protocol: IDatagramProtocol,
    options?: ListenUDPOptions,
    reuseAddr = false,
    reactor?: Pick<IReactorCore, "addSystemEventTrigger">,
  ) {
    options ??= {};
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(
        `Invalid port "${port}": expected an integer from 0 to 65535`,
      );
    }
    this.#port = port;
    this.#protocol = protocol;
    this.#interface = options.interface ?? "0.0.0.0";
    this.#maxPacketSize = options.maxPacketSize ?? 8192;
    const type = this.#interface.includes(":") ? "udp6" : "udp4";
    this.#socket = nodeDgram().createSocket({ type, reuseAddr });
    const bound = Promise.withResolvers<void>();
    this.listening = bound.promise;
    this.listening.catch(() => {}); // reported below; awaiting it is optional
    this.#socket.once("listening", () => {
      const a = this.#socket.address();
      this.#host = toAddress(a.address, a.port);
      try {
        watchResult(
          protocol.makeConnection(this),
          "Unhandled error in startProtocol",
        );
      } catch (e) {
        log.err(e, "Unhandled error in startProtocol");
      }
      bound.resolve();
    });
    this.#socket.on("error", (e: Error & { code?: string }) => {
      if (!this.#host) {
        const err = new CannotListenError(
          this.#interface,
          port,
          e.code === "EADDRINUSE" ? "address in use" : e.message,
          {
            cause: e,
          },
        );
        log.err(err, "UDP port could not bind");
        bound.reject(err);
        this.#socket.close();
        this.#unregister();
      } else {
        log.err(e, "UDP socket error");
      }
    });
    this.#socket.on(
      "message",
      (msg: Uint8Array, info: { address: string; port: number }) => {
        if (
          this.#connected &&
          (info.address !== this.#connected[0] ||
            info.port !== this.#connected[1])
        ) return;
        try {
          watchResult(
            protocol.datagramReceived(
              new Uint8Array(msg),
              toAddress(info.address, info.port),
            ),
            "Unhandled error in datagramReceived",
          );
        } catch (e) {
          log.err(e, "Unhandled error in datagramReceived");
        }
      },
    );
    const denied = `permission denied: run again with ${
      allowNetFlag(this.#interface, port)
    }`;
    if (!hasNetPermission(this.#interface, port)) {
      this.#socket.close();
      throw new CannotListenError(this.#interface, port, denied);
    }
    try {
      this.#socket.bind(port, this.#interface);
    } catch (e) {
      this.#socket.close();
      if (e instanceof Deno.errors.NotCapable) {
        throw new CannotListenError(this.#interface, port, denied, {
          cause: e,
        });
      }
      throw new CannotListenError(this.#interface, port, (e as Error).message, {
        cause: e,
      });
    }
    // As Twisted's reactor does, close the port at shutdown: registered with
    // the reactor while open, so a closed port leaves nothing behind.
    const registry = reactor && registryOf(reactor);
    if (registry) {
      this.#registry = registry;
      registry.register(this, UDP_PORT);
    } else {
      // A reactor without a registry (a test double): a trigger of its own.
      reactor?.addSystemEventTrigger(
        "during",
        "shutdown",
        () => this.stopListening(),
      );
    }
  }

  #unregister(): void {
    this.#registry?.unregister(this);
    this.#registry = undefined;
  }

  /** Binds (done by the constructor). */
  startListening(): void {}

  /**
   * Sends `data` to `addr` (or to the connected peer).
   *
   * @throws {MessageLengthError} above `maxPacketSize`
   * @throws {TypeError} for a malformed address, or none on an unconnected port
   */
  write(data: Uint8Array | string, addr?: DatagramAddress): void {
    const bytes = toBytes(data);
    if (bytes.length > this.#maxPacketSize) {
      throw new MessageLengthError(
        `Datagram of ${bytes.length} bytes is larger than maxPacketSize ${this.#maxPacketSize}`,
      );
    }
    const target = addr !== undefined ? splitAddress(addr) : this.#connected;
    if (!target) {
      throw new TypeError(
        "write() needs an address on a port that is not connected",
      );
    }
    if (addr !== undefined && this.#connected) {
      throw new TypeError("A connected port can only write to its peer");
    }
    if (!hasNetPermission(target[0], target[1])) {
      // Checked first: Deno would prompt (freezing the loop) or fail later.
      log.err(
        new Deno.errors.NotCapable(
          `Requires net access to "${netTarget(target[0], target[1])}"`,
        ),
        `UDP send to ${target[0]}:${target[1]} failed: run again with ${
          allowNetFlag(target[0], target[1])
        }`,
      );
      return;
    }
    this.#socket.send(bytes, target[1], target[0], (e) => {
      if (e) log.err(e, `UDP send to ${target[0]}:${target[1]} failed`);
    });
  }

  /** Sends each datagram. */
  writeSequence(
    data: Iterable<Uint8Array | string>,
    addr?: DatagramAddress,
  ): void {
    for (const d of data) this.write(d, addr);
  }

  /** Connects the port to one peer: `write` then needs no address and only its datagrams are received. */
  connect(host: string, port: number): void {
    if (this.#connected) throw new Error("The port is already connected");
    this.#connected = splitAddress([host, port]);
  }

  /** Allows (or forbids) sending to broadcast addresses. */
  setBroadcastAllowed(enabled: boolean): void {
    this.#broadcast = enabled;
    this.#socket.setBroadcast(enabled);
  }

  /** Whether broadcast is allowed. */
  getBroadcastAllowed(): boolean {
    return this.#broadcast;
  }

  /** The bound address (with the real port when 0 was asked for). */
  getHost(): IPv4Address | IPv6Address {
    if (!this.#host) {
      throw new Error("The UDP port is not bound yet: await port.listening");
    }
    return this.#host;
  }

  /** The socket, for the multicast port. */
  protected get socket(): dgram.Socket {
    return this.#socket;
  }

  /** Stops listening; the protocol's `stopProtocol` runs and the Deferred fires once closed. */
  stopListening(): Deferred<void> {
    if (this.#stopping) return this.#stopping;
    const d = new Deferred<void>();
    this.#stopping = d;
    const finish = (): void => {
      if (this.#host) {
        try {
          watchResult(
            this.#protocol.stopProtocol(),
            "Unhandled error in stopProtocol",
          );
        } catch (e) {
          log.err(e, "Unhandled error in stopProtocol");
        }
      }
      this.#unregister();
      d.callback();
    };
    this.listening.then(() => this.#socket.close(finish), () => finish());
    return d;
  }

  /** A readable form. */
  toString(): string {
    return `<UDPPort ${this.#host ?? `${this.#interface}:${this.#port}`}>`;
  }
}

/** At shutdown a UDP port is closed, and shutdown waits until it is. */
const UDP_PORT: ResourceKind<UDPPort> = {
  name: "UDP port",
  order: 3,
  shutdown: (port) => port.stopListening(),
};

/**
 * A UDP port that can join multicast groups.
 *
 * @example Using `MulticastPort`
 * ```ts
 * import { DatagramProtocol, Reactor } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const port = new Reactor().listenMulticast(0, new DatagramProtocol(), { interface: "127.0.0.1" });
 * await port.listening;
 * port.setTTL(2);
 * assertEquals(port.getTTL(), 2);
 * await port.stopListening();
 * ```
 */
export class MulticastPort extends UDPPort implements IMulticastTransport {
  #ttl = 1;
  #loopback = true;

  /** Joins the multicast group `address` (on `iface`, if given). */
  joinGroup(address: string, iface?: string): Deferred<void> {
    const d = new Deferred<void>();
    this.listening.then(() => {
      try {
        this.socket.addMembership(address, iface);
        d.callback();
      } catch (e) {
        d.errback(e);
      }
    }, (e) => d.errback(e));
    return d;
  }

  /** Leaves the multicast group `address`. */
  leaveGroup(address: string, iface?: string): Deferred<void> {
    const d = new Deferred<void>();
    try {
      this.socket.dropMembership(address, iface);
      d.callback();
    } catch (e) {
      d.errback(e);
    }
    return d;
  }

  /** Sets the time-to-live of outgoing multicast datagrams. */
  setTTL(ttl: number): void {
    this.#ttl = ttl;
    this.listening.then(() => this.socket.setMulticastTTL(ttl), () => {});
  }

  /** The time-to-live of outgoing multicast datagrams. */
  getTTL(): number {
    return this.#ttl;
  }

  /** Whether this host receives its own multicast datagrams. */
  setLoopbackMode(enabled: boolean): void {
    this.#loopback = enabled;
    this.listening.then(
      () => this.socket.setMulticastLoopback(enabled),
      () => {},
    );
  }

  /** The loopback mode. */
  getLoopbackMode(): boolean {
    return this.#loopback;
  }

  /** Sets the interface outgoing multicast datagrams leave from. */
  setOutgoingInterface(iface: string): Deferred<void> {
    const d = new Deferred<void>();
    this.listening.then(() => {
      try {
        this.socket.setMulticastInterface(iface);
        d.callback();
      } catch (e) {
        d.errback(e);
      }
    }, (e) => d.errback(e));
    return d;
  }
}

/**
 * Listens on UDP `port` with `protocol`; what `reactor.listenUDP` calls.
 * Pass a reactor to have the port closed at its shutdown.
 *
 * @example Calling `listenUDP`
 * ```ts
 * import { DatagramProtocol, Reactor } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * const port = new Reactor().listenUDP(0, new DatagramProtocol(), { interface: "127.0.0.1" });
 * await port.listening;
 * assert(port.getHost().port > 0);
 * await port.stopListening();
 * ```
 */
export function listenUDP(
  port: number,
  protocol: IDatagramProtocol,
  options?: ListenUDPOptions,
  reactor?: Pick<IReactorCore, "addSystemEventTrigger">,
): UDPPort {
  options ??= {};
  return new UDPPort(port, protocol, options, false, reactor);
}

/**
 * Listens on UDP `port` for multicast; what `reactor.listenMulticast` calls.
 *
 * @example Calling `listenMulticast`
 * ```ts
 * import { DatagramProtocol, Reactor } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * const port = new Reactor().listenMulticast(0, new DatagramProtocol(), { interface: "127.0.0.1" });
 * await port.listening;
 * assert(port.getHost().port > 0);
 * await port.stopListening();
 * ```
 */
export function listenMulticast(
  port: number,
  protocol: IDatagramProtocol,
  options?: ListenMulticastOptions,
  reactor?: Pick<IReactorCore, "addSystemEventTrigger">,
): MulticastPort {
  options ??= {};
  return new MulticastPort(
    port,
    protocol,
    options,
    options.listenMultiple ?? false,
    reactor,
  );
}
