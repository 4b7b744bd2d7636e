/**
 * `AccumulatingProtocol`: a protocol that keeps what it receives.
 *
 * @module
 */
import type {
  IProtocol,
  IProtocolFactory,
  ITCPTransport,
} from "../internet/interfaces.ts";
import type { Failure } from "../internet/failure.ts";
import type { Deferred } from "../internet/defer.ts";

/**
 * A protocol that accumulates what it receives and records when it was
 * connected and closed (Twisted's `AccumulatingProtocol`). If its factory
 * has a `protocolConnectionMade` Deferred, it is fired with the protocol on
 * connection (once); `closedDeferred`, if set, is fired on connection loss.
 *
 * What it received is read with `value()` (bytes) or `text()` (UTF-8), the
 * same pair of accessors `StringTransport` has for what was written.
 *
 * It is built on the interfaces alone (it does not extend `Protocol`), so
 * the testing helpers load no reactor; it has `Protocol`'s `transport`,
 * `factory`, `connected` and `logPrefix`, so a factory builds it like any
 * other protocol.
 *
 * @example Accumulating what arrives
 * ```ts
 * import { Deferred } from "@twist/twist";
 * import { AccumulatingProtocol, StringTransportWithDisconnection } from "@twist/twist/testing";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const p = new AccumulatingProtocol();
 * p.closedDeferred = new Deferred();
 * const transport = new StringTransportWithDisconnection();
 * transport.protocol = p;
 * p.makeConnection(transport);
 * p.dataReceived(new TextEncoder().encode("ab"));
 * p.dataReceived(new TextEncoder().encode("c"));
 * transport.loseConnection();
 * assert(p.made && p.closed);
 * assertEquals(p.text(), "abc");
 * assertEquals(p.value().length, 3);
 * ```
 */
export class AccumulatingProtocol implements IProtocol {
  /** The connection; set by `makeConnection`. */
  transport!: ITCPTransport;
  /**
   * The factory that built this protocol, if any. If it has a
   * `protocolConnectionMade` Deferred, `connectionMade` fires it.
   */
  factory?: IProtocolFactory;
  /** Whether the protocol is connected (set by `makeConnection`). */
  connected = false;
  /** Whether `connectionMade` was called. */
  made = false;
  /** Whether `connectionLost` was called. */
  closed = false;
  /** The reason given to `connectionLost`. */
  closedReason: Failure | undefined;
  /** Fired (with `undefined`) when the connection is lost, if set. */
  closedDeferred: Deferred<void> | undefined;
  #chunks: Uint8Array[] = [];

  /** Everything received since the last `clear()`, as one array. */
  value(): Uint8Array {
    if (this.#chunks.length === 1) return this.#chunks[0];
    const out = new Uint8Array(
      this.#chunks.reduce((n, c) => n + c.length, 0),
    );
    let at = 0;
    for (const c of this.#chunks) {
      out.set(c, at);
      at += c.length;
    }
    // Keep the joined copy so repeated reads do not join again.
    this.#chunks = out.length > 0 ? [out] : [];
    return out;
  }

  /** Everything received since the last `clear()`, decoded as UTF-8. */
  text(): string {
    return new TextDecoder().decode(this.value());
  }

  /** Forgets what was received. */
  clear(): void {
    this.#chunks = [];
  }

  /** Attaches `transport`, marks the protocol connected and calls `connectionMade`. */
  makeConnection(transport: ITCPTransport): void {
    this.connected = true;
    this.transport = transport;
    this.connectionMade();
  }

  /** Records the connection and fires the factory's `protocolConnectionMade`, if any. */
  connectionMade(): void {
    this.made = true;
    const factory = this.factory as {
      protocolConnectionMade?: Deferred<AccumulatingProtocol>;
    } | undefined;
    const d = factory?.protocolConnectionMade;
    if (d) {
      factory!.protocolConnectionMade = undefined;
      d.callback(this);
    }
  }

  /** Keeps the data. */
  dataReceived(data: Uint8Array): void {
    this.#chunks.push(data);
  }

  /** Records the loss and fires `closedDeferred`, if set. */
  connectionLost(reason: Failure): void {
    this.closed = true;
    this.closedReason = reason;
    const d = this.closedDeferred;
    this.closedDeferred = undefined;
    d?.callback(undefined);
  }

  /** A prefix for log messages about this protocol. */
  logPrefix(): string {
    return this.constructor.name;
  }
}
