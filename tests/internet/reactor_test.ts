import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertLess,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  Reactor,
  reactor as defaultReactor,
} from "../../src/internet/reactor.ts";
import { ReactorBase } from "../../src/internet/base.ts";
import { Deferred, fail } from "../../src/internet/defer.ts";
import {
  ReactorAlreadyRunning,
  ReactorNotRestartable,
  ReactorNotRunning,
} from "../../src/internet/error.ts";
import type { Failure } from "../../src/internet/failure.ts";
import { log } from "../../src/logger.ts";
import { decode, DENO, denoFlags, withTimeout } from "../_helpers.ts";

/** Resolves after `seconds` of the reactor's own time (no sleeping). */
function later(reactor: ReactorBase, seconds: number): Promise<void> {
  return withTimeout(
    new Promise<void>((r) => reactor.callLater(seconds, () => r())),
    10_000,
    `a call ${seconds}s later`,
  );
}

// --- startup -----------------------------------------------------------------

Deno.test("Reactor: startup triggers run in phase order, callWhenRunning after them", async () => {
  const reactor = new Reactor();
  const seen: string[] = [];
  reactor.addSystemEventTrigger(
    "after",
    "startup",
    () => seen.push(`after ${reactor.running}`),
  );
  reactor.addSystemEventTrigger(
    "during",
    "startup",
    () => seen.push(`during ${reactor.running}`),
  );
  reactor.addSystemEventTrigger(
    "before",
    "startup",
    () => seen.push(`before ${reactor.running}`),
  );
  reactor.callWhenRunning((x: number) => seen.push(`running ${x}`), 42);
  reactor.callWhenRunning(() => seen.push("second"));
  reactor.callWhenRunning(() => reactor.stop());
  assertEquals(seen, []);
  await reactor.run();
  assertEquals(seen, [
    "before false",
    "during true",
    "after true",
    "running 42",
    "second",
  ]);
});

Deno.test("Reactor: callWhenRunning on a running reactor calls at once", async () => {
  const reactor = new Reactor();
  const seen: string[] = [];
  reactor.callWhenRunning(() => {
    const id = reactor.callWhenRunning(() => seen.push("nested"));
    assertEquals(id, undefined);
    seen.push("outer");
    reactor.stop();
  });
  await reactor.run();
  assertEquals(seen, ["nested", "outer"]);
});

Deno.test("Reactor: a throwing callWhenRunning function is logged and the others still run", async () => {
  using logs = log.capture();
  const reactor = new Reactor();
  const seen: string[] = [];
  reactor.callWhenRunning(() => {
    throw new SyntaxError("at startup");
  });
  reactor.callWhenRunning(() => {
    seen.push("next");
    reactor.callWhenRunning(() => {
      throw new URIError("while running");
    });
    seen.push("after the immediate one");
    reactor.stop();
  });
  await reactor.run();
  assertEquals(seen, ["next", "after the immediate one"]);
  assertEquals(logs.flushErrors(SyntaxError).length, 1);
  assertEquals(logs.flushErrors(URIError).length, 1);
  assertThrows(
    () => reactor.callWhenRunning(42 as unknown as () => void),
    TypeError,
    'Invalid callable "42"',
  );
});

Deno.test("Reactor: a 'before' startup trigger returning a pending Deferred holds startup until it fires", async () => {
  const reactor = new Reactor();
  const seen: string[] = [];
  const gate = new Deferred<void>();
  reactor.addSystemEventTrigger("before", "startup", () => {
    seen.push("trigger");
    reactor.callLater(0, () => {
      seen.push(`gate fires, running ${reactor.running}`);
      gate.callback();
    });
    return gate;
  });
  reactor.callWhenRunning(() => {
    seen.push(`running ${reactor.running}`);
    reactor.stop();
  });
  const done = reactor.run();
  assertEquals(seen, ["trigger"]);
  assertFalse(reactor.running);
  await done;
  assertEquals(seen, ["trigger", "gate fires, running false", "running true"]);
});

