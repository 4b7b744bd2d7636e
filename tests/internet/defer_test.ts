// Deferred, DeferredList, gatherResults, the generators' drivers, the
// concurrency primitives and unhandled-failure reporting: the substance of
// Twisted's twisted/test/test_defer.py, plus what is Twist's own (Promises,
// `await` not consuming, reportUnhandledDeferreds).
import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  AlreadyCalledError,
  CancelledError,
  Deferred,
  DeferredList,
  type DeferredListResult,
  DeferredLock,
  DeferredQueue,
  DeferredSemaphore,
  ensureDeferred,
  fail,
  FirstError,
  gatherResults,
  inlineCallbacks,
  maybeDeferred,
  NotACoroutineError,
  QueueOverflow,
  QueueUnderflow,
  reportUnhandledDeferreds,
  succeed,
} from "../../src/internet/defer.ts";
import { type ErrorClass, Failure } from "../../src/internet/failure.ts";
import { Clock } from "../../src/internet/task/clock.ts";
import { TimeoutError } from "../../src/internet/error.ts";
import { Reactor } from "../../src/internet/reactor.ts";
import { log } from "../../src/logger.ts";
import { DENO, denoFlags, withTimeout } from "../_helpers.ts";
import { spawn } from "../_processes.ts";

// ---------------------------------------------------------------------------
// Helpers in the manner of trial's SynchronousTestCase.

/** The result `d` has right now; fails if it has none or it is a failure. */
function successResultOf<T>(d: Deferred<T>): T {
  assert(
    d.called && d.paused === 0 && !(d.result instanceof Deferred),
    `Expected a result, got ${d}`,
  );
  assertFalse(d.result instanceof Failure, `Expected success, got ${d}`);
  return d.result as T;
}

/** The failure `d` has right now (of one of `types`), which is then handled. */
function failureResultOf(
  d: Deferred<unknown>,
  ...types: ErrorClass[]
): Failure {
  assert(
    d.called && d.result instanceof Failure,
    `Expected a failure, got ${d}`,
  );
  const failure = d.result;
  if (types.length > 0) {
    assert(failure.check(...types) !== null, `Unexpected ${failure}`);
  }
  d.addErrback(() => undefined);
  return failure;
}

/** Fails if `d` has a result now. */
function assertNoResult(d: Deferred<unknown>): void {
  assert(
    !d.called || d.paused > 0 || d.result instanceof Deferred,
    `Expected no result, got ${d}`,
  );
}

/** Swallows a Deferred's failure so it is not reported as unhandled. */
const handled = (d: Deferred<unknown>): void => {
  d.addErrback(() => undefined);
};

/** A canceller that fires the Deferred with a result of its own. */
const callbackCanceller = (d: Deferred<string>): void =>
  d.callback("Callback Result");

// ---------------------------------------------------------------------------
// Firing and chaining

Deno.test("Deferred: callbacks run in order, each getting the previous result", () => {
  const d = new Deferred<number>();
  const seen: unknown[] = [];
  d.addCallback((n) => n + 1).addCallback((n) => {
    seen.push(n);
    return `${n}`;
  }).addCallback((s) => seen.push(s));
  assertEquals(seen, []);
  assertFalse(d.called);
  d.callback(1);
  assertEquals(seen, [2, "2"]);
  assert(d.called);
});

Deno.test("Deferred: callbacks added after firing run at once", () => {
  const d = succeed("now");
  let got = "";
  d.addCallback((v) => (got = v));
  assertEquals(got, "now");
  let message = "";
  fail(new Error("failed already")).addErrback((f) => {
    message = f.getErrorMessage();
  });
  assertEquals(message, "failed already");
});

Deno.test("Deferred: extra arguments reach callbacks and errbacks", () => {
  const seen: unknown[] = [];
  succeed(1).addCallback(
    (r: number, a: string, b: number) => seen.push(r, a, b),
    "x",
    2,
  );
  fail(new Error("e")).addErrback(
    (f: Failure, a: string) => seen.push(f.getErrorMessage(), a),
    "y",
  );
  succeed(0).addBoth((r: unknown, tag: string) => seen.push(r, tag), "both");
  const d = new Deferred<number>();
  d.addCallbacks(
    (r: number, tag: string) => seen.push(r, tag),
    (_f: Failure, tag: string) => seen.push(tag),
    { callbackArgs: ["cb"], errbackArgs: ["eb"] },
  );
  d.callback(3);
  const e = new Deferred<number>();
  e.addCallbacks(
    (_r: number, tag: string) => seen.push(tag),
    (f: Failure, tag: string) => seen.push(f.getErrorMessage(), tag),
    { callbackArgs: ["cb"], errbackArgs: ["eb"] },
  );
  e.errback(new Error("e2"));
  assertEquals(seen, [1, "x", 2, "e", "y", 0, "both", 3, "cb", "e2", "eb"]);
});

Deno.test("Deferred: addCallbacks with a null errback or callback passes that path through", () => {
  const d = new Deferred<number>();
  d.addCallbacks((n) => n * 2, null);
  d.callback(4);
  assertEquals(successResultOf(d), 8);
  const e = fail<number>(new RangeError("passes"));
  e.addCallbacks(null, null);
  e.addCallbacks((n) => n, null);
  failureResultOf(e, RangeError);
});

Deno.test("Deferred: an errback at the same level as a callback does not see the callback's error", () => {
  const seen: string[] = [];
  const d = new Deferred<number>();
  d.addCallbacks(
    () => {
      throw new Error("from the callback");
    },
    () => seen.push("same-level errback"),
  ).addErrback((f) => seen.push(`next errback: ${f.getErrorMessage()}`));
  d.callback(1);
  assertEquals(seen, ["next errback: from the callback"]);
});

Deno.test("Deferred: a throwing callback switches to the errback path and a returning errback recovers", () => {
  const d = new Deferred<number>();
  const seen: string[] = [];
  d.addCallback(() => {
    throw new RangeError("bad");
  })
    .addCallback(() => seen.push("skipped"))
    .addErrback((f) => {
      seen.push(`errback ${f.getErrorMessage()}`);
      return "recovered";
    })
    .addErrback(() => seen.push("skipped too"))
    .addCallback((v) => seen.push(`callback ${v}`));
  d.callback(0);
  assertEquals(seen, ["errback bad", "callback recovered"]);
});

Deno.test("Deferred: a trap that does not match keeps the same error on the errback path", () => {
  const err = new SyntaxError("not what was trapped");
  const d = fail(err).addErrback((f) => {
    f.trap(RangeError);
    return "unreachable";
  });
  assertStrictEquals(failureResultOf(d, SyntaxError).value, err);
});

Deno.test("Deferred: returning a Failure from a callback continues on the errback path", () => {
  const seen: string[] = [];
  succeed(1)
    .addCallback(() => new Failure(new TypeError("as a value")))
    .addErrback((f) => seen.push(f.check(TypeError) ? "trapped" : "wrong"));
  assertEquals(seen, ["trapped"]);
});

Deno.test("Deferred: thrown non-Error values become failures too", () => {
  const d = succeed(1).addCallback(() => {
    throw "a plain string";
  });
  assertEquals(failureResultOf(d).value, "a plain string");
});

Deno.test("Deferred: addBoth sees results and failures", () => {
  const seen: unknown[] = [];
  succeed(1).addBoth((r) => seen.push(r));
  fail(new Error("x")).addBoth((r) => seen.push(r instanceof Failure));
  assertEquals(seen, [1, true]);
});

