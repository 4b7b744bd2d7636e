import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { Clock } from "../../src/internet/task/clock.ts";
import { LoopingCall } from "../../src/internet/task/looping_call.ts";
import { deferLater, react } from "../../src/internet/task/helpers.ts";
import {
  coiterate,
  Cooperator,
  NotPaused,
  SchedulerStopped,
  TaskDone,
  TaskStopped,
} from "../../src/internet/task/cooperator.ts";
import {
  CancelledError,
  Deferred,
  fail,
  succeed,
} from "../../src/internet/defer.ts";
import type { Failure } from "../../src/internet/failure.ts";
import { Reactor } from "../../src/internet/reactor.ts";
import { log } from "../../src/logger.ts";
import { DENO, denoFlags } from "../_helpers.ts";
import { spawn } from "../_processes.ts";

function looping<A extends unknown[]>(
  clock: Clock,
  f: (...args: A) => unknown,
  ...args: A
): LoopingCall<A> {
  const lc = new LoopingCall(f, ...args);
  lc.clock = clock;
  return lc;
}

Deno.test("LoopingCall calls at once and then every interval", () => {
  const clock = new Clock();
  const times: number[] = [];
  const lc = looping(clock, () => times.push(clock.seconds()));
  lc.start(0.5);
  clock.pump([0.5, 0.5, 0.5]);
  assertEquals(times, [0, 0.5, 1, 1.5]);
  assert(lc.running);
  assertEquals(lc.interval, 0.5);
  lc.stop();
  clock.advance(10);
  assertEquals(times.length, 4);
});

Deno.test("LoopingCall with now=false waits one interval first", () => {
  const clock = new Clock();
  const times: number[] = [];
  const lc = looping(clock, () => times.push(clock.seconds()));
  lc.start(2, false);
  assertEquals(times, []);
  clock.advance(2);
  assertEquals(times, [2]);
  lc.stop();
});

Deno.test("LoopingCall does not make up skipped intervals and stays on its grid", () => {
  const clock = new Clock();
  const times: number[] = [];
  const lc = looping(clock, () => times.push(clock.seconds()));
  lc.start(1);
  clock.advance(3.5); // the call due at 1 runs late, at 3.5
  assertEquals(times, [0, 3.5]);
  clock.advance(0.5); // next grid point is 4
  assertEquals(times, [0, 3.5, 4]);
  lc.stop();
});

Deno.test("LoopingCall.withCount passes how many intervals passed", () => {
  const clock = new Clock();
  const counts: number[] = [];
  const lc = LoopingCall.withCount((n) => counts.push(n));
  lc.clock = clock;
  lc.start(1);
  clock.advance(1);
  clock.advance(3);
  clock.advance(1);
  assertEquals(counts, [1, 1, 3, 1]);
  lc.stop();
  const zero = LoopingCall.withCount((n) => counts.push(n * 100));
  zero.clock = clock;
  zero.start(0);
  zero.stop();
  assertEquals(counts.at(-1), 100);
});

Deno.test("LoopingCall's Deferred fires with it on stop, and start/stop misuse is an error", async () => {
  const clock = new Clock();
  const lc = looping(clock, () => {});
  assertThrows(() => lc.stop(), Error, "not running");
  const d = lc.start(1);
  assertThrows(() => lc.start(1), Error, "already running");
  lc.stop();
  assertEquals(await d, lc);
  assertThrows(() => looping(clock, () => {}).start(-1), RangeError);
});

Deno.test("LoopingCall stops and errbacks when the function throws or its Deferred fails", () => {
  const clock = new Clock();
  let reason: Failure | undefined;
  const lc = looping(clock, () => {
    throw new RangeError("loop body failed");
  });
  lc.start(1).addErrback((f) => {
    reason = f;
  });
  assert(reason?.check(RangeError));
  assert(!lc.running);
  let reason2: Failure | undefined;
  let calls = 0;
  const lc2 = looping(
    clock,
    () => (++calls === 2
      ? fail(new SyntaxError("deferred failed"))
      : succeed(1)),
  );
  lc2.start(1).addErrback((f) => {
    reason2 = f;
  });
  clock.advance(1);
  assert(reason2?.check(SyntaxError));
  assertEquals(clock.getDelayedCalls(), []);
});

Deno.test("LoopingCall waits for the function's Deferred before scheduling the next call", () => {
  const clock = new Clock();
  const pending: Deferred<void>[] = [];
  const lc = looping(clock, () => {
    const d = new Deferred<void>();
    pending.push(d);
    return d;
  });
  let stopped = false;
  lc.start(1).addCallback(() => (stopped = true));
  clock.advance(5);
  assertEquals(pending.length, 1);
  lc.stop(); // stop while the Deferred is pending: fires when it does
  assertEquals(stopped, false);
  pending[0].callback();
  assertEquals(stopped, true);
});

