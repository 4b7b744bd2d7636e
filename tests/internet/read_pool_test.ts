import { assert, assertEquals } from "@std/assert";
import { takeRegion } from "../../src/internet/stream/read_pool.ts";

Deno.test("read pool: regions have the size asked for and never share memory, across slabs", () => {
  const regions: Uint8Array[] = [];
  // 600 KiB of 3 KiB regions spans three 256 KiB slabs (the first is made by
  // the first call).
  for (let i = 0; i < 200; i++) regions.push(takeRegion(3 * 1024));
  for (const [i, r] of regions.entries()) {
    assertEquals(r.length, 3 * 1024);
    r.fill(i & 0xff);
  }
  for (const [i, r] of regions.entries()) {
    assert(r.every((b) => b === (i & 0xff)), `region ${i} was overwritten`);
  }
  // A large region gets memory of its own.
  const big = takeRegion(200 * 1024);
  assertEquals(big.length, 200 * 1024);
  assertEquals(big.byteOffset, 0);
});