Deno.test("Deferred: firing twice raises AlreadyCalledError, whatever the combination", () => {
  const fire = [
    (d: Deferred<unknown>) => d.callback(1),
    (d: Deferred<unknown>) => d.errback(new Error("x")),
  ];
  for (const first of fire) {
    for (const second of fire) {
      const d = new Deferred<unknown>();
      first(d);
      assertThrows(() => second(d), AlreadyCalledError);
      handled(d);
    }
  }
});

Deno.test("Deferred: firing with a Deferred is refused", () => {
  assertThrows(
    () => new Deferred<unknown>().callback(new Deferred()),
    TypeError,
    "chainDeferred",
  );
});

Deno.test("Deferred: errback without a reason still fails with an Error", () => {
  const d = new Deferred();
  d.errback();
  const f = failureResultOf(d, Error);
  assertEquals(
    f.getErrorMessage(),
    "Deferred.errback() was called without a reason",
  );
});

Deno.test("Deferred: errback wraps an Error in a Failure and keeps a Failure as is", () => {
  const err = new URIError("wrapped");
  const d = new Deferred();
  d.errback(err);
  assertStrictEquals(failureResultOf(d).value, err);
  const f = new Failure(err);
  const e = new Deferred();
  e.errback(f);
  assertStrictEquals(failureResultOf(e), f);
});

Deno.test("Deferred: a callback added by a running callback goes to the end of the chain and runs after it returns", () => {
  const d = new Deferred<void>();
  const called: number[] = [];
  d.addCallback(() => {
    called.push(1);
    d.addCallback(() => called.push(3));
    assertEquals(called, [1]); // not run re-entrantly
  });
  d.addCallback(() => {
    called.push(2);
  });
  d.callback();
  assertEquals(called, [1, 2, 3]);
});

Deno.test("Deferred: an error in a callback added by a callback goes to the next errback", () => {
  const d = new Deferred<void>();
  d.addCallback(() => {
    d.addCallback(() => {
      throw new Error("callback raised exception");
    });
  });
  d.callback();
  assertEquals(
    failureResultOf(d).getErrorMessage(),
    "callback raised exception",
  );
});

Deno.test("Deferred: a callback that returns its own Deferred fails the chain instead of hanging", () => {
  const d = new Deferred<string>();
  d.addCallback(() => d as unknown as string);
  d.callback("foo");
  assertStringIncludes(
    failureResultOf(d, TypeError).getErrorMessage(),
    "returned the Deferred it was attached to",
  );
});

Deno.test("Deferred: toString says whether it is pending, fired, failed or waiting", () => {
  assertEquals(String(new Deferred()), "<Deferred (pending)>");
  assertEquals(String(succeed("orange")), "<Deferred (fired: orange)>");
  const failed = fail(new Error("no"));
  assertEquals(String(failed), "<Deferred (failed: no)>");
  handled(failed);
  const waiting = succeed(1).addCallback(() => new Deferred());
  assertEquals(String(waiting), "<Deferred (waiting on a Deferred)>");
});

// ---------------------------------------------------------------------------
// Deferreds returned by callbacks (implicit chaining)

Deno.test("Deferred: a callback returning a pending Deferred pauses the chain until it fires", () => {
  const outer = new Deferred<number>();
  const inner = new Deferred<string>();
  const seen: unknown[] = [];
  outer.addCallback(() => inner).addCallback((v) => seen.push(v));
  outer.callback(1);
  assertEquals(seen, []);
  assertStrictEquals(outer.result, inner);
  assertNoResult(outer);
  inner.callback("inner result");
  assertEquals(seen, ["inner result"]);
  // The inner Deferred's result was handed over: it now holds undefined.
  assertEquals(inner.result, undefined);
});

Deno.test("Deferred: a fired Deferred returned by a callback gives its result and keeps undefined", () => {
  const marker = { id: "result" };
  const first = succeed(marker);
  const second = new Deferred<void>();
  second.addCallback(() => first);
  second.callback();
  assertEquals(successResultOf(first), undefined);
  assertStrictEquals(successResultOf(second), marker);
});

Deno.test("Deferred: a pending Deferred returned by a callback hands over its result when it fires", () => {
  const first = new Deferred<object>();
  const second = new Deferred<void>();
  second.addCallback(() => first);
  second.callback();
  const firstResults: unknown[] = [];
  const secondResults: unknown[] = [];
  first.addCallback((r) => firstResults.push(r));
  second.addCallback((r) => secondResults.push(r));
  assertEquals([firstResults, secondResults], [[], []]);
  const marker = { id: "result" };
  first.callback(marker);
  // first's callback comes after the handover point, so it sees undefined.
  assertEquals(firstResults, [undefined]);
  assertEquals(secondResults.length, 1);
  assertStrictEquals(secondResults[0], marker);
});

Deno.test("Deferred: a failed Deferred returned by a callback hands over its failure and is not reported", () => {
  using logs = log.capture();
  const first = fail(new EvalError("First Deferred's Failure"));
  const second = new Deferred<void>();
  second.addCallback(() => first);
  second.callback();
  assertEquals(successResultOf(first), undefined);
  failureResultOf(second, EvalError);
  assertEquals(reportUnhandledDeferreds(), 0);
  assertEquals(logs.errors(), []);
});

Deno.test("Deferred: a Deferred that fails later hands its failure to the one waiting on it", () => {
  const first = new Deferred<void>();
  const second = new Deferred<void>();
  second.addCallback(() => first);
  second.callback();
  const secondErrors: Failure[] = [];
  second.addErrback((f) => {
    secondErrors.push(f);
  });
  const firstResults: unknown[] = [];
  first.addCallback((r) => firstResults.push(r));
  first.errback(new EvalError("First Deferred's Failure"));
  assert(secondErrors[0]?.check(EvalError));
  assertEquals(firstResults, [undefined]);
});

Deno.test("Deferred: chaining is transitive", () => {
  const first = new Deferred<unknown>();
  const second = new Deferred<unknown>();
  const third = new Deferred<unknown>();
  second.addCallback(() => first);
  third.addCallback(() => second);
  const thirdResult: unknown[] = [];
  third.addCallback((r) => thirdResult.push(r));
  second.callback(undefined); // second waits on first
  third.callback(undefined); // third waits on second
  assertEquals(thirdResult, []);
  first.callback("result");
  assertEquals(thirdResult, ["result"]);
});

Deno.test("Deferred: callbacks added to the middle Deferred after chaining run once the last fires", () => {
  const first = new Deferred<void>();
  const second = new Deferred<void>();
  const third = new Deferred<void>();
  first.addCallback(() => second);
  second.addCallback(() => third);
  second.callback();
  first.callback();
  third.callback();
  const results: unknown[] = [];
  second.addCallback((r) => results.push(r));
  assertEquals(results, [undefined]);
});

Deno.test("Deferred: a nested Deferred waiting on a third runs its callbacks before the outer goes on", () => {
  const results: unknown[] = [];
  const inner = new Deferred<string>();
  const outer = succeed("outer");
  outer.addCallback((result) => {
    results.push(["start-of-cb", result]);
    return succeed("inner")
      .addCallback(() => {
        results.push(["firstCallback", "inner"]);
        return inner;
      })
      .addCallback((r) => {
        results.push(["secondCallback", r]);
        return r + r;
      });
  });
  outer.addCallback((r) => results.push(r));
  assertEquals(results, [["start-of-cb", "outer"], ["firstCallback", "inner"]]);
  inner.callback("orange");
  assertEquals(results, [
    ["start-of-cb", "outer"],
    ["firstCallback", "inner"],
    ["secondCallback", "orange"],
    "orangeorange",
  ]);
});

