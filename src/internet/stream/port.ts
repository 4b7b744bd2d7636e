/**
 * A listening stream port (TCP, TLS or UNIX): the accept loop, its back-off,
 * and the port's life cycle; what differs by kind is the `StreamBinding`.
 *
 * @module
 */
import type {
  IAddress,
  IListeningPort,
  IProtocolFactory,
} from "../interfaces.ts";
import type { ReactorBase } from "../base.ts";
import { Deferred } from "../defer.ts";
import type { IPv4Address, IPv6Address } from "../address.ts";
import type { ConnectionOwner } from "./connection.ts";
import type { ResourceKind, ResourceRegistry } from "../common/registry.ts";
import { log } from "../../logger.ts";
import { watchResult } from "../common/callbacks.ts";
import {
  built,
  closeQuietly,
  registryOfReactor,
  startConnection,
} from "./lifecycle.ts";

/**
 * At shutdown a listening port stops accepting first (Twisted's
 * `disconnectAll` closes the listening sockets with the rest); shutdown
 * waits until it is closed and its factory stopped.
 */
const PORT: ResourceKind<Port<IAddress>> = {
  name: "listening port",
  order: 0,
  shutdown: (port) => port.stopListening().asPromise(),
};

/**
 * How a stream port binds and names addresses: `tcp.ts`, `tls.ts` and
 * `unix.ts` each make one. The accept loop and life cycle are the same for all.
 */
export interface StreamBinding<A extends IAddress> {
  /**
   * Binds and returns the listener.
   *
   * @throws {CannotListenError} with a message naming the problem
   */
  listen(): Deno.Listener;
  /** The bound address. */
  hostOf(listener: Deno.Listener): A;
  /** The address of an accepted connection's peer. */
  peerOf(conn: Deno.Conn): IAddress;
  /** What was asked for, for messages. */
  describe(): string;
  /** Whether accepted connections have TCP options (`setTcpNoDelay`...). */
  readonly tcp: boolean;
  /** Whether accepted connections run over TLS. */
  readonly tls?: boolean;
  /**
   * The TLS handshake of an accepted connection, run once its protocol is
   * connected (resolves with the conn to use from then on); its timeout is
   * `handshakeTimeout` seconds.
   */
  handshake?(conn: Deno.Conn): Promise<Deno.Conn>;
  /** Seconds a handshake may take. */
  readonly handshakeTimeout?: number;
  /** Called once the listener is closed (UNIX: removes the socket file). */
  cleanup?(): void;
}

/**
 * A listening port, as `reactor.listenTCP` (and `listenUNIX`) return it.
 *
 * @example Using `Port`
 * ```ts
 * import { Factory, Protocol, Reactor } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * const reactor = new Reactor();
 * const port = reactor.listenTCP(0, Factory.forProtocol(Protocol), { interface: "127.0.0.1" });
 * assert(port.getHost().port > 0);
 * await port.stopListening();
 * ```
 */
