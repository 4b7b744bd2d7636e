/**
 * How a stream connection starts life: the factory's protocol is checked,
 * a `Connection` is made over the Deno conn and registered with the reactor
 * until it is lost (shared by `Port` and `Connector`).
 *
 * @module
 */
import type { IProtocol, IProtocolFactory, ITransport } from "../interfaces.ts";
import type { ReactorBase } from "../base.ts";
import { ConnectionLost } from "../error.ts";
import {
  type AcceptedHandshake,
  Connection,
  type ConnectionOwner,
} from "./connection.ts";
import {
  registryOf,
  type ResourceKind,
  type ResourceRegistry,
} from "../common/registry.ts";
import { watchResult } from "../common/callbacks.ts";

/**
 * The registry of the reactor a port or connector belongs to: what it and
 * its connections register with while they are live, so that the reactor's
 * one shutdown trigger can close them.
 */
export function registryOfReactor(reactor: ReactorBase): ResourceRegistry {
  const registry = registryOf(reactor);
  if (!registry) {
    throw new TypeError(
      `Invalid reactor "${String(reactor)}": expected a ReactorBase`,
    );
  }
  return registry;
}

/**
 * Connections get `reactor.shutdownTimeout` seconds to send what they have
 * buffered (a registered producer is stopped); those close with
 * `ConnectionDone`. What is left is aborted with `ConnectionLost`, as
 * Twisted's `disconnectAll` does.
 */
const CONNECTION: ResourceKind<Connection> = {
  name: "connection",
  order: 2,
  shutdown: (connection) => connection.closeAfterFlush(),
  abort: (connection, afterSeconds) =>
    connection.abortConnection(
      new ConnectionLost(
        `The reactor stopped: unsent data left after ${afterSeconds} seconds`,
      ),
    ),
};

/** Starts a connection for `protocol` over `conn`, registered with the reactor until it is lost. */
export function startConnection(
  registry: ResourceRegistry,
  conn: Deno.Conn,
  protocol: NonNullable<ReturnType<IProtocolFactory["buildProtocol"]>>,
  kind: { tcp: boolean; tls?: boolean },
  owner: ConnectionOwner,
  handshake?: AcceptedHandshake,
): Connection {
  const connection = new Connection(conn, protocol, owner, {
    tcp: kind.tcp,
    tls: kind.tls,
    handshake,
  });
  registry.register(connection, CONNECTION);
  connection.start();
  return connection;
}

export function closeQuietly(closer: { close(): void }): void {
  try {
    closer.close();
  } catch {
    // Already closed.
  }
}

/** What `buildProtocol` returned, which must be a protocol, not a promise of one. */
export function built<P>(protocol: P): P {
  if (protocol instanceof Promise) {
    watchResult(protocol, "Unhandled error in buildProtocol");
    throw new TypeError(
      "buildProtocol returned a promise: it must return the protocol itself",
    );
  }
  return protocol;
}

/** A stand-in protocol that closes its connection as soon as it is made. */
export function declined(): IProtocol {
  return {
    makeConnection(transport: ITransport): void {
      transport.loseConnection();
    },
    connectionMade(): void {},
    dataReceived(): void {},
    connectionLost(): void {},
  };
}
