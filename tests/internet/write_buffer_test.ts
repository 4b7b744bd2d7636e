/**
 * The write engine every stream transport shares (`stream/write_buffer.ts`,
 * `common/flow_control.ts`), over a sink whose writes complete when the test says
 * so.
 */
import {
  assert,
  assertEquals,
  assertNotStrictEquals,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import {
  WriteBuffer,
  type WriteBufferEvent,
  type WriteSink,
} from "../../src/internet/stream/write_buffer.ts";
import {
  DEFAULT_HIGH_WATER,
  DEFAULT_LOW_WATER,
} from "../../src/internet/common/flow_control.ts";
import type {
  IPullProducer,
  IPushProducer,
} from "../../src/internet/interfaces.ts";
import { log } from "../../src/logger.ts";
import { decode, encode } from "../_helpers.ts";

/** A sink whose writes complete when the test calls `accept`. */
class ScriptedSink implements WriteSink {
  calls: Uint8Array[] = [];
  sent: number[] = [];
  closedWrite = false;
  #pending:
    | {
      buf: Uint8Array;
      resolve(n: number | void): void;
      reject(e: Error): void;
    }
    | undefined;

  write(buf: Uint8Array): Promise<number | void> {
    if (this.#pending) throw new Error("two writes in flight at once");
    this.calls.push(buf);
    return new Promise((resolve, reject) => {
      this.#pending = { buf, resolve, reject };
    });
  }

  get writing(): boolean {
    return this.#pending !== undefined;
  }

  /** Completes the pending write with `n` bytes taken (all by default); `"void"` resolves with nothing, as a stream writer does. */
  accept(n?: number | "void"): void {
    const w = this.#pending;
    if (!w) throw new Error("no write in flight");
    this.#pending = undefined;
    const k = n === undefined || n === "void"
      ? w.buf.length
      : Math.min(n, w.buf.length);
    for (let i = 0; i < k; i++) this.sent.push(w.buf[i]);
    w.resolve(n === "void" ? undefined : k);
  }

  fail(e: Error): void {
    const w = this.#pending!;
    this.#pending = undefined;
    w.reject(e);
  }

  closeWrite(): Promise<void> {
    this.closedWrite = true;
    return Promise.resolve();
  }

  text(): string {
    return decode(new Uint8Array(this.sent));
  }
}

/** Lets pending promise reactions and microtasks run. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

function make(): {
  sink: ScriptedSink;
  buffer: WriteBuffer;
  events: WriteBufferEvent[];
} {
  const sink = new ScriptedSink();
  const events: WriteBufferEvent[] = [];
  const buffer = new WriteBuffer(sink, (event) => events.push(event));
  return { sink, buffer, events };
}

function recorder(calls: string[]): IPushProducer {
  return {
    pauseProducing: () => calls.push("pause"),
    resumeProducing: () => calls.push("resume"),
    stopProducing: () => calls.push("stop"),
  };
}

Deno.test("WriteBuffer sends at once when idle and joins writes made meanwhile into one sink write, in order", async () => {
  const { sink, buffer } = make();
  buffer.write(encode("a"));
  assertEquals(sink.calls.length, 1, "sent at once");
  buffer.write(encode("b"));
  buffer.write(encode("c"));
  buffer.write(new Uint8Array(0));
  buffer.write(encode("d"));
  assertEquals(buffer.size, 4);
  sink.accept();
  await settle();
  assertEquals(sink.calls.length, 2);
  assertEquals(decode(sink.calls[1]), "bcd");
  sink.accept();
  await settle();
  assertEquals(sink.text(), "abcd");
  assertEquals(buffer.size, 0);
  assertEquals(buffer.writing, false);
});

Deno.test("WriteBuffer copies only chunks under 16 KiB to join them, at most 64 KiB at a time; bigger ones go out as they are", async () => {
  const { sink, buffer } = make();
  buffer.write(encode("x"));
  const small = Array.from(
    { length: 5 },
    (_, i) => new Uint8Array(15 * 1024).fill(i),
  );
  for (const chunk of small) buffer.write(chunk);
  const big = new Uint8Array(16 * 1024).fill(9);
  buffer.write(big);
  for (let i = 0; sink.writing && i < 10; i++) {
    sink.accept();
    await settle();
  }
  const sizes = sink.calls.map((c) => c.length);
  assertEquals(sizes, [1, 60 * 1024, 15 * 1024, 16 * 1024]);
  assertNotStrictEquals(sink.calls[1], small[0], "joined: a copy");
  assertStrictEquals(sink.calls[2], small[4], "alone: not copied");
  assertStrictEquals(sink.calls[3], big, "16 KiB and up: never copied");
  assertEquals(sink.sent.length, 1 + 75 * 1024 + 16 * 1024);
});

Deno.test("WriteBuffer continues partial writes until everything is written; a sink that resolves with nothing wrote it all", async () => {
  const { sink, buffer } = make();
  buffer.write(encode("0123456789"));
  buffer.write(encode("tail"));
  const sizes: number[] = [];
  for (let i = 0; sink.writing && i < 20; i++) {
    sink.accept(3);
    await settle();
    sizes.push(buffer.size);
  }
  assertEquals(sink.text(), "0123456789tail");
  assertEquals(sizes, [11, 8, 5, 4, 1, 0]);
  assertEquals(
    sink.calls.map(decode),
    ["0123456789", "3456789", "6789", "9", "tail", "l"],
  );
  buffer.write(encode("all"));
  sink.accept("void");
  await settle();
  assertEquals(buffer.size, 0);
  assertEquals(sink.text(), "0123456789tailall");
});

Deno.test("WriteBuffer.holds tells whether unsent bytes (in flight, queued, held) share memory with a region, until they are sent", async () => {
  const { sink, buffer } = make();
  const memory = new Uint8Array(100);
  const other = new Uint8Array(100);
  buffer.write(memory.subarray(10, 20)); // In flight.
  buffer.write(memory.subarray(50, 60)); // Queued.
  assert(buffer.holds(memory));
  assert(buffer.holds(memory.subarray(19, 21)), "overlaps the write in flight");
  assert(buffer.holds(memory.subarray(55, 56)), "inside the queued write");
  assertEquals(buffer.holds(memory.subarray(20, 50)), false, "between them");
  assertEquals(buffer.holds(memory.subarray(60)), false, "after them");
  assertEquals(buffer.holds(other), false, "other memory");
  sink.accept();
  await settle();
  assertEquals(buffer.holds(memory.subarray(10, 20)), false, "sent");
  assert(buffer.holds(memory.subarray(50, 60)), "now in flight");
  sink.accept();
  await settle();
  assertEquals(buffer.holds(memory), false);
  buffer.hold();
  buffer.write(other.subarray(0, 1));
  assert(buffer.holds(other), "held for later");
  buffer.stop();
});

Deno.test("WriteBuffer pauses a streaming producer once strictly above the high mark and resumes it once at the low mark, each time round", async () => {
  const { sink, buffer } = make();
  const calls: string[] = [];
  buffer.setLimits({ high: 100, low: 40 });
  buffer.registerProducer(recorder(calls), true);
  for (let round = 1; round <= 2; round++) {
    buffer.write(new Uint8Array(60)); // in flight
    buffer.write(new Uint8Array(40)); // at the mark: no pause
    assertEquals(calls.filter((c) => c === "pause").length, round - 1);
    buffer.write(new Uint8Array(1));
    buffer.write(new Uint8Array(50));
    assertEquals(calls.filter((c) => c === "pause").length, round);
    sink.accept(); // the first 60
    await settle();
    sink.accept(50); // of the other 91, joined: 41 left, above the low mark
    await settle();
    assertEquals(buffer.size, 41);
    assertEquals(calls.filter((c) => c === "resume").length, round - 1);
    sink.accept(1); // 40 left: at the low mark
    await settle();
    assertEquals(calls.filter((c) => c === "resume").length, round);
    while (sink.writing) {
      sink.accept();
      await settle();
    }
  }
  assertEquals(calls, ["pause", "resume", "pause", "resume"]);
  buffer.stopProducer();
  assertEquals(calls.at(-1), "stop");
});

Deno.test("WriteBuffer's default marks are 64 KiB and 16 KiB", async () => {
  assertEquals([DEFAULT_HIGH_WATER, DEFAULT_LOW_WATER], [65_536, 16_384]);
  const { sink, buffer } = make();
  const calls: string[] = [];
  buffer.registerProducer(recorder(calls), true);
  buffer.write(new Uint8Array(65_536));
  assertEquals(calls, []);
  buffer.write(new Uint8Array(1));
  assertEquals(calls, ["pause"]);
  sink.accept(65_536 + 1 - 16_385);
  await settle();
  assertEquals(calls, ["pause"]);
  sink.accept(1);
  await settle();
  assertEquals(calls, ["pause", "resume"]);
  buffer.stop();
  sink.accept();
  await settle();
});

Deno.test("WriteBuffer tells its owner once when it goes above its cap and once when it drains to the low mark; onMax 'abort' is logged", async () => {
  const { sink, buffer, events } = make();
  buffer.setLimits({ high: 10, low: 5, max: 20 });
  buffer.write(new Uint8Array(15));
  buffer.write(new Uint8Array(6));
  buffer.write(new Uint8Array(6));
  assertEquals(events, ["pause"]);
  sink.accept();
  await settle();
  assertEquals(events, ["pause"], "12 bytes left: above the low mark");
  sink.accept(7);
  await settle();
  assertEquals(events, ["pause", "resume"]);

  using logs = log.capture();
  const other = make();
  other.buffer.setLimits({ high: 10, max: 20, onMax: "abort" });
  other.buffer.write(new Uint8Array(21));
  assertEquals(other.events, ["abort"]);
  assertEquals(
    logs.events.filter((e) => e.level === "warn").length,
    1,
  );
  other.buffer.stop();
  other.sink.accept();
  buffer.stop();
  sink.accept();
  await settle();
});

Deno.test("WriteBuffer's limits are checked", () => {
  const { buffer } = make();
  assertThrows(() => buffer.setLimits({ high: 10, low: 20 }), RangeError);
  assertThrows(() => buffer.setLimits({ high: 10, max: 5 }), RangeError);
  assertThrows(() => buffer.setLimits({ low: -1 }), RangeError);
  assertThrows(
    () => buffer.setLimits({ onMax: "drop" as "abort" }),
    RangeError,
    "onMax",
  );
  buffer.setLimits({ high: 10 }); // low follows it down
});

Deno.test("WriteBuffer asks a pull producer for more when registered idle and each time it empties, never while writing", async () => {
  const { sink, buffer } = make();
  let pulls = 0;
  const producer: IPullProducer = {
    resumeProducing: () => {
      pulls++;
      if (pulls <= 3) buffer.write(encode(`${pulls};`));
    },
    stopProducing: () => {},
  };
  buffer.registerProducer(producer, false);
  assertEquals(pulls, 1);
  sink.accept();
  await settle();
  assertEquals(pulls, 2);
  sink.accept();
  await settle();
  sink.accept();
  await settle();
  assertEquals(pulls, 4, "asked again after its third chunk");
  assertEquals(sink.text(), "1;2;3;");
  assertThrows(
    () => buffer.registerProducer(producer, false),
    Error,
    "already registered",
  );
  buffer.write(encode("busy"));
  buffer.unregisterProducer();
  buffer.registerProducer(producer, false);
  assertEquals(pulls, 4, "not while a write is in flight");
  sink.accept();
  await settle();
  assertEquals(pulls, 5);
});

Deno.test("WriteBuffer logs what a producer throws; the write that triggered it does not throw", async () => {
  using logs = log.capture();
  const { sink, buffer } = make();
  buffer.setLimits({ high: 4, low: 0 });
  const thrower: IPushProducer = {
    pauseProducing: () => {
      throw new URIError("pause");
    },
    resumeProducing: () => {
      throw new URIError("resume");
    },
    stopProducing: () => {
      throw new URIError("stop");
    },
  };
  buffer.registerProducer(thrower, true);
  buffer.write(new Uint8Array(5));
  sink.accept();
  await settle();
  buffer.stopProducer();
  assertEquals(
    logs.flushErrors(URIError).map((f) => (f.value as Error).message),
    ["pause", "resume", "stop"],
  );
  const pull = make();
  pull.buffer.registerProducer({
    resumeProducing: () => {
      throw new URIError("pull");
    },
    stopProducing: () => {},
  }, false);
  assertEquals(logs.flushErrors(URIError).length, 1);
});

Deno.test("WriteBuffer.end sends everything, writes made meanwhile too, then closes the sink's write side once no pull producer is registered", async () => {
  const { sink, buffer, events } = make();
  const calls: string[] = [];
  buffer.write(encode("one;"));
  buffer.registerProducer({
    resumeProducing: () => calls.push("resume"),
    stopProducing: () => calls.push("stop"),
  }, false);
  buffer.end();
  buffer.write(encode("two"));
  assertEquals(buffer.state, "ending");
  sink.accept();
  await settle();
  sink.accept();
  await settle();
  assertEquals(sink.text(), "one;two");
  assertEquals(sink.closedWrite, false, "the producer is still registered");
  buffer.unregisterProducer();
  assertEquals(events, [], "from a microtask, not inside the caller");
  await settle();
  assert(sink.closedWrite);
  assertEquals(events, ["flushed", "shut"]);
  assertEquals(buffer.state, "shut");
  buffer.write(encode("dropped"));
  assertEquals(buffer.size, 0);
  assertEquals(sink.calls.length, 2);
  assertEquals(calls, ["resume"], "asked for more when drained, not stopped");
});

Deno.test("WriteBuffer.end does not wait for a streaming producer that is not paused (Twisted's doWrite), only for one paused by the water marks", async () => {
  const { sink, buffer, events } = make();
  const calls: string[] = [];
  buffer.setLimits({ high: 4, low: 0 });
  buffer.registerProducer(recorder(calls), true);
  buffer.write(encode("12345")); // above high: paused
  buffer.end();
  sink.accept(2);
  await settle();
  assertEquals(events, [], "paused: the half-close waits");
  sink.accept();
  await settle();
  assert(
    sink.closedWrite,
    "resumed at the low mark: the producer does not hold it",
  );
  assertEquals(events, ["flushed", "shut"]);
  assertEquals(calls, ["pause", "resume"]);
});

Deno.test("WriteBuffer.notifyWhenFlushed reports 'flushed' from a microtask once everything is written", async () => {
  const { sink, buffer, events } = make();
  buffer.write(encode("data"));
  buffer.notifyWhenFlushed();
  await settle();
  assertEquals(events, []);
  sink.accept();
  await settle();
  assertEquals(events, ["flushed"]);
  assertEquals(sink.closedWrite, false);
});

Deno.test("WriteBuffer.stop drops the queue; the in-flight write settles quietly; a failed write is reported", async () => {
  const { sink, buffer, events } = make();
  buffer.write(encode("in flight"));
  buffer.write(encode("queued"));
  const settled = buffer.stop();
  assert(settled);
  assertEquals(buffer.size, 0);
  assertEquals(buffer.state, "stopped");
  buffer.write(encode("dropped"));
  sink.accept();
  await settled;
  await settle();
  assertEquals(sink.calls.length, 1);
  assertEquals(events, []);
  assertEquals(buffer.stop(), undefined, "nothing in flight any more");
  const stops: string[] = [];
  buffer.registerProducer(recorder(stops), true);
  assertEquals(stops, ["stop"], "registered on a stopped buffer");

  const failing = make();
  failing.buffer.write(encode("doomed"));
  failing.sink.fail(new Deno.errors.BrokenPipe("Broken pipe"));
  await settle();
  assertEquals(failing.events, ["failed"]);
});

Deno.test("WriteBuffer.hold keeps later writes until release, after what came before is sent", async () => {
  const { sink, buffer, events } = make();
  buffer.write(encode("plain;"));
  buffer.hold();
  buffer.write(encode("secret"));
  assertEquals(events, []);
  assertEquals(buffer.size, 12);
  sink.accept();
  await settle();
  assertEquals(events, ["held"]);
  assertEquals(sink.calls.length, 1);
  const tls = new ScriptedSink();
  buffer.release(tls);
  assertEquals(decode(tls.calls[0]), "secret");
  tls.accept();
  await settle();
  assertEquals(buffer.size, 0);
  const idle = make();
  idle.buffer.hold();
  assertEquals(idle.events, ["held"], "at once when nothing is in flight");
});