export class Port<A extends IAddress = IPv4Address | IPv6Address>
  implements IListeningPort {
  readonly #reactor: ReactorBase;
  readonly #registry: ResourceRegistry;
  readonly #factory: IProtocolFactory;
  readonly #binding: StreamBinding<A>;
  /** Hears that a connection this port accepted is gone (one object per port). */
  readonly #owner: ConnectionOwner = {
    connectionClosed: (connection) => this.#registry.unregister(connection),
    callLater: (seconds, f) => this.#reactor.callLater(seconds, f),
  };
  #listener: Deno.Listener | undefined;
  #host: A | undefined;
  #acceptDone: Promise<void> = Promise.resolve();
  #stopping: Deferred<void> | undefined;
  /** Ends the wait between failed accepts (when stopping). */
  #wakeAccept: (() => void) | undefined;
  /** Creates the port; `startListening` binds it. */
  constructor(
    reactor: ReactorBase,
    factory: IProtocolFactory,
    binding: StreamBinding<A>,
  ) {
    this.#reactor = reactor;
    this.#registry = registryOfReactor(reactor);
    this.#factory = factory;
    this.#binding = binding;
  }

  /**
   * Binds and starts accepting connections; the factory's `doStart` runs.
   *
   * @throws {CannotListenError} for an address in use, a bad interface or a
   * missing permission (the message names the flag to add)
   * @throws {Error} once the reactor has stopped, or while `stopListening`
   * is still closing the port
   */
  startListening(): void {
    if (this.#listener) {
      if (!this.#stopping) return;
      throw new Error(
        `Cannot listen on "${this.#binding.describe()}": the port is still stopping`,
      );
    }
    if (this.#registry.stopped) {
      throw new Error(
        `Cannot listen on "${this.#binding.describe()}": the reactor has stopped`,
      );
    }
    this.#listener = this.#binding.listen();
    this.#stopping = undefined; // Listening again after stopListening.
    this.#host = this.#binding.hostOf(this.#listener);
    this.#registry.register(this as Port<IAddress>, PORT);
    this.#factory.doStart();
    this.#acceptDone = this.#acceptLoop(this.#listener);
  }

  /** Accepts until the listener is closed; never rejects. */
  async #acceptLoop(listener: Deno.Listener): Promise<void> {
    let delay = ACCEPT_RETRY_MIN;
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (
          this.#stopping || e instanceof Deno.errors.BadResource ||
          e instanceof Deno.errors.Interrupted
        ) return;
        // Running out of file descriptors (EMFILE) fails every accept until
        // one is released: wait, longer each time, instead of spinning.
        const short = SHORT_OF.get((e as { code?: string })?.code ?? "");
        if (short) {
          // As Twisted's "Could not accept new connection (EMFILE)": an
          // expected condition, one line, no stack.
          log.warn(
            `Could not accept a new connection on ${this.#host}: ${short}; trying again in ${delay} s`,
          );
        } else log.err(e, `Error accepting a connection on ${this.#host}`);
        await this.#pauseAccepting(delay);
        if (this.#stopping) return;
        delay = Math.min(delay * 2, ACCEPT_RETRY_MAX);
        continue;
      }
      delay = ACCEPT_RETRY_MIN;
      try {
        this.#handle(conn);
      } catch (e) {
        log.err(e, `Error serving a connection on ${this.#host}`);
      }
    }
  }

  #pauseAccepting(seconds: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const call = this.#reactor.callLater(seconds, () => {
        this.#wakeAccept = undefined;
        resolve();
      });
      this.#wakeAccept = () => {
        this.#wakeAccept = undefined;
        if (call.active()) call.cancel();
        resolve();
      };
    });
  }

  /**
   * Builds the factory's protocol for an accepted connection and connects
   * it. A TLS connection's protocol is built and connected at once, so that
   * policies (limits, timeouts) see connections still in their handshake,
   * as in Twisted; the connection runs the handshake.
   */
  #handle(conn: Deno.Conn): void {
    if (this.#registry.stopped) {
      closeQuietly(conn); // Accepted as the reactor stopped.
      return;
    }
    let protocol;
    try {
      protocol = built(this.#factory.buildProtocol(this.#binding.peerOf(conn)));
    } catch (e) {
      log.err(e, "Unhandled error in buildProtocol");
      closeQuietly(conn);
      return;
    }
    if (!protocol) {
      closeQuietly(conn);
      return;
    }
    const { handshake, handshakeTimeout } = this.#binding;
    startConnection(
      this.#registry,
      conn,
      protocol,
      this.#binding,
      this.#owner,
      handshake
        ? {
          run: handshake,
          timeout: handshakeTimeout ?? 60,
          callLater: (seconds, f) => this.#reactor.callLater(seconds, f),
        }
        : undefined,
    );
  }

  /**
   * Stops accepting connections. The Deferred fires once the listener is
   * closed and the factory's `doStop` has run. Open connections are not
   * closed (at reactor shutdown they are, separately).
   */
  stopListening(): Deferred<void> {
    if (this.#stopping) return this.#stopping;
    const d = new Deferred<void>();
    this.#stopping = d;
    const listener = this.#listener;
    if (!listener) {
      d.callback();
      return d;
    }
    closeQuietly(listener);
    this.#wakeAccept?.();
    this.#acceptDone.then(() => {
      this.#registry.unregister(this);
      this.#listener = undefined;
      try {
        this.#binding.cleanup?.();
      } catch (e) {
        log.err(e, "Error cleaning up after a port");
      }
      try {
        watchResult(this.#factory.doStop(), "Unhandled error in doStop");
      } catch (e) {
        log.err(e, "Unhandled error in doStop");
      }
      d.callback();
    });
    return d;
  }

  /** The bound address (with the real port when 0 was asked for). */
  getHost(): A {
    if (!this.#host) throw new Error("The port is not listening");
    return this.#host;
  }

  /** The reactor this port belongs to. */
  get reactor(): ReactorBase {
    return this.#reactor;
  }

  /** A readable form for logs. */
  toString(): string {
    return `<Port ${this.#host ?? this.#binding.describe()}>`;
  }
}

/**
 * The accept errors that mean the process or the system is short of a
 * resource (Twisted's list), and what to say about each.
 */
const SHORT_OF = new Map([
  [
    "EMFILE",
    "too many open files (EMFILE); raise the limit (ulimit -n) or serve fewer connections",
  ],
  [
    "ENFILE",
    "the system is out of file descriptors (ENFILE); raise fs.file-max or close some",
  ],
  ["ENOBUFS", "no buffer space (ENOBUFS)"],
  ["ENOMEM", "out of memory (ENOMEM)"],
]);
/** The first wait after a failed accept, in seconds; it doubles up to the max. */
const ACCEPT_RETRY_MIN = 0.01;
const ACCEPT_RETRY_MAX = 1;