// --- shutdown ----------------------------------------------------------------

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

Deno.test("Reactor: stop() fires shutdown on a later pass, after the timed calls already due", async () => {
  const reactor = new Reactor();
  const seen: string[] = [];
  reactor.addSystemEventTrigger(
    "before",
    "shutdown",
    () => seen.push("before shutdown"),
  );
  reactor.callWhenRunning(() => {
    reactor.stop();
    seen.push("stop returned");
    // Due by the time the shutdown pass comes: it runs first, as in Twisted.
    reactor.callLater(0, () => seen.push("due call"));
  });
  await reactor.run();
  assertEquals(seen, ["stop returned", "due call", "before shutdown"]);
});

Deno.test("Reactor: a reactor stopped while a startup trigger holds startup never starts running", async () => {
  const reactor = new Reactor();
  const gate = new Deferred<void>();
  const seen: string[] = [];
  reactor.addSystemEventTrigger("before", "startup", () => gate);
  reactor.addSystemEventTrigger("after", "shutdown", () => seen.push("shut"));
  const done = reactor.run();
  reactor.stop();
  await done;
  assertEquals(seen, ["shut"]);
  gate.callback();
  // No running reactor and no signal handlers left behind (the sanitizer
  // would see those).
  assertFalse(reactor.running);
  assertThrows(() => reactor.stop(), ReactorNotRunning);
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
    () => fail(new RangeError("trigger's Deferred failed")),
  );
  reactor.addSystemEventTrigger(
    "during",
    "shutdown",
    () => Promise.reject(new EvalError("trigger's Promise rejected")),
  );
  reactor.addSystemEventTrigger("after", "shutdown", () => seen.push("after"));
  reactor.callWhenRunning(() => reactor.stop());
  await reactor.run();
  assertEquals(seen, ["after"]);
  assertEquals(logs.flushErrors(TypeError).length, 1);
  // Nobody handled the Deferred's failure: reported at the end of shutdown.
  assertEquals(logs.flushErrors(RangeError).length, 1);
  assertEquals(logs.flushErrors(EvalError).length, 1);
  assertEquals(logs.errors(), []);
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
  assert(pending.cancelled);
  assertEquals(reactor.getDelayedCalls(), []);
  assertEquals(logs.flushErrors(EvalError).length, 1);
  assertStringIncludes(
    logs.events.at(-1)?.message ?? "",
    "Unhandled error in Deferred",
  );
  d!.addErrback(() => {});
});

Deno.test("Reactor: a call scheduled after shutdown still runs", async () => {
  const reactor = new Reactor();
  reactor.callWhenRunning(() => reactor.stop());
  await reactor.run();
  let ran = false;
  reactor.callLater(0, () => (ran = true));
  await later(reactor, 0.001);
  assert(ran);
});

Deno.test("Reactor: stop when not running raises ReactorNotRunning; run twice raises; no restart", async () => {
  const reactor = new Reactor();
  assertThrows(
    () => reactor.stop(),
    ReactorNotRunning,
    "Can't stop reactor that isn't running",
  );
  const seen: string[] = [];
  reactor.addSystemEventTrigger("before", "shutdown", () => {
    assertThrows(() => reactor.run(), ReactorAlreadyRunning);
    seen.push("before");
  });
  reactor.addSystemEventTrigger("after", "shutdown", () => {
    // As Twisted's test_runAfterStop: stopped means not restartable.
    assertThrows(() => reactor.run(), ReactorNotRestartable);
    seen.push("after");
  });
  reactor.callWhenRunning(() => {
    assertThrows(() => reactor.run(), ReactorAlreadyRunning);
    reactor.stop();
    assertThrows(() => reactor.stop(), ReactorNotRunning);
  });
  await reactor.run();
  assertEquals(seen, ["before", "after"]);
  assertThrows(() => reactor.run(), ReactorNotRestartable);
  assertThrows(() => reactor.stop(), ReactorNotRunning);
});

