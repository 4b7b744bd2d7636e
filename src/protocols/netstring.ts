/**
 * `NetstringReceiver` (`twisted.protocols.basic`): `<length>:<bytes>,`
 * framing, as in D. J. Bernstein's netstrings.
 *
 * @module
 */
import { Protocol } from "../internet/protocol.ts";
import type { Data } from "../internet/interfaces.ts";
import { log } from "../logger.ts";
import { ByteBuffer } from "./_byte_buffer.ts";

const encoder = new TextEncoder();
const COLON = 0x3a;
const COMMA = 0x2c;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * A peer sent something that is not a netstring.
 *
 * @example
 * ```ts
 * import { NetstringParseError } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new NetstringParseError("bad").name, "NetstringParseError");
 * ```
 */
export class NetstringParseError extends Error {
  /** The error's name. */
  override name = "NetstringParseError";
}

/**
 * A protocol that receives netstrings (`5:hello,`): each string goes to
 * `stringReceived`. A malformed length (not digits, a leading zero, no colon),
 * a missing comma, or a length above `MAX_LENGTH` (default 99999) is logged
 * as a `NetstringParseError` and the connection is lost; nothing more is
 * parsed (`brokenPeer` is set) and the buffer never grows beyond one
 * string.
 *
 * @example
 * ```ts
 * import { NetstringReceiver } from "@twist/twist";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const got: string[] = [];
 * class Strings extends NetstringReceiver {
 *   override stringReceived(s: Uint8Array): void {
 *     got.push(new TextDecoder().decode(s));
 *   }
 * }
 * const transport = new StringTransport();
 * const p = new Strings();
 * p.makeConnection(transport);
 * p.dataReceived(new TextEncoder().encode("5:hello,0:,"));
 * p.sendString("abc");
 * assertEquals(got, ["hello", ""]);
 * assertEquals(new TextDecoder().decode(transport.value()), "3:abc,");
 * ```
 */
export class NetstringReceiver extends Protocol {
  /** The longest string accepted, in bytes. @default {99999} */
  MAX_LENGTH: number = 99999;
  /** Whether the peer sent something malformed (nothing more is parsed). */
  brokenPeer: boolean = false;
  #buffer = new ByteBuffer();
  /** The length being read, or -1 while reading the payload. */
  #length = 0;
  #lengthDigits = 0;
  /** The payload's length (without the comma) once the colon is seen; -1 before. */
  #expected = -1;

  /** Called with each string received. */
  stringReceived(_string: Uint8Array): void {
    throw new Error(`${this.constructor.name} must override stringReceived`);
  }

  /** Sends `string` as a netstring. */
  sendString(string: Data): void {
    const bytes = typeof string === "string" ? encoder.encode(string) : string;
    this.transport.writeSequence([`${bytes.length}:`, bytes, ","]);
  }

  /** Parses `data`. */
  override dataReceived(data: Uint8Array): void {
    if (this.brokenPeer) return;
    const buffer = this.#buffer;
    buffer.append(data);
    try {
      while (buffer.length > 0 && !this.brokenPeer) {
        if (this.#expected < 0) {
          if (!this.#parseLength()) return;
        } else {
          if (buffer.length < this.#expected + 1) return;
          const payload = buffer.take(this.#expected);
          if (buffer.at(0) !== COMMA) {
            throw new NetstringParseError(
              "The received netstring is not terminated by a comma",
            );
          }
          buffer.skip(1);
          this.#expected = -1;
          this.stringReceived(payload);
          if (this.transport?.disconnecting) return;
        }
      }
    } catch (e) {
      if (!(e instanceof NetstringParseError)) throw e;
      this.brokenPeer = true;
      buffer.clear();
      log.err(e, "Invalid netstring from the peer; closing the connection");
      this.transport.loseConnection();
    }
  }

  /** Reads length digits up to the colon; returns whether the colon was reached. */
  #parseLength(): boolean {
    const buffer = this.#buffer;
    const maxDigits = String(this.MAX_LENGTH).length;
    while (buffer.length > 0) {
      const c = buffer.at(0);
      if (c === COLON) {
        if (this.#lengthDigits === 0) {
          throw new NetstringParseError(
            "The received netstring does not start with a length specification",
          );
        }
        buffer.skip(1);
        this.#expected = this.#length;
        this.#length = 0;
        this.#lengthDigits = 0;
        return true;
      }
      if (
        c < ZERO || c > NINE || (this.#lengthDigits === 1 && this.#length === 0)
      ) {
        // Not a digit, or a digit after a leading zero.
        throw new NetstringParseError(
          "The received netstring does not start with a length specification",
        );
      }
      this.#length = this.#length * 10 + (c - ZERO);
      this.#lengthDigits++;
      if (this.#length > this.MAX_LENGTH || this.#lengthDigits > maxDigits) {
        throw new NetstringParseError(
          `The received netstring is longer than the maximum ${this.MAX_LENGTH} specified by MAX_LENGTH`,
        );
      }
      buffer.skip(1);
    }
    return false;
  }
}
