/**
 * `NetstringReceiver` (`twisted.protocols.basic`): `<length>:<bytes>,`
 * framing, as in D. J. Bernstein's netstrings
 * (https://cr.yp.to/proto/netstrings.txt).
 *
 * @module
 */
import { Protocol } from "../internet/protocol.ts";
import type { Data } from "../internet/interfaces.ts";
import { log } from "../logger.ts";
import { ByteBuffer } from "./_byte_buffer.ts";
import { toBytes } from "./_framing.ts";

const encoder = new TextEncoder();
const COLON = 0x3a;
const COMMA = 0x2c;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * The peer sent something that is not a netstring (Twisted's
 * `NetstringParseError`). `NetstringReceiver` logs it and loses the
 * connection.
 *
 * @example The error a malformed netstring is logged with
 * ```ts
 * import { log } from "@twist/twist";
 * import { NetstringParseError, NetstringReceiver } from "@twist/twist/protocols/basic";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assert, assertEquals } from "@std/assert";
 *
 * using logs = log.capture();
 * const transport = new StringTransport();
 * const p = new NetstringReceiver();
 * p.makeConnection(transport);
 * p.dataReceived(new TextEncoder().encode("3:abc;")); // no comma
 * assertEquals(logs.flushErrors(NetstringParseError).length, 1);
 * assert(p.brokenPeer && transport.disconnecting);
 * ```
 */
export class NetstringParseError extends Error {
  /** The error's name. */
  override name = "NetstringParseError";
}

/**
 * A protocol that sends and receives netstrings (`5:hello,`): each string
 * received goes to {@linkcode NetstringReceiver.stringReceived}.
 *
 * Anything malformed — a length that is not decimal digits or has a leading
 * zero (`01:`), a missing colon, a length above `MAX_LENGTH` (default 99999),
 * a payload not followed by a comma — is logged as a
 * {@linkcode NetstringParseError}, the connection is lost, `brokenPeer` is
 * set and nothing more is parsed. A length is refused as soon as its digits
 * exceed `MAX_LENGTH`, so the buffer never holds more than one string's worth
 * beyond the chunk being parsed.
 *
 * @example Receiving and sending netstrings
 * ```ts
 * import { NetstringReceiver } from "@twist/twist/protocols/basic";
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
 * p.dataReceived(new TextEncoder().encode("5:hello,0:,3:a"));
 * p.sendString("abc");
 * assertEquals(got, ["hello", ""]);
 * assertEquals(new TextDecoder().decode(transport.value()), "3:abc,");
 * ```
 */
export class NetstringReceiver extends Protocol {
  /** The longest string accepted, in bytes. @default {99999} */
  MAX_LENGTH: number = 99999;
  /** Whether the peer sent something malformed (then nothing more is parsed). */
  brokenPeer: boolean = false;
  #buffer = new ByteBuffer();
  /** The length read so far, and how many digits it had. */
  #length = 0;
  #digits = 0;
  /** The payload's length (without the comma) once its colon is read; -1 before. */
  #expected = -1;

  /**
   * Called with each string received. Override it.
   *
   * @param _string the payload; the protocol may keep it
   */
  stringReceived(_string: Uint8Array): void {
    throw new Error(`${this.constructor.name} must override stringReceived`);
  }

  /**
   * Sends `string` as a netstring.
   *
   * @param string the payload (a string is UTF-8 encoded)
   */
  sendString(string: Data): void {
    const bytes = toBytes(string);
    const head = encoder.encode(`${bytes.length}:`);
    const out = new Uint8Array(head.length + bytes.length + 1);
    out.set(head);
    out.set(bytes, head.length);
    out[out.length - 1] = COMMA;
    this.transport.write(out);
  }

  /** How many received bytes are buffered, waiting to be parsed. */
  get bufferedBytes(): number {
    return this.#buffer.length;
  }

  /**
   * Parses `data` into netstrings.
   *
   * @param data the bytes received; the protocol may keep them
   */
  override dataReceived(data: Uint8Array): void {
    if (this.brokenPeer) return;
    const buffer = this.#buffer;
    buffer.append(data);
    try {
      // As Twisted's, strings keep coming after a loseConnection() in a callback.
      while (buffer.length > 0 && !this.brokenPeer) {
        if (this.#expected < 0) {
          if (!this.#parseLength()) return;
          continue;
        }
        const expected = this.#expected;
        if (buffer.length <= expected) return;
        if (buffer.at(expected) !== COMMA) {
          throw new NetstringParseError(
            "The received netstring is not terminated by a comma",
          );
        }
        const payload = buffer.take(expected);
        buffer.skip(1);
        this.#expected = -1;
        this.stringReceived(payload);
      }
    } catch (e) {
      if (!(e instanceof NetstringParseError)) throw e;
      this.brokenPeer = true;
      buffer.clear();
      log.err(e, "Invalid netstring from the peer; losing the connection");
      this.transport.loseConnection();
    } finally {
      buffer.compact();
    }
  }

  /**
   * Consumes length digits up to and including the colon.
   *
   * @returns whether the colon was reached
   * @throws {NetstringParseError} for anything but a valid length
   */
  #parseLength(): boolean {
    const buffer = this.#buffer;
    const max = this.MAX_LENGTH;
    let length = this.#length;
    let digits = 0;
    const available = buffer.length;
    try {
      for (; digits < available; digits++) {
        const c = buffer.at(digits);
        if (c === COLON && this.#digits + digits > 0) {
          buffer.skip(digits + 1);
          this.#expected = length;
          this.#length = 0;
          this.#digits = 0;
          return true;
        }
        // A digit after a leading zero, like a non-digit, is not a length.
        if (
          c < ZERO || c > NINE || (length === 0 && this.#digits + digits > 0)
        ) {
          throw new NetstringParseError(
            "The received netstring does not start with a length specification",
          );
        }
        length = length * 10 + (c - ZERO);
        if (length > max) {
          throw new NetstringParseError(
            `The received netstring is longer than the maximum ${max} specified by MAX_LENGTH`,
          );
        }
      }
      // Every byte was a digit: remember them and wait for more.
      buffer.skip(available);
      this.#length = length;
      this.#digits += available;
      return false;
    } catch (e) {
      this.#length = 0;
      this.#digits = 0;
      throw e;
    }
  }
}
