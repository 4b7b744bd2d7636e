// The logger: msg/warn/err, observers, capture/flushErrors, startLogging, and
// the stderr observer.
import {
  assert,
  assertEquals,
  assertFalse,
  assertStrictEquals,
  assertStringIncludes,
} from "@std/assert";
import {
  defaultObserver,
  formatEvent,
  type LogEvent,
  Logger,
  stderrObserver,
} from "../src/logger.ts";
import { Failure } from "../src/internet/failure.ts";

/** Runs `f` with `Deno.stderr.writeSync` collecting what is written instead. */
function withStderr(f: () => void, chunkLimit = Infinity): string {
  const saved = Deno.stderr.writeSync;
  const written: string[] = [];
  Deno.stderr.writeSync = (p: Uint8Array): number => {
    const n = Math.min(p.length, chunkLimit);
    written.push(new TextDecoder().decode(p.subarray(0, n)));
    return n;
  };
  try {
    f();
  } finally {
    Deno.stderr.writeSync = saved;
  }
  return written.join("");
}

Deno.test("Logger.msg joins parts and publishes info events to every observer", () => {
  const logger = new Logger([]);
  const a: LogEvent[] = [];
  const b: LogEvent[] = [];
  logger.addObserver((e) => a.push(e));
  logger.addObserver((e) => b.push(e));
  const before = Date.now();
  logger.msg("listening on", 8000, { tls: false }, new Error("as a message"));
  assertEquals(a.length, 1);
  assertStrictEquals(a[0], b[0]);
  assertEquals(a[0].level, "info");
  assertEquals(
    a[0].message,
    "listening on 8000 { tls: false } as a message",
  );
  assert(a[0].time >= before && a[0].time <= Date.now());
  assertEquals(a[0].failure, undefined);
});

Deno.test("Logger.warn publishes a warning", () => {
  const logger = new Logger([]);
  const seen: LogEvent[] = [];
  logger.addObserver((e) => seen.push(e));
  logger.warn("careful", 1);
  assertEquals(seen.map((e) => [e.level, e.message]), [["warn", "careful 1"]]);
});

Deno.test("Logger.err wraps what it is given in a Failure and says why", () => {
  const logger = new Logger([]);
  const seen: LogEvent[] = [];
  logger.addObserver((e) => seen.push(e));
  const err = new RangeError("bad");
  logger.err(err, "while parsing");
  const failure = new Failure("plain value");
  logger.err(failure);
  logger.err("thrown string");
  assertEquals(seen[0].level, "error");
  assertEquals(seen[0].message, "while parsing: bad");
  assertEquals(seen[0].why, "while parsing");
  assertStrictEquals(seen[0].failure?.value, err);
  assertStrictEquals(seen[1].failure, failure);
  assertEquals(seen[1].message, "Unhandled error: plain value");
  assertEquals(seen[1].why, undefined);
  assertEquals(seen[2].failure?.value, "thrown string");
});

Deno.test("An observer that throws does not stop the others and is reported on stderr", () => {
  const logger = new Logger([]);
  const seen: string[] = [];
  logger.addObserver(() => {
    throw new Error("observer broke");
  });
  logger.addObserver((e) => seen.push(e.message));
  const stderr = withStderr(() => logger.msg("one"));
  assertEquals(seen, ["one"]);
  assertStringIncludes(stderr, "[error] A log observer failed");
  assertStringIncludes(stderr, "Error: observer broke");
});

Deno.test("removeObserver stops delivery; an observer removed while publishing does not disturb the others", () => {
  const logger = new Logger([]);
  const seen: string[] = [];
  const once = (e: LogEvent): void => {
    seen.push(`once ${e.message}`);
    logger.removeObserver(once);
  };
  const always = (e: LogEvent): void => {
    seen.push(`always ${e.message}`);
  };
  logger.addObserver(once);
  logger.addObserver(always);
  logger.msg("1");
  logger.msg("2");
  logger.removeObserver(always);
  logger.removeObserver(always); // removing twice is harmless
  logger.msg("3");
  assertEquals(seen, ["once 1", "always 1", "always 2"]);
  assertEquals(logger.observers.length, 0);
});

