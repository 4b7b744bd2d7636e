/**
 * `AccumulatingProtocol`: a protocol that keeps what it receives.
 *
 * @module
 */
import { Protocol } from "../internet/protocol.ts";
import type { Failure } from "../internet/failure.ts";
import type { Deferred } from "../internet/defer.ts";

/**
 * A protocol that accumulates what it receives in `data` and records when it
 * was connected and closed (Twisted's `AccumulatingProtocol`). If its factory
 * has a `protocolConnectionMade` Deferred, it is fired with the protocol on
 * connection (once); `closedDeferred`, if set, is fired on connection loss.
 *
 * @example
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
 * ```
 */
export class AccumulatingProtocol extends Protocol {
  /** Whether `connectionMade` was called. */
  made = false;
  /** Whether `connectionLost` was called. */
  closed = false;
  /** The reason given to `connectionLost`. */
  closedReason: Failure | undefined;
  /** Fired (with `undefined`) when the connection is lost, if set. */
  closedDeferred: Deferred<void> | undefined;
  #chunks: Uint8Array[] = [];

  /** Everything received, as one array. */
  get data(): Uint8Array {
    if (this.#chunks.length !== 1) {
      const out = new Uint8Array(
        this.#chunks.reduce((n, c) => n + c.length, 0),
      );
      let at = 0;
      for (const c of this.#chunks) {
        out.set(c, at);
        at += c.length;
      }
      this.#chunks = [out];
    }
    return this.#chunks[0];
  }

  /** Everything received, decoded as UTF-8. */
  text(): string {
    return new TextDecoder().decode(this.data);
  }

  /** Records the connection and fires the factory's `protocolConnectionMade`, if any. */
  override connectionMade(): void {
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
  override dataReceived(data: Uint8Array): void {
    this.#chunks.push(data);
  }

  /** Records the loss and fires `closedDeferred`, if set. */
  override connectionLost(reason: Failure): void {
    this.closed = true;
    this.closedReason = reason;
    const d = this.closedDeferred;
    this.closedDeferred = undefined;
    d?.callback(undefined);
  }
}
