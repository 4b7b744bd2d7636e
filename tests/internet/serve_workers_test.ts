import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { Clock, log } from "../../mod.ts";
import { serveOnWorkers } from "../../src/internet/workers.ts";
import type { SupervisedWorker } from "../../src/internet/workers/supervisor.ts";
import { withReusePort } from "../../src/internet/workers/messages.ts";

/** A Worker that does what the test says. */
class FakeWorker implements SupervisedWorker {
  onmessage: ((e: MessageEvent) => void) | null = null;
  onerror: ((e: ErrorEvent) => void) | null = null;
  readonly sent: string[] = [];
  terminated = false;
  postMessage(message: { kind: string }): void {
    this.sent.push(message.kind);
  }
  terminate(): void {
    this.terminated = true;
  }
  say(kind: string, extra: Record<string, unknown> = {}): void {
    this.onmessage?.(
      new MessageEvent("message", {
        data: { tag: "twist.workers", kind, ...extra },
      }),
    );
  }
}

function fakes(clock: Clock, workers = 2) {
  const spawned: FakeWorker[][] = Array.from({ length: workers }, () => []);
  const served = serveOnWorkers("file:///factory.ts", {
    workers,
    clock,
    reactor: clock,
    backoff: { initial: 1, max: 8 },
    spawn: (i) => {
      const w = new FakeWorker();
      spawned[i].push(w);
      return w;
    },
  });
  return { served, spawned };
}

Deno.test("serveOnWorkers: a crashed worker is restarted with a doubling backoff, reset after a long run", async () => {
  using logs = log.capture();
  const clock = new Clock();
  const { served, spawned } = fakes(clock);
  assertEquals(spawned.map((s) => s.length), [1, 1]);
  assertEquals(spawned[0][0].sent, ["serve"]);
  spawned[0][0].say("listening", { hosts: ["127.0.0.1:8000"] });
  spawned[1][0].say("listening", { hosts: ["127.0.0.1:8000"] });
  await served.ready;
  assertEquals(served.listening, 2);
  const delays: number[] = [];
  for (let crash = 0; crash < 5; crash++) {
    const worker = spawned[0].at(-1)!;
    worker.say("fatal", {
      error: { name: "Error", message: "boom", stack: "Error: boom" },
    });
    assert(worker.terminated);
    assertEquals(served.listening, 1);
    const before = spawned[0].length;
    let waited = 0;
    while (spawned[0].length === before && waited < 100) {
      clock.advance(0.5);
      waited += 0.5;
    }
    delays.push(waited);
    spawned[0].at(-1)!.say("listening", { hosts: ["127.0.0.1:8000"] });
  }
  assertEquals(delays, [1, 2, 4, 8, 8]);
  assertEquals(served.restarts, 5);
  // A worker that ran for `max` seconds starts again from `initial`.
  clock.advance(8);
  spawned[0].at(-1)!.say("exit");
  clock.advance(1);
  assertEquals(spawned[0].length, 7);
  assert(
    logs.events.some((e) =>
      e.level === "error" &&
      e.message.includes("worker 1 crashed: Error: boom; restarting it in 1 s")
    ),
  );
  // Stopping cancels restarts and tells every worker to stop.
  spawned[0].at(-1)!.say("exit");
  const stopped = served.stop();
  clock.advance(3);
  assertEquals(spawned[0].length, 7, "no restart once stopping");
  assertEquals(spawned[1][0].sent, ["serve", "stop"]);
  assert(!stopped.called);
  spawned[1][0].say("stopped");
  assert(stopped.called);
});

Deno.test("serveOnWorkers: workers that do not stop in time are terminated; a worker that cannot start fails ready and stops the rest", async () => {
  using _logs = log.capture();
  const clock = new Clock();
  const { served, spawned } = fakes(clock);
  const stopped = served.stop();
  clock.advance(5);
  assert(!stopped.called);
  clock.advance(1); // shutdownTimeout (5 s, the Clock has none) + 1
  assert(stopped.called);
  assert(spawned.every((s) => s[0].terminated));

  const again = fakes(new Clock());
  again.spawned[1][0].say("listening", { hosts: [] });
  again.spawned[0][0].say("fatal", {
    error: {
      name: "TypeError",
      message: "no factory",
      stack: "TypeError: no factory\n  at x",
    },
  });
  let reason = "";
  await again.served.ready.asPromise().catch((e) => reason = e.message);
  assertEquals(reason, "Worker 1 could not start: TypeError: no factory");
  assertEquals(again.spawned[1][0].sent, ["serve", "stop"]);
  again.spawned[1][0].say("stopped");
});

Deno.test("serveOnWorkers: TCP descriptions get reusePort=true, others are left alone", () => {
  assertEquals(withReusePort("tcp:8000"), "tcp:8000:reusePort=true");
  assertEquals(
    withReusePort("tcp6:8000:interface=\\:\\:1"),
    "tcp6:8000:interface=\\:\\:1:reusePort=true",
  );
  assertEquals(
    withReusePort("tcp:8000:reusePort=false"),
    "tcp:8000:reusePort=false",
  );
  assertEquals(withReusePort("unix:/tmp/s.sock"), "unix:/tmp/s.sock");
});