Deno.test("Deferred: a callback added to a returned Deferred before it is returned transforms what the outer gets", () => {
  const results: unknown[] = [];
  const inner = new Deferred<string>();
  const outer = succeed("outer");
  outer.addCallback(() =>
    succeed("inner")
      .addCallback(() => inner.addCallback((r) => [r]))
      .addCallback((r: string[]) => {
        results.push(["secondCallback", r]);
        return [...r, ...r];
      })
  );
  outer.addCallback((r) => results.push(r));
  inner.callback("withers");
  assertEquals(results, [["secondCallback", ["withers"]], [
    "withers",
    "withers",
  ]]);
});

Deno.test("Deferred: the continuation need not be the first callback of the Deferred waited on", () => {
  const results: unknown[] = [];
  const a = new Deferred<string>();
  const outer = new Deferred<string>();
  outer.addCallback((result) => {
    results.push(["cb", result]);
    const d = new Deferred<void>();
    d.addCallback(() => {
      results.push(["firstCallback"]);
      return gatherResults([a]);
    });
    d.addCallback((r) => {
      results.push(["secondCallback", r]);
    });
    d.callback();
    return d;
  });
  outer.addCallback(() => {
    results.push(["final"]);
  });
  outer.callback("outer");
  assertEquals(results, [["cb", "outer"], ["firstCallback"]]);
  a.callback("withers");
  assertEquals(results, [
    ["cb", "outer"],
    ["firstCallback"],
    ["secondCallback", ["withers"]],
    ["final"],
  ]);
});

Deno.test("Deferred: after handing its result over, a Deferred runs its remaining callbacks even if the receiver waits again", () => {
  const a = new Deferred<number>();
  const b = new Deferred<number>();
  const c = new Deferred<number>();
  const seen: unknown[] = [];
  b.addCallback(() => a).addCallback(() => c).addCallback((v) =>
    seen.push(["b", v])
  );
  b.callback(0);
  a.addCallback((v) => {
    seen.push(["a after handover", v]);
    return v;
  });
  a.callback(1);
  // b took a's 1, then started waiting on c; a's own later callback still ran.
  assertEquals(seen, [["a after handover", undefined]]);
  c.callback(2);
  assertEquals(seen, [["a after handover", undefined], ["b", 2]]);
});

Deno.test("Deferred: a long chain of Deferreds waiting on each other unwinds without overflowing the stack", () => {
  const N = 50_000;
  const ds = Array.from({ length: N }, () => new Deferred<number>());
  for (let i = 0; i < N - 1; i++) ds[i].addCallback(() => ds[i + 1]);
  let got = -1;
  ds[0].addCallback((v) => (got = v));
  // Each Deferred fires and then waits on the next, which has not fired yet.
  for (let i = 0; i < N - 1; i++) ds[i].callback(i);
  assertEquals(got, -1);
  // The innermost result travels back through all of them.
  ds[N - 1].callback(7);
  assertEquals(got, 7);
});

Deno.test("Deferred: the call stack depth at the end of a chain does not grow with the chain's length", () => {
  const depthFor = (howMany: number): number => {
    let depth = -1;
    const top = new Deferred<void>();
    const inners = Array.from({ length: howMany }, () => new Deferred<void>());
    const last = new Deferred<void>();
    top.addCallback(() => inners[0]);
    top.addCallback(() => {
      depth = (new Error().stack ?? "").split("\n").length;
    });
    inners.forEach((d, i) =>
      d.addCallback(() => (i + 1 < howMany ? inners[i + 1] : last))
    );
    top.callback();
    for (const d of inners) d.callback();
    assertEquals(depth, -1);
    last.callback();
    return depth;
  };
  const saved = Error.stackTraceLimit;
  Error.stackTraceLimit = Infinity;
  try {
    const one = depthFor(1);
    assertEquals(depthFor(2), one);
    assertEquals(depthFor(500), one);
  } finally {
    Error.stackTraceLimit = saved;
  }
});

Deno.test("Deferred: a callback returning a Promise pauses the chain until it settles", async () => {
  const d = new Deferred<number>();
  const seen: unknown[] = [];
  const done = d.addCallback(async (n) => {
    await Promise.resolve();
    return n * 10;
  }).addCallback((v) => seen.push(v));
  d.callback(4);
  assertEquals(seen, []);
  assertNoResult(d);
  await done;
  assertEquals(seen, [40]);
});

Deno.test("Deferred: a callback returning a rejected Promise continues on the errback path", async () => {
  const d = succeed(1).addCallback(() =>
    Promise.reject(new RangeError("rejected"))
  );
  const reason = await d.then(() => undefined, (e) => e);
  assertInstanceOf(reason, RangeError);
  failureResultOf(d, RangeError);
});

// ---------------------------------------------------------------------------
// pause / unpause / chainDeferred

Deno.test("Deferred: pause and unpause hold callbacks back, counting", () => {
  const d = new Deferred<number>();
  const seen: number[] = [];
  d.pause();
  d.addCallback((v) => seen.push(v));
  d.callback(1);
  assertEquals(seen, []);
  d.pause();
  d.unpause();
  assertEquals(seen, []);
  d.unpause();
  assertEquals(seen, [1]);
});

Deno.test("Deferred: a paused failure waits for unpause before the errbacks run", () => {
  const d = fail(new Error("fail"));
  d.pause();
  const seen: string[] = [];
  d.addErrback((f) => {
    seen.push(f.getErrorMessage());
  });
  assertEquals(seen, []);
  d.unpause();
  assertEquals(seen, ["fail"]);
});

Deno.test("Deferred: unpausing before any result just lets callbacks run when it comes", () => {
  const d = new Deferred<number>();
  d.pause();
  d.addCallback((n) => n + 1);
  d.unpause();
  assertNoResult(d);
  d.callback(1);
  assertEquals(successResultOf(d), 2);
});

Deno.test("Deferred: a paused Deferred returned by a callback keeps the outer waiting until unpaused", () => {
  const d1 = new Deferred<number>();
  const d2 = new Deferred<number>();
  d2.pause();
  d1.addCallback(() => d2);
  const seen: number[] = [];
  d1.addCallback((r) => seen.push(r));
  d1.callback(1);
  assertEquals(seen, []);
  d2.callback(2);
  assertEquals(seen, []);
  d2.unpause();
  assertEquals(seen, [2]);
});

Deno.test("Deferred: a paused Deferred with a result, returned by a callback, is waited for", () => {
  const marker = { id: "expected" };
  const paused = succeed(marker);
  paused.pause();
  const chained = new Deferred<void>();
  chained.addCallback(() => paused);
  chained.callback();
  const result: unknown[] = [];
  chained.addCallback((r) => result.push(r));
  assertEquals(result, []);
  paused.unpause();
  assertEquals(result.length, 1);
  assertStrictEquals(result[0], marker);
});

Deno.test("Deferred: a paused receiver does not stop the Deferred handing it a result from going on", () => {
  const first = new Deferred<void>();
  const second = new Deferred<void>();
  first.addCallback(() => second);
  first.callback();
  first.pause();
  second.callback();
  const result: unknown[] = [];
  second.addCallback((r) => result.push(r));
  assertEquals(result, [undefined]);
  first.unpause();
  assertEquals(successResultOf(first), undefined);
});

