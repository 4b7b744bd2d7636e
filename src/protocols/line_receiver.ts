/**
 * `LineReceiver` and `LineOnlyReceiver` (`twisted.protocols.basic`).
 *
 * @module
 */
import { Protocol } from "../internet/protocol.ts";
import type { Data } from "../internet/interfaces.ts";
import { ByteBuffer } from "./_byte_buffer.ts";
import { concat, DelimiterCache, toBytes } from "./_framing.ts";

const encoder = new TextEncoder();
const NO_BYTES = new Uint8Array(0);

/** The bytes of `line` followed by `delimiter`, in one array for one write. */
function lineBytes(
  line: Data,
  delimiter: Data,
  cache: DelimiterCache,
): Uint8Array {
  const bytes = cache.bytes(delimiter);
  return typeof line === "string" && typeof delimiter === "string"
    ? encoder.encode(line + delimiter)
    : concat(line, bytes);
}

/**
 * A protocol that receives lines and, in raw mode, raw data (Twisted's
 * `LineReceiver`, for line-oriented protocols such as SMTP, POP3 and IRC).
 *
 * - Each line goes to {@linkcode LineReceiver.lineReceived} without its
 *   `delimiter` (default `"\r\n"`; a string or bytes).
 * - A line longer than `MAX_LENGTH` bytes (default 16384), or
 *   `MAX_LENGTH + delimiter.length` bytes with no delimiter among them, goes
 *   to {@linkcode LineReceiver.lineLengthExceeded} together with everything
 *   buffered after it; by default that loses the connection. A line of
 *   exactly `MAX_LENGTH` bytes is accepted.
 * - {@linkcode LineReceiver.setRawMode} sends what follows to
 *   {@linkcode LineReceiver.rawDataReceived};
 *   {@linkcode LineReceiver.setLineMode} goes back to lines. Switching modes,
 *   or changing `delimiter`, inside a callback applies from the very next
 *   byte, even within the chunk being parsed.
 * - Once the transport is disconnecting, no more lines are delivered and
 *   later data is ignored.
 * - {@linkcode LineReceiver.pauseProducing} stops delivery (and reading)
 *   until {@linkcode LineReceiver.resumeProducing}, which first delivers the
 *   lines already buffered.
 *
 * Lines and raw data are views into the received chunks (no copy): the
 * protocol may keep them, as Twist never reuses the memory it hands to
 * `dataReceived`.
 *
 * @example A line-based protocol, tested with a StringTransport
 * ```ts
 * import { LineReceiver } from "@twist/twist/protocols/basic";
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
 *
 * @example Switching to raw mode for a counted body
 * ```ts
 * import { LineReceiver } from "@twist/twist/protocols/basic";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const decode = (b: Uint8Array) => new TextDecoder().decode(b);
 * const seen: string[] = [];
 * class Body extends LineReceiver {
 *   #left = 0;
 *   override lineReceived(line: Uint8Array): void {
 *     seen.push(`line ${decode(line)}`);
 *     this.#left = Number(decode(line));
 *     this.setRawMode();
 *   }
 *   override rawDataReceived(data: Uint8Array): void {
 *     const body = data.subarray(0, this.#left);
 *     this.#left -= body.length;
 *     seen.push(`raw ${decode(body)}`);
 *     if (this.#left === 0) this.setLineMode(data.subarray(body.length));
 *   }
 * }
 * const p = new Body();
 * p.makeConnection(new StringTransport());
 * p.dataReceived(new TextEncoder().encode("3\r\nabc2\r\nxy"));
 * assertEquals(seen, ["line 3", "raw abc", "line 2", "raw xy"]);
 * ```
 */
export class LineReceiver extends Protocol {
  /** The line delimiter. @default {"\r\n"} */
  delimiter: Data = "\r\n";
  /** The longest line accepted, in bytes. @default {16384} */
  MAX_LENGTH: number = 16384;
  /** Whether lines (`true`) or raw data (`false`) are being received (Twisted's `line_mode`). */
  lineMode: boolean = true;
  /** Whether delivery is paused (by `pauseProducing` or `stopProducing`). */
  paused: boolean = false;
  #buffer = new ByteBuffer();
  /** How far the buffer was searched for `#scannedFor` without finding it. */
  #scanned = 0;
  #scannedFor: Uint8Array = NO_BYTES;
  /** Whether the parse loop is running (a nested `dataReceived` only buffers). */
  #busy = false;
  #delimiters = new DelimiterCache();

