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
} from "../../src/internet/error.ts";

Deno.test("Failure.check matches the class, its superclasses, and class names", () => {
  const f = new Failure(new ConnectionRefusedError());
  assertStrictEquals(f.check(ConnectionRefusedError), ConnectionRefusedError);
  assertStrictEquals(f.check(ConnectionDone, ConnectError), ConnectError);
  assertStrictEquals(f.check(Error), Error);
  assertEquals(f.check(ConnectionLost), null);
  assertEquals(f.check("ConnectionRefusedError"), "ConnectionRefusedError");
  assertEquals(f.check("ConnectError"), "ConnectError");
  assertEquals(f.check("TimeoutError"), null);
});

Deno.test("Failure.trap returns the match or rethrows the original value", () => {
  const err = new RangeError("out of range");
  const f = new Failure(err);
  assertStrictEquals(f.trap(TypeError, RangeError), RangeError);
  const thrown = assertThrows(() => f.trap(TypeError));
  assertStrictEquals(thrown, err);
});

Deno.test("Failure wraps non-Error values and never nests", () => {
  const f = new Failure("a string");
  assertEquals(f.getErrorMessage(), "a string");
  assertEquals(f.type, undefined);
  assertEquals(f.check(Error), null);
  assertEquals(f.getTraceback(), "a string");
  const g = new Failure(f);
  assertStrictEquals(g.value, "a string");
  assertStrictEquals(Failure.from(f), f);
});

Deno.test("Failure.type, getErrorMessage, toString and raiseException", () => {
  const f = new Failure(new ConnectionDone());
  assertStrictEquals(f.type, ConnectionDone);
  assertEquals(f.getErrorMessage(), "Connection was closed cleanly");
  assertEquals(
    f.toString(),
    "[Failure instance: ConnectionDone: Connection was closed cleanly]",
  );
  assertThrows(() => f.raiseException(), ConnectionDone);
});

Deno.test("Failure.getTraceback includes the stack and the causes", () => {
  const cause = new SyntaxError("root cause");
  const f = new Failure(new ConnectError("top level", { cause }));
  const tb = f.getTraceback();
  assertStringIncludes(tb, "ConnectError: top level");
  assertStringIncludes(tb, "Caused by:");
  assertStringIncludes(tb, "SyntaxError: root cause");
  assert(
    tb.includes("failure_test.ts"),
    "the stack names where the error was made",
  );
});