Deno.test("Deferred: chainDeferred passes the result on and leaves undefined behind", () => {
  const a = new Deferred<number>();
  const b = new Deferred<number>();
  const seen: unknown[] = [];
  b.addCallback((v) => seen.push(`b got ${v}`));
  a.chainDeferred(b);
  a.addCallback((v) => seen.push(`a then ${v}`));
  a.callback(5);
  assertEquals(seen, ["b got 5", "a then undefined"]);
});

Deno.test("Deferred: chainDeferred passes a failure on", () => {
  const a = new Deferred<number>();
  const b = new Deferred<number>();
  a.chainDeferred(b);
  a.errback(new RangeError("passed on"));
  assertEquals(successResultOf(a), undefined);
  failureResultOf(b, RangeError);
});

// ---------------------------------------------------------------------------
// Cancellation

Deno.test("Deferred: cancel without a canceller fails with CancelledError and ignores one later firing", () => {
  const d = new Deferred<number>();
  d.cancel();
  failureResultOf(d, CancelledError);
  d.callback(1); // the stopped operation finishing later is not an error
  assertThrows(() => d.callback(2), AlreadyCalledError);
  const e = new Deferred<number>();
  e.cancel();
  e.errback(new Error("late failure")); // ignored too
  failureResultOf(e, CancelledError);
});

Deno.test("Deferred: cancelling twice without a canceller fails once; cancel after the late result does nothing", () => {
  const d = new Deferred<number>();
  let errbacks = 0;
  d.addErrback(() => {
    errbacks++;
  });
  d.cancel();
  d.cancel();
  assertEquals(errbacks, 1);
  d.callback(1);
  d.cancel();
  assertEquals(errbacks, 1);
});

Deno.test("Deferred: the canceller is called once, with the Deferred", () => {
  const calls: Deferred<number>[] = [];
  const d = new Deferred<number>((self) => calls.push(self));
  d.cancel();
  d.cancel();
  assertEquals(calls.length, 1);
  assertStrictEquals(calls[0], d);
  failureResultOf(d, CancelledError);
});

Deno.test("Deferred: with a canceller that does not fire it, a later firing is an error", () => {
  const d = new Deferred<string>(() => {});
  d.cancel();
  failureResultOf(d, CancelledError);
  assertThrows(() => d.callback("late"), AlreadyCalledError);
  assertThrows(() => d.errback(new Error("late")), AlreadyCalledError);
});

Deno.test("Deferred: a canceller may fire the Deferred itself, with a result or a failure", () => {
  const d = new Deferred<string>(callbackCanceller);
  d.cancel();
  assertEquals(successResultOf(d), "Callback Result");
  const e = new Deferred<string>((self) =>
    self.errback(new SyntaxError("canceller failed it"))
  );
  e.cancel();
  failureResultOf(e, SyntaxError);
});

Deno.test("Deferred: cancel on a fired Deferred does nothing and does not call the canceller", () => {
  let cancellerCalled = false;
  const d = new Deferred<number>(() => {
    cancellerCalled = true;
  });
  d.callback(1);
  d.cancel();
  assertEquals(successResultOf(d), 1);
  const e = new Deferred<number>(() => {
    cancellerCalled = true;
  });
  e.errback(new RangeError("already failed"));
  e.cancel();
  failureResultOf(e, RangeError);
  assertFalse(cancellerCalled);
});

Deno.test("Deferred: cancelling a Deferred waiting on another cancels the inner one", () => {
  let innerCancelled = false;
  const inner = new Deferred<number>(() => {
    innerCancelled = true;
  });
  const outer = succeed(1).addCallback(() => inner);
  outer.cancel();
  assert(innerCancelled);
  failureResultOf(outer, CancelledError);
  assertEquals(inner.result, undefined); // handed over to outer
});

Deno.test("Deferred: cancelling reaches through several levels of waiting", () => {
  const innermost = new Deferred<number>();
  const middle = succeed(0).addCallback(() => innermost);
  const outer = succeed(0).addCallback(() => middle);
  outer.cancel();
  failureResultOf(outer, CancelledError);
  assert(innermost.called);
});

// ---------------------------------------------------------------------------
// addTimeout

Deno.test("Deferred: addTimeout returns the Deferred and fails it with TimeoutError once the clock passes", () => {
  const clock = new Clock();
  const d = new Deferred<number>();
  assertStrictEquals(d.addTimeout(10, clock), d);
  clock.advance(9);
  assertNoResult(d);
  clock.advance(1);
  const f = failureResultOf(d, TimeoutError);
  assertInstanceOf((f.value as Error).cause, CancelledError);
});

Deno.test("Deferred: addTimeout's call is cancelled when the Deferred succeeds first", () => {
  const clock = new Clock();
  const d = new Deferred<number>().addTimeout(10, clock);
  d.callback(3);
  assertEquals(clock.getDelayedCalls(), []);
  clock.advance(15);
  assertEquals(successResultOf(d), 3);
});

Deno.test("Deferred: addTimeout lets an earlier failure through untouched and does not call onTimeoutCancel", () => {
  const clock = new Clock();
  let custom = 0;
  const d = new Deferred<number>().addTimeout(10, clock, () => custom++);
  const err = new SyntaxError("its own failure");
  d.errback(err);
  assertEquals(clock.getDelayedCalls(), []);
  clock.advance(15);
  assertStrictEquals(failureResultOf(d, SyntaxError).value, err);
  assertEquals(custom, 0);
});

Deno.test("Deferred: addTimeout's onTimeoutCancel decides the result after a timeout", () => {
  const clock = new Clock();
  const calls: unknown[] = [];
  const d = new Deferred<string>().addTimeout(
    10,
    clock,
    (result, timeout) => {
      calls.push([(result as Failure).check(CancelledError), timeout]);
      return "OVERRIDDEN";
    },
  );
  clock.advance(15);
  assertEquals(successResultOf(d), "OVERRIDDEN");
  assertEquals(calls, [[CancelledError, 10]]);
});

Deno.test("Deferred: after a timeout, a result the canceller gave is kept", () => {
  const clock = new Clock();
  const d = new Deferred<string>(callbackCanceller).addTimeout(10, clock);
  clock.advance(15);
  assertEquals(successResultOf(d), "Callback Result");
});

Deno.test("Deferred: after a timeout, a failure the canceller gave is kept (not a TimeoutError)", () => {
  const clock = new Clock();
  const d = new Deferred<string>((self) =>
    self.errback(new URIError("canceller failure"))
  ).addTimeout(10, clock);
  clock.advance(15);
  failureResultOf(d, URIError);
});

Deno.test("Deferred: cancelling before the timeout gives CancelledError and cancels the timed call", () => {
  const clock = new Clock();
  let custom = 0;
  const d = new Deferred<string>().addTimeout(10, clock, () => custom++);
  d.cancel();
  failureResultOf(d, CancelledError);
  assertEquals(clock.getDelayedCalls(), []);
  assertEquals(custom, 0);
});

Deno.test("Deferred: an errback added before addTimeout sees the CancelledError, and its result goes on", () => {
  const clock = new Clock();
  const d = new Deferred<void>();
  let seen: Failure | undefined;
  d.addErrback((f) => {
    seen = f;
    return f;
  });
  d.addTimeout(10, clock);
  clock.advance(15);
  assert(seen?.check(CancelledError));
  failureResultOf(d, TimeoutError);
  // An errback that swallows the cancellation leaves a result, not a timeout.
  const e = new Deferred<string>();
  e.addErrback(() => "swallowed");
  e.addTimeout(10, clock);
  clock.advance(15);
  assertEquals(successResultOf(e), "swallowed");
});

