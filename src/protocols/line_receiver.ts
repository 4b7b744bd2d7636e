/**
 * `LineReceiver` and `LineOnlyReceiver` (`twisted.protocols.basic`).
 *
 * @module
 */
import { Protocol } from "../internet/protocol.ts";
import type { Data } from "../internet/interfaces.ts";
import { ByteBuffer } from "./_byte_buffer.ts";

const encoder = new TextEncoder();
const CRLF = encoder.encode("\r\n");

function toBytes(data: Data): Uint8Array {
  return typeof data === "string" ? encoder.encode(data) : data;
}

/** Caches the encoded form of a delimiter given as a string. */
function delimiterBytes(
  cache: { key?: Data; bytes: Uint8Array },
  delimiter: Data,
): Uint8Array {
  if (cache.key !== delimiter) {
    const bytes = toBytes(delimiter);
    if (bytes.length === 0) {
      throw new RangeError(
        'Invalid delimiter "": it must be at least one byte',
      );
    }
    cache.key = delimiter;
    cache.bytes = bytes;
  }
  return cache.bytes;
}

/**
 * A protocol that receives lines (and, in raw mode, raw data): each line,
 * without its delimiter, goes to `lineReceived`.
 *
 * - `delimiter` (default `"\r\n"`) and `MAX_LENGTH` (default 16384) can be
 *   overridden, and changed at any time: a change made inside `lineReceived`
 *   applies from the very next byte.
 * - A line longer than `MAX_LENGTH` (or that many bytes with no delimiter in
 *   sight) goes to `lineLengthExceeded`, which by default loses the connection.
 * - `setRawMode()` sends what follows to `rawDataReceived`; `setLineMode(extra)`
 *   goes back to lines.
 * - `pauseProducing()` stops line delivery (and reading) until
 *   `resumeProducing()`, which delivers the lines already buffered first.
 *
 * Lines are `Uint8Array`s that the protocol may keep.
 *
 * @example A line-based protocol, tested with a StringTransport
 * ```ts
 * import { LineReceiver } from "@twist/twist";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * class Shout extends LineReceiver {
 *   override lineReceived(line: Uint8Array): void {
 *     this.sendLine(new TextDecoder().decode(line).toUpperCase());
 *   }
 * }
 * const transport = new StringTransport();
 * const p = new Shout();
 * p.makeConnection(transport);
 * p.dataReceived(new TextEncoder().encode("hel"));
 * p.dataReceived(new TextEncoder().encode("lo\r\nworld\r\n"));
 * assertEquals(new TextDecoder().decode(transport.value()), "HELLO\r\nWORLD\r\n");
 * ```
 */
export class LineReceiver extends Protocol {
  /** The line delimiter. @default {"\r\n"} */
  delimiter: Data = "\r\n";
  /** The longest line accepted, in bytes. @default {16384} */
  MAX_LENGTH: number = 16384;
  /** Whether lines (`true`) or raw data (`false`) are being received (Twisted's `line_mode`). */
  lineMode: boolean = true;
  /** Whether line delivery is paused. */
  paused: boolean = false;
  #buffer = new ByteBuffer();
  /** Where the delimiter search resumes, and for which delimiter. */
  #scanned = 0;
  #scannedFor: Uint8Array | undefined;
  #busy = false;
  #delimiterCache: { key?: Data; bytes: Uint8Array } = { bytes: CRLF };

  /** Called with each line, without its delimiter. */
  lineReceived(_line: Uint8Array): void {
    throw new Error(`${this.constructor.name} must override lineReceived`);
  }

  /** Called in raw mode with the data received. */
  rawDataReceived(_data: Uint8Array): void {
    throw new Error(
      `${this.constructor.name} must override rawDataReceived to use raw mode`,
    );
  }

  /** Called with a line (or unterminated data) longer than `MAX_LENGTH`; loses the connection by default. */
  lineLengthExceeded(_line: Uint8Array): void {
    this.transport.loseConnection();
  }

