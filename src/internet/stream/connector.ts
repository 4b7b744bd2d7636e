/**
 * A stream connector (TCP, TLS or UNIX): one attempt at a time, its timeout,
 * and the client factory's events; what differs by kind is the
 * `StreamDialer`.
 *
 * @module
 */
import type {
  ConnectorState,
  IAddress,
  IConnector,
  IProtocolFactory,
} from "../interfaces.ts";
import type { DelayedCall, ReactorBase } from "../base.ts";
import { Failure } from "../failure.ts";
import { ConnectError, TimeoutError, UserError } from "../error.ts";
import type { Connection, ConnectionOwner } from "./connection.ts";
import type { ResourceKind, ResourceRegistry } from "../common/registry.ts";
import { log } from "../../logger.ts";
import { warnIfNotCapable } from "../common/permissions.ts";
import { watchResult } from "../common/callbacks.ts";
import {
  built,
  declined,
  registryOfReactor,
  startConnection,
} from "./lifecycle.ts";

/**
 * How a connector reaches its destination: `tcp.ts`, `tls.ts` and `unix.ts`
 * each make one. The attempt, timeout and factory events are the same for all.
 */
export interface StreamDialer {
  /**
   * Starts connecting. `signal` is aborted when the attempt is given up
   * (timeout, `stopConnecting`, shutdown): the pending connect must then be
   * cancelled, so it keeps no socket and does not keep the process alive.
   */
  dial(signal: AbortSignal): Promise<Deno.Conn>;
  /** Turns what `dial` rejected with into a `ConnectError`. */
  errorFor(e: unknown): Error;
  /** The address being connected to. */
  readonly destination: IAddress;
  /** The address of the connected peer, for `buildProtocol`. */
  peerOf(conn: Deno.Conn): IAddress;
  /** The destination, for messages. */
  describe(): string;
  /** Whether connections have TCP options (`setTcpNoDelay`...). */
  readonly tcp: boolean;
  /** Whether connections run over TLS. */
  readonly tls?: boolean;
}

/**
 * A connection attempt, as `reactor.connectTCP` (and `connectUNIX`) return it.
 * `connect()` connects again with the same factory (reconnecting clients use
 * it).
 *
 * @example Using `Connector`
 * ```ts
 * import { ClientFactory, ConnectionRefusedError, Reactor, type Failure } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * const reactor = new Reactor();
 * const failed = Promise.withResolvers<Failure>();
 * const factory = new ClientFactory();
 * factory.clientConnectionFailed = (_c, reason) => failed.resolve(reason);
 * // Port 1 on loopback: nothing listens there.
 * reactor.connectTCP("127.0.0.1", 1, factory);
 * assert((await failed.promise).check(ConnectionRefusedError));
 * ```
 */