/** A free TCP port on 127.0.0.1 (closed again at once). */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Reads the whole answer of one connection. */
async function ask(port: number, send: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(send));
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
  }
  conn.close();
  return new TextDecoder().decode(
    chunks.reduce((a, b) => {
      const c = new Uint8Array(a.length + b.length);
      c.set(a);
      c.set(b, a.length);
      return c;
    }, new Uint8Array()),
  );
}

/** Lines of a stream, one at a time. */
async function* lines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    rest += chunk;
    let i;
    while ((i = rest.indexOf("\n")) >= 0) {
      yield rest.slice(0, i);
      rest = rest.slice(i + 1);
    }
  }
}

Deno.test("twist serve --workers 2: two reactors in two Workers share the port, a crashed worker is restarted, SIGTERM stops all with exit 0", async () => {
  const port = freePort();
  const flags = Deno.env.get("TWIST_DENO_FLAGS")?.split(" ").filter(Boolean) ??
    [];
  const child = new Deno.Command("deno", {
    args: [
      "run",
      "--unstable-net",
      "--allow-net=127.0.0.1",
      "--allow-read=.",
      ...flags,
      "src/cli.ts",
      "serve",
      "tests/fixtures/served_factory.ts",
      "--workers",
      "2",
      "--listen",
      `tcp:${port}:interface=127.0.0.1`,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log: string[] = [];
  const stderr = lines(child.stderr);
  async function waitFor(text: string): Promise<void> {
    const deadline = setTimeout(() => child.kill("SIGKILL"), 30_000);
    try {
      for (;;) {
        const { value, done } = await stderr.next();
        if (done) throw new Error(`no "${text}" in:\n${log.join("\n")}`);
        log.push(value);
        if (value.includes(text)) return;
      }
    } finally {
      clearTimeout(deadline);
    }
  }
  try {
    await waitFor("2 workers listening");
    // The kernel spreads connections across both listeners.
    const seen = new Set<string>();
    for (let i = 0; i < 200 && seen.size < 2; i++) {
      seen.add((await ask(port, "bye")).trim());
    }
    assertEquals([...seen].sort(), ["twist-serve-1", "twist-serve-2"]);
    // A worker's logs go through the runner's observer.
    const from = (await ask(port, "log")).trim();
    await waitFor(`[warn] worker ${from.slice(-1)}: a warning from ${from}`);
    // Crash one: the other keeps serving, the crashed one comes back.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const who = new Uint8Array(64);
    const n = (await conn.read(who))!;
    const victim = new TextDecoder().decode(who.subarray(0, n)).trim();
    await conn.write(new TextEncoder().encode("crash"));
    await waitFor(`crashed: Error: crash requested`);
    conn.close();
    await waitFor(`${victim.replace("twist-serve-", "worker ")} listening`);
    // A big answer in flight at SIGTERM is flushed before the worker ends.
    const big = await Deno.connect({ hostname: "127.0.0.1", port });
    await big.write(new TextEncoder().encode("big"));
    const buf = new Uint8Array(65536);
    let total = 0;
    let name = 0;
    while (total <= name + 1) {
      const n = await big.read(buf);
      if (n === null) break;
      if (name === 0) name = buf.subarray(0, n).indexOf(10) + 1;
      total += n;
    }
    child.kill("SIGTERM");
    for (;;) {
      const n = await big.read(buf);
      if (n === null) break;
      total += n;
    }
    big.close();
    assertEquals(total - name, 4 << 20, "the answer was flushed in full");
    const status = await child.status;
    assertEquals(status.code, 0, log.join("\n"));
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* ended */ }
    await child.status;
    for await (const _ of stderr) { /* drain */ }
  }
  assert(log.some((l) => l.includes("worker 1 listening")));
  assertStringIncludes(log.join("\n"), "restarting it in 0.5 s");
});

Deno.test("twist serve --workers: a bad value, another command, or no --unstable-net is one line and exit code 2", async () => {
  const { main } = await import("../../src/cli.ts");
  const run = async (...argv: string[]): Promise<[number, string[]]> => {
    const err: string[] = [];
    const code = await main(argv, {
      stderr: (l) => err.push(l),
      stdout: () => {},
    });
    return [code, err];
  };
  const factory = "tests/fixtures/served_factory.ts";
  assertEquals(await run("serve", factory, "--workers", "0"), [2, [
    'twist: Invalid --workers "0": expected a positive integer',
  ]]);
  assertEquals(await run("echo", "--workers", "2"), [2, [
    "twist: --workers works with serve only",
  ]]);
  // This test run has no --unstable-net.
  assertEquals(await run("serve", factory, "--workers", "2"), [2, [
    "twist: --workers listens with reusePort, one of Deno's unstable network APIs: run again with --unstable-net",
  ]]);
});
