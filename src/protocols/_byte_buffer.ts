/**
 * The bytes a framing receiver has received but not yet parsed.
 *
 * Received chunks are adopted, not copied: the buffer holds at most two
 * segments, the unparsed tail of earlier data and the newest chunk. A message
 * that straddles the two is copied out (it has to be, to be contiguous) and
 * the newest chunk becomes the only segment again, so a stream of short
 * messages costs no bulk copy at all. Only when a third chunk arrives before a
 * message completes are the bytes gathered into a growable store, whose
 * capacity doubles with what it holds, so a long message costs amortised O(1)
 * per byte.
 *
 * Nothing is ever written over bytes that were handed out (or over a chunk
 * the buffer adopted), so the views returned by `take` stay valid for good.
 * When parsing stops with a few bytes left, `compact` copies them out of the
 * chunk, so they do not pin the transport's read slab.
 *
 * @module
 */

const EMPTY = new Uint8Array(0);
/** The smallest store worth allocating when chunks must be gathered. */
const MIN_STORE = 4096;
/** The largest remainder `compact` copies out. */
const COMPACT_LIMIT = 4096;

/** Bytes received and not yet consumed (see the module doc). */
export class ByteBuffer {
  /** The first segment; its live bytes are `#a[#aPos..]`. */
  #a: Uint8Array = EMPTY;
  #aPos = 0;
  /** The second segment, if any; its live bytes are `#b[#bPos..]`. */
  #b: Uint8Array | null = null;
  #bPos = 0;
  /** The growable store `#a` is a prefix view of, when it is ours to append to. */
  #store: Uint8Array | null = null;