Deno.test("LoopingCall.reset skips the next call and restarts the grid", () => {
  const clock = new Clock();
  const times: number[] = [];
  const lc = looping(clock, () => times.push(clock.seconds()));
  lc.start(2);
  clock.advance(1);
  lc.reset();
  clock.advance(1.5);
  assertEquals(times, [0]);
  clock.advance(0.5);
  assertEquals(times, [0, 3]);
  lc.stop();
});

Deno.test("LoopingCall passes its arguments, and defaults to the shared reactor as its clock", () => {
  const clock = new Clock();
  const seen: unknown[] = [];
  const lc = looping(clock, (a: string, b: number) => seen.push(a, b), "x", 1);
  lc.start(1);
  lc.stop();
  assertEquals(seen, ["x", 1]);
  assertEquals(typeof new LoopingCall(() => {}).clock.callLater, "function");
});

Deno.test("deferLater fires with the function's result after the delay, or undefined without one", () => {
  const clock = new Clock();
  const seen: unknown[] = [];
  deferLater(clock, 3, (a: number, b: number) => a + b, 1, 2).addCallback((v) =>
    seen.push(v)
  );
  deferLater(clock, 1).addCallback((v) => seen.push(v));
  clock.advance(1);
  assertEquals(seen, [undefined]);
  clock.advance(2);
  assertEquals(seen, [undefined, 3]);
  let reason: Failure | undefined;
  deferLater(clock, 1, () => {
    throw new TypeError("later");
  }).addErrback((f) => {
    reason = f;
  });
  clock.advance(1);
  assert(reason?.check(TypeError));
});

Deno.test("deferLater is cancellable: the call is cancelled and the Deferred fails with CancelledError", () => {
  const clock = new Clock();
  let called = false;
  let reason: Failure | undefined;
  const d = deferLater(clock, 1, () => (called = true));
  d.addErrback((f) => {
    reason = f;
  });
  d.cancel();
  assert(reason?.check(CancelledError));
  assertEquals(clock.getDelayedCalls(), []);
  clock.advance(2);
  assertEquals(called, false);
});

/** A Cooperator whose ticks run only when the test says so. */
function manualCooperator(
  stepsPerTick = 1,
): { coop: Cooperator; tick: () => boolean } {
  const ticks: (() => void)[] = [];
  const coop = new Cooperator({
    scheduler: (f) => {
      ticks.push(f);
      return { cancel: () => ticks.splice(ticks.indexOf(f), 1) };
    },
    terminationPredicateFactory: () => {
      let n = 0;
      return () => ++n >= stepsPerTick;
    },
  });
  return {
    coop,
    tick: () => {
      const f = ticks.shift();
      f?.();
      return f !== undefined;
    },
  };
}

function* counter(
  into: number[],
  name: number,
  n: number,
): Generator<undefined> {
  for (let i = 0; i < n; i++) {
    into.push(name * 10 + i);
    yield;
  }
}

Deno.test("Cooperator runs tasks round-robin and whenDone fires with the iterator", async () => {
  const { coop, tick } = manualCooperator();
  const seen: number[] = [];
  const it = counter(seen, 1, 2);
  const a = coop.cooperate(it);
  coop.cooperate(counter(seen, 2, 2));
  const done = a.whenDone();
  while (tick());
  assertEquals(seen, [10, 20, 11, 21]);
  assertEquals(await done, it);
  // whenDone after completion fires at once
  assertEquals(await a.whenDone(), it);
});

Deno.test("CooperativeTask pause/resume/stop, with NotPaused and TaskStopped", () => {
  const { coop, tick } = manualCooperator();
  const seen: number[] = [];
  const task = coop.cooperate(counter(seen, 1, 5));
  tick();
  task.pause();
  task.pause();
  assertEquals(tick(), false);
  task.resume();
  assertEquals(tick(), false);
  task.resume();
  assertThrows(() => task.resume(), NotPaused);
  tick();
  assertEquals(seen, [10, 11]);
  let reason: Failure | undefined;
  task.whenDone().addErrback((f) => {
    reason = f;
  });
  task.stop();
  assert(reason?.check(TaskStopped));
  assertThrows(() => task.stop(), TaskStopped);
  assertThrows(() => task.pause(), TaskStopped);
});