  /**
   * Called with each line, without its delimiter. Override it.
   *
   * @param _line the line; the protocol may keep it
   */
  lineReceived(_line: Uint8Array): void {
    throw new Error(`${this.constructor.name} must override lineReceived`);
  }

  /**
   * Called in raw mode with the data received. Override it to use raw mode.
   *
   * @param _data the bytes received; the protocol may keep them
   */
  rawDataReceived(_data: Uint8Array): void {
    throw new Error(
      `${this.constructor.name} must override rawDataReceived to use raw mode`,
    );
  }

  /**
   * Called when a line is too long, with that line and everything buffered
   * after it (or with all the unterminated data); by default it loses the
   * connection. The buffer is empty when it is called.
   *
   * @param _line the offending bytes
   */
  lineLengthExceeded(_line: Uint8Array): void {
    this.transport.loseConnection();
  }

  /**
   * Sends `line` followed by the delimiter, in one write.
   *
   * @param line the line, without its delimiter (a string is UTF-8 encoded)
   */
  sendLine(line: Data): void {
    this.transport.write(lineBytes(line, this.delimiter, this.#delimiters));
  }

  /** Switches to raw mode: the bytes that follow go to `rawDataReceived`. */
  setRawMode(): void {
    this.lineMode = false;
  }

  /**
   * Switches back to line mode, then parses `extra` as if it had just been
   * received (from inside `rawDataReceived`, pass the bytes it did not use).
   *
   * @param extra bytes to parse for lines
   */
  setLineMode(extra?: Data): void {
    this.lineMode = true;
    if (extra !== undefined && extra.length > 0) {
      this.dataReceived(toBytes(extra));
    }
  }

  /**
   * Empties the buffer; callable from inside `lineReceived`.
   *
   * @returns the bytes that were buffered
   */
  clearLineBuffer(): Uint8Array {
    this.#scanned = 0;
    return this.#buffer.takeAll();
  }

  /** How many received bytes are buffered, waiting to be parsed. */
  get bufferedBytes(): number {
    return this.#buffer.length;
  }

  /**
   * Parses `data` into lines (or raw data).
   *
   * @param data the bytes received; the protocol may keep them
   */
  override dataReceived(data: Uint8Array): void {
    // A closing connection delivers no more lines: do not let them pile up.
    if (this.transport?.disconnecting) return;
    this.#buffer.append(data);
    // Called from inside a callback: the running loop picks the data up.
    if (this.#busy) return;
    this.#busy = true;
    try {
      this.#parse();
    } finally {
      this.#busy = false;
    }
    this.#buffer.compact();
  }

  #parse(): void {
    const buffer = this.#buffer;
    while (buffer.length > 0 && !this.paused) {
      if (!this.lineMode) {
        this.#scanned = 0;
        this.rawDataReceived(buffer.takeAll());
        continue;
      }
      if (this.transport?.disconnecting) return;
      // Read the delimiter afresh for every line: a callback may change it.
      const delimiter = this.#delimiters.bytes(this.delimiter);
      if (delimiter !== this.#scannedFor) {
        this.#scannedFor = delimiter;
        this.#scanned = 0;
      }
      const at = buffer.indexOf(delimiter, this.#scanned);
      if (at < 0) {
        const length = buffer.length;
        if (length >= this.MAX_LENGTH + delimiter.length) {
          this.#scanned = 0;
          this.lineLengthExceeded(buffer.takeAll());
        } else {
          // A delimiter could still begin in the last few bytes.
          this.#scanned = Math.max(0, length - delimiter.length + 1);
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
    }
  }

  /** Pauses line delivery and the transport's reading. */
  pauseProducing(): void {
    this.paused = true;
    this.transport.pauseProducing();
  }

  /** Resumes the transport's reading and delivers the lines already buffered. */
  resumeProducing(): void {
    this.paused = false;
    this.transport.resumeProducing();
    this.dataReceived(NO_BYTES);
  }

  /** Stops delivery for good and tells the transport to stop producing. */
  stopProducing(): void {
    this.paused = true;
    this.transport.stopProducing();
  }
}

/**
 * A faster line receiver without raw mode or pausing (Twisted's
 * `LineOnlyReceiver`): each line goes to
 * {@linkcode LineOnlyReceiver.lineReceived}.
 *
 * Its limits are Twisted's, slightly different from `LineReceiver`'s: a line
 * longer than `MAX_LENGTH` bytes (default 16384), or more than `MAX_LENGTH`
 * bytes buffered with no delimiter, goes to
 * {@linkcode LineOnlyReceiver.lineLengthExceeded} (which by default loses the
 * connection) and the rest of that chunk's complete lines are dropped. As in
 * Twisted, the unterminated count includes a partly received delimiter, so a
 * line of exactly `MAX_LENGTH` bytes is refused if a chunk ends inside its
 * delimiter; `LineReceiver` allows for that. A change of `delimiter` inside
 * `lineReceived` applies from the next chunk.
 *
 * @example Collecting lines; the unterminated rest stays buffered
 * ```ts
 * import { LineOnlyReceiver } from "@twist/twist/protocols/basic";
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
 * assertEquals(p.bufferedBytes, 1);
 * ```
 */
export class LineOnlyReceiver extends Protocol {
  /** The line delimiter. @default {"\r\n"} */
  delimiter: Data = "\r\n";
  /** The longest line accepted, in bytes. @default {16384} */
  MAX_LENGTH: number = 16384;
  #buffer = new ByteBuffer();
  #scanned = 0;
  #scannedFor: Uint8Array = NO_BYTES;
  #delimiters = new DelimiterCache();

  /**
   * Called with each line, without its delimiter. Override it.
   *
   * @param _line the line; the protocol may keep it
   */
  lineReceived(_line: Uint8Array): void {
    throw new Error(`${this.constructor.name} must override lineReceived`);
  }

  /**
   * Called with a line (or unterminated data) longer than `MAX_LENGTH`; by
   * default it loses the connection.
   *
   * @param _line the offending bytes
   */
  lineLengthExceeded(_line: Uint8Array): void {
    this.transport.loseConnection();
  }

  /**
   * Sends `line` followed by the delimiter, in one write.
   *
   * @param line the line, without its delimiter (a string is UTF-8 encoded)
   */
  sendLine(line: Data): void {
    this.transport.write(lineBytes(line, this.delimiter, this.#delimiters));
  }

  /** How many received bytes are buffered, waiting to be parsed. */
  get bufferedBytes(): number {
    return this.#buffer.length;
  }

  /**
   * Parses `data` into lines.
   *
   * @param data the bytes received; the protocol may keep them
   */
  override dataReceived(data: Uint8Array): void {
    // A closing connection delivers no more lines: do not let them pile up.
    if (this.transport?.disconnecting) return;
    const buffer = this.#buffer;
    buffer.append(data);
    // Twisted splits the whole chunk with the delimiter of the moment.
    const delimiter = this.#delimiters.bytes(this.delimiter);
    const n = delimiter.length;
    if (delimiter !== this.#scannedFor) {
      this.#scannedFor = delimiter;
      this.#scanned = 0;
    }
    for (;;) {
      const at = buffer.indexOf(delimiter, this.#scanned);
      if (at < 0) {
        this.#scanned = Math.max(0, buffer.length - n + 1);
        break;
      }
      this.#scanned = 0;
      if (this.transport?.disconnecting) {
        // The lines after the one that closed the connection are disregarded.
        buffer.clear();
        return;
      }
      const line = buffer.take(at);
      buffer.skip(n);
      if (line.length > this.MAX_LENGTH) {
        // As Twisted: the chunk's other complete lines go too; a partial one stays.
        for (let next = buffer.indexOf(delimiter, 0); next >= 0;) {
          buffer.skip(next + n);
          next = buffer.indexOf(delimiter, 0);
        }
        this.#scanned = Math.max(0, buffer.length - n + 1);
        this.lineLengthExceeded(line);
        if (this.transport?.disconnecting) buffer.clear();
        return;
      }
      this.lineReceived(line);
    }
    if (buffer.length > this.MAX_LENGTH) {
      this.#scanned = 0;
      this.lineLengthExceeded(buffer.takeAll());
    }
    buffer.compact();
  }
}