// --- system event triggers ---------------------------------------------------

Deno.test("Reactor: removeSystemEventTrigger removes a pending trigger; a bad handle is a TypeError", async () => {
  const reactor = new Reactor();
  const seen: string[] = [];
  const id = reactor.addSystemEventTrigger(
    "before",
    "shutdown",
    () => seen.push("removed"),
  );
  reactor.addSystemEventTrigger("before", "shutdown", () => seen.push("kept"));
  reactor.removeSystemEventTrigger(id);
  assertThrows(
    () => reactor.removeSystemEventTrigger(id),
    TypeError,
    `Invalid trigger handle "before shutdown #${id.id}"`,
  );
  assertThrows(
    () => reactor.removeSystemEventTrigger(null as unknown as typeof id),
    TypeError,
  );
  assertThrows(
    () =>
      reactor.removeSystemEventTrigger({
        ...id,
        phase: "sometime" as "before",
      }),
    TypeError,
  );
  assertThrows(
    () =>
      reactor.addSystemEventTrigger(
        "sometime" as "before",
        "shutdown",
        () => {},
      ),
    TypeError,
    'Invalid trigger phase "sometime"',
  );
  assertThrows(
    () =>
      reactor.addSystemEventTrigger(
        "before",
        "shutdown",
        undefined as unknown as () => void,
      ),
    TypeError,
  );
  const ran = reactor.addSystemEventTrigger("before", "custom", () => {});
  reactor.fireSystemEvent("custom");
  assertThrows(() => reactor.removeSystemEventTrigger(ran), TypeError);
  reactor.callWhenRunning(() => reactor.stop());
  await reactor.run();
  assertEquals(seen, ["kept"]);
});

Deno.test("Reactor: triggers added to a phase while it fires run in that phase; each runs once", () => {
  const reactor = new Reactor();
  const seen: string[] = [];
  reactor.addSystemEventTrigger("before", "custom", () => {
    seen.push("first");
    reactor.addSystemEventTrigger(
      "before",
      "custom",
      () => seen.push("before, added while firing"),
    );
    reactor.addSystemEventTrigger(
      "during",
      "custom",
      () => seen.push("during, added while firing"),
    );
  });
  reactor.addSystemEventTrigger("after", "custom", () => {
    seen.push("after");
    reactor.addSystemEventTrigger(
      "before",
      "custom",
      () => seen.push("next firing"),
    );
  });
  reactor.fireSystemEvent("custom");
  assertEquals(seen, [
    "first",
    "before, added while firing",
    "during, added while firing",
    "after",
  ]);
  reactor.fireSystemEvent("custom");
  reactor.fireSystemEvent("never-registered");
  assertEquals(seen.slice(4), ["next firing"]);
});

Deno.test("Reactor: triggers removed while their event fires do not run", () => {
  const reactor = new Reactor();
  const seen: string[] = [];
  reactor.addSystemEventTrigger("before", "custom", () => {
    reactor.removeSystemEventTrigger(pendingBefore);
    reactor.removeSystemEventTrigger(during);
  });
  const pendingBefore = reactor.addSystemEventTrigger(
    "before",
    "custom",
    () => seen.push("removed before"),
  );
  reactor.addSystemEventTrigger("before", "custom", () => seen.push("before"));
  const during = reactor.addSystemEventTrigger(
    "during",
    "custom",
    () => seen.push("removed during"),
  );
  reactor.addSystemEventTrigger("during", "custom", () => {
    reactor.removeSystemEventTrigger(pendingDuring);
  });
  const pendingDuring = reactor.addSystemEventTrigger(
    "during",
    "custom",
    () => seen.push("removed during (same phase)"),
  );
  reactor.addSystemEventTrigger("after", "custom", () => seen.push("after"));
  reactor.fireSystemEvent("custom");
  assertEquals(seen, ["before", "after"]);
});

