/**
 * Small helpers for the policy wrappers: how many bytes a write is, and how
 * Python's `repr` shows bytes (the traffic logs use it, as Twisted's do).
 *
 * @module
 */
import type { Data } from "../internet/interfaces.ts";
import { toBytes } from "./_framing.ts";

/**
 * The number of bytes `data` puts on the wire: a string counts as its UTF-8
 * encoding (as the transport sends it), computed without encoding it.
 */
export function byteLength(data: Data): number {
  if (typeof data !== "string") return data.length;
  let n = 0;
  for (let i = 0; i < data.length; i++) {
    const c = data.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (
      c >= 0xd800 && c <= 0xdbff && i + 1 < data.length &&
      (data.charCodeAt(i + 1) & 0xfc00) === 0xdc00
    ) {
      n += 4; // a surrogate pair is one 4-byte code point
      i++;
    } else n += 3; // a lone surrogate is sent as U+FFFD, also 3 bytes
  }
  return n;
}

/**
 * Python's `repr()` of a `bytes` value: `b'GET / HTTP/1.1\r\n'`. Single
 * quotes unless the bytes hold a single quote and no double quote.
 */
export function bytesRepr(data: Data): string {
  const bytes = toBytes(data);
  const hasSingle = bytes.includes(0x27);
  const quote = hasSingle && !bytes.includes(0x22) ? '"' : "'";
  let out = "b" + quote;
  for (const b of bytes) {
    if (b === 0x5c) out += "\\\\";
    else if (b === 0x09) out += "\\t";
    else if (b === 0x0a) out += "\\n";
    else if (b === 0x0d) out += "\\r";
    else if (b === quote.charCodeAt(0)) out += "\\" + quote;
    else if (b < 0x20 || b >= 0x7f) {
      out += "\\x" + b.toString(16).padStart(2, "0");
    } else out += String.fromCharCode(b);
  }
  return out + quote;
}
