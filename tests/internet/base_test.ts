import { assert, assertEquals, assertThrows } from "@std/assert";
import { Clock } from "../../src/internet/_clock.ts";
import { type HeapEntry, TimerHeap } from "../../src/internet/_timer_heap.ts";
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
