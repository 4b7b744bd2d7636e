/**
 * Length-prefixed strings (`twisted.protocols.basic`): `IntNStringReceiver`
 * and its 8, 16 and 32-bit forms.
 *
 * @module
 */
import { Protocol } from "../internet/protocol.ts";
import type { Data } from "../internet/interfaces.ts";
import { ByteBuffer } from "./_byte_buffer.ts";
import { toBytes } from "./_framing.ts";

const NO_BYTES = new Uint8Array(0);
/** Strings at least this long are written after their prefix, not copied behind it. */
const COPY_LIMIT = 64 * 1024;

/**
 * `sendString` was given a string longer than the length prefix can carry
 * (Twisted's `StringTooLongError`).
 *
 * @example Sending more than a 1-byte prefix can carry
 * ```ts
 * import { Int8StringReceiver, StringTooLongError } from "@twist/twist/protocols/basic";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertThrows } from "@std/assert";
 *
 * const p = new Int8StringReceiver();
 * p.makeConnection(new StringTransport());
 * assertThrows(() => p.sendString(new Uint8Array(256)), StringTooLongError);
 * ```
 */
export class StringTooLongError extends RangeError {
  /** The error's name. */
  override name = "StringTooLongError";
}

/**
 * Strings prefixed with their length, a big-endian unsigned integer of
 * `prefixLength` bytes (1, 2 or 4; Twisted's `IntNStringReceiver`). Subclass
 * {@linkcode Int8StringReceiver}, {@linkcode Int16StringReceiver} or
 * {@linkcode Int32StringReceiver}, or set `prefixLength` yourself.
 *
 * - Each string goes to {@linkcode IntNStringReceiver.stringReceived}.
 * - A length prefix above `MAX_LENGTH` (default 99999) goes to
 *   {@linkcode IntNStringReceiver.lengthLimitExceeded} (by default it loses
 *   the connection) and nothing after it is parsed; the string is never
 *   buffered.
 * - `recvd` is Twisted's view of the unparsed bytes: inside `stringReceived`
 *   it holds what follows the current string, and assigning to it replaces
 *   what will be parsed next.
 * - {@linkcode IntNStringReceiver.pauseProducing} stops delivery (and
 *   reading) until {@linkcode IntNStringReceiver.resumeProducing}, which first
 *   delivers the strings already buffered.
 *
 * @example A 16-bit prefix
 * ```ts
 * import { IntNStringReceiver } from "@twist/twist/protocols/basic";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const got: number[] = [];
 * class Frames extends IntNStringReceiver {
 *   override readonly prefixLength = 2;
 *   override stringReceived(s: Uint8Array): void {
 *     got.push(s.length);
 *   }
 * }
 * const p = new Frames();
 * p.makeConnection(new StringTransport());
 * p.dataReceived(new Uint8Array([0, 3, 1, 2, 3, 0, 0, 0]));
 * assertEquals(got, [3, 0]);
 * assertEquals(p.bufferedBytes, 1);
 * ```
 */
export class IntNStringReceiver extends Protocol {
  /** The size of the length prefix in bytes: 1, 2 or 4. @default {4} */
  readonly prefixLength: 1 | 2 | 4 = 4;
  /** The longest string accepted, in bytes. @default {99999} */
  MAX_LENGTH: number = 99999;
  /** Whether delivery is paused (by `pauseProducing` or `stopProducing`). */
  paused: boolean = false;
  #buffer = new ByteBuffer();
  #busy = false;
  /** Whether the buffer starts with a length prefix above the limit. */
  #overLimit = false;

  /**
   * Called with each string received. Override it.
   *
   * @param _string the payload; the protocol may keep it
   */
  stringReceived(_string: Uint8Array): void {
    throw new Error(`${this.constructor.name} must override stringReceived`);
  }

  /**
   * Called with a length prefix above `MAX_LENGTH`; by default it loses the
   * connection. `recvd` still starts with that prefix.
   *
   * @param _length the length the peer announced
   */
  lengthLimitExceeded(_length: number): void {
    this.transport.loseConnection();
  }

  /**
   * Sends `string` after its length prefix.
   *
   * @param string the payload (a string is UTF-8 encoded)
   * @throws {StringTooLongError} if the prefix cannot carry its length
   */
  sendString(string: Data): void {
    const bytes = toBytes(string);
    const size = this.prefixLength;
    const n = bytes.length;
    if (n >= 2 ** (8 * size)) {
      throw new StringTooLongError(
        `Cannot send a string of "${n}" bytes: a ${size}-byte length prefix carries at most ${
          2 ** (8 * size) - 1
        }`,
      );
    }
    const large = n >= COPY_LIMIT;
    const out = new Uint8Array(large ? size : size + n);
    for (
      let i = size - 1, rest = n;
      i >= 0;
      i--, rest = Math.floor(rest / 256)
    ) {
      out[i] = rest & 0xff;
    }
    if (large) {
      this.transport.writeSequence([out, bytes]);
      return;
    }
    out.set(bytes, size);
    this.transport.write(out);
  }

