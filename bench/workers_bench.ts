// deno bench --allow-read --import-map=.ci/import_map.json bench/workers_bench.ts
//
// deferToWorker's round trip for a function that does nothing (one call at
// a time: the overhead of a call), and calls/s through a pool of 2 (64
// calls in flight). Figures in bench/RESULTS.md, "Workers".
import { deferToWorker, Reactor, WorkerPool } from "../mod.ts";

const reactor = new Reactor();
const module = new URL("../examples/hash_work.ts", import.meta.url);
const one = new WorkerPool(module, { size: 1, reactor });
const two = new WorkerPool(module, { size: 2, reactor });
// Start the Workers before timing.
await Promise.all([
  deferToWorker(one, "noop"),
  deferToWorker(two, "noop"),
  deferToWorker(two, "noop"),
]);

Deno.bench("deferToWorker round trip, noop, pool of 1", async () => {
  await deferToWorker(one, "noop");
});

Deno.bench(
  "deferToWorker, 64 noop calls in flight, pool of 2 (per batch)",
  async () => {
    const calls = [];
    for (let i = 0; i < 64; i++) calls.push(deferToWorker(two, "noop"));
    await Promise.all(calls);
  },
);

globalThis.addEventListener("unload", () => {
  one.stop();
  two.stop();
});
