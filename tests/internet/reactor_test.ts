import {
  assert,
  assertEquals,
  assertGreater,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  Reactor,
  reactor as defaultReactor,
} from "../../src/internet/reactor.ts";
import { Deferred, fail } from "../../src/internet/defer.ts";
import {
  ReactorAlreadyRunning,
  ReactorNotRestartable,
  ReactorNotRunning,
} from "../../src/internet/error.ts";
import { log } from "../../src/logger.ts";
import { decode, DENO, denoFlags, withTimeout } from "../_helpers.ts";

Deno.test("Reactor: startup triggers run in phase order, callWhenRunning after them", async () => {
  const reactor = new Reactor();
  const seen: string[] = [];
  reactor.addSystemEventTrigger(
    "after",
    "startup",
    () => seen.push(`after ${reactor.running}`),
  );
  reactor.addSystemEventTrigger("during", "startup", () => seen.push("during"));
  reactor.addSystemEventTrigger(
    "before",
    "startup",
    () => seen.push(`before ${reactor.running}`),
  );
  reactor.callWhenRunning((x: number) => seen.push(`running ${x}`), 42);
  reactor.callWhenRunning(() => reactor.stop());
  await reactor.run();
  assertEquals(seen, ["before false", "during", "after true", "running 42"]);
});

Deno.test("Reactor: callWhenRunning on a running reactor calls at once", async () => {
  const reactor = new Reactor();
  const seen: string[] = [];
  reactor.callWhenRunning(() => {
    reactor.callWhenRunning(() => seen.push("nested"));
    seen.push("outer");
    reactor.stop();
  });
  await reactor.run();
  assertEquals(seen, ["nested", "outer"]);
});

Deno.test("Reactor: shutdown runs before, during and after triggers; running is false from 'during'", async () => {
  const reactor = new Reactor();
  const seen: string[] = [];
  reactor.addSystemEventTrigger(
    "after",
    "shutdown",
    () => seen.push(`after ${reactor.running}`),
  );
  reactor.addSystemEventTrigger(
    "during",
    "shutdown",
    () => seen.push(`during ${reactor.running}`),
  );
  reactor.addSystemEventTrigger(
    "before",
    "shutdown",
    () => seen.push(`before ${reactor.running}`),
  );
  reactor.callWhenRunning(() => reactor.stop());
  await reactor.run();
  assertEquals(seen, ["before true", "during false", "after false"]);
  assertEquals(reactor.running, false);
});

Deno.test("Reactor: a trigger returning a Deferred or a Promise delays the next phase", async () => {
  const reactor = new Reactor();
  const seen: string[] = [];
  const gate = new Deferred<void>();
  reactor.addSystemEventTrigger("before", "shutdown", () => {
    seen.push("before (waiting)");
    reactor.callLater(0.01, () => {
      seen.push("gate fires");
      gate.callback();
    });
    return gate;
  });
  reactor.addSystemEventTrigger("during", "shutdown", async () => {
    seen.push("during (async)");
    await new Promise<void>((r) => reactor.callLater(0.01, () => r()));
    seen.push("during done");
  });
  reactor.addSystemEventTrigger("after", "shutdown", () => seen.push("after"));
  reactor.callWhenRunning(() => reactor.stop());
  await reactor.run();
  assertEquals(seen, [
    "before (waiting)",
    "gate fires",
    "during (async)",
    "during done",
    "after",
  ]);
});

Deno.test("Reactor: a failing or throwing trigger is logged and shutdown goes on", async () => {
  using logs = log.capture();
  const reactor = new Reactor();
  const seen: string[] = [];
  reactor.addSystemEventTrigger("before", "shutdown", () => {
    throw new TypeError("trigger threw");
  });
  reactor.addSystemEventTrigger(
    "before",
    "shutdown",
    () => fail(new RangeError("trigger failed")),
  );
  reactor.addSystemEventTrigger("after", "shutdown", () => seen.push("after"));
  reactor.callWhenRunning(() => reactor.stop());
  await reactor.run();
  assertEquals(seen, ["after"]);
  assertEquals(logs.flushErrors(TypeError).length, 1);
  assertEquals(logs.flushErrors(RangeError).length, 1);
});

