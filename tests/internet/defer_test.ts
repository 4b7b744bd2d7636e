import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import {
  AlreadyCalledError,
  CancelledError,
  Deferred,
  DeferredList,
  DeferredLock,
  DeferredQueue,
  DeferredSemaphore,
  ensureDeferred,
  fail,
  FirstError,
  gatherResults,
  maybeDeferred,
  QueueOverflow,
  QueueUnderflow,
  reportUnhandledDeferreds,
  succeed,
} from "../../src/internet/defer.ts";
import { Failure } from "../../src/internet/failure.ts";
import { Clock } from "../../src/internet/_clock.ts";
import { TimeoutError } from "../../src/internet/error.ts";
import { log } from "../../src/logger.ts";

/** Swallows a Deferred's failure so it is not reported as unhandled. */
const handled = (d: Deferred<unknown>): void => {
  d.addErrback(() => {});
};

Deno.test("Deferred: callbacks run in order, each getting the previous result", () => {
  const d = new Deferred<number>();
  const seen: unknown[] = [];
  d.addCallback((n) => n + 1).addCallback((n) => {
    seen.push(n);
    return `${n}`;
  }).addCallback((s) => seen.push(s));
  assertEquals(seen, []);
  d.callback(1);
  assertEquals(seen, [2, "2"]);
  assert(d.called);
});