Deno.test("Reactor: a trigger removed while a 'before' Deferred is pending does not run", () => {
  const reactor = new Reactor();
  const seen: string[] = [];
  const gate = new Deferred<void>();
  reactor.addSystemEventTrigger("before", "custom", () => gate);
  const during = reactor.addSystemEventTrigger(
    "during",
    "custom",
    () => seen.push("during"),
  );
  reactor.addSystemEventTrigger("after", "custom", () => seen.push("after"));
  reactor.fireSystemEvent("custom");
  reactor.removeSystemEventTrigger(during);
  gate.callback();
  assertEquals(seen, ["after"]);
});

Deno.test("Reactor: the next phase runs synchronously when the last pending Deferred fires, and results pass through", () => {
  const reactor = new Reactor();
  const seen: string[] = [];
  const first = new Deferred<string>();
  const second = new Deferred<string>();
  reactor.addSystemEventTrigger("before", "custom", () => first);
  reactor.addSystemEventTrigger("before", "custom", () => second);
  reactor.addSystemEventTrigger("during", "custom", () => seen.push("during"));
  reactor.addSystemEventTrigger("after", "custom", () => seen.push("after"));
  reactor.fireSystemEvent("custom");
  assertEquals(seen, []);
  first.callback("one");
  assertEquals(seen, []);
  second.callback("two");
  assertEquals(seen, ["during", "after"]);
  // The owner's callbacks still see the results.
  const results: string[] = [];
  first.addCallback((r) => results.push(r));
  second.addCallback((r) => results.push(r));
  assertEquals(results, ["one", "two"]);
});

Deno.test("Reactor: an already-fired Deferred from a trigger does not hold the phase", () => {
  const reactor = new Reactor();
  const seen: string[] = [];
  const first = new Deferred<void>();
  reactor.addSystemEventTrigger("before", "custom", () => first);
  // A later 'before' trigger fires the earlier one's Deferred (Twisted's
  // test_subsequentBeforeTriggerFiresPriorBeforeDeferred).
  reactor.addSystemEventTrigger("before", "custom", () => first.callback());
  reactor.addSystemEventTrigger("during", "custom", () => seen.push("during"));
  reactor.fireSystemEvent("custom");
  assertEquals(seen, ["during"]);
});

Deno.test("Reactor: a failing Deferred from a trigger keeps its failure for its owner", () => {
  using logs = log.capture();
  const reactor = new Reactor();
  const seen: string[] = [];
  const d = new Deferred<void>();
  reactor.addSystemEventTrigger("before", "custom", () => d);
  reactor.addSystemEventTrigger("during", "custom", () => seen.push("during"));
  reactor.fireSystemEvent("custom");
  d.errback(new RangeError("the owner handles it"));
  assertEquals(seen, ["during"]);
  let trapped: Failure | undefined;
  d.addErrback((f) => {
    trapped = f;
  });
  assertInstanceOf(trapped?.value, RangeError);
  assertEquals(logs.errors(), []);
});

Deno.test("Reactor: events waiting on Deferreds do not wait for each other", () => {
  const reactor = new Reactor();
  const seen: string[] = [];
  const firstGate = new Deferred<void>();
  const secondGate = new Deferred<void>();
  reactor.addSystemEventTrigger("before", "first", () => firstGate);
  reactor.addSystemEventTrigger("after", "first", () => seen.push("first"));
  reactor.addSystemEventTrigger("before", "second", () => secondGate);
  reactor.addSystemEventTrigger("after", "second", () => seen.push("second"));
  reactor.fireSystemEvent("first");
  reactor.fireSystemEvent("second");
  assertEquals(seen, []);
  firstGate.callback();
  assertEquals(seen, ["first"]);
  secondGate.callback();
  assertEquals(seen, ["first", "second"]);
});

// --- timed calls -------------------------------------------------------------

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