Deno.test("Reactor: removeSystemEventTrigger removes a pending trigger; a bad handle is an error", async () => {
  const reactor = new Reactor();
  const seen: string[] = [];
  const id = reactor.addSystemEventTrigger(
    "before",
    "shutdown",
    () => seen.push("removed"),
  );
  reactor.addSystemEventTrigger("before", "shutdown", () => seen.push("kept"));
  reactor.removeSystemEventTrigger(id);
  assertThrows(() => reactor.removeSystemEventTrigger(id), TypeError);
  assertThrows(
    () =>
      reactor.addSystemEventTrigger(
        "sometime" as "before",
        "shutdown",
        () => {},
      ),
    TypeError,
  );
  reactor.callWhenRunning(() => reactor.stop());
  await reactor.run();
  assertEquals(seen, ["kept"]);
});

Deno.test("Reactor: triggers added to a phase while it fires run in that phase; custom events fire", () => {
  const reactor = new Reactor();
  const seen: string[] = [];
  reactor.addSystemEventTrigger("before", "custom", () => {
    seen.push("first");
    reactor.addSystemEventTrigger(
      "before",
      "custom",
      () => seen.push("added while firing"),
    );
  });
  reactor.addSystemEventTrigger("after", "custom", () => seen.push("after"));
  reactor.fireSystemEvent("custom");
  assertEquals(seen, ["first", "added while firing", "after"]);
  reactor.fireSystemEvent("custom"); // each trigger runs once
  reactor.fireSystemEvent("never-registered");
  assertEquals(seen.length, 3);
});

Deno.test("Reactor: stop when not running raises ReactorNotRunning; run twice raises; no restart", async () => {
  const reactor = new Reactor();
  assertThrows(() => reactor.stop(), ReactorNotRunning);
  reactor.callWhenRunning(() => {
    assertThrows(() => reactor.run(), ReactorAlreadyRunning);
    reactor.stop();
    assertThrows(() => reactor.stop(), ReactorNotRunning);
  });
  await reactor.run();
  assertThrows(() => reactor.run(), ReactorNotRestartable);
});

Deno.test("Reactor: timed calls run in deadline order and equal deadlines in scheduling order", async () => {
  const reactor = new Reactor();
  const seen: string[] = [];
  const done = Promise.withResolvers<void>();
  reactor.callLater(0.02, () => seen.push("late"));
  for (const name of ["z1", "z2", "z3"]) {
    reactor.callLater(0, () => seen.push(name));
  }
  reactor.callLater(0.01, () => seen.push("soon"));
  reactor.callLater(0.03, () => done.resolve());
  await withTimeout(done.promise, 5000, "the timed calls");
  assertEquals(seen, ["z1", "z2", "z3", "soon", "late"]);
});

Deno.test("Reactor: a call scheduled while timed calls run waits for the next pass", async () => {
  const reactor = new Reactor();
  const seen: string[] = [];
  const done = Promise.withResolvers<void>();
  reactor.callLater(0, () => {
    seen.push("first");
    reactor.callLater(0, () => {
      seen.push("scheduled during the pass");
      done.resolve();
    });
  });
  reactor.callLater(0, () => seen.push("second"));
  await withTimeout(done.promise, 5000, "the second pass");
  assertEquals(seen, ["first", "second", "scheduled during the pass"]);
});

Deno.test("Reactor: cancel, reset and delay work on pending calls", async () => {
  const reactor = new Reactor();
  const seen: string[] = [];
  const done = Promise.withResolvers<void>();
  const cancelled = reactor.callLater(0.01, () => seen.push("cancelled"));
  const moved = reactor.callLater(10, () => seen.push("reset to soon"));
  const delayed = reactor.callLater(0, () => seen.push("delayed"));
  cancelled.cancel();
  moved.reset(0.005);
  delayed.delay(0.01);
  reactor.callLater(0.03, () => done.resolve());
  await withTimeout(done.promise, 5000, "the calls");
  assertEquals(seen, ["reset to soon", "delayed"]);
  assertEquals(reactor.getDelayedCalls(), []);
});

Deno.test("Reactor: zero-delay calls avoid the nested setTimeout clamp", async () => {
  const reactor = new Reactor();
  const done = Promise.withResolvers<number>();
  const start = performance.now();
  let count = 0;
  const tick = (): void => {
    if (++count === 200) done.resolve(performance.now() - start);
    else reactor.callLater(0, tick);
  };
  reactor.callLater(0, tick);
  const elapsed = await withTimeout(
    done.promise,
    10_000,
    "200 chained zero-delay calls",
  );
  // With setTimeout's ~1-4 ms clamp, 200 chained calls take 200+ ms.
  assert(
    elapsed < 150,
    `200 chained zero-delay calls took ${elapsed.toFixed(1)} ms`,
  );
});