Deno.test("Deferred: a callback added before addTimeout sees what the canceller gave", () => {
  const clock = new Clock();
  const d = new Deferred<string>(callbackCanceller);
  let seen = "";
  d.addCallback((r) => (seen = r));
  d.addTimeout(10, clock);
  clock.advance(15);
  assertEquals(seen, "Callback Result");
  assertEquals(successResultOf(d), "Callback Result");
});

// ---------------------------------------------------------------------------
// Promises: then, await, asPromise, fromPromise

Deno.test("Deferred: await gives the result and does not consume it", async () => {
  const d = new Deferred<string>();
  queueMicrotask(() => d.callback("value"));
  assertEquals(await d, "value");
  assertEquals(d.result, "value");
  let later = "";
  d.addCallback((v) => (later = v));
  assertEquals(later, "value");
});

Deno.test("Deferred: callbacks added before an await run before the awaiting code resumes", async () => {
  const d = new Deferred<number>();
  const order: string[] = [];
  d.addCallback((n) => {
    order.push("callback");
    return n * 2;
  });
  queueMicrotask(() => d.callback(21));
  const value = await d;
  order.push("resumed");
  assertEquals(value, 42);
  assertEquals(order, ["callback", "resumed"]);
});

Deno.test("Deferred: then makes no Promise until asked and callbacks stay synchronous", () => {
  const d = new Deferred<number>();
  const p = d.then((n) => n + 1);
  assertInstanceOf(p, Promise);
  let synchronous = false;
  d.addCallback(() => {
    synchronous = true;
  });
  d.callback(1);
  assert(synchronous);
  return p.then((n) => assertEquals(n, 2));
});

Deno.test("Deferred: await rejects with the failure's value, which then counts as handled", async () => {
  using logs = log.capture();
  const err = new URIError("awaited failure");
  const d = fail(err);
  try {
    await d;
    throw new Error("unreachable");
  } catch (e) {
    assertStrictEquals(e, err);
  }
  await assertRejects(() => fail(new URIError("again")).asPromise(), URIError);
  const observed = fail(new URIError("with then"));
  assertEquals(await observed.then(() => "no", () => "handled"), "handled");
  assertEquals(reportUnhandledDeferreds(), 0);
  assertEquals(logs.errors(), []);
});

Deno.test("Deferred: awaiting a failure leaves it for errbacks added later", async () => {
  const d = fail(new RangeError("still there"));
  await assertRejects(() => d.asPromise(), RangeError);
  failureResultOf(d, RangeError);
});

Deno.test("Deferred: fromPromise and asPromise convert both ways", async () => {
  assertEquals(await Deferred.fromPromise(Promise.resolve(5)), 5);
  const rejected = Deferred.fromPromise(
    Promise.reject(new RangeError("rejected")),
  );
  await assertRejects(() => rejected.asPromise(), RangeError);
  failureResultOf(rejected, RangeError);
  assertEquals(await succeed(6).asPromise(), 6);
  const d = succeed(1);
  assertStrictEquals(Deferred.fromPromise(d), d);
});

Deno.test("Deferred: cancelling a Deferred made from a Promise fails it at once and ignores the Promise", async () => {
  const { promise, resolve } = Promise.withResolvers<number>();
  const d = Deferred.fromPromise(promise);
  d.cancel();
  failureResultOf(d, CancelledError);
  resolve(1);
  await promise; // its reaction (ignored by d) has run by now
  assert(d.result === undefined || d.result instanceof Failure);
  assertThrows(() => d.callback(2), AlreadyCalledError);
});

// ---------------------------------------------------------------------------
// succeed, fail, maybeDeferred

Deno.test("succeed and fail make fired Deferreds", () => {
  assertEquals(successResultOf(succeed("success")), "success");
  const f = failureResultOf(fail(new SyntaxError("fail")), SyntaxError);
  assertEquals(f.getErrorMessage(), "fail");
});

Deno.test("maybeDeferred wraps values, throws, Failures, Deferreds and Promises", async () => {
  assertEquals(successResultOf(maybeDeferred(() => 10)), 10);
  assertEquals(
    successResultOf(maybeDeferred((a: number, b: number) => a + b, 10, 20)),
    30,
  );
  failureResultOf(
    maybeDeferred(() => {
      throw new TypeError("thrown");
    }),
    TypeError,
  );
  const failure = new Failure(new RangeError("returned"));
  assertStrictEquals(failureResultOf(maybeDeferred(() => failure)), failure);
  const d = new Deferred<number>();
  assertStrictEquals(maybeDeferred(() => d), d);
  const e = new Deferred<number>();
  const viaMaybe = maybeDeferred(() => e);
  e.errback(new URIError("async error"));
  failureResultOf(viaMaybe, URIError);
  assertEquals(await maybeDeferred(() => Promise.resolve(2)), 2);
});

// ---------------------------------------------------------------------------
// ensureDeferred, fromCoroutine, inlineCallbacks

Deno.test("ensureDeferred accepts a Promise or a Deferred, and refuses anything else", async () => {
  assertEquals(await ensureDeferred(Promise.resolve(1)), 1);
  const d = succeed(2);
  assertStrictEquals(ensureDeferred(d), d);
  assertEquals(
    await Deferred.fromCoroutine((async (): Promise<string> => {
      await null;
      return "coro";
    })()),
    "coro",
  );
  for (const bad of [42, "str", null, undefined, {}]) {
    const err = assertThrows(
      () => ensureDeferred(bad as unknown as Promise<number>),
      NotACoroutineError,
    );
    assertInstanceOf(err, TypeError);
  }
});

Deno.test("ensureDeferred runs a generator synchronously while what it yields has fired", () => {
  function* work(): Generator<unknown, string, number> {
    const a = yield succeed(1);
    const b = yield 2; // a plain value comes straight back
    return `${a}+${b}`;
  }
  assertEquals(successResultOf(ensureDeferred(work())), "1+2");
});

Deno.test("inlineCallbacks waits on pending Deferreds and Promises and sends their results back", async () => {
  const first = new Deferred<number>();
  const seen: unknown[] = [];
  const run = inlineCallbacks(function* (start: number) {
    const a: number = yield first;
    seen.push(a);
    const b: number = yield Promise.resolve(a + start);
    seen.push(b);
    return a + b;
  });
  const d = run(100);
  assertNoResult(d);
  first.callback(1);
  assertEquals(seen, [1]);
  assertEquals(await d, 102);
  assertEquals(seen, [1, 101]);
  // The yielded Deferred's result went to the generator.
  assertEquals(first.result, undefined);
});

Deno.test("inlineCallbacks throws a failure into the generator, which may catch it", () => {
  const pending = new Deferred<number>();
  const run = inlineCallbacks(function* () {
    try {
      yield fail(new RangeError("synchronous failure"));
    } catch (e) {
      assertInstanceOf(e, RangeError);
    }
    try {
      yield pending;
      return "not reached";
    } catch (e) {
      return `caught ${(e as Error).message}`;
    }
  });
  const d = run();
  pending.errback(new URIError("later failure"));
  assertEquals(successResultOf(d), "caught later failure");
});

Deno.test("inlineCallbacks fails its Deferred with what the generator throws", () => {
  const run = inlineCallbacks(function* () {
    yield succeed(1);
    throw new EvalError("generator broke");
  });
  failureResultOf(run(), EvalError);
});

Deno.test("inlineCallbacks: a returned Deferred is waited for", () => {
  const later = new Deferred<string>();
  const run = inlineCallbacks(function* () {
    yield undefined;
    return later;
  });
  const d = run();
  assertNoResult(d);
  later.callback("from the returned Deferred");
  assertEquals(successResultOf(d), "from the returned Deferred");
});