  /** How many bytes are buffered. */
  get length(): number {
    const b = this.#b;
    return this.#a.length - this.#aPos +
      (b === null ? 0 : b.length - this.#bPos);
  }

  /** Appends `data`, without copying it unless two segments are already held. */
  append(data: Uint8Array): void {
    const n = data.length;
    if (n === 0) return;
    const a = this.#a;
    if (this.#aPos === a.length && this.#b === null) {
      this.#a = data;
      this.#aPos = 0;
      this.#store = null;
      return;
    }
    if (this.#b === null) {
      const store = this.#store;
      if (store !== null && a.length + n <= store.length) {
        store.set(data, a.length);
        this.#a = store.subarray(0, a.length + n);
        return;
      }
      this.#b = data;
      this.#bPos = 0;
      return;
    }
    this.#gather(data);
  }

  /** Copies every live byte, then `extra`, into a fresh store with room to grow. */
  #gather(extra: Uint8Array): void {
    const live = this.length;
    const size = live + extra.length;
    const store = new Uint8Array(Math.max(MIN_STORE, 2 * size));
    const headLength = this.#a.length - this.#aPos;
    store.set(this.#a.subarray(this.#aPos));
    if (this.#b !== null) store.set(this.#b.subarray(this.#bPos), headLength);
    store.set(extra, live);
    this.#store = store;
    this.#a = store.subarray(0, size);
    this.#aPos = 0;
    this.#b = null;
  }

  /** The byte at `i` (relative to the first buffered byte); `i < length`. */
  at(i: number): number {
    const headLength = this.#a.length - this.#aPos;
    return i < headLength
      ? this.#a[this.#aPos + i]
      : this.#b![this.#bPos + i - headLength];
  }

  /**
   * The big-endian unsigned integer of `size` bytes (1 to 4) at `i`;
   * `i + size <= length`.
   */
  uintAt(i: number, size: number): number {
    const a = this.#a;
    const p = this.#aPos + i;
    if (p + size <= a.length) {
      switch (size) {
        case 1:
          return a[p];
        case 2:
          return (a[p] << 8) | a[p + 1];
        case 4:
          return ((a[p] << 24) | (a[p + 1] << 16) | (a[p + 2] << 8) |
            a[p + 3]) >>> 0;
      }
    }
    let value = 0;
    for (let k = 0; k < size; k++) value = value * 256 + this.at(i + k);
    return value;
  }

  /**
   * Where `delimiter` (at least one byte) first occurs at or after `from`
   * (relative to the first buffered byte), or -1. Only bytes from `from` on
   * are looked at, so a caller that remembers how far it got never scans a
   * byte twice.
   */
  indexOf(delimiter: Uint8Array, from: number): number {
    const a = this.#a;
    const aPos = this.#aPos;
    const b = this.#b;
    const headLength = a.length - aPos;
    const first = delimiter[0];
    const n = delimiter.length;
    if (from < headLength) {
      let i = aPos + from;
      for (;;) {
        const p = a.indexOf(first, i);
        if (p < 0) break;
        if (n === 1) return p - aPos;
        if (p + n <= a.length) {
          let k = 1;
          while (k < n && a[p + k] === delimiter[k]) k++;
          if (k === n) return p - aPos;
        } else if (b !== null && this.#matchesAt(p - aPos, delimiter)) {
          return p - aPos;
        }
        i = p + 1;
      }
    }
    if (b === null) return -1;
    const bPos = this.#bPos;
    let j = bPos + Math.max(0, from - headLength);
    for (;;) {
      const p = b.indexOf(first, j);
      if (p < 0 || p + n > b.length) return -1;
      let k = 1;
      while (k < n && b[p + k] === delimiter[k]) k++;
      if (k === n) return p - bPos + headLength;
      j = p + 1;
    }
  }

  /** Whether `delimiter` occurs at relative position `i` (across segments). */
  #matchesAt(i: number, delimiter: Uint8Array): boolean {
    if (i + delimiter.length > this.length) return false;
    for (let k = 0; k < delimiter.length; k++) {
      if (this.at(i + k) !== delimiter[k]) return false;
    }
    return true;
  }

  /**
   * Removes and returns the first `n` bytes (`n <= length`): a view when they
   * lie in one segment, a copy when they straddle two.
   */
  take(n: number): Uint8Array {
    const a = this.#a;
    const aPos = this.#aPos;
    const headLength = a.length - aPos;
    if (n <= headLength) {
      const out = a.subarray(aPos, aPos + n);
      this.#aPos = aPos + n;
      if (n === headLength) this.#dropHead();
      return out;
    }
    const out = new Uint8Array(n);
    out.set(a.subarray(aPos));
    const b = this.#b!;
    const rest = n - headLength;
    out.set(b.subarray(this.#bPos, this.#bPos + rest), headLength);
    this.#bPos += rest;
    this.#dropHead();
    return out;
  }

  /** Drops the first `n` bytes (`n <= length`). */
  skip(n: number): void {
    const headLength = this.#a.length - this.#aPos;
    if (n < headLength) {
      this.#aPos += n;
      return;
    }
    this.#bPos += n - headLength;
    this.#aPos = this.#a.length;
    this.#dropHead();
  }

  /** The first segment is used up: the second (if any) takes its place. */
  #dropHead(): void {
    const b = this.#b;
    this.#store = null;
    if (b === null || this.#bPos === b.length) {
      this.#a = EMPTY;
      this.#aPos = 0;
    } else {
      this.#a = b;
      this.#aPos = this.#bPos;
    }
    this.#b = null;
    this.#bPos = 0;
  }

  /**
   * Copies a small remainder out of the (much larger) memory it is a view of,
   * so an idle connection holding half a message does not keep a whole read
   * slab alive. Receivers call it when they stop parsing.
   */
  compact(): void {
    const live = this.#a.length - this.#aPos;
    if (
      this.#b !== null || live === 0 || live > COMPACT_LIMIT ||
      this.#a.buffer.byteLength <= 4 * live
    ) return;
    this.#a = this.#a.slice(this.#aPos);
    this.#aPos = 0;
    this.#store = null;
  }

  /** The buffered bytes as one view (gathering them first if they are split). */
  view(): Uint8Array {
    if (this.#b !== null) this.#gather(EMPTY);
    return this.#a.subarray(this.#aPos);
  }

  /** Removes and returns everything. */
  takeAll(): Uint8Array {
    return this.take(this.length);
  }

  /** Forgets everything buffered. */
  clear(): void {
    // Handed-out views keep the old memory alive; never write to it again.
    this.#a = EMPTY;
    this.#aPos = 0;
    this.#b = null;
    this.#bPos = 0;
    this.#store = null;
  }
}
