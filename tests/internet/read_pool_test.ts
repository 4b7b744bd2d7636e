import { assert, assertEquals, assertGreater, assertLess } from "@std/assert";
import { takeRegion } from "../../src/internet/stream/read_pool.ts";
import { DENO, denoFlags } from "../_helpers.ts";
import { spawn } from "../_processes.ts";

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

/** Page faults a fresh process takes refilling freed memory (fixture). */
async function refillFaults(mode: string): Promise<number> {
  await using child = spawn(DENO, [
    "run",
    ...denoFlags(),
    "tests/fixtures/alloc_faults.ts",
    mode,
  ]);
  const status = await child.wait();
  assertEquals(status.code, 0, child.stderr());
  return JSON.parse(child.stdout()).faults;
}

Deno.test({
  name:
    "read pool: once PRIME_AFTER bytes were read, memory freed in a batch is reused without page faults",
  ignore: Deno.build.os !== "linux",
  async fn() {
    // 5 batches of 32 MiB, filled: 40,960 faults if every page is new.
    const unprimed = await refillFaults("none");
    const fewer = await refillFaults("fewer-reads");
    const primed = await refillFaults("prime");
    const read = await refillFaults("reads");
    assertGreater(unprimed, 20_000, "unprimed: freed batches should refault");
    assertGreater(fewer, 20_000, "primed before PRIME_AFTER bytes were read");
    assertLess(primed, unprimed / 20, "primeAllocator() did not keep memory");
    assertLess(read, unprimed / 20, "reading PRIME_AFTER bytes did not prime");
  },
});