Deno.test("inlineCallbacks: many synchronous yields do not grow the stack", () => {
  const run = inlineCallbacks(function* () {
    let total = 0;
    for (let i = 0; i < 100_000; i++) total += (yield succeed(1)) as number;
    return total;
  });
  assertEquals(successResultOf(run()), 100_000);
});

Deno.test("inlineCallbacks: cancelling cancels the awaited Deferred and the generator decides the outcome", () => {
  let awaitedCancelled = false;
  const awaited = new Deferred<string>(() => {
    awaitedCancelled = true;
  });
  const run = inlineCallbacks(function* () {
    try {
      return yield awaited;
    } catch (e) {
      assertInstanceOf(e, CancelledError);
      return "cleaned up after cancel";
    }
  });
  const d = run();
  d.cancel();
  assert(awaitedCancelled);
  assertEquals(successResultOf(d), "cleaned up after cancel");

  // A generator that does not catch it fails with CancelledError.
  const plain = inlineCallbacks(function* () {
    yield new Deferred();
  })();
  plain.cancel();
  failureResultOf(plain, CancelledError);
});

Deno.test("inlineCallbacks: a generator that goes on waiting after cancel keeps the Deferred pending", () => {
  const next = new Deferred<string>();
  const run = inlineCallbacks(function* () {
    try {
      yield new Deferred();
    } catch {
      return yield next;
    }
  });
  const d = run();
  d.cancel();
  assertNoResult(d);
  next.callback("after all");
  assertEquals(successResultOf(d), "after all");
});

Deno.test("inlineCallbacks refuses a function that does not return a generator", () => {
  const notAGenerator = inlineCallbacks(
    (() => 42) as unknown as () => Generator<unknown, number>,
  );
  assertThrows(() => notAGenerator(), NotACoroutineError);
});

Deno.test("ensureDeferred runs an async generator to its end, sending back what it yields", async () => {
  async function* coro(): AsyncGenerator<number, string, number> {
    const a = yield succeed(1) as unknown as number; // awaited by the generator
    const b = yield Promise.resolve(2) as unknown as number;
    return `done ${a + b}`;
  }
  assertEquals(await ensureDeferred(coro()), "done 3");
  async function* broken(): AsyncGenerator<number, string> {
    yield 1;
    throw new SyntaxError("async generator broke");
  }
  const d = ensureDeferred(broken());
  await assertRejects(() => d.asPromise(), SyntaxError);
  failureResultOf(d, SyntaxError);
});

Deno.test("ensureDeferred: cancelling an async generator fails at once and stops it at its next step", async () => {
  const gate = Promise.withResolvers<void>();
  const finished = Promise.withResolvers<void>();
  let stepsAfterGate = 0;
  async function* coro(): AsyncGenerator<unknown, string> {
    try {
      yield gate.promise;
      stepsAfterGate++;
      yield 2;
      stepsAfterGate++;
      return "not reached";
    } finally {
      finished.resolve();
    }
  }
  const d = ensureDeferred(coro());
  d.cancel();
  failureResultOf(d, CancelledError);
  gate.resolve();
  await withTimeout(finished.promise, 5_000, "the generator's finally block");
  assertEquals(stepsAfterGate, 0);
});

// ---------------------------------------------------------------------------
// DeferredList and gatherResults

Deno.test("DeferredList: results in list order, whatever the firing order, with failures in place", () => {
  const a = new Deferred<string>();
  const b = new Deferred<string>();
  const c = new Deferred<string>();
  const list = new DeferredList([a, b, c]);
  c.callback("3");
  b.addErrback(() => undefined); // added before: sees the failure after the list
  b.errback(new RangeError("2"));
  assertNoResult(list);
  a.callback("1");
  const r = successResultOf(list);
  assertEquals([r[0], r[2]], [[true, "1"], [true, "3"]]);
  assertEquals(r[1][0], false);
  assertEquals((r[1][1] as Failure).getErrorMessage(), "2");
  assertEquals(list.finishedCount, 3);
});

Deno.test("DeferredList: an empty list fires at once with [], except with fireOnOneCallback", () => {
  assertEquals(successResultOf(new DeferredList([])), []);
  assertNoResult(new DeferredList([], { fireOnOneCallback: true }));
});

Deno.test("DeferredList: Deferreds that fired before the list was made count", () => {
  const a = fail<number>(new RangeError("Bang"));
  const b = succeed(2);
  const list = new DeferredList([a, b]);
  assertEquals(successResultOf(list).length, 2);
  handled(a);
  const c = fail<number>(new RangeError("Bang"));
  const onError = new DeferredList([c, new Deferred<number>()], {
    fireOnOneErrback: true,
  });
  failureResultOf(onError, FirstError);
  handled(c);
});

Deno.test("DeferredList: without consumeErrors the failure stays in the original Deferred", () => {
  const d = new Deferred<void>();
  const list = new DeferredList([d]);
  d.errback(new EvalError("Bang"));
  assertEquals(failureResultOf(d, EvalError).getErrorMessage(), "Bang");
  const [[ok, f]] = successResultOf(list);
  assertFalse(ok);
  assertEquals((f as Failure).getErrorMessage(), "Bang");
});

Deno.test("DeferredList: consumeErrors leaves undefined in the original Deferred and nothing unhandled", () => {
  using logs = log.capture();
  const d = new Deferred<void>();
  const list = new DeferredList([d], { consumeErrors: true });
  d.errback(new EvalError("Bang"));
  assertEquals(successResultOf(d), undefined);
  const [[ok, f]] = successResultOf(list);
  assertFalse(ok);
  assertEquals((f as Failure).getErrorMessage(), "Bang");
  assertEquals(reportUnhandledDeferreds(), 0);
  assertEquals(logs.errors(), []);
});

Deno.test("DeferredList: fireOnOneCallback fires with [result, index] and only once", () => {
  const a = new Deferred<string>();
  const b = new Deferred<string>();
  const list = new DeferredList([a, b], { fireOnOneCallback: true });
  b.callback("b first");
  assertEquals(successResultOf(list as Deferred<unknown>), ["b first", 1]);
  a.callback("later"); // no second firing
  assertEquals(list.resultList[0], [true, "later"]);
});

Deno.test("DeferredList: fireOnOneErrback fails with FirstError carrying the failure and index", () => {
  const a = new Deferred<string>();
  const b = new Deferred<string>();
  const c = new Deferred<string>();
  const list = new DeferredList([a, b, c], { fireOnOneErrback: true });
  a.callback("1");
  assertNoResult(list);
  b.addErrback(() => undefined);
  b.errback(new RangeError("from b"));
  const err = failureResultOf(list, FirstError).value as FirstError;
  assertInstanceOf(err, FirstError);
  assertEquals(err.index, 1);
  assertStrictEquals(err.subFailure.type, RangeError);
  assertEquals(err.subFailure.getErrorMessage(), "from b");
  assertInstanceOf(err.cause, RangeError);
  assertStringIncludes(err.message, "FirstError[#1, ");
  c.callback("ignored");
});

Deno.test("DeferredList: mixed result types need the union named", () => {
  const list = new DeferredList<number | string>([succeed(1), succeed("two")]);
  const results: DeferredListResult<number | string>[] = successResultOf(list);
  assertEquals(results, [[true, 1], [true, "two"]]);
});

