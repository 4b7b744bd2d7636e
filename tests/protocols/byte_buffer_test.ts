import {
  assertEquals,
  assertLess,
  assertNotStrictEquals,
  assertStrictEquals,
} from "@std/assert";
import { ByteBuffer } from "../../src/protocols/_byte_buffer.ts";
import { join, prng } from "./_basic_helpers.ts";

/** The reference: where `needle` first occurs in `hay` at or after `from`. */
function naiveIndexOf(hay: Uint8Array, needle: Uint8Array, from: number) {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let k = 0; k < needle.length; k++) {
      if (hay[i + k] !== needle[k]) continue outer;
    }
    return i;
  }
  return -1;
}

Deno.test("ByteBuffer agrees with a plain array under random appends, searches, takes and skips", () => {
  const random = prng(2024);
  const delimiters = [[10], [13, 10], [1, 1], [1, 2, 1], [0, 1, 2, 3]].map(
    (d) => new Uint8Array(d),
  );
  for (let run = 0; run < 300; run++) {
    const buffer = new ByteBuffer();
    let model: Uint8Array = new Uint8Array(0);
    const handedOut: [Uint8Array, Uint8Array][] = [];
    for (let op = 0; op < 60; op++) {
      const r = random();
      if (r < 0.45) {
        const n = Math.floor(random() * (random() < 0.2 ? 9000 : 12));
        const chunk = Uint8Array.from(
          { length: n },
          () => Math.floor(random() * 4),
        );
        buffer.append(chunk);
        model = join([model, chunk]);
      } else if (r < 0.7) {
        const d = delimiters[Math.floor(random() * delimiters.length)];
        const from = Math.floor(random() * (model.length + 1));
        assertEquals(buffer.indexOf(d, from), naiveIndexOf(model, d, from));
      } else if (r < 0.85) {
        const n = Math.floor(random() * (model.length + 1));
        const out = buffer.take(n);
        assertEquals(out, model.subarray(0, n));
        handedOut.push([out, out.slice()]);
        model = model.slice(n);
      } else if (r < 0.95) {
        const n = Math.floor(random() * (model.length + 1));
        buffer.skip(n);
        model = model.slice(n);
      } else {
        assertEquals(buffer.view(), model);
      }
      assertEquals(buffer.length, model.length);
      if (model.length > 0) {
        const i = Math.floor(random() * model.length);
        assertEquals(buffer.at(i), model[i]);
        const size = [1, 2, 4][Math.floor(random() * 3)];
        if (i + size <= model.length) {
          let value = 0;
          for (let k = 0; k < size; k++) value = value * 256 + model[i + k];
          assertEquals(buffer.uintAt(i, size), value);
        }
      }
    }
    // Nothing handed out was ever written over.
    for (const [view, copy] of handedOut) assertEquals(view, copy);
    assertEquals(buffer.takeAll(), model);
    assertEquals(buffer.length, 0);
  }
});

Deno.test("ByteBuffer adopts chunks and hands out views of them, copying only what straddles two", () => {
  const buffer = new ByteBuffer();
  const first = new Uint8Array([1, 2, 3, 4]);
  buffer.append(first);
  const a = buffer.take(2);
  assertStrictEquals(a.buffer, first.buffer, "a view, not a copy");
  const second = new Uint8Array([5, 6, 7]);
  buffer.append(second);
  const straddling = buffer.take(3);
  assertEquals(straddling, new Uint8Array([3, 4, 5]));
  assertNotStrictEquals(straddling.buffer, second.buffer);
  const rest = buffer.take(2);
  assertStrictEquals(rest.buffer, second.buffer, "back to views");
  assertEquals(rest, new Uint8Array([6, 7]));
  assertEquals(first, new Uint8Array([1, 2, 3, 4]), "chunks are never written");
  assertEquals(second, new Uint8Array([5, 6, 7]));
});

Deno.test("ByteBuffer gathers many small appends in amortised linear time", () => {
  const buffer = new ByteBuffer();
  const one = new Uint8Array([7]);
  const n = 200_000;
  const started = performance.now();
  for (let i = 0; i < n; i++) buffer.append(one);
  assertEquals(buffer.length, n);
  assertEquals(buffer.indexOf(new Uint8Array([8]), 0), -1);
  assertEquals(buffer.takeAll().length, n);
  // Quadratic copying would take minutes; linear takes milliseconds.
  assertLess(performance.now() - started, 2_000);
});

Deno.test("ByteBuffer.compact copies a small remainder out of a large chunk, and only then", () => {
  const slab = new Uint8Array(256 * 1024);
  const buffer = new ByteBuffer();
  buffer.append(slab.subarray(1000, 1100));
  buffer.skip(90);
  buffer.compact();
  const rest = buffer.view();
  assertEquals(rest.length, 10);
  assertNotStrictEquals(rest.buffer, slab.buffer, "the slab is let go");
  assertEquals(rest.buffer.byteLength, 10);
  // A remainder that owns its memory, or a large one, is left alone.
  buffer.compact();
  assertStrictEquals(buffer.view().buffer, rest.buffer);
  const big = new ByteBuffer();
  big.append(slab.subarray(0, 100_000));
  big.compact();
  assertStrictEquals(big.view().buffer, slab.buffer);
});
