/**
 * Small byte arrays carved out of shared slabs. In Deno, `new Uint8Array(n)`
 * costs about 400 ns even for a few bytes (each gets its own ArrayBuffer),
 * while a view of a slab costs about 40 ns; AMP makes several tiny arrays per
 * call (tags, integers, boxes), so this is most of its encoding cost. A slab
 * is never written again after a view of it is handed out, so views stay
 * valid for as long as anyone keeps them; an idle slab is collected once its
 * last view is.
 *
 * @module
 */

const SLAB_SIZE = 16 * 1024;
/** Arrays larger than this get their own buffer. */
const LARGE = 1024;

let slab = new ArrayBuffer(SLAB_SIZE);
let used = 0;
const encoder = new TextEncoder();

/** A new array of `n` bytes (zeroed). */
export function alloc(n: number): Uint8Array {
  if (n > LARGE) return new Uint8Array(n);
  if (used + n > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE);
    used = 0;
  }
  const out = new Uint8Array(slab, used, n);
  used += n;
  return out;
}

/** The bytes of `s`, which must be ASCII. */
export function asciiBytes(s: string): Uint8Array {
  const n = s.length;
  const out = alloc(n);
  for (let i = 0; i < n; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** The UTF-8 bytes of `s`. */
export function utf8Bytes(s: string): Uint8Array {
  const most = s.length * 3;
  if (most > LARGE) return encoder.encode(s);
  if (used + most > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE);
    used = 0;
  }
  const { written } = encoder.encodeInto(
    s,
    new Uint8Array(slab, used, most),
  );
  const out = new Uint8Array(slab, used, written);
  used += written;
  return out;
}

/** A view of `data[start..end)`, made faster than `subarray`. */
export function view(data: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset + start, end - start);
}