Deno.test("DeferredList: cancel cancels every pending Deferred, and the list fires with what they give", () => {
  const one = new Deferred<string>(callbackCanceller);
  const two = new Deferred<string>();
  const list = new DeferredList([one, two]);
  list.cancel();
  failureResultOf(two, CancelledError);
  const [r1, r2] = successResultOf(list);
  assertEquals(r1, [true, "Callback Result"]);
  assertFalse(r2[0]);
  assert((r2[1] as Failure).check(CancelledError));
});

Deno.test("DeferredList: cancel with fireOnOneCallback and fireOnOneErrback", () => {
  const a = new Deferred<string>();
  const b = new Deferred<string>();
  new DeferredList([a, b], { fireOnOneCallback: true }).cancel();
  failureResultOf(a, CancelledError);
  failureResultOf(b, CancelledError);

  const c = new Deferred<string>(callbackCanceller);
  const d = new Deferred<string>();
  const first = new DeferredList([c, d], { fireOnOneCallback: true });
  first.cancel();
  failureResultOf(d, CancelledError);
  assertEquals(successResultOf(first as Deferred<unknown>), [
    "Callback Result",
    0,
  ]);

  const e = new Deferred<string>();
  const f = new Deferred<string>();
  const onError = new DeferredList([e, f], { fireOnOneErrback: true });
  onError.cancel();
  failureResultOf(e, CancelledError);
  failureResultOf(f, CancelledError);
  const err = failureResultOf(onError, FirstError).value as FirstError;
  assert(err.subFailure.check(CancelledError));

  const g = new Deferred<string>(callbackCanceller);
  const h = new Deferred<string>(callbackCanceller);
  const allGood = new DeferredList([g, h], { fireOnOneErrback: true });
  allGood.cancel();
  assertEquals(successResultOf(allGood), [[true, "Callback Result"], [
    true,
    "Callback Result",
  ]]);
});

Deno.test("DeferredList: cancel reaches only the Deferreds given, even if the caller's array changes", () => {
  const one = new Deferred<void>();
  const two = new Deferred<void>();
  const given = [one, two];
  const list = new DeferredList(given, { consumeErrors: true });
  const three = new Deferred<void>();
  given.push(three);
  list.cancel();
  assert(one.called && two.called);
  assertNoResult(three);
});

Deno.test("DeferredList: a canceller that throws is logged and the rest are still cancelled", () => {
  using logs = log.capture();
  const one = new Deferred<void>(() => {
    throw new EvalError("canceller broke");
  });
  const two = new Deferred<void>();
  const list = new DeferredList([one, two]);
  list.cancel();
  failureResultOf(two, CancelledError);
  const errors = logs.flushErrors(EvalError);
  assertEquals(errors.length, 1);
  assertEquals(
    logs.events[0].why,
    "Exception raised from user supplied canceller",
  );
  one.callback(); // let the list finish
  successResultOf(list);
});

Deno.test("DeferredList: cancel after the list fired does nothing", () => {
  const a = new Deferred<void>();
  const b = new Deferred<void>();
  const list = new DeferredList([a, b], { fireOnOneCallback: true });
  a.callback();
  list.cancel();
  assertNoResult(b);

  const c = new Deferred<void>();
  const d = new Deferred<void>();
  const onError = new DeferredList([c, d], { fireOnOneErrback: true });
  c.errback(new RangeError("test"));
  onError.cancel();
  assertNoResult(d);
  failureResultOf(c, RangeError);
  failureResultOf(onError, FirstError);
});

Deno.test("gatherResults gives the plain results in order", () => {
  const a = new Deferred<number>();
  const gathered = gatherResults([a, succeed(2)]);
  assertNoResult(gathered);
  a.callback(1);
  assertEquals(successResultOf(gathered), [1, 2]);
  assertEquals(successResultOf(gatherResults([])), []);
});

Deno.test("gatherResults fails with the first failure wrapped in FirstError", () => {
  const failing = fail<number>(new SyntaxError("one failed"));
  const gathered = gatherResults([succeed(1), failing]);
  const err = failureResultOf(gathered, FirstError).value as FirstError;
  assert(err.subFailure.check(SyntaxError));
  assertEquals(err.index, 1);
  failureResultOf(failing, SyntaxError); // still there without consumeErrors
});

Deno.test("gatherResults with consumeErrors leaves undefined in the failing Deferred", () => {
  const failing = fail<number>(new SyntaxError("consumed"));
  const gathered = gatherResults([failing], { consumeErrors: true });
  failureResultOf(gathered, FirstError);
  assertEquals(successResultOf(failing), undefined);
});

Deno.test("gatherResults: cancel cancels them all", () => {
  const a = new Deferred<number>();
  const b = new Deferred<number>();
  const gathered = gatherResults([a, b]);
  gathered.cancel();
  failureResultOf(a, CancelledError);
  failureResultOf(b, CancelledError);
  const err = failureResultOf(gathered, FirstError).value as FirstError;
  assert(err.subFailure.check(CancelledError));

  const c = new Deferred<string>(callbackCanceller);
  const d = new Deferred<string>(callbackCanceller);
  const fine = gatherResults([c, d]);
  fine.cancel();
  assertEquals(successResultOf(fine), ["Callback Result", "Callback Result"]);
});

// ---------------------------------------------------------------------------
// DeferredLock, DeferredSemaphore, DeferredQueue

Deno.test("DeferredLock: acquire, wait in order, release", () => {
  const lock = new DeferredLock();
  const order: string[] = [];
  const first = lock.acquire();
  assertStrictEquals(successResultOf(first), lock);
  first.addCallback(() => order.push("a"));
  const waiter = lock.acquire();
  waiter.addCallback(() => order.push("b"));
  assert(lock.locked);
  assertEquals(order, ["a"]);
  lock.release();
  assertEquals(order, ["a", "b"]);
  assert(lock.locked);
  lock.release();
  assertFalse(lock.locked);
  assertThrows(
    () => lock.release(),
    Error,
    "Tried to release an unlocked lock",
  );
});

Deno.test("DeferredLock.run holds the lock until the function's Deferred fires", () => {
  const lock = new DeferredLock();
  const work = new Deferred<string>();
  const result = lock.run(
    (x: number) => work.addCallback((s) => `${s} ${x}`),
    7,
  );
  assert(lock.locked);
  let second = "";
  lock.run(() => "second").addCallback((s) => (second = s));
  assertEquals(second, "");
  work.callback("done");
  assertEquals(successResultOf(result), "done 7");
  assertEquals(second, "second");
  assertFalse(lock.locked);
});

Deno.test("DeferredLock.run releases when the function fails", () => {
  const lock = new DeferredLock();
  failureResultOf(
    lock.run(() => {
      throw new RangeError("inside the lock");
    }),
    RangeError,
  );
  assertFalse(lock.locked);
  const later = new Deferred<void>();
  const running = lock.run(() => later);
  later.errback(new URIError("failed later"));
  failureResultOf(running, URIError);
  assertFalse(lock.locked);
});

Deno.test("DeferredLock: cancelling a waiter takes it out of the queue; cancelling the holder does nothing", () => {
  const lock = new DeferredLock();
  const holder = lock.acquire();
  holder.cancel();
  assert(lock.locked);
  assertStrictEquals(successResultOf(holder), lock);
  const waiter = lock.acquire();
  waiter.cancel();
  failureResultOf(waiter, CancelledError);
  assertEquals(lock.waiting.length, 0);
  lock.release();
  assertFalse(lock.locked);
});

