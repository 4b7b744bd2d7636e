/**
 * AMP boxes and their wire form: `AmpBox`, `QuitBox`, `parseString`, and the
 * key and value limits.
 *
 * @module
 */
import type { Failure } from "../../internet/failure.ts";
import type { ITransport } from "../../internet/interfaces.ts";
import { MalformedAmpBox, TooLong } from "./_errors.ts";
import { alloc, utf8Bytes, view } from "./_slab.ts";

/** The longest key, in bytes. */
export const MAX_KEY_LENGTH = 0xff;
/** The longest value, in bytes. */
export const MAX_VALUE_LENGTH = 0xffff;

const encoder = new TextEncoder();
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Something boxes can be sent through (Twisted's `IBoxSender`): a
 * {@linkcode BinaryBoxProtocol} or an `AMP` connection.
 */
export interface IBoxSender {
  /** Sends `box` to the peer. */
  sendBox(box: AmpBox): void;
  /** The last resort for an error nobody handled: log it and drop the connection. */
  unhandledError(failure: Failure): void;
  /** The connection, when there is one. */
  readonly transport?: ITransport;
}

/** Encoded keys, so the usual handful of names is encoded once. */
const keyCache = new Map<string, Uint8Array>();
const KEY_CACHE_LIMIT = 4096;

/** The UTF-8 bytes of `key`, checked against AMP's key limits. */
export function encodeKey(key: string): Uint8Array {
  let bytes = keyCache.get(key);
  if (bytes !== undefined) return bytes;
  bytes = encoder.encode(key);
  if (bytes.length === 0) {
    throw new RangeError('Invalid AMP key "": keys are 1 to 255 bytes');
  }
  if (bytes.length > MAX_KEY_LENGTH) throw new TooLong(true, true, bytes);
  if (keyCache.size < KEY_CACHE_LIMIT) keyCache.set(key, bytes);
  return bytes;
}

/** The key in `data[start..end)`: ASCII without a decoder call, else UTF-8. */
export function decodeKey(
  data: Uint8Array,
  start: number,
  end: number,
): string {
  if (end - start <= 24) {
    let s = "";
    for (let i = start; i < end; i++) {
      const b = data[i];
      if (b >= 0x80) return utf8.decode(data.subarray(start, end));
      s += String.fromCharCode(b);
    }
    return s;
  }
  return utf8.decode(data.subarray(start, end));
}

/** Byte order of two keys, as Twisted sorts them. */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

/**
 * A box: AMP's unit of transfer, a map from keys (1–255 bytes of UTF-8) to
 * values (at most 65,535 bytes), Twisted's `AmpBox`. Values given as strings
 * to the constructor are UTF-8 encoded.
 *
 * `serialize()` writes the keys sorted by their bytes, as Twisted does, so
 * the same box gives the same bytes in both; any order is accepted when
 * parsing.
 *
 * @example The wire form of a box
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assertEquals } from "@std/assert";
 *
 * const box = new amp.AmpBox({ b: "2", a: "1" });
 * assertEquals(box.serialize(), new Uint8Array([0, 1, 97, 0, 1, 49, 0, 1, 98, 0, 1, 50, 0, 0]));
 * assertEquals(amp.parseString(box.serialize())[0].get("b"), new TextEncoder().encode("2"));
 * ```
 */
export class AmpBox extends Map<string, Uint8Array> {
  /**
   * Creates a box.
   *
   * @param init entries (or an object of them); string values are UTF-8 encoded
   */
  constructor(
    init?:
      | Iterable<readonly [string, Uint8Array | string]>
      | Record<string, Uint8Array | string>,
  ) {
    super();
    if (init === undefined || init === null) return;
    const entries = Symbol.iterator in init
      ? init as Iterable<readonly [string, Uint8Array | string]>
      : Object.entries(init);
    for (const [k, v] of entries) {
      this.set(k, typeof v === "string" ? utf8Bytes(v) : v);
    }
  }

  /** Another box of the same class with the same entries. */
  copy(): AmpBox {
    const box = new (this.constructor as new () => AmpBox)();
    for (const [k, v] of this) box.set(k, v);
    return box;
  }

  /** The value of `key` as UTF-8 text, or `undefined`. */
  getText(key: string): string | undefined {
    const v = this.get(key);
    return v === undefined ? undefined : utf8.decode(v);
  }

  /**
   * The box's wire form: each key and value after its 16-bit big-endian
   * length, keys sorted by their bytes, then a zero-length key.
   *
   * @throws {TooLong} if a key is over 255 bytes or a value over 65,535
   * @throws {RangeError} for an empty key
   */
  serialize(): Uint8Array {
    const n = this.size;
    const keys = new Array<Uint8Array>(n);
    const values = new Array<Uint8Array>(n);
    let i = 0;
    let total = 2;
    let sorted = true;
    for (const [key, value] of this) {
      const k = encodeKey(key);
      if (!(value instanceof Uint8Array)) {
        throw new TypeError(
          `Invalid AMP value for "${key}": expected a Uint8Array, got ${typeof value}`,
        );
      }
      if (value.length > MAX_VALUE_LENGTH) {
        throw new TooLong(false, true, value, key);
      }
      if (i > 0 && sorted && compareBytes(keys[i - 1], k) > 0) sorted = false;
      keys[i] = k;
      values[i] = value;
      total += 4 + k.length + value.length;
      i++;
    }
    if (!sorted) sortPairs(keys, values);
    const out = alloc(total);
    let p = 0;
    for (let j = 0; j < n; j++) {
      const k = keys[j];
      const v = values[j];
      const kl = k.length;
      out[p + 1] = kl;
      p += 2;
      if (kl <= 16) {
        for (let m = 0; m < kl; m++) out[p + m] = k[m];
      } else {
        out.set(k, p);
      }
      p += kl;
      const vl = v.length;
      out[p] = vl >>> 8;
      out[p + 1] = vl & 0xff;
      p += 2;
      if (vl <= 16) {
        for (let m = 0; m < vl; m++) out[p + m] = v[m];
      } else {
        out.set(v, p);
      }
      p += vl;
    }
    return out;
  }

  /**
   * Sends this box through `sender`. Subclasses add what happens after it
   * is sent ({@linkcode QuitBox} closes the connection).
   *
   * @param sender the protocol to send it through
   */
  sendTo(sender: IBoxSender): void {
    sender.sendBox(this);
  }
}

/** Sorts the parallel arrays by key bytes (insertion sort: boxes are small). */
function sortPairs(keys: Uint8Array[], values: Uint8Array[]): void {
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i];
    const v = values[i];
    let j = i - 1;
    while (j >= 0 && compareBytes(keys[j], k) > 0) {
      keys[j + 1] = keys[j];
      values[j + 1] = values[j];
      j--;
    }
    keys[j + 1] = k;
    values[j + 1] = v;
  }
}

