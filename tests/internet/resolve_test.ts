import { assert, assertEquals, assertInstanceOf } from "@std/assert";
import { Clock, DNSLookupError, type Failure, Reactor } from "../../mod.ts";
import { MemoryReactor } from "../../src/testing/mod.ts";
import { resolve } from "../../src/internet/resolve.ts";

/** The failure a Deferred ended with (it must fail). */
async function failureOf(
  d: PromiseLike<unknown> & {
    addErrback(f: (f: Failure) => unknown): unknown;
  },
): Promise<Failure> {
  let failure: Failure | undefined;
  d.addErrback((f: Failure) => {
    failure = f;
  });
  await d;
  assert(failure, "expected the Deferred to fail");
  return failure;
}

Deno.test("resolve: a name from the hosts file (localhost) resolves to its IPv4 address", async () => {
  assertEquals(await new Reactor().resolve("localhost"), "127.0.0.1");
});

Deno.test("resolve: a reserved invalid name fails with DNSLookupError", async () => {
  const failure = await failureOf(
    new Reactor().resolve("nonexistent.invalid"),
  );
  assertInstanceOf(failure.value, DNSLookupError);
  assert(
    (failure.value as Error).message.includes('"nonexistent.invalid"'),
    (failure.value as Error).message,
  );
});

Deno.test("resolve: an IPv4 address is itself and the empty name is 0.0.0.0, at once", () => {
  const reactor = new Reactor();
  const seen: string[] = [];
  reactor.resolve("192.0.2.7").addCallback((a) => void seen.push(a));
  reactor.resolve("").addCallback((a) => void seen.push(a));
  assertEquals(seen, ["192.0.2.7", "0.0.0.0"]);
});

Deno.test("resolve: a name --allow-net does not cover fails without a prompt, naming the flag", async () => {
  const failure = await failureOf(new Reactor().resolve("example.com"));
  assertInstanceOf(failure.value, DNSLookupError);
  assertEquals(
    (failure.value as Error).message,
    'Cannot resolve "example.com": run again with --allow-net=example.com',
  );
});

Deno.test("resolve: a lookup slower than the timeout fails with DNSLookupError", async () => {
  const clock = new Clock();
  // The reactor's resolve over a clock we drive: the lookup cannot finish
  // before advance(), which runs in the same turn.
  const d = resolve(clock, "localhost", [1, 3]);
  assertEquals(clock.getDelayedCalls().map((c) => c.getTime()), [4]);
  clock.advance(4);
  const failure = await failureOf(d);
  assertInstanceOf(failure.value, DNSLookupError);
  assertEquals(
    (failure.value as Error).message,
    'DNS lookup for "localhost" timed out after 4 s',
  );
  // Let the system lookup still under way finish, so no op is left behind.
  assertEquals(await new Reactor().resolve("localhost"), "127.0.0.1");
});

Deno.test("resolve: a finished lookup leaves no timer behind", async () => {
  const clock = new Clock();
  assertEquals(await resolve(clock, "localhost", 5), "127.0.0.1");
  assertEquals(clock.getDelayedCalls(), []);
});

Deno.test("resolve: misuse is a TypeError or RangeError", () => {
  const reactor = new Reactor();
  let error: unknown;
  try {
    reactor.resolve("localhost", 0);
  } catch (e) {
    error = e;
  }
  assertInstanceOf(error, RangeError);
  error = undefined;
  try {
    reactor.resolve(42 as unknown as string);
  } catch (e) {
    error = e;
  }
  assertInstanceOf(error, TypeError);
});

Deno.test("resolve: MemoryReactor does not resolve, as in Twisted", () => {
  let error: unknown;
  try {
    new MemoryReactor().resolve("localhost");
  } catch (e) {
    error = e;
  }
  assert((error as Error).message.includes("does not resolve names"));
});

Deno.test("reactor.resolve: a lookup that settles after the reactor stopped (its timer cancelled) still fires, with no error", async () => {
  const reactor = new Reactor();
  const running = reactor.run({ installSignalHandlers: false });
  const d = reactor.resolve("localhost");
  reactor.stop();
  await running; // shutdown cancels every pending timed call, the lookup's too
  assertEquals(await d, "127.0.0.1");
});