Deno.test("DeferredSemaphore: at most `tokens` holders, released in order", () => {
  const sem = new DeferredSemaphore(2);
  assertEquals(sem.limit, 2);
  const got: number[] = [];
  for (let i = 0; i < 4; i++) sem.acquire().addCallback(() => got.push(i));
  assertEquals(got, [0, 1]);
  assertEquals(sem.tokens, 0);
  assertEquals(sem.waiting.length, 2);
  sem.release();
  assertEquals(got, [0, 1, 2]);
  assertEquals(sem.tokens, 0);
  sem.release();
  sem.release();
  assertEquals(sem.tokens, 1);
  sem.release();
  assertEquals(sem.tokens, 2);
  assertThrows(() => sem.release(), Error, "too many tokens");
});

Deno.test("DeferredSemaphore.run passes arguments, waits on the result and releases", () => {
  const sem = new DeferredSemaphore(1);
  const work = new Deferred<number>();
  const first = sem.run((n: number) => work.addCallback((w) => w + n), 1);
  assertEquals(sem.tokens, 0);
  const second = sem.run(() => "next");
  assertNoResult(second);
  work.callback(41);
  assertEquals(successResultOf(first), 42);
  assertEquals(successResultOf(second), "next");
  assertEquals(sem.tokens, 1);
});

Deno.test("DeferredSemaphore refuses fewer than one token", () => {
  for (const bad of [0, -1, Number.NaN]) {
    assertThrows(
      () => new DeferredSemaphore(bad),
      RangeError,
      `Invalid token count "${bad}"`,
    );
  }
});

Deno.test("DeferredSemaphore: cancelling a waiter takes it out; cancelling a holder does nothing", () => {
  const sem = new DeferredSemaphore(1);
  const holder = sem.acquire();
  holder.cancel();
  assertEquals(sem.tokens, 0);
  successResultOf(holder);
  const waiter = sem.acquire();
  waiter.cancel();
  failureResultOf(waiter, CancelledError);
  assertEquals(sem.waiting.length, 0);
  sem.release();
  assertEquals(sem.tokens, 1);
});

Deno.test("DeferredQueue: gets wait for puts, in order, and puts wait for gets", () => {
  const q = new DeferredQueue<number>();
  const got: number[] = [];
  q.get().addCallback((v) => got.push(v));
  q.get().addCallback((v) => got.push(v));
  q.put(1);
  q.put(2);
  q.put(3);
  assertEquals(got, [1, 2]);
  assertEquals(q.pending, [3]);
  assertEquals(successResultOf(q.get()), 3);
  assertEquals(q.pending, []);
});

Deno.test("DeferredQueue: size and backlog limits", () => {
  const q = new DeferredQueue<number>(2, 1);
  const waiter = q.get();
  assertThrows(() => q.get(), QueueUnderflow);
  q.put(1); // to the waiter
  q.put(2);
  q.put(3);
  assertThrows(() => q.put(4), QueueOverflow);
  assertEquals(successResultOf(waiter), 1);
  assertEquals(q.pending, [2, 3]);
});

Deno.test("DeferredQueue: cancelling a waiting get takes it out; cancelling a fired get does nothing", () => {
  const q = new DeferredQueue<number>();
  q.put(1);
  const immediate = q.get();
  immediate.cancel();
  assertEquals(successResultOf(immediate), 1);
  const waiter = q.get();
  waiter.cancel();
  failureResultOf(waiter, CancelledError);
  assertEquals(q.waiting.length, 0);
  q.put(9); // goes to the queue, not to the cancelled waiter
  assertEquals(q.pending, [9]);
  assertEquals(successResultOf(q.get()), 9);
});

// ---------------------------------------------------------------------------
// Unhandled failures

Deno.test("reportUnhandledDeferreds logs each unhandled failure once, with its stack", () => {
  using logs = log.capture();
  const left = fail(new EvalError("left alone"));
  const handledLater = fail(new EvalError("handled later"));
  handled(handledLater);
  const viaCallback = succeed(1).addCallback(() => {
    throw new EvalError("thrown by a callback");
  });
  assertEquals(reportUnhandledDeferreds(), 2);
  assertEquals(reportUnhandledDeferreds(), 0);
  const failures = logs.flushErrors(EvalError);
  assertEquals(failures.map((f) => f.getErrorMessage()), [
    "left alone",
    "thrown by a callback",
  ]);
  assertEquals(logs.events.map((e) => e.why), [
    "Unhandled error in Deferred",
    "Unhandled error in Deferred",
  ]);
  assertStringIncludes(failures[1].getTraceback(), "defer_test.ts");
  // Handling them now is fine, and they are not reported again.
  handled(left);
  handled(viaCallback);
  assertEquals(reportUnhandledDeferreds(), 0);
  assertEquals(logs.errors(), []);
});

Deno.test("reportUnhandledDeferreds: a failure handled in a later turn is not reported", async () => {
  using logs = log.capture();
  const d = fail(new EvalError("handled after a while"));
  await new Promise((resolve) => queueMicrotask(() => resolve(undefined)));
  await Promise.resolve();
  handled(d);
  assertEquals(reportUnhandledDeferreds(), 0);
  assertEquals(logs.errors(), []);
});

Deno.test("reportUnhandledDeferreds: a failure handled and then a new one is reported once more", () => {
  using logs = log.capture();
  const d = fail(new EvalError("first"));
  d.addErrback(() => {
    throw new EvalError("second");
  });
  assertEquals(reportUnhandledDeferreds(), 1);
  assertEquals(
    logs.flushErrors(EvalError).map((f) => f.getErrorMessage()),
    ["second"],
  );
  handled(d);
});

Deno.test("reportUnhandledDeferreds does not count failures a Deferred is still waiting to pass on", () => {
  using logs = log.capture();
  const d = new Deferred<void>();
  d.pause();
  d.errback(new EvalError("paused"));
  const waiting = succeed(0).addCallback(() => new Deferred());
  assertEquals(reportUnhandledDeferreds(), 0);
  d.unpause();
  assertEquals(reportUnhandledDeferreds(), 1);
  assertEquals(logs.flushErrors(EvalError).length, 1);
  handled(d);
  assertNoResult(waiting);
});

Deno.test("The reactor reports unhandled Deferred failures when it shuts down", async () => {
  using logs = log.capture();
  const reactor = new Reactor();
  let d: Deferred<never> | undefined;
  reactor.callWhenRunning(() => {
    d = fail(new EvalError("left at shutdown"));
    reactor.stop();
  });
  await reactor.run();
  const failures = logs.flushErrors(EvalError);
  assertEquals(failures.map((f) => f.getErrorMessage()), ["left at shutdown"]);
  handled(d!);
});

Deno.test("An unhandled failure in a garbage-collected Deferred is logged once; handled ones are not", async () => {
  await using child = spawn(DENO, [
    "run",
    "--v8-flags=--expose-gc",
    ...denoFlags(),
    "tests/fixtures/defer_gc.ts",
  ]);
  const status = await child.wait();
  assertEquals(status.code, 0, child.stderr());
  const report = JSON.parse(child.stdout());
  assertEquals(report.messages, ["collected while failed"]);
  assertEquals(report.isEvalError, [true]);
  assertEquals(report.whys, ["Unhandled error in Deferred"]);
  assertStringIncludes(report.traceback, "defer_gc.ts");
  assertEquals(report.reportedAgain, 0);
});

// Last on purpose: every test above must handle the failures it makes.
Deno.test("The tests above leave no unhandled failure behind", () => {
  using logs = log.capture();
  const count = reportUnhandledDeferreds();
  assertEquals(
    count,
    0,
    logs.errors().map((f) => f.getErrorMessage()).join(", "),
  );
});
