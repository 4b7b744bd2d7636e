/**
 * Helpers shared by the framing receivers' tests.
 *
 * @module
 */
import type { IProtocol } from "../../src/internet/interfaces.ts";
import { StringTransport } from "../../src/testing/mod.ts";

/** A seeded PRNG (a 32-bit LCG), so random tests are repeatable. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 0x1_0000_0000;
  };
}

/** `data` cut into chunks of `size` bytes (Twisted's packet-size loops). */
export function chunked(data: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < data.length; i += size) {
    chunks.push(data.subarray(i, i + size));
  }
  return chunks;
}

/**
 * Every way of cutting `data` the tests use: one byte at a time and every
 * other fixed size, every 2-split, every 3-split (for short inputs), and
 * `randomRuns` seeded random cuts. Each chunk is a fresh copy, so a receiver
 * that wrongly kept a view into a chunk it was handed, then wrote to it,
 * would be caught by the comparisons.
 */
export function* splits(
  data: Uint8Array,
  randomRuns = 30,
): Generator<Uint8Array[]> {
  const copies = (chunks: Uint8Array[]): Uint8Array[] =>
    chunks.map((c) => c.slice());
  for (let size = 1; size <= data.length; size++) {
    yield copies(chunked(data, size));
  }
  for (let i = 0; i <= data.length; i++) {
    yield copies([data.subarray(0, i), data.subarray(i)]);
  }
  if (data.length <= 64) {
    for (let i = 0; i <= data.length; i++) {
      for (let j = i; j <= data.length; j++) {
        yield copies([
          data.subarray(0, i),
          data.subarray(i, j),
          data.subarray(j),
        ]);
      }
    }
  }
  const random = prng(42);
  for (let run = 0; run < randomRuns; run++) {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < data.length;) {
      const n = 1 + Math.floor(random() * (run % 2 ? 7 : 300));
      chunks.push(data.slice(i, i + n));
      i += n;
    }
    yield chunks;
  }
}

/** A protocol connected to a fresh `StringTransport`, fed `chunks`. */
export function feed<P extends IProtocol>(
  protocol: P,
  chunks: Iterable<Uint8Array> = [],
): { p: P; transport: StringTransport } {
  const transport = new StringTransport();
  protocol.makeConnection(transport);
  for (const chunk of chunks) protocol.dataReceived(chunk);
  return { p: protocol, transport };
}

/** The concatenation of `parts`. */
export function join(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