  /**
   * The received bytes not yet parsed into strings (Twisted's `recvd`): a
   * snapshot view. Assigning replaces them; inside `stringReceived`, parsing
   * continues from the new bytes.
   */
  get recvd(): Uint8Array {
    return this.#buffer.view();
  }

  set recvd(data: Data) {
    this.#buffer.clear();
    this.#buffer.append(toBytes(data));
    this.#overLimit = false;
  }

  /** How many received bytes are buffered, waiting to be parsed. */
  get bufferedBytes(): number {
    return this.#buffer.length;
  }

  /**
   * Parses `data` into strings.
   *
   * @param data the bytes received; the protocol may keep them
   */
  override dataReceived(data: Uint8Array): void {
    const buffer = this.#buffer;
    const prefix = this.prefixLength;
    if (this.#overLimit) {
      // Nothing after a refused length can be parsed: do not keep it.
      const length = buffer.uintAt(0, prefix);
      if (length > this.MAX_LENGTH) {
        this.lengthLimitExceeded(length);
        return;
      }
      this.#overLimit = false; // MAX_LENGTH was raised meanwhile.
    }
    buffer.append(data);
    if (this.#busy) return;
    this.#busy = true;
    try {
      while (!this.paused && !this.#overLimit) {
        const available = buffer.length;
        if (available < prefix) return;
        const length = buffer.uintAt(0, prefix);
        if (length > this.MAX_LENGTH) {
          this.#overLimit = true;
          this.lengthLimitExceeded(length);
          if (this.#overLimit && buffer.length > prefix) {
            // Keep the refused prefix (so `recvd` shows it), drop the rest.
            this.recvd = buffer.take(prefix);
            this.#overLimit = true;
          }
          return;
        }
        if (available < prefix + length) return;
        buffer.skip(prefix);
        this.stringReceived(buffer.take(length));
      }
    } finally {
      this.#busy = false;
      buffer.compact();
    }
  }

  /** Pauses delivery and the transport's reading. */
  pauseProducing(): void {
    this.paused = true;
    this.transport.pauseProducing();
  }

  /** Resumes the transport's reading and delivers the strings already buffered. */
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
 * Strings with a 4-byte (32-bit) big-endian length prefix (Twisted's
 * `Int32StringReceiver`).
 *
 * @example Sending a 32-bit length-prefixed string
 * ```ts
 * import { Int32StringReceiver } from "@twist/twist/protocols/basic";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const transport = new StringTransport();
 * const p = new Int32StringReceiver();
 * p.makeConnection(transport);
 * p.sendString("hi");
 * assertEquals(transport.value(), new Uint8Array([0, 0, 0, 2, 104, 105]));
 * ```
 */
export class Int32StringReceiver extends IntNStringReceiver {
  /** Four bytes. */
  override readonly prefixLength: 4 = 4;
}

/**
 * Strings with a 2-byte (16-bit) big-endian length prefix, so at most 65535
 * bytes (Twisted's `Int16StringReceiver`).
 *
 * @example A 16-bit prefix carries at most 65535 bytes
 * ```ts
 * import { Int16StringReceiver, StringTooLongError } from "@twist/twist/protocols/basic";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * const transport = new StringTransport();
 * const p = new Int16StringReceiver();
 * p.makeConnection(transport);
 * p.sendString("foo");
 * assertEquals(transport.value(), new Uint8Array([0, 3, 102, 111, 111]));
 * assertThrows(() => p.sendString(new Uint8Array(65536)), StringTooLongError);
 * ```
 */
export class Int16StringReceiver extends IntNStringReceiver {
  /** Two bytes. */
  override readonly prefixLength: 2 = 2;
}

/**
 * Strings with a 1-byte length prefix, so at most 255 bytes (Twisted's
 * `Int8StringReceiver`).
 *
 * @example Sending an 8-bit length-prefixed string
 * ```ts
 * import { Int8StringReceiver } from "@twist/twist/protocols/basic";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const transport = new StringTransport();
 * const p = new Int8StringReceiver();
 * p.makeConnection(transport);
 * p.sendString("a");
 * assertEquals(transport.value(), new Uint8Array([1, 97]));
 * ```
 */
export class Int8StringReceiver extends IntNStringReceiver {
  /** One byte. */
  override readonly prefixLength: 1 = 1;
}