export class Connector implements IConnector {
  /** Where the connector is in its life. */
  state: ConnectorState = "disconnected";
  /** The connection's transport once connected. */
  transport: Connection | undefined;
  readonly #reactor: ReactorBase;
  readonly #registry: ResourceRegistry;
  readonly #factory: IProtocolFactory;
  readonly #dialer: StreamDialer;
  readonly #timeout: number;
  #factoryStarted = false;
  #attempt = 0;
  #timeoutCall: DelayedCall | undefined;
  /** Cancels the pending dial of the attempt in progress. */
  #dialing: AbortController | undefined;
  /** Hears that this connector's connection is gone (one object per connector, not per connection). */
  readonly #owner: ConnectionOwner = {
    connectionClosed: (connection, reason) => {
      this.#registry.unregister(connection);
      this.#lost(reason);
    },
    callLater: (seconds, f) => this.#reactor.callLater(seconds, f),
  };

  /**
   * A connector is registered from `connect()` until it is disconnected
   * again; at shutdown an attempt still in progress fails with
   * `ConnectError`, as in Twisted (its connection, if made, is closed as a
   * connection).
   */
  static readonly #KIND: ResourceKind<Connector> = {
    name: "connector",
    order: 1,
    shutdown: (connector) => {
      if (connector.state !== "connecting") return;
      connector.#failed(
        connector.#attempt,
        new ConnectError("The reactor stopped before the connection was made"),
      );
    },
  };

  /**
   * Creates the connector; `connect()` starts an attempt.
   *
   * @throws {RangeError} for a timeout that is not a positive number of seconds
   */
  constructor(
    reactor: ReactorBase,
    factory: IProtocolFactory,
    dialer: StreamDialer,
    timeout = 30,
  ) {
    if (!(timeout > 0)) {
      throw new RangeError(
        `Invalid timeout "${timeout}": expected a number of seconds > 0`,
      );
    }
    this.#reactor = reactor;
    this.#registry = registryOfReactor(reactor);
    this.#factory = factory;
    this.#dialer = dialer;
    this.#timeout = timeout;
  }

  /**
   * Starts a connection attempt: the factory's `doStart` runs (unless it has
   * already), then its `startedConnecting`.
   *
   * @throws {Error} unless disconnected, or once the reactor has stopped
   */
  connect(): void {
    if (this.state !== "disconnected") {
      throw new Error(`Cannot connect while ${this.state}`);
    }
    if (this.#registry.stopped) {
      throw new Error(
        `Cannot connect to "${this.#dialer.describe()}": the reactor has stopped`,
      );
    }
    this.state = "connecting";
    if (!this.#factoryStarted) {
      this.#factory.doStart();
      this.#factoryStarted = true;
    }
    const attempt = ++this.#attempt;
    this.#registry.register(this, Connector.#KIND);
    this.#timeoutCall = this.#reactor.callLater(
      this.#timeout,
      () =>
        this.#failed(
          attempt,
          new TimeoutError(
            `Connecting to ${this.#dialer.describe()} timed out after ${this.#timeout} seconds`,
          ),
        ),
    );
    const started =
      (this.#factory as { startedConnecting?(c: IConnector): void })
        .startedConnecting;
    if (typeof started === "function") {
      try {
        watchResult(
          started.call(this.#factory, this),
          "Unhandled error in startedConnecting",
        );
      } catch (e) {
        log.err(e, "Unhandled error in startedConnecting");
      }
    }
    let pending: Promise<Deno.Conn>;
    const dialing = new AbortController();
    this.#dialing = dialing;
    try {
      pending = this.#dialer.dial(dialing.signal);
    } catch (e) {
      pending = Promise.reject(e);
    }
    pending.then(
      (conn) => this.#connected(attempt, conn),
      (e) => {
        const error = this.#dialer.errorFor(e);
        warnIfNotCapable(e, this.#dialer.describe(), error.message);
        this.#failed(attempt, error);
      },
    );
  }

  #connected(attempt: number, conn: Deno.Conn): void {
    if (attempt !== this.#attempt || this.state !== "connecting") {
      conn.close(); // The attempt was stopped or timed out meanwhile.
      return;
    }
    this.#cancelTimeout();
    this.#dialing = undefined;
    let protocol;
    try {
      protocol = built(this.#factory.buildProtocol(this.#dialer.peerOf(conn)));
    } catch (e) {
      conn.close();
      this.#failed(attempt, e);
      return;
    }
    this.state = "connected";
    this.transport = startConnection(
      this.#registry,
      conn,
      // As in Twisted, a client factory may decline: the connection is made
      // with a stand-in protocol and closed at once (clientConnectionLost).
      protocol ?? declined(),
      this.#dialer,
      this.#owner,
    );
  }

  #failed(attempt: number, error: unknown): void {
    if (attempt !== this.#attempt || this.state !== "connecting") return;
    this.#attempt++;
    this.#cancelTimeout();
    // Given up: the pending connect is cancelled rather than left to finish
    // (a full backlog keeps it pending for minutes, and the process alive).
    const dialing = this.#dialing;
    this.#dialing = undefined;
    dialing?.abort(error);
    this.state = "disconnected";
    this.#registry.unregister(this);
    const reason = Failure.from(error);
    const failed = (this.#factory as {
      clientConnectionFailed?(c: IConnector, r: Failure): void;
    })
      .clientConnectionFailed;
    if (typeof failed === "function") {
      try {
        watchResult(
          failed.call(this.#factory, this, reason),
          "Unhandled error in clientConnectionFailed",
        );
      } catch (e) {
        log.err(e, "Unhandled error in clientConnectionFailed");
      }
    }
    this.#stopFactoryIfIdle();
  }

  #lost(reason: Failure): void {
    this.transport = undefined;
    this.state = "disconnected";
    this.#registry.unregister(this);
    const lost = (this.#factory as {
      clientConnectionLost?(c: IConnector, r: Failure): void;
    }).clientConnectionLost;
    if (typeof lost === "function") {
      try {
        watchResult(
          lost.call(this.#factory, this, reason),
          "Unhandled error in clientConnectionLost",
        );
      } catch (e) {
        log.err(e, "Unhandled error in clientConnectionLost");
      }
    }
    this.#stopFactoryIfIdle();
  }

  /** The factory stops unless the failure/loss handler reconnected. */
  #stopFactoryIfIdle(): void {
    if (this.state !== "disconnected" || !this.#factoryStarted) return;
    this.#factoryStarted = false;
    try {
      watchResult(this.#factory.doStop(), "Unhandled error in doStop");
    } catch (e) {
      log.err(e, "Unhandled error in doStop");
    }
  }

  #cancelTimeout(): void {
    if (this.#timeoutCall?.active()) this.#timeoutCall.cancel();
    this.#timeoutCall = undefined;
  }

  /**
   * Stops the attempt in progress: it fails with `UserError`.
   *
   * @throws {Error} if not connecting
   */
  stopConnecting(): void {
    if (this.state !== "connecting") {
      throw new Error(`Cannot stop connecting while ${this.state}`);
    }
    this.#failed(this.#attempt, new UserError());
  }

  /** Closes the connection (`loseConnection`), or stops the attempt if still connecting. */
  disconnect(): void {
    if (this.state === "connecting") this.stopConnecting();
    else if (this.state === "connected") this.transport?.loseConnection();
  }

  /** The address being connected to. */
  getDestination(): IAddress {
    return this.#dialer.destination;
  }

  /** A readable form for logs. */
  toString(): string {
    return `<Connector to ${this.#dialer.describe()} (${this.state})>`;
  }
}
