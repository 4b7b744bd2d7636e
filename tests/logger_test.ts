import { assertEquals, assertStringIncludes } from "@std/assert";
import { formatEvent, type LogEvent, Logger } from "../src/logger.ts";
import { Failure } from "../src/internet/failure.ts";

Deno.test("Logger.msg joins parts and publishes info events to every observer", () => {
  const logger = new Logger([]);
  const a: LogEvent[] = [];
  const b: LogEvent[] = [];
  logger.addObserver((e) => a.push(e));
  logger.addObserver((e) => b.push(e));
  logger.msg("listening on", 8000, { tls: false });
  assertEquals(a.length, 1);
  assertEquals(b.length, 1);
  assertEquals(a[0].level, "info");
  assertEquals(a[0].message, "listening on 8000 { tls: false }");
});

Deno.test("Logger.err wraps what it is given in a Failure and says why", () => {
  const logger = new Logger([]);
  const seen: LogEvent[] = [];
  logger.addObserver((e) => seen.push(e));
  logger.err(new RangeError("bad"), "while parsing");
  logger.err(new Failure("plain value"));
  assertEquals(seen[0].level, "error");
  assertEquals(seen[0].message, "while parsing: bad");
  assertEquals(seen[0].why, "while parsing");
  assertEquals(seen[0].failure?.check(RangeError), RangeError);
  assertEquals(seen[1].message, "Unhandled error: plain value");
});

Deno.test("An observer that throws does not stop the others; removeObserver works", () => {
  const logger = new Logger([]);
  const seen: string[] = [];
  const broken = (): void => {
    throw new Error("observer broke");
  };
  const good = (e: LogEvent): void => {
    seen.push(e.message);
  };
  logger.addObserver(broken);
  logger.addObserver(good);
  const savedWrite = Deno.stderr.writeSync;
  const stderr: string[] = [];
  Deno.stderr.writeSync = (
    p: Uint8Array,
  ) => (stderr.push(new TextDecoder().decode(p)), p.length);
  try {
    logger.msg("one");
  } finally {
    Deno.stderr.writeSync = savedWrite;
  }
  logger.removeObserver(good);
  logger.msg("two");
  assertEquals(seen, ["one"]);
  assertStringIncludes(stderr.join(""), "A log observer failed");
});

Deno.test("capture collects events, flushes errors by type and restores the observers", () => {
  const logger = new Logger([]);
  const outside: LogEvent[] = [];
  logger.addObserver((e) => outside.push(e));
  {
    using logs = logger.capture();
    logger.err(new TypeError("t"));
    logger.err(new RangeError("r"));
    logger.msg("m");
    assertEquals(logs.events.length, 3);
    assertEquals(logs.errors().length, 2);
    assertEquals(logs.flushErrors(TypeError).map((f) => f.getErrorMessage()), [
      "t",
    ]);
    assertEquals(logs.errors().map((f) => f.getErrorMessage()), ["r"]);
    assertEquals(logs.flushErrors().length, 1);
    assertEquals(outside.length, 0);
  }
  logger.msg("after");
  assertEquals(outside.map((e) => e.message), ["after"]);
});

Deno.test("The default observer shows warnings and errors only, until startLogging", () => {
  const logger = new Logger();
  const savedWrite = Deno.stderr.writeSync;
  const stderr: string[] = [];
  Deno.stderr.writeSync = (
    p: Uint8Array,
  ) => (stderr.push(new TextDecoder().decode(p)), p.length);
  try {
    logger.msg("quiet info");
    logger.warn("a warning");
    logger.startLogging();
    logger.msg("now shown");
  } finally {
    Deno.stderr.writeSync = savedWrite;
  }
  const text = stderr.join("");
  assertEquals(text.includes("quiet info"), false);
  assertStringIncludes(text, "[warn] a warning");
  assertStringIncludes(text, "[info] now shown");
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
});
