// Failure: the substance of Twisted's test_failure.py that applies to a thin
// wrapper around a thrown value (check/trap, messages, tracebacks, values that
// are not Errors).
import {
  assert,
  assertEquals,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { Failure } from "../../src/internet/failure.ts";
import {
  ConnectError,
  ConnectionDone,
  ConnectionLost,
  ConnectionRefusedError,
  TimeoutError,
} from "../../src/internet/error.ts";

Deno.test("Failure.check matches the class, its superclasses, and class names", () => {
  const f = new Failure(new ConnectionRefusedError());
  assertStrictEquals(f.check(ConnectionRefusedError), ConnectionRefusedError);
  assertStrictEquals(f.check(ConnectionDone, ConnectError), ConnectError);
  assertStrictEquals(f.check(Error), Error);
  assertEquals(f.check(ConnectionLost), null);
  assertEquals(f.check(), null);
  assertEquals(f.check("ConnectionRefusedError"), "ConnectionRefusedError");
  assertEquals(f.check("ConnectError"), "ConnectError");
  assertEquals(f.check("Error"), "Error");
  assertEquals(f.check("TimeoutError"), null);
});

Deno.test("Failure.check returns the first of several matching types, in the order given", () => {
  const f = new Failure(new TimeoutError());
  assertStrictEquals(f.check(Error, TimeoutError), Error);
  assertStrictEquals(f.check(TimeoutError, Error), TimeoutError);
});

Deno.test("Failure.check by name also matches an error's own name", () => {
  const err = new Error("renamed");
  err.name = "CustomName";
  const f = new Failure(err);
  assertEquals(f.check("CustomName"), "CustomName");
  assertEquals(f.check("Error"), "Error");
});

Deno.test("Failure.check matches user subclasses of built-in errors", () => {
  class ParseError extends SyntaxError {
    override name = "ParseError";
  }
  const f = new Failure(new ParseError("bad input"));
  assertStrictEquals(f.check(SyntaxError), SyntaxError);
  assertStrictEquals(f.check(ParseError), ParseError);
  assertEquals(f.check("SyntaxError"), "SyntaxError");
  assertEquals(f.check(RangeError), null);
});

Deno.test("Failure.trap returns the match or rethrows the original value", () => {
  const err = new RangeError("out of range");
  const f = new Failure(err);
  assertStrictEquals(f.trap(TypeError, RangeError), RangeError);
  assertEquals(f.trap("RangeError"), "RangeError");
  const thrown = assertThrows(() => f.trap(TypeError));
  assertStrictEquals(thrown, err);
});

Deno.test("Failure.trap rethrows a non-Error value as it is", () => {
  const value = { code: 42 };
  const thrown = assertThrows(() => new Failure(value).trap(Error));
  assertStrictEquals(thrown, value);
});

Deno.test("Failure wraps non-Error values and never nests", () => {
  const f = new Failure("a string");
  assertEquals(f.getErrorMessage(), "a string");
  assertEquals(f.type, undefined);
  assertEquals(f.check(Error), null);
  assertEquals(f.check("String"), null);
  assertEquals(f.getTraceback(), "a string");
  const g = new Failure(f);
  assertStrictEquals(g.value, "a string");
  assertStrictEquals(Failure.from(f), f);
  const h = Failure.from(new Error("x"));
  assert(h instanceof Failure);
});

Deno.test("Failure of undefined, null, numbers and plain objects can still be printed", () => {
  assertEquals(new Failure(undefined).getErrorMessage(), "undefined");
  assertEquals(new Failure(undefined).getTraceback(), "undefined");
  assertEquals(new Failure(null).getTraceback(), "null");
  assertEquals(new Failure(7).getErrorMessage(), "7");
  const plain = new Failure({ code: 1 });
  assertEquals(plain.getErrorMessage(), "{ code: 1 }");
  assertEquals(plain.toString(), "[Failure instance: Object: { code: 1 }]");
  assertStrictEquals(plain.type, Object);
  class Reason {
    toString(): string {
      return "a reason of its own";
    }
  }
  const custom = new Failure(new Reason());
  assertEquals(custom.getErrorMessage(), "a reason of its own");
  assertEquals(
    custom.toString(),
    "[Failure instance: Reason: a reason of its own]",
  );
  assertEquals(
    new Failure(Object.create(null)).getErrorMessage(),
    "[Object: null prototype] {}",
  );
});

Deno.test("Failure never throws while describing a value that cannot be turned into a string", () => {
  const hostile = {
    toString(): string {
      throw new Error("no string for you");
    },
  };
  const f = new Failure(hostile);
  assertEquals(f.getErrorMessage(), "<unprintable value>");
  assertEquals(f.getTraceback(), "<unprintable value>");
  assertStringIncludes(f.toString(), "<unprintable value>");
  const err = new Error("hidden");
  Object.defineProperty(err, "message", {
    get(): string {
      throw new Error("broken getter");
    },
  });
  assertEquals(new Failure(err).getErrorMessage(), "<unprintable value>");
});

Deno.test("Failure.type, getErrorMessage, toString and raiseException", () => {
  const f = new Failure(new ConnectionDone());
  assertStrictEquals(f.type, ConnectionDone);
  assertEquals(f.getErrorMessage(), "Connection was closed cleanly");
  assertEquals(
    f.toString(),
    "[Failure instance: ConnectionDone: Connection was closed cleanly]",
  );
  const thrown = assertThrows(() => f.raiseException(), ConnectionDone);
  assertStrictEquals(thrown, f.value);
});

Deno.test("Failure.getTraceback includes the stack and the causes", () => {
  const cause = new SyntaxError("root cause");
  const f = new Failure(new ConnectError("top level", { cause }));
  const tb = f.getTraceback();
  assertStringIncludes(tb, "ConnectError: top level");
  assertStringIncludes(tb, "Caused by:");
  assertStringIncludes(tb, "SyntaxError: root cause");
  assert(
    tb.indexOf("top level") < tb.indexOf("root cause"),
    "the error comes before its cause",
  );
  assert(
    tb.includes("failure_test.ts"),
    "the stack names where the error was made",
  );
});

Deno.test("Failure.getTraceback shows a cause that is not an Error", () => {
  const f = new Failure(new Error("outer", { cause: "a string cause" }));
  const tb = f.getTraceback();
  assert(tb.endsWith("Caused by:\na string cause"), tb);
});

Deno.test("Failure.getTraceback stops at a cycle of causes and after 8 levels", () => {
  const a = new Error("a");
  const b = new Error("b", { cause: a });
  (a as { cause?: unknown }).cause = b;
  const cyclic = new Failure(a).getTraceback();
  assertEquals(cyclic.split("Caused by:").length, 2);

  let deep = new Error("level 0");
  for (let i = 1; i < 20; i++) deep = new Error(`level ${i}`, { cause: deep });
  const tb = new Failure(deep).getTraceback();
  assertEquals(tb.split("Caused by:").length, 8);
});

Deno.test("Failure.getTraceback of an Error without a stack falls back to name and message", () => {
  const err = new RangeError("no stack");
  Object.defineProperty(err, "stack", { value: undefined });
  assertEquals(new Failure(err).getTraceback(), "RangeError: no stack");
});
