/**
 * A growable window of bytes received but not yet parsed, for the framing
 * receivers: appending is amortised O(1) (no re-concatenation per chunk), and
 * what it hands out are views that are never written again.
 *
 * @module
 */

const EMPTY = new Uint8Array(0);

/** Bytes received and not yet consumed. */
export class ByteBuffer {
  #buf: Uint8Array = EMPTY;
  #start = 0;
  #end = 0;
  /** Whether `#buf` is ours to write into (not a chunk the transport handed us). */
  #owned = false;

  /** How many bytes are buffered. */
  get length(): number {
    return this.#end - this.#start;
  }

  /** The buffered bytes (a view; valid until the next `append`). */
  view(): Uint8Array {
    return this.#buf.subarray(this.#start, this.#end);
  }

  /** The byte at `i` (relative to the first buffered byte). */
  at(i: number): number {
    return this.#buf[this.#start + i];
  }

  /** Appends `data`; when nothing is buffered, adopts it without copying. */
  append(data: Uint8Array): void {
    if (data.length === 0) return;
    if (this.#start === this.#end) {
      this.#buf = data;
      this.#start = 0;
      this.#end = data.length;
      this.#owned = false;
      return;
    }
    if (!this.#owned || this.#end + data.length > this.#buf.length) {
      const live = this.#end - this.#start;
      const next = new Uint8Array(Math.max(2 * (live + data.length), 4096));
      next.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = next;
      this.#start = 0;
      this.#end = live;
      this.#owned = true;
    }
    this.#buf.set(data, this.#end);
    this.#end += data.length;
  }

  /**
   * Where `delimiter` first occurs at or after `from` (relative), or -1.
   * Bytes before `from` are not looked at again.
   */
  indexOf(delimiter: Uint8Array, from: number): number {
    const buf = this.#buf;
    const end = this.#end;
    const first = delimiter[0];
    const n = delimiter.length;
    let i = this.#start + from;
    const view = buf.subarray(0, end);
    for (;;) {
      const p = view.indexOf(first, i);
      if (p < 0 || p + n > end) return -1;
      let k = 1;
      while (k < n && buf[p + k] === delimiter[k]) k++;
      if (k === n) return p - this.#start;
      i = p + 1;
    }
  }

  /** Removes and returns the first `n` bytes (a view that is never reused). */
  take(n: number): Uint8Array {
    const out = this.#buf.subarray(this.#start, this.#start + n);
    this.skip(n);
    return out;
  }

  /** Drops the first `n` bytes. */
  skip(n: number): void {
    this.#start += n;
    if (this.#start === this.#end) this.clear();
  }

  /** Removes and returns everything. */
  takeAll(): Uint8Array {
    return this.take(this.length);
  }

  /** Forgets everything buffered. */
  clear(): void {
    // Handed-out views keep the old memory; start afresh rather than reuse it.
    this.#buf = EMPTY;
    this.#start = 0;
    this.#end = 0;
    this.#owned = false;
  }
}