Deno.test("Deferred: callbacks added after firing run at once", () => {
  const d = succeed("now");
  let got = "";
  d.addCallback((v) => (got = v));
  assertEquals(got, "now");
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
  new Deferred<number>().addCallbacks(null, null);
  const d = new Deferred<number>();
  d.addCallbacks((r: number, tag: string) => seen.push(r, tag), null, {
    callbackArgs: ["cb"],
  });
  d.callback(3);
  assertEquals(seen, [1, "x", 2, "e", "y", 3, "cb"]);
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

Deno.test("Deferred: returning a Failure from a callback continues on the errback path", () => {
  const seen: string[] = [];
  succeed(1)
    .addCallback(() => new Failure(new TypeError("as a value")))
    .addErrback((f) => seen.push(f.check(TypeError) ? "trapped" : "wrong"));
  assertEquals(seen, ["trapped"]);
});

Deno.test("Deferred: addBoth sees results and failures", () => {
  const seen: unknown[] = [];
  succeed(1).addBoth((r) => seen.push(r));
  fail(new Error("x")).addBoth((r) => seen.push(r instanceof Failure));
  assertEquals(seen, [1, true]);
});

Deno.test("Deferred: firing twice raises AlreadyCalledError; firing with a Deferred is refused", () => {
  const d = new Deferred<unknown>();
  d.callback(1);
  assertThrows(() => d.callback(2), AlreadyCalledError);
  assertThrows(() => d.errback(new Error("x")), AlreadyCalledError);
  assertThrows(
    () => new Deferred<unknown>().callback(new Deferred()),
    TypeError,
  );
});

Deno.test("Deferred: errback without a reason still fails with an Error", () => {
  let message = "";
  const d = new Deferred();
  d.addErrback((f) => (message = f.getErrorMessage()));
  d.errback();
  assertEquals(message, "Deferred.errback() was called without a reason");
});

Deno.test("Deferred: a callback returning a pending Deferred pauses the chain until it fires", () => {
  const outer = new Deferred<number>();
  const inner = new Deferred<string>();
  const seen: unknown[] = [];
  outer.addCallback(() => inner).addCallback((v) => seen.push(v));
  outer.callback(1);
  assertEquals(seen, []);
  assertStrictEquals(outer.result, inner);
  inner.callback("inner result");
  assertEquals(seen, ["inner result"]);
  // The inner Deferred's result was handed over: it now holds undefined.
  assertEquals(inner.result, undefined);
});

Deno.test("Deferred: a callback returning an already-fired Deferred continues at once", () => {
  const seen: unknown[] = [];
  succeed(1).addCallback(() => succeed("fired")).addCallback((v) =>
    seen.push(v)
  );
  succeed(1).addCallback(() => fail(new Error("inner failed"))).addErrback((
    f,
  ) => seen.push(f.getErrorMessage()));
  assertEquals(seen, ["fired", "inner failed"]);
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
  await done;
  assertEquals(seen, [40]);
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

Deno.test("Deferred: pause and unpause hold callbacks back", () => {
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

Deno.test("Deferred: cancel without a canceller fails with CancelledError and ignores one later callback", () => {
  const d = new Deferred<number>();
  let reason: Failure | undefined;
  d.addErrback((f) => {
    reason = f;
  });
  d.cancel();
  assert(reason?.check(CancelledError));
  d.callback(1); // the operation finishing later is not an error
  assertThrows(() => d.callback(2), AlreadyCalledError);
});

Deno.test("Deferred: cancel calls the canceller, which may fire the Deferred itself", () => {
  const seen: unknown[] = [];
  const d = new Deferred<string>((self) => self.callback("cancelled politely"));
  d.addCallback((v) => seen.push(v));
  d.cancel();
  assertEquals(seen, ["cancelled politely"]);
  const e = new Deferred<string>(() => seen.push("canceller ran"));
  e.addErrback((f) =>
    seen.push(f.check(CancelledError) ? "CancelledError" : "?")
  );
  e.cancel();
  assertEquals(seen, ["cancelled politely", "canceller ran", "CancelledError"]);
  // With a canceller that did not fire it, a later callback is an error.
  assertThrows(() => e.callback("late"), AlreadyCalledError);
});

Deno.test("Deferred: cancelling a Deferred waiting on another cancels the inner one", () => {
  const inner = new Deferred<number>();
  const outer = succeed(1).addCallback(() => inner);
  let reason: Failure | undefined;
  outer.addErrback((f) => {
    reason = f;
  });
  outer.cancel();
  assert(reason?.check(CancelledError));
  assert(inner.called);
});

Deno.test("Deferred: cancel on a fired Deferred does nothing", () => {
  const d = succeed(1);
  d.cancel();
  assertEquals(d.result, 1);
});

Deno.test("Deferred: addTimeout fails with TimeoutError when the clock passes the timeout", () => {
  const clock = new Clock();
  const d = new Deferred<number>();
  d.addTimeout(10, clock);
  let reason: Failure | undefined;
  d.addErrback((f) => {
    reason = f;
  });
  clock.advance(9);
  assertEquals(reason, undefined);
  clock.advance(1);
  assert(reason?.check(TimeoutError), `${reason}`);
});

Deno.test("Deferred: addTimeout is cancelled when the Deferred fires first", () => {
  const clock = new Clock();
  const d = new Deferred<number>();
  d.addTimeout(10, clock);
  d.callback(3);
  assertEquals(clock.getDelayedCalls(), []);
  let got = 0;
  d.addCallback((v) => (got = v));
  assertEquals(got, 3);
});

Deno.test("Deferred: addTimeout's onTimeoutCancel decides the result; other failures pass through", () => {
  const clock = new Clock();
  const d = new Deferred<string>();
  d.addTimeout(1, clock, (_result, timeout) => `gave up after ${timeout}`);
  let got = "";
  d.addCallback((v) => (got = v));
  clock.advance(1);
  assertEquals(got, "gave up after 1");
  const e = new Deferred<string>();
  e.addTimeout(1, clock);
  let reason: Failure | undefined;
  e.addErrback((f) => {
    reason = f;
  });
  e.errback(new SyntaxError("its own failure"));
  assert(reason?.check(SyntaxError));
});

Deno.test("Deferred: await gives the result and does not consume it", async () => {
  const d = new Deferred<string>();
  queueMicrotask(() => d.callback("value"));
  assertEquals(await d, "value");
  assertEquals(d.result, "value");
  let later = "";
  d.addCallback((v) => (later = v));
  assertEquals(later, "value");
});

Deno.test("Deferred: await rejects with the failure's value, which then counts as handled", async () => {
  using logs = log.capture();
  const d = fail(new URIError("awaited failure"));
  await assertRejects(() => d.asPromise(), URIError, "awaited failure");
  assertEquals(reportUnhandledDeferreds(), 0);
  assertEquals(logs.errors().length, 0);
});

Deno.test("Deferred: fromPromise and asPromise convert both ways", async () => {
  assertEquals(await Deferred.fromPromise(Promise.resolve(5)), 5);
  let reason: Failure | undefined;
  await Deferred.fromPromise(Promise.reject(new RangeError("rejected")))
    .addErrback((f) => {
      reason = f;
    });
  assert(reason?.check(RangeError));
  assertEquals(await succeed(6).asPromise(), 6);
});

Deno.test("Deferred: an unhandled failure is reported once by reportUnhandledDeferreds", () => {
  using logs = log.capture();
  const d = fail(new EvalError("left alone"));
  const e = fail(new EvalError("handled later"));
  handled(e);
  assertEquals(reportUnhandledDeferreds(), 1);
  assertEquals(reportUnhandledDeferreds(), 0);
  const [f] = logs.flushErrors(EvalError);
  assertEquals(f.getErrorMessage(), "left alone");
  assertEquals(logs.events[0].why, "Unhandled error in Deferred");
  handled(d);
});

Deno.test("maybeDeferred wraps values, throws, Deferreds and Promises", async () => {
  assertEquals(maybeDeferred(() => 1).result, 1);
  let reason: Failure | undefined;
  maybeDeferred(() => {
    throw new TypeError("thrown");
  }).addErrback((f) => {
    reason = f;
  });
  assert(reason?.check(TypeError));
  const d = new Deferred<number>();
  assertStrictEquals(maybeDeferred(() => d), d);
  assertEquals(await maybeDeferred(() => Promise.resolve(2)), 2);
});

Deno.test("ensureDeferred accepts a Promise, a Deferred or an async generator", async () => {
  assertEquals(await ensureDeferred(Promise.resolve(1)), 1);
  const d = succeed(2);
  assertStrictEquals(ensureDeferred(d), d);
  async function* coro(): AsyncGenerator<number, string> {
    yield 1;
    return "done";
  }
  assertEquals(await ensureDeferred(coro()), "done");
  assertThrows(
    () => ensureDeferred(42 as unknown as Promise<number>),
    TypeError,
  );
});

Deno.test("DeferredList: results in list order, whatever the firing order", () => {
  const a = new Deferred<string>();
  const b = new Deferred<string>();
  const c = new Deferred<string>();
  let result: unknown;
  new DeferredList([a, b, c], { consumeErrors: true }).addCallback((
    r,
  ) => (result = r));
  c.callback("c");
  a.errback(new Error("a failed"));
  assertEquals(result, undefined);
  b.callback("b");
  const r = result as [boolean, unknown][];
  assertEquals(r.map(([ok]) => ok), [false, true, true]);
  assertEquals(r[1][1], "b");
  assertInstanceOf(r[0][1], Failure);
  // consumeErrors: the failing Deferred now holds undefined.
  assertEquals(a.result, undefined);
});

Deno.test("DeferredList: an empty list fires at once with []", () => {
  let result: unknown;
  new DeferredList([]).addCallback((r) => (result = r));
  assertEquals(result, []);
});

Deno.test("DeferredList: fireOnOneCallback fires with [result, index]", () => {
  const a = new Deferred<string>();
  const b = new Deferred<string>();
  let result: unknown;
  const list = new DeferredList([a, b], {
    fireOnOneCallback: true,
  }) as Deferred<unknown>;
  list.addCallback((r) => (result = r));
  b.callback("b first");
  assertEquals(result, ["b first", 1]);
  a.callback("later"); // no second firing
});

Deno.test("DeferredList: fireOnOneErrback fails with FirstError carrying the failure and index", () => {
  const a = new Deferred<string>();
  const b = new Deferred<string>();
  let err: FirstError | undefined;
  new DeferredList([a, b], { fireOnOneErrback: true, consumeErrors: true })
    .addErrback((f) => {
      err = f.value as FirstError;
    });
  b.errback(new RangeError("b broke"));
  assertInstanceOf(err, FirstError);
  assertEquals(err.index, 1);
  assert(err.subFailure.check(RangeError));
  a.callback("ignored");
});

Deno.test("DeferredList: cancel cancels every pending Deferred", () => {
  const a = new Deferred<string>();
  const b = new Deferred<string>();
  const list = new DeferredList([a, b], { consumeErrors: true });
  let result: unknown;
  list.addCallback((r) => (result = r));
  list.cancel();
  assert(a.called && b.called);
  assertEquals((result as [boolean][]).map(([ok]) => ok), [false, false]);
});

Deno.test("gatherResults gives the plain results, or the first failure", () => {
  const a = new Deferred<number>();
  let result: unknown;
  gatherResults([a, succeed(2)]).addCallback((r) => (result = r));
  a.callback(1);
  assertEquals(result, [1, 2]);
  let reason: Failure | undefined;
  const failing = fail<number>(new SyntaxError("one failed"));
  gatherResults([succeed(1), failing], true).addErrback((f) => {
    reason = f;
  });
  assertInstanceOf(reason?.value, FirstError);
  assert((reason!.value as FirstError).subFailure.check(SyntaxError));
});

Deno.test("DeferredLock: acquire, wait in order, release, run", async () => {
  const lock = new DeferredLock();
  const order: string[] = [];
  lock.acquire().addCallback(() => order.push("a"));
  const waiter = lock.acquire();
  waiter.addCallback(() => order.push("b"));
  assert(lock.locked);
  assertEquals(order, ["a"]);
  lock.release();
  assertEquals(order, ["a", "b"]);
  lock.release();
  assert(!lock.locked);
  assertThrows(
    () => lock.release(),
    Error,
    "Tried to release an unlocked lock",
  );
  const result = await lock.run((x: number) => x * 2, 21);
  assertEquals(result, 42);
  assert(!lock.locked);
});

Deno.test("DeferredLock: a cancelled waiter leaves the queue", () => {
  const lock = new DeferredLock();
  lock.acquire();
  const waiter = lock.acquire();
  handled(waiter);
  waiter.cancel();
  assertEquals(lock.waiting.length, 0);
  lock.release();
  assert(!lock.locked);
});

Deno.test("DeferredLock.run releases when the function fails", () => {
  const lock = new DeferredLock();
  let reason: Failure | undefined;
  lock.run(() => {
    throw new RangeError("inside the lock");
  }).addErrback((f) => {
    reason = f;
  });
  assert(reason?.check(RangeError));
  assert(!lock.locked);
});

Deno.test("DeferredSemaphore: at most `tokens` holders, released in order", () => {
  assertThrows(() => new DeferredSemaphore(0), RangeError);
  const sem = new DeferredSemaphore(2);
  const got: number[] = [];
  for (let i = 0; i < 4; i++) sem.acquire().addCallback(() => got.push(i));
  assertEquals(got, [0, 1]);
  assertEquals(sem.tokens, 0);
  sem.release();
  assertEquals(got, [0, 1, 2]);
  sem.release();
  sem.release();
  sem.release();
  assertEquals(sem.tokens, 2);
  assertThrows(() => sem.release(), Error, "too many tokens");
  const waiterSem = new DeferredSemaphore(1);
  waiterSem.acquire();
  const w = waiterSem.acquire();
  handled(w);
  w.cancel();
  assertEquals(waiterSem.waiting.length, 0);
});

Deno.test("DeferredQueue: gets wait for puts, in order; size and backlog limits", () => {
  const q = new DeferredQueue<number>(2, 1);
  const got: number[] = [];
  q.get().addCallback((v) => got.push(v));
  assertThrows(() => q.get(), QueueUnderflow);
  q.put(1);
  q.put(2);
  q.put(3);
  assertThrows(() => q.put(4), QueueOverflow);
  q.get().addCallback((v) => got.push(v));
  assertEquals(got, [1, 2]);
  const r = new DeferredQueue<number>();
  const waiter = r.get();
  handled(waiter);
  waiter.cancel();
  assertEquals(r.waiting.length, 0);
  r.put(9);
  assertEquals(r.pending, [9]);
});