Deno.test("A task yielding a Deferred waits for it; a failing one fails the task", () => {
  const { coop, tick } = manualCooperator();
  const gate = new Deferred<void>();
  const seen: string[] = [];
  function* job(): Generator<unknown> {
    seen.push("before");
    yield gate;
    seen.push("after");
  }
  const task = coop.cooperate(job());
  tick();
  assertEquals(tick(), false);
  gate.callback();
  tick();
  tick();
  assertEquals(seen, ["before", "after"]);
  let finished = false;
  task.whenDone().addCallback(() => (finished = true));
  assert(finished);
  function* broken(): Generator<unknown> {
    yield fail(new EvalError("yielded failure"));
  }
  let reason: Failure | undefined;
  coop.cooperate(broken()).whenDone().addErrback((f) => {
    reason = f;
  });
  tick();
  assert(reason?.check(EvalError));
  function* throws(): Generator<unknown> {
    if (seen.length > 0) throw new URIError("iterator threw");
    yield;
  }
  let reason2: Failure | undefined;
  coop.cooperate(throws()).whenDone().addErrback((f) => {
    reason2 = f;
  });
  tick();
  assert(reason2?.check(URIError));
});

Deno.test("Cooperator schedules its ticks on the clock it is given", () => {
  const clock = new Clock();
  const coop = new Cooperator({
    clock,
    terminationPredicateFactory: () => () => true, // one step per tick
  });
  const order: number[] = [];
  const done = coop.coiterate(counter(order, 1, 2));
  let finished = false;
  done.addCallback(() => (finished = true));
  assertEquals(clock.getDelayedCalls().map((c) => c.getTime()), [0]);
  for (let i = 0; i < 5 && !finished; i++) clock.advance(0);
  assert(finished);
  assertEquals(order.length, 2);
  assertEquals(clock.getDelayedCalls(), []);
});

Deno.test("Cooperator.stop fails every task with SchedulerStopped; new tasks fail at once", () => {
  const { coop } = manualCooperator();
  let reason: Failure | undefined;
  coop.cooperate(counter([], 1, 3)).whenDone().addErrback((f) => {
    reason = f;
  });
  coop.stop();
  assert(reason?.check(SchedulerStopped));
  assert(!coop.running);
  let reason2: Failure | undefined;
  coop.cooperate(counter([], 2, 3)).whenDone().addErrback((f) => {
    reason2 = f;
  });
  assert(reason2?.check(SchedulerStopped));
});

Deno.test("A Cooperator made with started: false schedules nothing until start()", () => {
  const ticks: (() => void)[] = [];
  const coop = new Cooperator({
    started: false,
    scheduler: (f) => (ticks.push(f), { cancel() {} }),
  });
  coop.cooperate(counter([], 1, 1));
  assertEquals(ticks.length, 0);
  coop.start();
  assertEquals(ticks.length, 1);
  assert(coop.running);
  assert(new TaskDone() instanceof Error);
});

Deno.test("coiterate runs on the shared reactor's time", async () => {
  const seen: number[] = [];
  const it = counter(seen, 3, 3);
  assertEquals(await coiterate(it), it);
  assertEquals(seen, [30, 31, 32]);
});

Deno.test("react runs the reactor until main settles and exits 0, or 1 after logging the failure", async () => {
  const codes: number[] = [];
  const r1 = new Reactor();
  await react(
    async (reactor: Reactor) => {
      await deferLater(reactor, 0.001);
    },
    [],
    { reactor: r1, exit: (c) => codes.push(c) },
  );
  using logs = log.capture();
  const r2 = new Reactor();
  await react((_reactor: Reactor, why: string) => fail(new RangeError(why)), [
    "main failed",
  ], {
    reactor: r2,
    exit: (c) => codes.push(c),
  });
  assertEquals(codes, [0, 1]);
  const [failure] = logs.flushErrors(RangeError);
  assertEquals(failure.getErrorMessage(), "main failed");
});

for (
  const [fixture, code, texts] of [
    ["task_react_ok.ts", 0, ["main done"]],
    // This one passes its own Reactor as the third argument, as Twisted's.
    ["task_react_fail.ts", 1, ["ran on the given reactor", "it broke"]],
  ] as const
) {
  Deno.test(`react exits the process with code ${code} (${fixture})`, async () => {
    await using child = spawn(DENO, [
      "run",
      ...denoFlags(),
      `tests/fixtures/${fixture}`,
    ]);
    const status = await child.wait();
    assertEquals(status.code, code);
    for (const text of texts) {
      assertStringIncludes(child.stdout() + child.stderr(), text);
    }
  });
}

Deno.test("a LoopingCall on a real reactor runs until stopped", async () => {
  const reactor = new Reactor();
  let n = 0;
  const lc = new LoopingCall(() => {
    if (++n === 3) lc.stop();
  });
  lc.clock = reactor;
  const result = await lc.start(0.001);
  assertInstanceOf(result, LoopingCall);
  assertEquals(n, 3);
});
