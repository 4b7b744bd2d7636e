/**
 * Flow control of a write buffer, in the spirit of asyncio's
 * `_FlowControlMixin`: the water marks and hard cap, and the producer slot
 * (`IConsumer.registerProducer`). It does no I/O: the owner tells it how big
 * its buffer is after each change (`grew` / `shrank`), and it pauses and
 * resumes the producer by the one rule every transport follows:
 *
 * - a streaming (push) producer is paused once when the buffer goes strictly
 *   above the high-water mark and resumed once when it drains to the
 *   low-water mark (asyncio's exact rule);
 * - above the cap (`max`), the owner is told (`"pause"`: it stops reading
 *   until the buffer drains to the low mark, then `"resume"`; `"abort"`: it
 *   aborts);
 * - an exception thrown by a producer is logged, never swallowed, and never
 *   reaches the code that wrote.
 *
 * Used by `WriteBuffer` (every stream transport) and by the testing
 * `FakeTransport`, so the marks and the rule live in one place.
 *
 * @module
 */
import type {
  IPullProducer,
  IPushProducer,
  WriteBufferLimits,
} from "../interfaces.ts";
import { log } from "../../logger.ts";

/** The default high-water mark, in bytes. */
export const DEFAULT_HIGH_WATER = 65_536;
/** The default low-water mark, in bytes. */
export const DEFAULT_LOW_WATER = 16_384;
/**
 * The default cap, in bytes: a connection whose unsent bytes pass it stops
 * reading (once what it reads makes it write more) until they drain to the
 * low mark, so a peer that sends and never reads cannot grow a server that
 * writes in response to reads (an echo) without bound. Generous (a reply
 * this big is still written, only reading waits);
 * `setWriteBufferLimits({ max: Infinity })` turns it off.
 */
export const DEFAULT_MAX = 4 * 1024 * 1024;

/**
 * What the owner is told about the cap: `"pause"` (above `max` with
 * `onMax: "pause"`: stop reading), `"resume"` (drained to the low mark
 * after a `"pause"`), `"abort"` (above `max` with `onMax: "abort"`).
 */
export type CapEvent = "pause" | "resume" | "abort";

/** Calls a producer method, logging what it throws. */
export function callProducer(f: () => void): void {
  try {
    f();
  } catch (e) {
    log.err(e, "Unhandled error in a producer");
  }
}

/** Water marks, cap and producer slot of one write buffer. */
export class FlowControl {
  #high = DEFAULT_HIGH_WATER;
  #low = DEFAULT_LOW_WATER;
  #max = DEFAULT_MAX;
  #onMax: "pause" | "abort" = "pause";
  #producer: IPushProducer | IPullProducer | undefined = undefined;
  #streaming = false;
  /** The streaming producer was paused by the high-water mark. */
  #producerPaused = false;
  /** Above the cap with `onMax: "pause"`, until drained to the low mark. */
  #capped = false;
  #onCap: ((event: CapEvent) => void) | undefined;

  /** `onCap` is told when the buffer crosses its cap (none: the cap is ignored). */
  constructor(onCap?: (event: CapEvent) => void) {
    this.#onCap = onCap;
  }

  /** Above the cap (`onMax: "pause"`) and not yet drained to the low mark. */
  get capped(): boolean {
    return this.#capped;
  }

  /** The registered producer, if any. */
  get producer(): IPushProducer | IPullProducer | undefined {
    return this.#producer;
  }

  /** Whether the registered producer is a streaming (push) one. */
  get streaming(): boolean {
    return this.#streaming;
  }

  /**
   * Whether a close or half-close must wait for the producer: a pull
   * producer, or a streaming one paused by the water marks. A streaming
   * producer that is not paused does not hold a flushed buffer open — what
   * Twisted's `doWrite` does, whatever its `loseConnection` docs say.
   */
  get producerHoldsClose(): boolean {
    return this.#producer !== undefined &&
      (!this.#streaming || this.#producerPaused);
  }

  /**
   * Sets the water marks and the cap (`ITCPTransport.setWriteBufferLimits`):
   * `low` defaults to the current low mark (at most `high`), `max` to the
   * current cap (at least `high`; `DEFAULT_MAX` at first, `Infinity` for
   * none).
   *
   * @throws {RangeError} if `low` is above `high`, `high` above `max`, a limit
   * is negative, or `onMax` is unknown
   */
  setLimits(limits: WriteBufferLimits): void {
    const high = limits.high ?? this.#high;
    const low = limits.low ?? Math.min(this.#low, high);
    const max = limits.max ?? Math.max(this.#max, high);
    if (!(low >= 0 && high >= low && max >= high)) {
      throw new RangeError(
        `Invalid write buffer limits "low=${low}, high=${high}, max=${max}": expected 0 <= low <= high <= max`,
      );
    }
    const onMax = limits.onMax ?? this.#onMax;
    if (onMax !== "pause" && onMax !== "abort") {
      throw new RangeError(
        `Invalid onMax "${onMax}": expected "pause" or "abort"`,
      );
    }
    this.#high = high;
    this.#low = low;
    this.#max = max;
    this.#onMax = onMax;
  }

  /**
   * Takes `producer`; a streaming one is paused at once if the buffer
   * (`size` bytes) is already above the high mark.
   *
   * @throws {Error} if a producer is already registered
   */
  registerProducer(
    producer: IPushProducer | IPullProducer,
    streaming: boolean,
    size: number,
  ): void {
    if (this.#producer) {
      throw new Error(
        `Cannot register two producers: producer ${this.#producer} is already registered`,
      );
    }
    this.#producer = producer;
    this.#streaming = streaming;
    this.#producerPaused = false;
    if (streaming) this.grew(size);
  }

  /** Lets the producer go (it is not stopped); returns it. */
  unregisterProducer(): IPushProducer | IPullProducer | undefined {
    const producer = this.#producer;
    this.#producer = undefined;
    this.#producerPaused = false;
    return producer;
  }

  /** Lets the producer go and stops it (`stopProducing`, errors logged). */
  stopProducer(): void {
    const producer = this.unregisterProducer();
    if (producer) callProducer(() => producer.stopProducing());
  }

  /**
   * Asks a pull producer for more (the buffer is empty). Returns whether
   * one was asked.
   */
  pullProducer(): boolean {
    const producer = this.#producer;
    if (producer === undefined || this.#streaming) return false;
    callProducer(() => producer.resumeProducing());
    return true;
  }

  /** The buffer grew to `size` bytes. */
  grew(size: number): void {
    if (size > this.#high) this.#aboveHigh(size);
  }

  /** The buffer shrank to `size` bytes. */
  shrank(size: number): void {
    if (size <= this.#low && (this.#producerPaused || this.#capped)) {
      this.#drained();
    }
  }

  #aboveHigh(size: number): void {
    const producer = this.#producer;
    if (producer && this.#streaming && !this.#producerPaused) {
      this.#producerPaused = true;
      callProducer(() => (producer as IPushProducer).pauseProducing());
    }
    if (size > this.#max && !this.#capped && this.#onCap) {
      if (this.#onMax === "abort") {
        log.warn(
          `Write buffer above its cap of ${this.#max} bytes: aborting the connection`,
        );
        this.#onCap("abort");
      } else {
        this.#capped = true;
        this.#onCap("pause");
      }
    }
  }

  #drained(): void {
    if (this.#capped) {
      this.#capped = false;
      this.#onCap?.("resume");
    }
    const producer = this.#producer;
    if (producer && this.#streaming && this.#producerPaused) {
      this.#producerPaused = false;
      callProducer(() => (producer as IPushProducer).resumeProducing());
    }
  }
}
