/**
 * Small helpers shared by the framing receivers.
 *
 * @module
 */
import type { Data } from "../internet/interfaces.ts";

const encoder = new TextEncoder();

/** `data` as bytes (a string is UTF-8 encoded). */
export function toBytes(data: Data): Uint8Array {
  return typeof data === "string" ? encoder.encode(data) : data;
}

/** `head` followed by `tail`, as one new array. */
export function concat(head: Data, tail: Data): Uint8Array {
  if (typeof head === "string" && typeof tail === "string") {
    return encoder.encode(head + tail);
  }
  const h = toBytes(head);
  const t = toBytes(tail);
  const out = new Uint8Array(h.length + t.length);
  out.set(h);
  out.set(t, h.length);
  return out;
}

/**
 * Remembers the encoded form of a delimiter, so a receiver whose `delimiter`
 * is a string encodes it once, not once per line.
 */
export class DelimiterCache {
  #key: Data | undefined;
  #bytes: Uint8Array = new Uint8Array(0);

  /**
   * The bytes of `delimiter`.
   *
   * @throws {RangeError} if it is empty
   */
  bytes(delimiter: Data): Uint8Array {
    if (delimiter !== this.#key) {
      const bytes = toBytes(delimiter);
      if (bytes.length === 0) {
        throw new RangeError(
          'Invalid delimiter "": expected at least one byte',
        );
      }
      this.#key = delimiter;
      this.#bytes = bytes;
    }
    return this.#bytes;
  }
}
