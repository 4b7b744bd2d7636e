/**
 * The one write engine of every stream-like transport (TCP/TLS/UNIX
 * connections, a child process's stdin): a queue in front of a `WriteSink`,
 * written by one pump, with the flow control of `FlowControl`.
 *
 * The rules, measured on the echo benchmarks (bench/RESULTS.md):
 * - `write()` hands the bytes to the sink at once when no sink write is in
 *   flight (as asyncio does); writes made while one is in flight are queued
 *   and joined into the next sink write, copying only chunks under 16 KiB
 *   (up to 64 KiB per join); a bigger chunk goes out as it is, never copied.
 * - No promise per small write: the pump is two callbacks on the sink's
 *   promise, and it loops until everything queued is written (a sink write
 *   may take only part of what it is given).
 * - A pull producer is asked for more each time the buffer empties; a
 *   streaming one is paused and resumed at the water marks.
 *
 * The buffer's life (`state`):
 *
 * ```text
 * open ──notifyWhenFlushed()──▶ draining   ("flushed" each time it is flushed)
 * open, draining ──end()──▶ ending ──"flushed"──▶ shutting ──▶ shut ("shut")
 *                                    (sink.closeWrite(); writes dropped)
 * any ──stop()──▶ stopped   (queue dropped; the in-flight write settles quietly)
 * ```
 *
 * Writes are accepted in `open`, `draining` and `ending`.
 *
 * "Flushed" means nothing queued, nothing in flight, not held (see `hold`)
 * and no producer holding the close: as in Twisted's `doWrite`, a pull
 * producer, or a streaming one paused by the water marks, must unregister
 * first, while a streaming producer that is not paused does not keep a
 * flushed buffer open (it is stopped when its connection closes). The owner
 * hears it from a microtask, so writes made right after `loseConnection()`
 * still go out and a close never runs inside the caller's `write()`.
 *
 * @module
 */
import type { IPullProducer, IPushProducer } from "../interfaces.ts";
import {
  callProducer,
  type CapEvent,
  FlowControl,
} from "../common/flow_control.ts";

/** Queued writes are joined into one sink write up to this size... */
const COALESCE_LIMIT = 64 * 1024;
/** ...but only writes smaller than this are copied to be joined. */
const COALESCE_ITEM = 16 * 1024;

/**
 * Where a `WriteBuffer` writes: a `Deno.Conn` is one as it is; a
 * `WritableStreamDefaultWriter` fits with `closeWrite: () => writer.close()`.
 */
export interface WriteSink {
  /**
   * Writes a prefix of `bytes`: resolves with how many bytes were written
   * (nothing: all of them), or rejects when the sink is broken.
   */
  write(bytes: Uint8Array): Promise<number | void>;
  /** Closes the sink's write side once what was written is sent. */
  closeWrite(): Promise<void>;
}

/**
 * What the owner of a `WriteBuffer` is told:
 * - `"failed"`: a sink write or `closeWrite` failed (with the error); the
 *   buffer sends nothing more until the owner stops it;
 * - `"flushed"`: after `notifyWhenFlushed`/`end`, everything is written and
 *   no producer holds the close (see above);
 * - `"shut"`: the write side closed after `end()`;
 * - `"held"`: after `hold()`, what was written before it has been sent;
 * - the cap's events (`CapEvent`).
 */
export type WriteBufferEvent =
  | "failed"
  | "flushed"
  | "shut"
  | "held"
  | CapEvent;

/** The states of a `WriteBuffer`; see the module docs. */
export type WriteBufferState =
  | "open"
  | "draining"
  | "ending"
  | "shutting"
  | "shut"
  | "stopped";

/** A transport's write queue, pump and flow control over a `WriteSink`. */
export class WriteBuffer extends FlowControl {
  #sink: WriteSink;
  #notify: (event: WriteBufferEvent, error?: unknown) => void;
  #state: WriteBufferState = "open";
  /** Writes waiting for the sink write in flight. */
  #queue: Uint8Array[] = [];
  /** Bytes written to the buffer and not yet taken by the sink. */
  #size = 0;
  /** The buffer the pending sink write was given, if any. */
  #inFlight: Uint8Array | undefined = undefined;
  /** Writes made after `hold()`, sent after `release()`. */
  #held: Uint8Array[] | undefined = undefined;
  /** Set while a flushed check is scheduled for a microtask. */
  #checkScheduled = false;
  /** Resolves what `stop()` returned, once the in-flight write settles. */
  #settled: (() => void) | undefined = undefined;

