/**
 * The types of AMP calls and responders, checked by `deno check` (CI checks
 * tests/): each `// @ts-expect-error` line must be a type error, or the check
 * fails. The test at the bottom runs the well-typed calls.
 */
import { assertEquals } from "@std/assert";
import * as amp from "../../src/protocols/amp.ts";
import { connectedServerAndClient } from "../../src/testing/mod.ts";

class Sum extends amp.Command {
  static override arguments = { a: new amp.Integer(), b: new amp.Integer() };
  static override response = { total: new amp.Integer() };
}

class Stamp extends amp.Command {
  static override arguments = {
    when: new amp.DateTime(),
    note: new amp.Unicode({ optional: true }),
    big: new amp.BigInteger({ optional: true }),
    tags: new amp.ListOf(new amp.Unicode()),
  };
  static override response = {
    iso: new amp.Unicode(),
    when: new amp.DateTime({ optional: true }),
  };
}

class Fire extends amp.Command {
  static override arguments = { text: new amp.Unicode() };
  static override readonly requiresAnswer = false;
}

class Server extends amp.AMP {
  @Sum.responder
  sum({ a, b }: { a: number; b: number }): { total: number } {
    return { total: a + b };
  }

  @Stamp.responder
  stamp(
    { when, note }: { when: Temporal.ZonedDateTime; note?: string },
  ): Promise<{ iso: string }> {
    return Promise.resolve({ iso: `${when.toString()} ${note ?? ""}` });
  }

  constructor() {
    super();
    this.registerResponder(Fire, ({ text }) => {
      const checked: string = text;
      return checked.length >= 0 ? {} : {};
    });
  }
}

/** Responders that must not type-check (never instantiated). */
class _IllTypedServer extends amp.AMP {
  // @ts-expect-error: a responder to Sum must return { total: number }
  @Sum.responder
  wrongResult(): { total: string } {
    return { total: "no" };
  }

  // @ts-expect-error: Sum's arguments are numbers
  @Sum.responder
  wrongArguments({ a }: { a: string }): { total: number } {
    return { total: a.length };
  }

  constructor() {
    super();
    // @ts-expect-error: `a` is a number, not a string
    this.registerResponder(Sum, ({ a }: { a: string; b: number }) => ({
      total: a.length,
    }));
  }
}

/** Calls that must not type-check (never run). */
function _illTyped(proto: amp.AMP): void {
  // @ts-expect-error: missing argument b
  proto.callRemote(Sum, { a: 1 });
  // @ts-expect-error: misspelled argument
  proto.callRemote(Sum, { a: 1, bb: 2 });
  // @ts-expect-error: wrong value type
  proto.callRemote(Sum, { a: 1, b: "2" });
  // @ts-expect-error: arguments are required
  proto.callRemote(Sum);
  // @ts-expect-error: a DateTime takes a ZonedDateTime or a Date
  proto.callRemote(Stamp, { when: "2020-01-01", tags: [] });
  // @ts-expect-error: the response of Sum has no `sum`
  proto.callRemote(Sum, { a: 1, b: 2 }).addCallback((r) => r.sum);
  // @ts-expect-error: a command that needs no answer returns nothing to wait for
  proto.callRemote(Fire, { text: "x" }).addCallback(() => {});
  // @ts-expect-error: a protocol switch needs the factory of the new protocol
  proto.callRemote(amp.ProtocolSwitchCommand, {});
}

Deno.test("callRemote's argument and result types come from the command's declaration", async () => {
  const { client, pump } = connectedServerAndClient(Server, amp.AMP);
  const sum = client.callRemote(Sum, { a: 13, b: 81 });
  const stamped = client.callRemote(Stamp, {
    when: new Date(Date.UTC(2020, 0, 2)),
    tags: ["a"],
    note: null,
  });
  const nothing: undefined = client.callRemote(Fire, { text: "x" });
  pump.flush();
  const { total }: { total: number } = await sum;
  assertEquals(total, 94);
  await Promise.resolve();
  pump.flush();
  const result: { iso: string; when?: Temporal.ZonedDateTime } = await stamped;
  assertEquals(result.iso, "2020-01-02T00:00:00+00:00[+00:00] ");
  assertEquals(nothing, undefined);
});