  /** Sends `line` followed by the delimiter. */
  sendLine(line: Data): void {
    const bytes = toBytes(line);
    const delimiter = delimiterBytes(this.#delimiterCache, this.delimiter);
    const out = new Uint8Array(bytes.length + delimiter.length);
    out.set(bytes);
    out.set(delimiter, bytes.length);
    this.transport.write(out);
  }

  /** Switches to raw mode: what follows goes to `rawDataReceived`. */
  setRawMode(): void {
    this.lineMode = false;
  }

  /** Switches back to line mode, then processes `extra` as if it were received. */
  setLineMode(extra?: Data): void {
    this.lineMode = true;
    if (extra !== undefined && extra.length > 0) {
      this.dataReceived(toBytes(extra));
    }
  }

  /** Empties the buffer and returns what was in it. */
  clearLineBuffer(): Uint8Array {
    const rest = this.#buffer.takeAll();
    this.#scanned = 0;
    return rest;
  }

  /** Parses `data` into lines (or raw data). */
  override dataReceived(data: Uint8Array): void {
    this.#buffer.append(data);
    if (this.#busy) return; // Called from inside lineReceived: the running loop picks it up.
    this.#busy = true;
    try {
      this.#process();
    } finally {
      this.#busy = false;
    }
  }

  #process(): void {
    const buffer = this.#buffer;
    while (buffer.length > 0 && !this.paused) {
      if (!this.lineMode) {
        this.#scanned = 0;
        this.rawDataReceived(buffer.takeAll());
        continue;
      }
      const delimiter = delimiterBytes(this.#delimiterCache, this.delimiter);
      if (this.#scannedFor !== delimiter) {
        this.#scannedFor = delimiter;
        this.#scanned = 0;
      }
      const at = buffer.indexOf(delimiter, this.#scanned);
      if (at < 0) {
        if (buffer.length >= this.MAX_LENGTH + delimiter.length) {
          this.#scanned = 0;
          this.lineLengthExceeded(buffer.takeAll());
        } else {
          // Resume where a delimiter could still start.
          this.#scanned = Math.max(0, buffer.length - delimiter.length + 1);
        }
        return;
      }
      this.#scanned = 0;
      if (at > this.MAX_LENGTH) {
        this.lineLengthExceeded(buffer.takeAll());
        return;
      }
      const line = buffer.take(at);
      buffer.skip(delimiter.length);
      this.lineReceived(line);
      if (this.transport?.disconnecting) return;
    }
  }

  /** Pauses line delivery and reading. */
  pauseProducing(): void {
    this.paused = true;
    this.transport.pauseProducing();
  }

  /** Resumes reading and delivers the lines already buffered. */
  resumeProducing(): void {
    this.paused = false;
    this.transport.resumeProducing();
    this.dataReceived(new Uint8Array(0));
  }

  /** Stops for good (the transport closes). */
  stopProducing(): void {
    this.paused = true;
    this.transport.stopProducing();
  }
}

/**
 * A faster line receiver without raw mode or pausing (Twisted's
 * `LineOnlyReceiver`): each line goes to `lineReceived`; a line longer than
 * `MAX_LENGTH` (or unterminated data that long) goes to `lineLengthExceeded`
 * and parsing stops.
 *
 * @example
 * ```ts
 * import { LineOnlyReceiver } from "@twist/twist";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const lines: string[] = [];
 * class Collect extends LineOnlyReceiver {
 *   override lineReceived(line: Uint8Array): void {
 *     lines.push(new TextDecoder().decode(line));
 *   }
 * }
 * const p = new Collect();
 * p.makeConnection(new StringTransport());
 * p.dataReceived(new TextEncoder().encode("a\r\nb\r\nc"));
 * assertEquals(lines, ["a", "b"]);
 * ```
 */
export class LineOnlyReceiver extends Protocol {
  /** The line delimiter. @default {"\r\n"} */
  delimiter: Data = "\r\n";
  /** The longest line accepted, in bytes. @default {16384} */
  MAX_LENGTH: number = 16384;
  #buffer = new ByteBuffer();
  #scanned = 0;
  #delimiterCache: { key?: Data; bytes: Uint8Array } = { bytes: CRLF };

  /** Called with each line, without its delimiter. */
  lineReceived(_line: Uint8Array): void {
    throw new Error(`${this.constructor.name} must override lineReceived`);
  }

  /** Called with a line longer than `MAX_LENGTH`; loses the connection by default. */
  lineLengthExceeded(_line: Uint8Array): void {
    this.transport.loseConnection();
  }

  /** Sends `line` followed by the delimiter. */
  sendLine(line: Data): void {
    this.transport.writeSequence([
      line,
      delimiterBytes(this.#delimiterCache, this.delimiter),
    ]);
  }

  /** Parses `data` into lines. */
  override dataReceived(data: Uint8Array): void {
    const buffer = this.#buffer;
    buffer.append(data);
    const delimiter = delimiterBytes(this.#delimiterCache, this.delimiter);
    for (;;) {
      const at = buffer.indexOf(delimiter, this.#scanned);
      if (at < 0) {
        this.#scanned = Math.max(0, buffer.length - delimiter.length + 1);
        break;
      }
      this.#scanned = 0;
      if (this.transport?.disconnecting) return;
      const line = buffer.take(at);
      buffer.skip(delimiter.length);
      if (line.length > this.MAX_LENGTH) {
        this.lineLengthExceeded(line);
        return;
      }
      this.lineReceived(line);
    }
    if (buffer.length > this.MAX_LENGTH) {
      this.#scanned = 0;
      this.lineLengthExceeded(buffer.takeAll());
    }
  }
}
