/**
 * `loopbackAsync` (`twisted.protocols.loopback`): connects a server and a
 * client protocol in memory and carries what each writes to the other until
 * one of them closes the connection.
 *
 * @module
 */
import type {
  Data,
  IAddress,
  IConsumer,
  IProtocol,
  IPullProducer,
  IPushProducer,
  ITransport,
} from "../internet/interfaces.ts";
import { Deferred } from "../internet/defer.ts";
import { Failure } from "../internet/failure.ts";
import { ConnectionDone } from "../internet/error.ts";
import { toBytes } from "../internet/common/bytes.ts";

/**
 * What one side wrote and the other has not received yet, as a pump policy
 * sees it: `get()` returns the next write, or `null` where the writer closed
 * the connection.
 *
 * @example A policy that delivers one byte at a time
 * ```ts
 * import type { LoopbackQueue, IProtocol } from "@twist/twist/testing";
 *
 * function byteByByte(queue: LoopbackQueue, target: IProtocol): void {
 *   while (queue.length > 0) {
 *     const bytes = queue.get();
 *     if (bytes === null) break;
 *     for (let i = 0; i < bytes.length; i++) {
 *       target.dataReceived(bytes.subarray(i, i + 1));
 *     }
 *   }
 * }
 * ```
 */
export interface LoopbackQueue {
  /** How many items (writes, and the close marker) wait. */
  readonly length: number;
  /** The next write, or `null` for the close marker. */
  get(): Uint8Array | null;
}

/**
 * Empties `queue` into `target` (see `identityPumpPolicy` and
 * `collapsingPumpPolicy`).
 */
export type PumpPolicy = (queue: LoopbackQueue, target: IProtocol) => void;

/**
 * Delivers each write as it was made, up to the close marker (Twisted's
 * `identityPumpPolicy`, the default).
 *
 * @example Choosing the policy
 * ```ts
 * import { identityPumpPolicy, loopbackAsync } from "@twist/twist/testing";
 * import { Protocol } from "@twist/twist";
 *
 * await loopbackAsync(new Protocol(), new (class extends Protocol {
 *   override connectionMade(): void {
 *     this.transport.loseConnection();
 *   }
 * })(), { pumpPolicy: identityPumpPolicy });
 * ```
 */
export function identityPumpPolicy(
  queue: LoopbackQueue,
  target: IProtocol,
): void {
  while (queue.length > 0) {
    const bytes = queue.get();
    if (bytes === null) break;
    target.dataReceived(bytes);
  }
}

/**
 * Joins every waiting write into one `dataReceived` call (Twisted's
 * `collapsingPumpPolicy`).
 *
 * @example
 * ```ts
 * import { collapsingPumpPolicy, loopbackAsync } from "@twist/twist/testing";
 * import { Protocol } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const calls: string[] = [];
 * class Sink extends Protocol {
 *   override dataReceived(data: Uint8Array): void {
 *     calls.push(new TextDecoder().decode(data));
 *   }
 * }
 * class Talker extends Protocol {
 *   override connectionMade(): void {
 *     this.transport.write("a");
 *     this.transport.write("b");
 *     this.transport.loseConnection();
 *   }
 * }
 * await loopbackAsync(new Sink(), new Talker(), { pumpPolicy: collapsingPumpPolicy });
 * assertEquals(calls, ["ab"]);
 * ```
 */
export function collapsingPumpPolicy(
  queue: LoopbackQueue,
  target: IProtocol,
): void {
  const chunks: Uint8Array[] = [];
  while (queue.length > 0) {
    const bytes = queue.get();
    if (bytes === null) break;
    chunks.push(bytes);
  }
  if (chunks.length === 0) return;
  if (chunks.length === 1) {
    target.dataReceived(chunks[0]);
    return;
  }
  const joined = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    joined.set(c, at);
    at += c.length;
  }
  target.dataReceived(joined);
}

/** Options of {@linkcode loopbackAsync}. */
export interface LoopbackAsyncOptions {
  /** How queued writes reach the other side. @default {identityPumpPolicy} */
  pumpPolicy?: PumpPolicy;
}

class Queue implements LoopbackQueue {
  #items: (Uint8Array | null)[] = [];
  /** Whether the writer closed the connection. */
  disconnect = false;
  /** Called when something is put, once. */
  notify: (() => void) | undefined;

  get length(): number {
    return this.#items.length;
  }

  put(item: Uint8Array | null): void {
    this.#items.push(item);
    const notify = this.notify;
    this.notify = undefined;
    notify?.();
  }

  get(): Uint8Array | null {
    if (this.#items.length === 0) {
      throw new RangeError("The loopback queue is empty");
    }
    return this.#items.shift()!;
  }
}

