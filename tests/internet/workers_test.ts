import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  CancelledError,
  deferToWorker,
  Reactor,
  transfer,
  WorkerError,
  WorkerLost,
  WorkerPool,
  WorkerPoolStopped,
} from "../../mod.ts";
import { postToReactor } from "../../src/internet/worker.ts";
import { reactorBookkeeping } from "../../src/internet/common/registry.ts";

const MODULE = new URL("../fixtures/pool_worker.ts", import.meta.url);

/** A pool on its own reactor, stopped at the end of the test. */
function pool(
  options: ConstructorParameters<typeof WorkerPool>[1] = {},
): { pool: WorkerPool; reactor: Reactor } & AsyncDisposable {
  const reactor = new Reactor();
  const p = new WorkerPool(MODULE, { size: 2, reactor, ...options });
  return {
    pool: p,
    reactor,
    async [Symbol.asyncDispose]() {
      await p.stop();
    },
  };
}

/** Resolves with `promise`, or fails after `ms`. */
async function within<T>(promise: PromiseLike<T>, ms = 10_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`timed out after ${ms} ms`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("WorkerPool: runs exported functions in Workers and returns their results", async () => {
  await using t = pool();
  assertEquals(await within(deferToWorker(t.pool, "add", 1, 2)), 3);
  const results = await within(
    Promise.all(
      [1, 2, 3, 4, 5].map((n) => deferToWorker(t.pool, "later", `v${n}`)),
    ),
  );
  assertEquals(results, ["v1", "v2", "v3", "v4", "v5"]);
  assert(t.pool.workers <= 2, "never more workers than the size");
  assertEquals([t.pool.queued, t.pool.running], [0, 0]);
});

Deno.test("WorkerPool: an exception in the worker fails the Deferred with its name, message and stack", async () => {
  await using t = pool();
  const e = await within(
    assertRejects(
      () => deferToWorker(t.pool, "fail", "too big").asPromise(),
      WorkerError,
    ),
  );
  assertEquals([e.remoteName, e.message], ["RangeError", "too big"]);
  assertStringIncludes(e.stack!, "pool_worker.ts");
  const missing = await within(
    assertRejects(() => deferToWorker(t.pool, "nope").asPromise(), WorkerError),
  );
  assertStringIncludes(missing.message, `"nope" is not a function exported by`);
  // A result that cannot be cloned fails the call, not the worker.
  await within(
    assertRejects(
      () => deferToWorker(t.pool, "notCloneable").asPromise(),
      WorkerError,
    ),
  );
  assertEquals(await within(deferToWorker(t.pool, "add", 2, 2)), 4);
});

Deno.test("WorkerPool: transfer() moves buffers both ways without a copy", async () => {
  await using t = pool();
  const bytes = new Uint8Array([1, 2, 3]);
  const result = await within(
    deferToWorker<{ length: number; out: Uint8Array }>(
      t.pool,
      "double",
      transfer(bytes),
    ),
  );
  assertEquals(
    bytes.byteLength,
    0,
    "the argument's buffer moved to the worker",
  );
  assertEquals(result.length, 3);
  assertEquals([...result.out], [2, 4, 6]);
  // Without transfer() the argument is copied and stays usable.
  const kept = new Uint8Array([5]);
  await within(deferToWorker(t.pool, "double", kept));
  assertEquals(kept.byteLength, 1);
  assertThrows(() => transfer({ not: "a buffer" }), TypeError, "transfer()");
});

Deno.test("WorkerPool: cancelling a queued call removes it; cancelling a running call terminates and replaces its worker", async () => {
  await using t = pool({ size: 1 });
  const running = deferToWorker(t.pool, "hang");
  const queued = deferToWorker(t.pool, "add", 1, 1);
  const after = deferToWorker(t.pool, "add", 2, 3);
  assertEquals([t.pool.running, t.pool.queued], [1, 2]);
  queued.cancel();
  assertEquals(t.pool.queued, 1);
  await assertRejects(() => queued.asPromise(), CancelledError);
  running.cancel();
  await assertRejects(() => running.asPromise(), CancelledError);
  // The replacement runs what was queued behind it.
  assertEquals(await within(after), 5);
  assertEquals(t.pool.workers, 1);
});

Deno.test("WorkerPool: a worker that dies fails its call with WorkerLost and is replaced; queued calls go on", async () => {
  await using t = pool({ size: 1 });
  const exit = deferToWorker(t.pool, "exit");
  const next = deferToWorker(t.pool, "add", 20, 22);
  const e = await within(assertRejects(() => exit.asPromise(), WorkerLost));
  assertStringIncludes(e.message, `"exit" died`);
  assertEquals(await within(next), 42);
  const crash = deferToWorker(t.pool, "crashLater");
  const lost = await within(assertRejects(() => crash.asPromise(), WorkerLost));
  assertStringIncludes(lost.message, "crashed in a timer");
  assertStringIncludes(
    lost.message,
    "pool_worker.ts",
    "with the worker's stack",
  );
  assertEquals(await within(deferToWorker(t.pool, "add", 1, 2)), 3);
});

Deno.test("WorkerPool: postToReactor hands values to onMessage on the reactor thread, transferred ones included", async () => {
  const got: unknown[] = [];
  await using t = pool({ onMessage: (v) => got.push(v) });
  assertEquals(await within(deferToWorker(t.pool, "post", 3)), 3);
  // Messages from one worker arrive in order, before its result.
  assertEquals(got.slice(0, 3), [{ i: 0 }, { i: 1 }, { i: 2 }]);
  assertEquals([...(got[3] as Uint8Array)], [7, 7]);
  assertThrows(() => postToReactor(1), TypeError, "worker");
});

Deno.test("WorkerPool: stop() fails queued calls, lets running ones finish, and ends every worker", async () => {
  const t = pool({ size: 1 });
  const running = deferToWorker(t.pool, "later", "done");
  const queued = deferToWorker(t.pool, "add", 1, 1);
  const stopped = t.pool.stop();
  const e = await assertRejects(() => queued.asPromise(), WorkerPoolStopped);
  assertStringIncludes(e.message, "the worker pool was stopped");
  assertEquals(await within(running), "done");
  await within(stopped);
  assertEquals(t.pool.workers, 0);
  await assertRejects(
    () => deferToWorker(t.pool, "add", 1, 1).asPromise(),
    WorkerPoolStopped,
  );
  assertEquals(reactorBookkeeping(t.reactor).resources, 0);
});

Deno.test("WorkerPool: the reactor's shutdown stops the pool: queued calls fail, running ones are terminated after shutdownTimeout", async () => {
  const reactor = new Reactor();
  reactor.shutdownTimeout = 0.2;
  const p = new WorkerPool(MODULE, { size: 1, reactor });
  assertEquals(reactorBookkeeping(reactor).resources, 1);
  const running = deferToWorker(p, "hang");
  const queued = deferToWorker(p, "add", 1, 1);
  const ran = reactor.run({ installSignalHandlers: false });
  reactor.callWhenRunning(() => reactor.stop());
  const e = await assertRejects(() => queued.asPromise(), WorkerPoolStopped);
  assertStringIncludes(e.message, "the reactor is shutting down");
  const lost = await within(
    assertRejects(() => running.asPromise(), WorkerLost),
  );
  assertStringIncludes(
    lost.message,
    "0.2 s after the reactor began shutting down",
  );
  await within(ran);
  assertEquals([p.workers, reactorBookkeeping(reactor).resources], [0, 0]);
  assert(p.stopped);
});

Deno.test("WorkerPool: bad arguments are TypeError/RangeError, and an uncloneable argument fails the call", async () => {
  assertThrows(
    () => new WorkerPool("./relative.ts", { reactor: new Reactor() }),
    TypeError,
    "absolute URL",
  );
  assertThrows(
    () => new WorkerPool(MODULE, { size: 0, reactor: new Reactor() }),
    RangeError,
    "pool size",
  );
  await using t = pool();
  await assertRejects(() => deferToWorker(t.pool, "add", () => 1).asPromise());
  assertEquals(await within(deferToWorker(t.pool, "add", 1, 1)), 2);
});

Deno.test("WorkerPool: without read access to the Workers' modules, the constructor names the flag (no prompt, no crash)", async () => {
  const child = new Deno.Command("deno", {
    args: [
      "run",
      "--no-prompt",
      ...(Deno.env.get("TWIST_DENO_FLAGS")?.split(" ").filter(Boolean) ?? []),
      new URL("../fixtures/pool_no_read.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "piped",
  });
  const { stdout } = await child.output();
  assertStringIncludes(
    new TextDecoder().decode(stdout),
    "NotCapable: WorkerPool cannot load",
  );
  assertStringIncludes(
    new TextDecoder().decode(stdout),
    'src/internet/workers/_worker_main.ts" in its Workers: add --allow-read=',
  );
});

Deno.test("WorkerPool: Workers have the process's permissions; options.permissions narrows them (with --unstable-worker-options)", async () => {
  const { stdout, stderr } = await new Deno.Command("deno", {
    args: [
      "run",
      "--no-prompt",
      "--unstable-worker-options",
      "--allow-read=.",
      "--allow-net=127.0.0.1",
      ...(Deno.env.get("TWIST_DENO_FLAGS")?.split(" ").filter(Boolean) ?? []),
      "tests/fixtures/pool_permissions.ts",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(
    new TextDecoder().decode(stdout),
    "inherited: granted\nnarrowed: prompt\n", // not granted (with --no-prompt: denied on use)
    new TextDecoder().decode(stderr),
  );
});
