import {
  assert,
  assertEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { Clock } from "../../src/internet/task/clock.ts";
import {
  type HeapEntry,
  TimerHeap,
} from "../../src/internet/common/timer_heap.ts";
import { AlreadyCalled, AlreadyCancelled } from "../../src/internet/error.ts";

Deno.test("Clock runs calls in deadline order, equal deadlines in scheduling order", () => {
  const clock = new Clock();
  const seen: string[] = [];
  clock.callLater(2, () => seen.push("b"));
  clock.callLater(1, () => seen.push("a1"));
  clock.callLater(1, () => seen.push("a2"));
  clock.callLater(3, () => seen.push("c"));
  clock.advance(2);
  assertEquals(seen, ["a1", "a2", "b"]);
  assertEquals(clock.seconds(), 2);
  clock.advance(1);
  assertEquals(seen, ["a1", "a2", "b", "c"]);
});

Deno.test("Clock.advance runs calls scheduled during the advance that fall due within it", () => {
  const clock = new Clock();
  const seen: number[] = [];
  clock.callLater(1, () => {
    seen.push(clock.seconds());
    clock.callLater(0, () => seen.push(-1));
    clock.callLater(5, () => seen.push(-5));
  });
  clock.advance(2);
  assertEquals(seen, [2, -1]);
  clock.advance(5);
  assertEquals(seen, [2, -1, -5]);
});

Deno.test("Clock.pump advances by each amount; getDelayedCalls lists pending calls earliest first", () => {
  const clock = new Clock();
  const later = clock.callLater(10, () => {});
  const sooner = clock.callLater(5, () => {});
  assertEquals(clock.getDelayedCalls(), [sooner, later]);
  clock.pump([1, 2, 3]);
  assertEquals(clock.seconds(), 6);
  assertEquals(clock.getDelayedCalls(), [later]);
});

Deno.test("Clock lets exceptions from calls propagate out of advance", () => {
  const clock = new Clock();
  clock.callLater(1, () => {
    throw new RangeError("from a call");
  });
  assertThrows(() => clock.advance(1), RangeError, "from a call");
});

Deno.test("Clock rejects negative or non-finite delays and advances", () => {
  const clock = new Clock();
  assertThrows(
    () => clock.callLater(-1, () => {}),
    RangeError,
    'Invalid delay "-1"',
  );
  assertThrows(() => clock.callLater(NaN, () => {}), RangeError);
  assertThrows(() => clock.callLater(Infinity, () => {}), RangeError);
  assertThrows(() => clock.advance(-1), RangeError);
});

Deno.test("DelayedCall: cancel, then cancel/reset/delay again raise AlreadyCancelled", () => {
  const clock = new Clock();
  let ran = false;
  const call = clock.callLater(1, () => (ran = true));
  assert(call.active());
  call.cancel();
  assert(!call.active());
  assertThrows(() => call.cancel(), AlreadyCancelled);
  assertThrows(() => call.reset(1), AlreadyCancelled);
  assertThrows(() => call.delay(1), AlreadyCancelled);
  clock.advance(2);
  assertEquals(ran, false);
  assertEquals(clock.getDelayedCalls(), []);
});

Deno.test("DelayedCall: after it ran, cancel/reset/delay raise AlreadyCalled", () => {
  const clock = new Clock();
  const call = clock.callLater(1, () => {});
  clock.advance(1);
  assert(!call.active());
  assertThrows(() => call.cancel(), AlreadyCalled);
  assertThrows(() => call.reset(1), AlreadyCalled);
  assertThrows(() => call.delay(1), AlreadyCalled);
});

Deno.test("DelayedCall: reset moves the call earlier or later, from now", () => {
  const clock = new Clock();
  const seen: number[] = [];
  const call = clock.callLater(10, () => seen.push(clock.seconds()));
  clock.advance(2);
  call.reset(3); // due at 5
  assertEquals(call.getTime(), 5);
  clock.advance(2);
  assertEquals(seen, []);
  call.reset(10); // due at 14
  clock.advance(5);
  assertEquals(seen, []);
  clock.advance(5);
  assertEquals(seen, [14]);
});

Deno.test("DelayedCall: delay adds to the deadline, and a negative delay brings it closer", () => {
  const clock = new Clock();
  const seen: number[] = [];
  const call = clock.callLater(5, () => seen.push(clock.seconds()));
  call.delay(3);
  assertEquals(call.getTime(), 8);
  call.delay(-6);
  assertEquals(call.getTime(), 2);
  clock.advance(2);
  assertEquals(seen, [2]);
});

Deno.test("DelayedCall: a reset call sorts after calls already due at the same time", () => {
  const clock = new Clock();
  const seen: string[] = [];
  const a = clock.callLater(1, () => seen.push("a"));
  clock.callLater(1, () => seen.push("b"));
  a.reset(1);
  clock.advance(1);
  assertEquals(seen, ["b", "a"]);
});

Deno.test("TimerHeap agrees with a sorted list under random pushes, removes and updates", () => {
  interface E extends HeapEntry {
    name: number;
  }
  let seed = 12345;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const heap = new TimerHeap<E>();
  const model: E[] = [];
  const order = (a: E, b: E) => a.time - b.time || a.seq - b.seq;
  for (let step = 0; step < 5000; step++) {
    const r = random();
    if (r < 0.5 || model.length === 0) {
      const e: E = {
        time: Math.floor(random() * 100),
        seq: 0,
        heapIndex: -1,
        name: step,
      };
      heap.push(e);
      model.push(e);
    } else if (r < 0.7) {
      const e = model.splice(Math.floor(random() * model.length), 1)[0];
      heap.remove(e);
      assertEquals(e.heapIndex, -1);
    } else if (r < 0.85) {
      const e = model[Math.floor(random() * model.length)];
      e.time = Math.floor(random() * 100);
      heap.update(e);
    } else {
      model.sort(order);
      const top = heap.pop();
      assertEquals(top, model.shift());
    }
    assertEquals(heap.size, model.length);
  }
  model.sort(order);
  const drained: E[] = [];
  for (let e = heap.pop(); e; e = heap.pop()) drained.push(e);
  assertEquals(drained, model);
});

Deno.test("DelayedCall: a call cannot cancel, reset or delay itself while it runs", () => {
  const clock = new Clock();
  const errors: string[] = [];
  const call = clock.callLater(1, () => {
    assert(!call.active());
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
  clock.advance(1);
  assertEquals(errors, ["AlreadyCalled", "AlreadyCalled", "AlreadyCalled"]);
});

Deno.test("DelayedCall: reset and delay reject bad amounts and leave the call as it was", () => {
  const clock = new Clock();
  const call = clock.callLater(5, () => {});
  assertThrows(() => call.reset(-1), RangeError, 'Invalid delay "-1"');
  assertThrows(() => call.reset(NaN), RangeError);
  assertThrows(() => call.delay(Infinity), RangeError, 'by "Infinity"');
  assertThrows(() => call.delay(NaN), RangeError);
  assertEquals(call.getTime(), 5);
  assert(call.active());
});

Deno.test("DelayedCall: toString names the function and its state", () => {
  const clock = new Clock();
  const call = clock.callLater(1.5, function tick() {});
  assertEquals(call.toString(), "<DelayedCall tick in 1.500s>");
  clock.advance(1.5);
  assertEquals(call.toString(), "<DelayedCall tick called>");
  const other = clock.callLater(1, () => {});
  other.cancel();
  assertStringIncludes(other.toString(), "cancelled");
});

Deno.test("Clock: a call cancelled or reset by an earlier call of the same advance does not run then", () => {
  const clock = new Clock();
  const seen: string[] = [];
  clock.callLater(1, () => {
    seen.push("first");
    cancelled.cancel();
    moved.reset(10);
  });
  const cancelled = clock.callLater(1, () => seen.push("cancelled"));
  const moved = clock.callLater(1, () => seen.push("moved"));
  clock.callLater(1, () => seen.push("last"));
  clock.advance(1);
  assertEquals(seen, ["first", "last"]);
  assertEquals(clock.getDelayedCalls(), [moved]);
  clock.advance(10);
  assertEquals(seen, ["first", "last", "moved"]);
});

Deno.test("DelayedCall on a Clock agrees with a reference model under random schedule, cancel, reset, delay and advance", () => {
  let seed = 424242;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  interface Model {
    name: number;
    time: number;
    order: number;
    call: ReturnType<Clock["callLater"]>;
  }
  const clock = new Clock();
  const ran: number[] = [];
  let pending: Model[] = [];
  let order = 0;
  for (let step = 0; step < 3000; step++) {
    const op = random(10);
    if (op < 4 || pending.length === 0) {
      const delay = random(20);
      const name = step;
      const call = clock.callLater(delay, () => ran.push(name));
      pending.push({
        name,
        time: clock.seconds() + delay,
        order: order++,
        call,
      });
    } else if (op < 5) {
      const m = pending.splice(random(pending.length), 1)[0];
      m.call.cancel();
    } else if (op < 6) {
      const m = pending[random(pending.length)];
      const delay = random(20);
      m.call.reset(delay);
      m.time = clock.seconds() + delay;
      m.order = order++; // a moved call sorts after equal deadlines
    } else if (op < 7) {
      const m = pending[random(pending.length)];
      const by = random(11) - 5;
      m.call.delay(by);
      m.time += by;
      m.order = order++;
    } else {
      const amount = random(6);
      const now = clock.seconds() + amount;
      const due = pending.filter((m) => m.time <= now)
        .sort((a, b) => a.time - b.time || a.order - b.order);
      pending = pending.filter((m) => m.time > now);
      ran.length = 0;
      clock.advance(amount);
      assertEquals(ran, due.map((m) => m.name), `step ${step}`);
    }
    assertEquals(
      clock.getDelayedCalls(),
      [...pending].sort((a, b) => a.time - b.time || a.order - b.order)
        .map((m) => m.call),
    );
  }
});