/**
 * A box that closes the connection once it is sent (Twisted's `QuitBox`).
 *
 * @example Using `QuitBox`
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assert } from "@std/assert";
 *
 * const proto = new amp.BinaryBoxProtocol();
 * const transport = new StringTransport();
 * proto.makeConnection(transport);
 * new amp.QuitBox({ bye: "now" }).sendTo(proto);
 * assert(transport.disconnecting);
 * ```
 */
export class QuitBox extends AmpBox {
  /** Sends the box, then closes the connection. */
  override sendTo(sender: IBoxSender): void {
    sender.sendBox(this);
    sender.transport?.loseConnection();
  }
}

/**
 * Parses every box in `data` (Twisted's `amp.parseString`). Empty boxes are
 * allowed here (an `AmpList` element can be one).
 *
 * @param data whole boxes, back to back
 * @returns the boxes; their values are views of `data`
 * @throws {MalformedAmpBox} if the data ends in the middle of a box
 * @throws {TooLong} if a key length is over 255
 *
 * @example Calling `parseString`
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assertEquals } from "@std/assert";
 *
 * const data = new Uint8Array([0, 1, 120, 0, 0, 0, 0]);
 * assertEquals(amp.parseString(data).map((b) => b.size), [1]);
 * ```
 */
export function parseString(data: Uint8Array): AmpBox[] {
  const boxes: AmpBox[] = [];
  const n = data.length;
  let box = new AmpBox();
  let open = false;
  let p = 0;
  while (p < n) {
    if (p + 2 > n) break;
    const kl = (data[p] << 8) | data[p + 1];
    p += 2;
    if (kl === 0) {
      boxes.push(box);
      box = new AmpBox();
      open = false;
      continue;
    }
    open = true;
    if (kl > MAX_KEY_LENGTH) throw new TooLong(true, false);
    if (p + kl + 2 > n) {
      p = n + 1;
      break;
    }
    const key = decodeKey(data, p, p + kl);
    p += kl;
    const vl = (data[p] << 8) | data[p + 1];
    p += 2;
    if (p + vl > n) {
      p = n + 1;
      break;
    }
    box.set(key, view(data, p, p + vl));
    p += vl;
  }
  if (p !== n || open) {
    throw new MalformedAmpBox(
      `Malformed AMP data: it ends in the middle of a box (${n} bytes)`,
    );
  }
  return boxes;
}

/** Python's `repr()` of a bytes value (`b'Sum'`), as Twisted quotes names. */
export function pythonBytesRepr(bytes: Uint8Array): string {
  let hasSingle = false;
  let hasDouble = false;
  for (const b of bytes) {
    if (b === 0x27) hasSingle = true;
    else if (b === 0x22) hasDouble = true;
  }
  const quote = hasSingle && !hasDouble ? 0x22 : 0x27;
  let out = "b" + String.fromCharCode(quote);
  for (const b of bytes) {
    if (b === quote || b === 0x5c) out += "\\" + String.fromCharCode(b);
    else if (b === 0x09) out += "\\t";
    else if (b === 0x0a) out += "\\n";
    else if (b === 0x0d) out += "\\r";
    else if (b < 0x20 || b >= 0x7f) {
      out += "\\x" + b.toString(16).padStart(2, "0");
    } else out += String.fromCharCode(b);
  }
  return out + String.fromCharCode(quote);
}
