/**
 * A binary min-heap of timed calls ordered by deadline, then by the order they
 * were scheduled, with O(log n) insert, remove and update. Shared by the
 * reactor and `Clock`.
 *
 * @module
 */

/** What the heap stores: a deadline, a tie-break sequence and its own index. */
export interface HeapEntry {
  /** The deadline, in the owner's seconds. */
  time: number;
  /** A sequence number: entries with equal deadlines keep scheduling order. */
  seq: number;
  /** Where the entry sits in the heap; -1 when it is not in one. */
  heapIndex: number;
}

let nextSeq = 0;

/** Gives an entry a fresh sequence number (it now sorts after equal deadlines). */
export function stamp(entry: HeapEntry): void {
  entry.seq = nextSeq++;
}

function before(a: HeapEntry, b: HeapEntry): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

/**
 * The heap: the earliest deadline first, equal deadlines in the order they
 * were pushed (or stamped).
 *
 * @example Using `TimerHeap`
 * ```ts
 * import { TimerHeap } from "./timer_heap.ts";
 * import { assertEquals } from "@std/assert";
 *
 * type Call = { time: number; seq: number; heapIndex: number; name: string };
 * const heap = new TimerHeap<Call>();
 * heap.push({ time: 5, seq: 0, heapIndex: -1, name: "later" });
 * heap.push({ time: 1, seq: 1, heapIndex: -1, name: "sooner" });
 * assertEquals(heap.pop()?.name, "sooner");
 * assertEquals(heap.size, 1);
 * ```
 */
export class TimerHeap<T extends HeapEntry> {
  #items: T[] = [];

  /** How many entries are in the heap. */
  get size(): number {
    return this.#items.length;
  }

  /** The entry with the earliest deadline, if any. */
  peek(): T | undefined {
    return this.#items[0];
  }

  /** Every entry, in no particular order. */
  values(): T[] {
    return [...this.#items];
  }

  /** Adds an entry (stamping it with a fresh sequence number). */
  push(entry: T): void {
    stamp(entry);
    entry.heapIndex = this.#items.length;
    this.#items.push(entry);
    this.#up(entry.heapIndex);
  }

  /** Removes and returns the earliest entry. */
  pop(): T | undefined {
    const items = this.#items;
    if (items.length === 0) return undefined;
    const top = items[0];
    this.#removeAt(0);
    return top;
  }

  /** Removes `entry` if it is in the heap. */
  remove(entry: T): void {
    const i = entry.heapIndex;
    if (i < 0 || this.#items[i] !== entry) return;
    this.#removeAt(i);
  }

  /** Moves `entry` after its `time` changed (it sorts after equal deadlines). */
  update(entry: T): void {
    this.remove(entry);
    this.push(entry);
  }

  /** Removes every entry. */
  clear(): void {
    for (const e of this.#items) e.heapIndex = -1;
    this.#items = [];
  }

  #removeAt(i: number): void {
    const items = this.#items;
    const removed = items[i];
    const last = items.pop()!;
    removed.heapIndex = -1;
    if (i < items.length) {
      items[i] = last;
      last.heapIndex = i;
      this.#up(i);
      this.#down(last.heapIndex);
    }
  }

  #up(i: number): void {
    const items = this.#items;
    const entry = items[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, items[parent])) break;
      items[i] = items[parent];
      items[i].heapIndex = i;
      i = parent;
    }
    items[i] = entry;
    entry.heapIndex = i;
  }

  #down(i: number): void {
    const items = this.#items;
    const n = items.length;
    const entry = items[i];
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(items[right], items[left])
        ? right
        : left;
      if (!before(items[child], entry)) break;
      items[i] = items[child];
      items[i].heapIndex = i;
      i = child;
    }
    items[i] = entry;
    entry.heapIndex = i;
  }
}