Deno.test("Reactor: a delay beyond what setTimeout holds is re-armed, not fired at once", async () => {
  const reactor = new Reactor();
  let fired = false;
  const far = reactor.callLater(2 ** 32 / 1000, () => (fired = true)); // 2^32 ms
  await new Promise<void>((r) => reactor.callLater(0.02, () => r()));
  assertEquals(fired, false);
  assert(far.active());
  far.cancel();
});

Deno.test("Reactor: a throwing timed call is logged and does not stop the reactor", async () => {
  using logs = log.capture();
  const reactor = new Reactor();
  const seen: string[] = [];
  reactor.callLater(0, () => {
    throw new SyntaxError("timed call threw");
  });
  reactor.callLater(
    0,
    () => Promise.reject(new URIError("timed call rejected")),
  );
  reactor.callLater(0.01, () => {
    seen.push("still running");
    reactor.stop();
  });
  await reactor.run();
  assertEquals(seen, ["still running"]);
  assertEquals(logs.flushErrors(SyntaxError).length, 1);
  assertEquals(logs.flushErrors(URIError).length, 1);
});

Deno.test("Reactor: pending calls are cancelled at shutdown and unhandled Deferred failures are logged", async () => {
  using logs = log.capture();
  const reactor = new Reactor();
  const pending = reactor.callLater(1000, () => {});
  let d: Deferred<void> | undefined;
  reactor.callWhenRunning(() => {
    d = fail(new EvalError("never handled"));
    reactor.stop();
  });
  await reactor.run();
  assertEquals(pending.active(), false);
  assertEquals(reactor.getDelayedCalls(), []);
  assertEquals(logs.flushErrors(EvalError).length, 1);
  assertStringIncludes(
    logs.events.at(-1)?.message ?? "",
    "Unhandled error in Deferred",
  );
  d!.addErrback(() => {});
});

Deno.test("Reactor: seconds() is epoch-aligned and monotonic", () => {
  const reactor = new Reactor();
  const a = reactor.seconds();
  const b = reactor.seconds();
  assert(b >= a);
  assert(Math.abs(a - Date.now() / 1000) < 5);
});

Deno.test("Reactor: the default reactor exists and importing it installs nothing", () => {
  assertEquals(defaultReactor.running, false);
  assertEquals(defaultReactor.getDelayedCalls(), []);
});

async function runFixture(
  name: string,
  signal?: Deno.Signal,
): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const start = performance.now();
  const child = new Deno.Command(DENO, {
    args: ["run", ...denoFlags(), `tests/fixtures/${name}`],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stdout = "";
  const reader = child.stdout.getReader();
  try {
    if (signal) {
      // Wait until the child says it runs, then signal it.
      while (!stdout.includes("running")) {
        const { value, done } = await withTimeout(
          reader.read(),
          20_000,
          `"running" from ${name}`,
        );
        if (done) break;
        stdout += decode(value);
      }
      child.kill(signal);
    }
    for (;;) {
      const { value, done } = await withTimeout(
        reader.read(),
        20_000,
        `${name} to finish`,
      );
      if (done) break;
      stdout += decode(value);
    }
  } finally {
    reader.releaseLock();
  }
  const [status, stderr] = await Promise.all([
    child.status,
    new Response(child.stderr).text(),
  ]);
  return { code: status.code, stdout, stderr, ms: performance.now() - start };
}

Deno.test("Reactor: the process exits by itself with code 0 after stop()", async () => {
  const { code, stdout } = await runFixture("reactor_stop.ts");
  assertEquals(code, 0);
  assertStringIncludes(stdout, "shutdown complete");
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.test(`Reactor: ${signal} stops the reactor gracefully and the process exits 0`, async () => {
    const { code, stdout, ms } = await runFixture("reactor_signal.ts", signal);
    assertEquals(code, 0);
    assertStringIncludes(stdout, "before shutdown");
    assertStringIncludes(stdout, "shutdown complete");
    assertGreater(20_000, ms);
  });
}
