/**
 * Length-prefixed strings (`twisted.protocols.basic`): `IntNStringReceiver`
 * and its 8, 16 and 32-bit forms.
 *
 * @module
 */
import { Protocol } from "../internet/protocol.ts";
import type { Data } from "../internet/interfaces.ts";
import { ByteBuffer } from "./_byte_buffer.ts";

const encoder = new TextEncoder();

/**
 * `sendString` was given a string longer than the prefix can carry.
 *
 * @example
 * ```ts
 * import { StringTooLongError } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new StringTooLongError("x").name, "StringTooLongError");
 * ```
 */
export class StringTooLongError extends RangeError {
  /** The error's name. */
  override name = "StringTooLongError";
}

/**
 * Strings prefixed with their length as a big-endian unsigned integer of
 * `prefixLength` bytes (1, 2 or 4). Each goes to `stringReceived`; a length
 * above `MAX_LENGTH` (default 99999) goes to `lengthLimitExceeded`, which
 * loses the connection by default. `pauseProducing`/`resumeProducing` stop
 * and resume delivery, including strings already buffered.
 *
 * @example A 16-bit prefix
 * ```ts
 * import { IntNStringReceiver } from "@twist/twist";
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
 * p.dataReceived(new Uint8Array([0, 3, 1, 2, 3, 0, 0]));
 * assertEquals(got, [3, 0]);
 * ```
 */
export class IntNStringReceiver extends Protocol {
  /** The size of the length prefix in bytes: 1, 2 or 4. */
  readonly prefixLength: 1 | 2 | 4 = 4;
  /** The longest string accepted, in bytes. @default {99999} */
  MAX_LENGTH: number = 99999;
  /** Whether delivery is paused. */
  paused: boolean = false;
  #buffer = new ByteBuffer();
  #busy = false;

  /** Called with each string received. */
  stringReceived(_string: Uint8Array): void {
    throw new Error(`${this.constructor.name} must override stringReceived`);
  }

  /** Called with a length above `MAX_LENGTH`; loses the connection by default. */
  lengthLimitExceeded(_length: number): void {
    this.transport.loseConnection();
  }

  /**
   * Sends `string` with its length prefix.
   *
   * @throws {StringTooLongError} if the prefix cannot carry its length
   */
  sendString(string: Data): void {
    const bytes = typeof string === "string" ? encoder.encode(string) : string;
    const limit = 2 ** (8 * this.prefixLength);
    if (bytes.length >= limit) {
      throw new StringTooLongError(
        `Cannot send ${bytes.length} bytes: a ${this.prefixLength}-byte prefix carries at most ${
          limit - 1
        }`,
      );
    }
    const out = new Uint8Array(this.prefixLength + bytes.length);
    let n = bytes.length;
    for (let i = this.prefixLength - 1; i >= 0; i--) {
      out[i] = n & 0xff;
      n = Math.floor(n / 256);
    }
    out.set(bytes, this.prefixLength);
    this.transport.write(out);
  }

  /** Parses `data`. */
  override dataReceived(data: Uint8Array): void {
    const buffer = this.#buffer;
    buffer.append(data);
    if (this.#busy) return;
    this.#busy = true;
    try {
      const prefix = this.prefixLength;
      while (buffer.length >= prefix && !this.paused) {
        let length = 0;
        for (let i = 0; i < prefix; i++) length = length * 256 + buffer.at(i);
        if (length > this.MAX_LENGTH) {
          this.lengthLimitExceeded(length);
          return;
        }
        if (buffer.length < prefix + length) return;
        buffer.skip(prefix);
        this.stringReceived(buffer.take(length));
        if (this.transport?.disconnecting) return;
      }
    } finally {
      this.#busy = false;
    }
  }

  /** Pauses delivery and reading. */
  pauseProducing(): void {
    this.paused = true;
    this.transport.pauseProducing();
  }

  /** Resumes reading and delivers the strings already buffered. */
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
 * Strings with a 4-byte (32-bit) big-endian length prefix.
 *
 * @example
 * ```ts
 * import { Int32StringReceiver } from "@twist/twist";
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
 * Strings with a 2-byte (16-bit) big-endian length prefix.
 *
 * @example
 * ```ts
 * import { Int16StringReceiver, StringTooLongError } from "@twist/twist";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertThrows } from "@std/assert";
 *
 * const p = new Int16StringReceiver();
 * p.makeConnection(new StringTransport());
 * assertThrows(() => p.sendString(new Uint8Array(65536)), StringTooLongError);
 * ```
 */
export class Int16StringReceiver extends IntNStringReceiver {
  /** Two bytes. */
  override readonly prefixLength: 2 = 2;
}

/**
 * Strings with a 1-byte length prefix (at most 255 bytes).
 *
 * @example
 * ```ts
 * import { Int8StringReceiver } from "@twist/twist";
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