const LOOPBACK_ADDRESS: IAddress = Object.freeze({ type: "LOOPBACK" });

class LoopbackTransport implements ITransport, IConsumer {
  #queue: Queue;
  producer: IPushProducer | IPullProducer | undefined;
  #streaming = false;

  constructor(queue: Queue) {
    this.#queue = queue;
  }

  write(data: Data): void {
    this.#queue.put(toBytes(data));
  }

  writeSequence(data: Iterable<Data>): void {
    for (const d of data) this.write(d);
  }

  loseConnection(): void {
    this.#queue.disconnect = true;
    this.#queue.put(null);
  }

  abortConnection(): void {
    this.loseConnection();
  }

  getPeer(): IAddress {
    return LOOPBACK_ADDRESS;
  }

  getHost(): IAddress {
    return LOOPBACK_ADDRESS;
  }

  registerProducer(
    producer: IPushProducer | IPullProducer,
    streaming: boolean,
  ): void {
    if (this.producer) throw new Error("Cannot register two producers");
    this.producer = producer;
    this.#streaming = streaming;
    this.pollProducer();
  }

  unregisterProducer(): void {
    if (!this.producer) {
      throw new Error("Cannot unregister a producer unless one is registered");
    }
    this.producer = undefined;
  }

  /** Asks a pull producer for more (its writes were delivered). */
  pollProducer(): void {
    if (this.producer && !this.#streaming) this.producer.resumeProducing();
  }
}

/**
 * Connects `server` and `client` in memory (Twisted's `loopbackAsync`):
 * both get a transport and `connectionMade`, then what each writes is
 * delivered to the other (by `options.pumpPolicy`), never from inside the
 * `write` call. A pull producer registered on a transport is asked for more
 * each time its writes have been delivered. When either side calls
 * `loseConnection`, what it wrote before is delivered, both get
 * `connectionLost(ConnectionDone)`, and the Deferred fires.
 *
 * @param server the server side's protocol
 * @param client the client side's protocol
 * @param options the pump policy
 * @returns a Deferred that fires once both sides have lost the connection
 *
 * @example A request and its answer
 * ```ts
 * import { Protocol } from "@twist/twist";
 * import { loopbackAsync } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * class Echo extends Protocol {
 *   override dataReceived(data: Uint8Array): void {
 *     this.transport.write(data);
 *   }
 * }
 * class Ask extends Protocol {
 *   answer = "";
 *   override connectionMade(): void {
 *     this.transport.write("ping");
 *   }
 *   override dataReceived(data: Uint8Array): void {
 *     this.answer += new TextDecoder().decode(data);
 *     this.transport.loseConnection();
 *   }
 * }
 * const client = new Ask();
 * await loopbackAsync(new Echo(), client);
 * assertEquals(client.answer, "ping");
 * ```
 */
export function loopbackAsync(
  server: IProtocol,
  client: IProtocol,
  options: LoopbackAsyncOptions = {},
): Deferred<void> {
  const pumpPolicy = options.pumpPolicy ?? identityPumpPolicy;
  const serverToClient = new Queue();
  const clientToServer = new Queue();
  const serverTransport = new LoopbackTransport(serverToClient);
  const clientTransport = new LoopbackTransport(clientToServer);
  server.makeConnection(serverTransport);
  client.makeConnection(clientTransport);
  const done = new Deferred<void>();

  const pump = (
    source: LoopbackTransport,
    queue: Queue,
    target: IProtocol,
  ): boolean => {
    if (queue.length === 0) return false;
    pumpPolicy(queue, target);
    // A write buffer has been emptied: let a pull producer produce more.
    if (queue.length === 0) source.pollProducer();
    return true;
  };

  const body = (): void => {
    try {
      for (;;) {
        const serverSent = pump(serverTransport, serverToClient, client);
        const clientSent = pump(clientTransport, clientToServer, server);
        if (!serverSent && !clientSent) {
          // Nothing was written: wait for a write, then go on from a
          // microtask (never from inside the write).
          const wake = (): void => {
            serverToClient.notify = clientToServer.notify = undefined;
            queueMicrotask(body);
          };
          serverToClient.notify = clientToServer.notify = wake;
          return;
        }
        let disconnect = false;
        if (serverToClient.disconnect) {
          disconnect = true;
          pump(serverTransport, serverToClient, client);
        } else if (clientToServer.disconnect) {
          disconnect = true;
          pump(clientTransport, clientToServer, server);
        }
        if (disconnect) {
          server.connectionLost(new Failure(new ConnectionDone()));
          client.connectionLost(new Failure(new ConnectionDone()));
          done.callback(undefined);
          return;
        }
      }
    } catch (e) {
      if (!done.called) done.errback(e);
    }
  };
  body();
  return done;
}