Deno.test("capture collects events, flushes errors by type and restores the observers", () => {
  const logger = new Logger([]);
  const outside: LogEvent[] = [];
  logger.addObserver((e) => outside.push(e));
  {
    using logs = logger.capture();
    logger.err(new TypeError("t"));
    logger.err(new RangeError("r"));
    logger.err(new SyntaxError("s"));
    logger.msg("m");
    assertEquals(logs.events.length, 4);
    assertEquals(logs.errors().length, 3);
    assertEquals(logs.flushErrors(TypeError).map((f) => f.getErrorMessage()), [
      "t",
    ]);
    assertEquals(logs.flushErrors(TypeError), []);
    assertEquals(logs.errors().map((f) => f.getErrorMessage()), ["r", "s"]);
    assertEquals(
      logs.flushErrors(SyntaxError, RangeError).map((f) => f.getErrorMessage()),
      ["r", "s"],
    );
    assertEquals(logs.flushErrors(), []);
    assertEquals(logs.events.length, 4); // flushing keeps the events
    assertEquals(outside.length, 0);
  }
  logger.msg("after");
  assertEquals(outside.map((e) => e.message), ["after"]);
});

Deno.test("capture's flushErrors matches subclasses; restore is idempotent; captures nest", () => {
  const logger = new Logger([]);
  const outer = logger.capture();
  const inner = logger.capture();
  logger.err(new RangeError("inner"));
  assertEquals(inner.flushErrors(Error).length, 1);
  inner.restore();
  inner.restore();
  logger.err(new RangeError("outer"));
  assertEquals(outer.errors().map((f) => f.getErrorMessage()), ["outer"]);
  outer[Symbol.dispose]();
  assertEquals(logger.observers.length, 0);
});

Deno.test("The default observer shows warnings and errors only, until startLogging", () => {
  const logger = new Logger();
  assertEquals(logger.observers, [defaultObserver]);
  const text = withStderr(() => {
    logger.msg("quiet info");
    logger.warn("a warning");
    logger.err(new Error("an error"), "doing things");
    logger.startLogging();
    logger.msg("now shown");
  });
  assertFalse(text.includes("quiet info"));
  assertStringIncludes(text, "[warn] a warning");
  assertStringIncludes(text, "[error] doing things: an error\nError: an error");
  assertStringIncludes(text, "[info] now shown");
  assertFalse(logger.observers.includes(defaultObserver));
});

Deno.test("startLogging again changes the level without writing events twice", () => {
  const logger = new Logger();
  const text = withStderr(() => {
    logger.startLogging("debug");
    logger.startLogging("warn");
    logger.msg("hidden now");
    logger.warn("once");
  });
  assertEquals(logger.observers.length, 1);
  assertFalse(text.includes("hidden now"));
  assertEquals(text.split("[warn] once").length, 2);
});

Deno.test("stderrObserver filters by level and writes everything even when stderr takes it in pieces", () => {
  const observer = stderrObserver("warn");
  const failure = new Failure(new Error("x".repeat(100)));
  const text = withStderr(() => {
    observer({ time: 0, level: "info", message: "too low" });
    observer({ time: 0, level: "error", message: "long", failure });
  }, 7);
  assertFalse(text.includes("too low"));
  assertEquals(
    text,
    formatEvent({ time: 0, level: "error", message: "long", failure }) + "\n",
  );
});

Deno.test("formatEvent prints an ISO timestamp, the level, the message and any traceback", () => {
  const line = formatEvent({
    time: 0,
    level: "error",
    message: "boom",
    failure: new Failure(new Error("boom")),
  });
  assertStringIncludes(
    line,
    "1970-01-01T00:00:00.000Z [error] boom\nError: boom",
  );
  assertEquals(
    formatEvent({ time: 0, level: "debug", message: "plain" }),
    "1970-01-01T00:00:00.000Z [debug] plain",
  );
});