Deno.test("Reactor: a due call cancelled in the same pass does not run; one reset in it runs later", async () => {
  const reactor = new Reactor();
  const seen: string[] = [];
  reactor.callLater(0, () => {
    seen.push("first");
    cancelled.cancel();
    moved.reset(0);
    delayed.delay(0);
  });
  const cancelled = reactor.callLater(0, () => seen.push("cancelled"));
  const moved = reactor.callLater(0, () => seen.push("moved"));
  const delayed = reactor.callLater(0, () => seen.push("delayed"));
  reactor.callLater(0, () => seen.push("last"));
  await later(reactor, 0.005);
  // Back in the heap, both wait for the next pass; "delayed" kept its
  // (earlier) deadline.
  assertEquals(seen, ["first", "last", "delayed", "moved"]);
  assertFalse(cancelled.active());
});

Deno.test("Reactor: a call cannot cancel, reset or delay itself while it runs", async () => {
  const reactor = new Reactor();
  const errors: string[] = [];
  const call = reactor.callLater(0, () => {
    for (
      const f of [() => call.cancel(), () => call.reset(1), () => call.delay(1)]
    ) {
      try {
        f();
      } catch (e) {
        errors.push((e as Error).name);
      }
    }
  });
  await later(reactor, 0.001);
  assertEquals(errors, ["AlreadyCalled", "AlreadyCalled", "AlreadyCalled"]);
  assert(call.called);
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

Deno.test("Reactor: an earlier deadline than the armed timer's re-arms it", async () => {
  const reactor = new Reactor();
  const far = reactor.callLater(60, () => {});
  const start = performance.now();
  await later(reactor, 0.01);
  assertLess(performance.now() - start, 5_000);
  // Cancelling the earliest call leaves the later ones on time, not early.
  let ranEarly = false;
  const first = reactor.callLater(0.01, () => {});
  reactor.callLater(0.04, () => (ranEarly = true));
  first.cancel();
  await later(reactor, 0.02);
  assertFalse(ranEarly);
  await later(reactor, 0.03);
  assert(ranEarly);
  assert(far.active());
  far.cancel();
});

Deno.test("Reactor: getDelayedCalls lists the pending calls earliest first", () => {
  const reactor = new Reactor();
  const c = reactor.callLater(30, () => {});
  const a = reactor.callLater(10, () => {});
  const b = reactor.callLater(20, () => {});
  const gone = reactor.callLater(15, () => {});
  gone.cancel();
  assertEquals(reactor.getDelayedCalls(), [a, b, c]);
  b.reset(5);
  assertEquals(reactor.getDelayedCalls(), [b, a, c]);
  for (const call of [a, b, c]) call.cancel();
  assertEquals(reactor.getDelayedCalls(), []);
});

Deno.test("Reactor: callLater rejects bad delays and non-functions", () => {
  const reactor = new Reactor();
  assertThrows(
    () => reactor.callLater(-1, () => {}),
    RangeError,
    'Invalid delay "-1"',
  );
  assertThrows(() => reactor.callLater(NaN, () => {}), RangeError);
  assertThrows(() => reactor.callLater(Infinity, () => {}), RangeError);
  assertThrows(
    () => reactor.callLater(1, "nope" as unknown as () => void),
    TypeError,
    'Invalid callable "nope"',
  );
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
  // With setTimeout's clamp (about 2 ms each here) they would take 400 ms.
  assert(
    elapsed < 150,
    `200 chained zero-delay calls took ${elapsed.toFixed(1)} ms`,
  );
});

Deno.test("Reactor: a delay beyond what setTimeout holds is re-armed, not fired at once", async () => {
  const reactor = new Reactor();
  let fired = false;
  const far = reactor.callLater(2 ** 32 / 1000, () => (fired = true)); // 2^32 ms
  await later(reactor, 0.02);
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
  reactor.callLater(0, () => seen.push("same pass"));
  reactor.callLater(0.01, () => {
    seen.push("still running");
    reactor.stop();
  });
  await reactor.run();
  assertEquals(seen, ["same pass", "still running"]);
  assertEquals(logs.flushErrors(SyntaxError).length, 1);
  assertEquals(logs.flushErrors(URIError).length, 1);
  assertStringIncludes(
    logs.events[0].message,
    "Unhandled error in delayed call",
  );
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
  assertThrows(() => defaultReactor.stop(), ReactorNotRunning);
});

Deno.test("ReactorBase runs on its own, with shutdownTimeout defaulting to 5", async () => {
  const reactor = new ReactorBase();
  assertEquals(reactor.shutdownTimeout, 5);
  const seen: string[] = [];
  reactor.callWhenRunning(() => {
    seen.push("running");
    reactor.stop();
  });
  await reactor.run({ installSignalHandlers: false });
  assertEquals(seen, ["running"]);
  assertFalse(reactor.running);
});

// --- the process -------------------------------------------------------------

interface FixtureRun {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a fixture in a child `deno`; for each step, waits until its stdout
 * includes `text`, then sends `signal`. Every wait is bounded.
 */
async function runFixture(
  name: string,
  args: string[] = [],
  steps: { text: string; signal: Deno.Signal }[] = [],
): Promise<FixtureRun> {
  const child = new Deno.Command(DENO, {
    args: ["run", ...denoFlags(), `tests/fixtures/${name}`, ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let stdout = "";
  const reader = child.stdout.getReader();
  try {
    for (const { text, signal } of steps) {
      while (!stdout.includes(text)) {
        const { value, done } = await withTimeout(
          reader.read(),
          20_000,
          `"${text}" from ${name}`,
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
  } catch (e) {
    child.kill("SIGKILL");
    throw e;
  } finally {
    reader.releaseLock();
    await child.stdout.cancel();
  }
  const status = await withTimeout(child.status, 20_000, `${name} to exit`);
  return {
    code: status.code,
    signal: status.signal,
    stdout,
    stderr: await stderr,
  };
}

Deno.test("Reactor: the process exits by itself with code 0 after stop()", async () => {
  const { code, stdout, stderr } = await runFixture("reactor_stop.ts");
  assertEquals(code, 0, stderr);
  assertEquals(stdout, "after shutdown\nshutdown complete\n");
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.test({
    name:
      `Reactor: ${signal} stops the reactor gracefully and the process exits 0`,
    ignore: Deno.build.os === "windows",
    fn: async () => {
      const { code, stdout, stderr } = await runFixture(
        "reactor_signal.ts",
        [],
        [{ text: "running", signal }],
      );
      assertEquals(code, 0, stderr);
      assertEquals(stdout, "running\nbefore shutdown\nshutdown complete\n");
    },
  });
}

Deno.test({
  name:
    "Reactor: a second SIGINT during a slow shutdown exits at once with code 130; one right after the first is that one delivered twice",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const { code, stdout, stderr } = await runFixture(
      "reactor_signal.ts",
      ["slow"],
      [
        { text: "running", signal: "SIGINT" },
        // Within 250 ms of the first, as `deno task` or a terminal's process
        // group delivers one Ctrl-C: ignored.
        { text: "before shutdown", signal: "SIGINT" },
        { text: "still shutting down", signal: "SIGINT" },
      ],
    );
    assertEquals(code, 130, stderr);
    assertEquals(stdout, "running\nbefore shutdown\nstill shutting down\n");
    assertStringIncludes(stderr, "Received SIGINT while shutting down");
  },
});

Deno.test({
  name:
    "Reactor: run({ installSignalHandlers: false }) leaves SIGINT its default action",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const { signal, stdout } = await runFixture(
      "reactor_signal.ts",
      ["no-handlers"],
      [{ text: "running", signal: "SIGINT" }],
    );
    assertEquals(signal, "SIGINT");
    assertEquals(stdout, "running\n");
  },
});