  /** A buffer in front of `sink`; `notify` hears its events. */
  constructor(
    sink: WriteSink,
    notify: (event: WriteBufferEvent, error?: unknown) => void,
  ) {
    super(notify);
    this.#sink = sink;
    this.#notify = notify;
  }

  /** Where the buffer is in its life. */
  get state(): WriteBufferState {
    return this.#state;
  }

  /** Bytes written and not yet taken by the sink. */
  get size(): number {
    return this.#size;
  }

  /** Whether a sink write is pending. */
  get writing(): boolean {
    return this.#inFlight !== undefined;
  }

  /**
   * Queues `bytes` (kept, not copied: the caller must not modify them) and
   * sends them at once if no sink write is in flight. Dropped once the
   * write side is closing or the buffer is stopped.
   */
  write(bytes: Uint8Array): void {
    const state = this.#state;
    if (state !== "open" && state !== "draining" && state !== "ending") return;
    if (bytes.length === 0) return;
    this.#size += bytes.length;
    if (this.#held !== undefined) this.#held.push(bytes);
    else if (this.#inFlight === undefined) this.#send(bytes);
    else this.#queue.push(bytes);
    this.grew(this.#size);
  }

  /**
   * Whether bytes not yet sent (in flight, queued or held) share memory with
   * `region`: a transport reads into a borrowing protocol's chunk again only
   * once nothing written from it is still waiting (`IBorrowingProtocol`).
   */
  holds(region: Uint8Array): boolean {
    if (this.#size === 0) return false; // Nothing unsent (the usual case).
    const f = this.#inFlight;
    if (f !== undefined && overlaps(f, region)) return true;
    for (const b of this.#queue) if (overlaps(b, region)) return true;
    const held = this.#held;
    if (held !== undefined) {
      for (const b of held) if (overlaps(b, region)) return true;
    }
    return false;
  }

  /**
   * Registers a producer: a streaming one is paused and resumed at the
   * water marks, a pull one is asked for more now if nothing is being
   * written, and each time the buffer empties. A producer registered on a
   * stopped buffer is stopped at once.
   *
   * @throws {Error} if a producer is already registered
   */
  override registerProducer(
    producer: IPushProducer | IPullProducer,
    streaming: boolean,
  ): void {
    if (this.#state === "stopped" && this.producer === undefined) {
      callProducer(() => producer.stopProducing());
      return;
    }
    super.registerProducer(producer, streaming, this.#size); // May throw.
    if (
      !streaming && this.#inFlight === undefined && this.#queue.length === 0
    ) callProducer(() => producer.resumeProducing());
  }

  /** Lets the producer go (not stopped); a pending flush can then complete. */
  override unregisterProducer(): IPushProducer | IPullProducer | undefined {
    const producer = super.unregisterProducer();
    if (producer) this.#scheduleCheck();
    return producer;
  }

  /**
   * Asks for `"flushed"` once everything is written and no producer holds
   * the close (from a microtask; again after each later drain until the
   * owner stops the buffer). Idempotent.
   */
  notifyWhenFlushed(): void {
    if (this.#state === "open") this.#state = "draining";
    this.#scheduleCheck();
  }

  /**
   * Closes the sink's write side once flushed (`"flushed"` is sent first,
   * then `closeWrite()`, then `"shut"`). Writes are accepted until then.
   */
  end(): void {
    if (this.#state !== "open" && this.#state !== "draining") return;
    this.#state = "ending";
    this.#scheduleCheck();
  }

  /**
   * Holds back what is written from now on until `release()`; `"held"` is
   * sent once what was written before has been sent (at once, from this
   * call, if nothing is in flight). The STARTTLS upgrade uses it.
   */
  hold(): void {
    this.#held = [];
    // Otherwise the pump sends "held" when it goes idle: from now on it
    // starts nothing until release().
    if (this.#inFlight === undefined) this.#notify("held");
  }

  /** Ends a `hold()`: writes to `sink` from now on, starting with what was held. */
  release(sink: WriteSink = this.#sink): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    this.#sink = sink;
    if (this.#state === "stopped") return;
    this.#queue.push(...held);
    if (this.#inFlight !== undefined) return;
    if (this.#queue.length > 0) this.#send(this.#takeBatch());
    else this.#empty();
  }

  /**
   * Drops everything queued and sends nothing more (the owner closes the
   * sink). Returns a promise that resolves once the pending sink write, if
   * any, has settled. Idempotent.
   */
  stop(): Promise<void> | undefined {
    this.#state = "stopped";
    this.#queue = [];
    this.#held = undefined;
    this.#size = 0;
    if (this.#inFlight === undefined) return undefined;
    return new Promise<void>((resolve) => {
      const earlier = this.#settled;
      this.#settled = earlier
        ? () => {
          earlier();
          resolve();
        }
        : resolve;
    });
  }

  /** The pump: one sink write at a time, as callbacks rather than an async loop. */
  #send(buf: Uint8Array): void {
    this.#inFlight = buf;
    this.#sink.write(buf).then(this.#onWritten, this.#onWriteFailed);
  }

  #onWritten = (n: number | void): void => {
    if (this.#state === "stopped") return this.#writeSettled();
    const buf = this.#inFlight!;
    const written = typeof n === "number" ? n : buf.length;
    this.#size -= written;
    this.shrank(this.#size);
    // A producer (or the cap) may have aborted.
    if (this.state === "stopped") return this.#writeSettled();
    if (written < buf.length) return this.#send(buf.subarray(written));
    if (this.#queue.length > 0) return this.#send(this.#takeBatch());
    this.#inFlight = undefined;
    if (this.#held !== undefined) return this.#notify("held");
    this.#empty();
  };

  #onWriteFailed = (e: unknown): void => {
    if (this.#state === "stopped") return this.#writeSettled();
    this.#inFlight = undefined;
    this.#notify("failed", e);
  };

  #writeSettled(): void {
    this.#inFlight = undefined;
    const settled = this.#settled;
    this.#settled = undefined;
    settled?.();
  }

  /** The next buffer to write: small queued writes joined, a big one alone (no copy). */
  #takeBatch(): Uint8Array {
    const queue = this.#queue;
    const first = queue[0];
    if (queue.length === 1 || first.length >= COALESCE_ITEM) {
      queue.shift();
      return first;
    }
    let count = 0;
    let size = 0;
    while (
      count < queue.length && queue[count].length < COALESCE_ITEM &&
      size + queue[count].length <= COALESCE_LIMIT
    ) size += queue[count++].length;
    if (count <= 1) {
      queue.shift();
      return first;
    }
    const batch = new Uint8Array(size);
    let at = 0;
    for (let i = 0; i < count; i++) {
      batch.set(queue[i], at);
      at += queue[i].length;
    }
    queue.splice(0, count);
    return batch;
  }

  /** Everything written has been sent. */
  #empty(): void {
    // A pull producer is asked for more each time the buffer empties (also
    // while closing, as in Twisted: the close waits for it to unregister).
    if (this.pullProducer()) return;
    this.#scheduleCheck();
  }

  #scheduleCheck(): void {
    if (this.#checkScheduled) return;
    const state = this.#state;
    if (state !== "draining" && state !== "ending") return;
    this.#checkScheduled = true;
    queueMicrotask(() => this.#check());
  }

  #check(): void {
    this.#checkScheduled = false;
    const state = this.#state;
    if (state !== "draining" && state !== "ending") return;
    // The pump, release() or unregisterProducer() call back.
    if (
      this.#inFlight !== undefined || this.#queue.length > 0 ||
      this.#held !== undefined || this.producerHoldsClose
    ) return;
    this.#notify("flushed");
    if (this.#state === "ending") this.#shut();
  }

  #shut(): void {
    this.#state = "shutting";
    this.#sink.closeWrite().then(() => {
      if (this.#state !== "shutting") return; // Stopped meanwhile.
      this.#state = "shut";
      this.#notify("shut");
    }, (e) => {
      if (this.#state !== "shutting") return;
      this.#notify("failed", e);
    });
  }
}

/** Whether two views share any byte of memory. */
function overlaps(a: Uint8Array, b: Uint8Array): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.length &&
    b.byteOffset < a.byteOffset + a.length;
}
