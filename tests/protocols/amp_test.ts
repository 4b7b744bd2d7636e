/**
 * AMP without a network: the box codec (any chunking, every malformed case,
 * the limits, a bounded fuzz), the dispatcher's tags, answers and errors,
 * responders (decorated, registered, `amp_` methods), the argument types'
 * text forms, protocol switching and StartTLS's sequencing.
 */
import {
  assert,
  assertEquals,
  assertExists,
  assertInstanceOf,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import * as amp from "../../src/protocols/amp.ts";
import { Deferred } from "../../src/internet/defer.ts";
import { Failure } from "../../src/internet/failure.ts";
import { ConnectionDone, ConnectionLost } from "../../src/internet/error.ts";
import { Protocol } from "../../src/internet/protocol.ts";
import {
  connectedServerAndClient,
  StringTransport,
} from "../../src/testing/mod.ts";
import { log } from "../../src/logger.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

class Sum extends amp.Command {
  static override arguments = { a: new amp.Integer(), b: new amp.Integer() };
  static override response = { total: new amp.Integer() };
}

class ZeroDivision extends Error {}
class Fatal extends Error {}

class Divide extends amp.Command {
  static override arguments = {
    numerator: new amp.Integer(),
    denominator: new amp.Integer(),
  };
  static override response = { result: new amp.Float() };
  static override errors = new Map([[ZeroDivision, "ZERO_DIVISION"]]);
  static override fatalErrors = new Map([[Fatal, "FATAL"]]);
}

class Notify extends amp.Command {
  static override arguments = { text: new amp.Unicode() };
  static override readonly requiresAnswer = false;
}

class Boom extends amp.Command {}

class Calculator extends amp.AMP {
  notes: string[] = [];

  @Sum.responder
  sum({ a, b }: { a: number; b: number }): { total: number } {
    return { total: a + b };
  }

  @Divide.responder
  divide(
    { numerator, denominator }: { numerator: number; denominator: number },
  ): { result: number } {
    if (denominator === 0) throw new ZeroDivision("division by zero");
    if (denominator < 0) throw new Fatal("negative");
    return { result: numerator / denominator };
  }

  @Notify.responder
  notify({ text }: { text: string }): Record<string, never> {
    this.notes.push(text);
    return {};
  }

  @Boom.responder
  boom(): never {
    throw new TypeError("kaboom");
  }
}

/** A client box protocol recording every box the server sends back. */
function boxesOf(bytes: Uint8Array): amp.AmpBox[] {
  return amp.parseString(bytes);
}

function texts(box: amp.AmpBox): Record<string, string> {
  return Object.fromEntries([...box].map(([k, v]) => [k, dec(v)]));
}

/** A server on a StringTransport, fed boxes directly. */
function serverOn(proto: amp.AMP = new Calculator()) {
  const transport = new StringTransport();
  proto.makeConnection(transport);
  return { proto, transport };
}

// ---------------------------------------------------------------------------
// The codec.

Deno.test("AmpBox serializes keys sorted by their bytes, whatever the insertion order", () => {
  const box = new amp.AmpBox([["b", "2"], ["_ask", "1"], ["a", "1"], [
    "Z",
    "",
  ]]);
  const keys = boxesOf(box.serialize()).flatMap((b) => [...b.keys()]);
  assertEquals(keys, ["Z", "_ask", "a", "b"]);
});

Deno.test("BinaryBoxProtocol delivers the same boxes whatever the chunk boundaries", () => {
  const boxes = [
    new amp.AmpBox({ a: "1", long: "x".repeat(70_000 - 5_000) }),
    new amp.AmpBox({ empty: "" }),
    new amp.AmpBox({ ["k".repeat(255)]: new Uint8Array(65_535).fill(7) }),
  ];
  const stream = new Uint8Array(
    boxes.reduce((n, b) => n + b.serialize().length, 0),
  );
  let at = 0;
  for (const b of boxes) {
    stream.set(b.serialize(), at);
    at += b.serialize().length;
  }
  for (const chunk of [1, 2, 3, 7, 1000, stream.length]) {
    const got: amp.AmpBox[] = [];
    const proto = new amp.BinaryBoxProtocol({
      startReceivingBoxes() {},
      ampBoxReceived: (box) => got.push(box),
      stopReceivingBoxes() {},
    });
    proto.makeConnection(new StringTransport());
    for (let i = 0; i < stream.length; i += chunk) {
      proto.dataReceived(stream.slice(i, i + chunk));
    }
    assertEquals(got.map(texts), boxes.map(texts), `chunks of ${chunk}`);
  }
});

Deno.test("AmpBox refuses keys over 255 bytes, empty keys and values over 65,535 bytes", () => {
  new amp.AmpBox({ ["k".repeat(255)]: new Uint8Array(65_535) }).serialize();
  const key = assertThrows(
    () => new amp.AmpBox({ ["k".repeat(256)]: "" }).serialize(),
    amp.TooLong,
  );
  assertEquals([key.isKey, key.isLocal], [true, true]);
  const value = assertThrows(
    () => new amp.AmpBox({ v: new Uint8Array(65_536) }).serialize(),
    amp.TooLong,
  );
  assertEquals([value.isKey, value.keyName], [false, "v"]);
  assertThrows(() => new amp.AmpBox({ "": "x" }).serialize(), RangeError);
});

Deno.test("sendBox refuses an empty box", () => {
  const { proto, transport } = serverOn(new amp.AMP());
  assertThrows(() => proto.sendBox(new amp.AmpBox()), amp.NoEmptyBoxes);
  assertEquals(transport.value().length, 0);
});

/** Feeds `bytes` to a fresh server; returns what the outstanding call and the log saw. */
async function malformed(bytes: Uint8Array, chunk = bytes.length) {
  using logs = log.capture();
  const { proto, transport } = serverOn(new Calculator());
  const call = proto.callRemote(Sum, { a: 1, b: 2 });
  for (let i = 0; i < bytes.length; i += chunk) {
    proto.dataReceived(bytes.slice(i, i + chunk)); // never throws
  }
  assert(transport.disconnecting, "the connection was not dropped");
  proto.connectionLost(new Failure(new ConnectionDone()));
  const reason = await call.asPromise().then(
    () => undefined,
    (e: unknown) => e,
  );
  return { reason, logged: logs.flushErrors().map((f) => f.value) };
}

Deno.test("A key length over 255 drops the connection with TooLong, logged", async () => {
  for (const chunk of [1, 100]) {
    const { reason, logged } = await malformed(
      new Uint8Array([0, 1, 97, 0, 1, 49, 1, 0, 1, 2, 3]),
      chunk,
    );
    assertInstanceOf(reason, amp.TooLong);
    assertEquals(reason.isLocal, false);
    assertEquals(logged, [reason]);
  }
});

Deno.test("A received empty box drops the connection with NoEmptyBoxes", async () => {
  const { reason, logged } = await malformed(new Uint8Array([0, 0]));
  assertInstanceOf(reason, amp.NoEmptyBoxes);
  assertEquals(logged.length, 1);
});

Deno.test("A box that is neither a command nor an answer is refused with NoEmptyBoxes", async () => {
  const { reason } = await malformed(new amp.AmpBox({ x: "1" }).serialize());
  assertInstanceOf(reason, amp.NoEmptyBoxes);
});

Deno.test("An answer to a question never asked is MalformedAmpBox", async () => {
  const { reason } = await malformed(
    new amp.AmpBox({ _answer: "99", total: "3" }).serialize(),
  );
  assertInstanceOf(reason, amp.MalformedAmpBox);
});

Deno.test("A clean close in the middle of a box fails waiting calls with MalformedAmpBox, logged", async () => {
  for (const cut of [1, 3, 5, 8]) {
    using logs = log.capture();
    const { proto } = serverOn(new amp.AMP());
    const call = proto.callRemote(Sum, { a: 1, b: 2 });
    proto.dataReceived(
      new amp.AmpBox({ _answer: "1", total: "3" }).serialize().slice(0, cut),
    );
    proto.connectionLost(new Failure(new ConnectionDone()));
    const e = await assertRejects(() => call.asPromise(), amp.MalformedAmpBox);
    assertInstanceOf(e.cause, ConnectionDone);
    assertEquals(logs.flushErrors(amp.MalformedAmpBox).length, 1);
  }
});

Deno.test("Calls still waiting when the connection goes fail with the connection's reason", async () => {
  const { proto } = serverOn(new amp.AMP());
  const call = proto.callRemote(Sum, { a: 1, b: 2 });
  proto.connectionLost(new Failure(new ConnectionLost("reset")));
  await assertRejects(() => call.asPromise(), ConnectionLost, "reset");
  // And later calls fail at once with it.
  await assertRejects(
    () => proto.callRemote(Sum, { a: 1, b: 2 }).asPromise(),
    ConnectionLost,
  );
});

Deno.test("Fuzz: random bytes and mutated boxes never escape dataReceived", () => {
  let seed = 12345;
  const random = (): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 0x1_0000_0000;
  };
  const valid = [
    Sum.makeArguments({ a: 1, b: 2 }),
    Divide.makeArguments({ numerator: 1, denominator: 0 }),
    new amp.AmpBox({ _answer: "1", total: "3" }),
    new amp.AmpBox({ _error: "1", _error_code: "X", _error_description: "y" }),
  ].map((b, i) => {
    if (i < 2) {
      b.set("_command", enc(i === 0 ? "Sum" : "Divide"));
      b.set("_ask", enc(String(i + 1)));
    }
    return b.serialize();
  });
  using logs = log.capture();
  for (let round = 0; round < 2000; round++) {
    let data: Uint8Array;
    if (round % 2 === 0) {
      data = Uint8Array.from(
        { length: Math.floor(random() * 64) },
        () => Math.floor(random() * 256),
      );
    } else {
      data = valid[Math.floor(random() * valid.length)].slice();
      for (let m = 1 + Math.floor(random() * 3); m > 0; m--) {
        data[Math.floor(random() * data.length)] = Math.floor(random() * 256);
      }
    }
    const proto = new Calculator();
    proto.makeConnection(new StringTransport());
    proto.callRemote(Sum, { a: 1, b: 1 }).addErrback(() => undefined);
    for (let i = 0; i < data.length;) {
      const n = 1 + Math.floor(random() * 8);
      proto.dataReceived(data.slice(i, i + n));
      i += n;
    }
    proto.connectionLost(new Failure(new ConnectionDone()));
  }
  logs.flushErrors();
});

// ---------------------------------------------------------------------------
// The dispatcher.

Deno.test("callRemote tags questions in lowercase hex from 1; a call that needs no answer uses up a tag", () => {
  const { proto, transport } = serverOn(new amp.AMP());
  const tags: (string | undefined)[] = [];
  for (let i = 0; i < 17; i++) {
    if (i === 1) {
      assertStrictEquals(proto.callRemote(Notify, { text: "x" }), undefined);
    } else proto.callRemote(Sum, { a: i, b: 0 });
    for (const box of boxesOf(transport.value())) {
      tags.push(box.getText("_ask"));
    }
    transport.clear();
  }
  assertEquals(tags.slice(0, 3), ["1", undefined, "3"]);
  assertEquals(tags.slice(-2), ["10", "11"]);
  proto.failAllOutgoing(new Failure(new ConnectionDone()));
});

Deno.test("Sum and Divide over an in-memory connection: answers, declared errors, unknown and unhandled commands", async () => {
  using logs = log.capture();
  const { client, server, pump } = connectedServerAndClient(
    Calculator,
    amp.AMP,
  );
  const sum = client.callRemote(Sum, { a: 13, b: 81 });
  const zero = client.callRemote(Divide, { numerator: 1234, denominator: 0 });
  class Nope extends amp.Command {}
  const nope = client.callRemote(Nope);
  client.callRemote(Notify, { text: "hi" });
  pump.flush();
  assertEquals(await sum, { total: 94 });
  await assertRejects(() => zero.asPromise(), ZeroDivision, "division by zero");
  const unhandled = await assertRejects(
    () => nope.asPromise(),
    amp.UnhandledCommand,
  );
  assertInstanceOf(unhandled, amp.RemoteAmpError);
  assertEquals(
    [unhandled.errorCode, unhandled.description],
    ["UNHANDLED", "Unhandled Command: b'Nope'"],
  );
  assertEquals(server.notes, ["hi"]);
  assert(!server.transport.disconnecting);
  // An error the command does not declare: "Unknown Error", logged on the
  // server, and the server closes the connection after answering.
  const boom = client.callRemote(Boom);
  pump.flush();
  const unknown = await assertRejects(
    () => boom.asPromise(),
    amp.UnknownRemoteError,
  );
  assertEquals([unknown.errorCode, unknown.description], [
    "UNKNOWN",
    "Unknown Error",
  ]);
  assertEquals(logs.flushErrors(TypeError).length, 1);
  assert(server.transport.disconnecting);
});

Deno.test("A fatal error is answered, then the connection is closed", async () => {
  const { client, server, pump } = connectedServerAndClient(
    Calculator,
    amp.AMP,
  );
  const call = client.callRemote(Divide, { numerator: 1, denominator: -1 });
  pump.flush();
  await assertRejects(() => call.asPromise(), Fatal, "negative");
  assert(server.transport.disconnecting);
});

Deno.test("A responder may return a Promise or a Deferred; answers go out when they settle, in any order", async () => {
  const later = new Deferred<{ total: number }>();
  const soon = Promise.withResolvers<{ total: number }>();
  let calls = 0;
  class Slow extends amp.AMP {
    @Sum.responder
    sum(): Deferred<{ total: number }> | Promise<{ total: number }> {
      return calls++ === 0 ? later : soon.promise;
    }
  }
  const { client, pump } = connectedServerAndClient(Slow, amp.AMP);
  const first = client.callRemote(Sum, { a: 0, b: 0 });
  const second = client.callRemote(Sum, { a: 0, b: 0 });
  pump.flush();
  soon.resolve({ total: 2 });
  await soon.promise;
  pump.flush();
  assertEquals(await second, { total: 2 });
  assert(!first.called);
  later.callback({ total: 1 });
  pump.flush();
  assertEquals(await first, { total: 1 });
});

Deno.test("A rejected Promise of a declared error arrives as that error", async () => {
  class Async extends amp.AMP {
    @Divide.responder
    divide(): Promise<{ result: number }> {
      return Promise.reject(new ZeroDivision("later"));
    }
  }
  const { client, pump } = connectedServerAndClient(Async, amp.AMP);
  const call = client.callRemote(Divide, { numerator: 1, denominator: 0 });
  pump.flush();
  await new Promise((r) => setTimeout(r, 0));
  pump.flush();
  await assertRejects(() => call.asPromise(), ZeroDivision, "later");
});

Deno.test("callRemote refuses missing, unknown and unencodable arguments locally", async () => {
  const { proto, transport } = serverOn(new amp.AMP());
  const call = (args: unknown) =>
    (proto.callRemote as (c: typeof Sum, a: unknown) => Deferred<unknown>)(
      Sum,
      args,
    ).asPromise();
  await assertRejects(
    () => call({ a: 1 }),
    amp.InvalidSignature,
    "forgot b for Sum",
  );
  await assertRejects(
    () => call({ a: 1, b: 2, c: 3 }),
    amp.InvalidSignature,
    "c is not a valid argument",
  );
  await assertRejects(() => call({ a: 1.5, b: 2 }), RangeError, "safe integer");
  await assertRejects(() => call({ a: 2 ** 53, b: 2 }), RangeError);
  assertEquals(transport.value().length, 0);
});

Deno.test("An Integer received that is not a safe integer is a clear error (answered as UNKNOWN)", () => {
  using logs = log.capture();
  const { proto, transport } = serverOn();
  const box = new amp.AmpBox({
    _command: "Sum",
    _ask: "1",
    a: "9007199254740993",
    b: "1",
  });
  proto.dataReceived(box.serialize());
  const answer = boxesOf(transport.value())[0];
  assertEquals(answer.getText("_error_code"), "UNKNOWN");
  const [e] = logs.flushErrors(RangeError);
  assert(String((e.value as Error).message).includes("safe integer"));
  // An undeclared error closes the connection after the answer, as in Twisted.
  assert(transport.disconnecting);
});

Deno.test("Responders declared with @Cmd.responder apply to subclasses, never to unrelated classes; subclasses override", () => {
  class Base extends amp.AMP {
    @Sum.responder
    sum({ a, b }: { a: number; b: number }): { total: number } {
      return { total: a + b + this.extra };
    }
    extra = 0;
  }
  class Child extends Base {
    override extra = 100;
  }
  class Override extends Base {
    @Sum.responder
    times({ a, b }: { a: number; b: number }): { total: number } {
      return { total: a * b };
    }
  }
  class Unrelated extends amp.AMP {}
  const ask = (proto: amp.AMP): string | undefined => {
    const { transport } = serverOn(proto);
    proto.dataReceived(
      new amp.AmpBox({ _command: "Sum", _ask: "1", a: "3", b: "4" })
        .serialize(),
    );
    const box = boxesOf(transport.value())[0];
    return box.getText("total") ?? box.getText("_error_code");
  };
  assertEquals(ask(new Base()), "7");
  assertEquals(ask(new Child()), "107");
  assertEquals(ask(new Override()), "12");
  assertEquals(ask(new Unrelated()), "UNHANDLED");
});

Deno.test("@Cmd.responder on a class that is not a locator is a clear error", () => {
  class NotALocator {
    @Sum.responder
    sum(): { total: number } {
      return { total: 0 };
    }
  }
  assertThrows(
    () => new NotALocator(),
    TypeError,
    "not an AMP or a CommandLocator",
  );
});

Deno.test("registerResponder, a CommandLocator passed as locator, and amp_ methods answer commands", async () => {
  const locator = new amp.CommandLocator();
  locator.registerResponder(Sum, ({ a, b }) => ({ total: a - b }));
  const { client, pump } = connectedServerAndClient(
    {
      buildProtocol: () => new amp.AMP({ locator }),
      doStart() {},
      doStop() {},
    },
    amp.AMP,
  );
  const call = client.callRemote(Sum, { a: 10, b: 3 });
  pump.flush();
  assertEquals(await call, { total: 7 });

  class Raw extends amp.AMP {
    amp_PING(box: amp.AmpBox): amp.AmpBox {
      return new amp.AmpBox({ pong: box.get("n")! });
    }
  }
  const raw = connectedServerAndClient(Raw, amp.AMP);
  const answer = raw.client.callRemoteString("ping", { n: "5" })!;
  raw.pump.flush();
  assertEquals((await answer).getText("pong"), "5");
});

Deno.test("A custom commandName is what goes on the wire; a subclass gets its own class name", () => {
  class Named extends amp.Command {
    static override commandName = "do-it";
  }
  class Sub extends Named {}
  assertEquals(amp.commandNameOf(Named), "do-it");
  assertEquals(amp.commandNameOf(Sub), "Sub");
});

Deno.test("errors are inherited by subclasses of a command", async () => {
  class Sub extends Divide {}
  class Server extends amp.AMP {
    @Sub.responder
    divide(): never {
      throw new ZeroDivision("inherited");
    }
  }
  const { client, pump } = connectedServerAndClient(Server, amp.AMP);
  const call = client.callRemote(Sub, { numerator: 1, denominator: 0 });
  pump.flush();
  await assertRejects(() => call.asPromise(), ZeroDivision, "inherited");
});

Deno.test("An optional argument left out is absent on the other side", async () => {
  class Greet extends amp.Command {
    static override arguments = { name: new amp.Unicode({ optional: true }) };
    static override response = { text: new amp.Unicode() };
  }
  class Server extends amp.AMP {
    @Greet.responder
    greet(args: { name?: string }): { text: string } {
      return { text: "name" in args ? `hi ${args.name}` : "hi nobody" };
    }
  }
  const { client, pump } = connectedServerAndClient(Server, amp.AMP);
  const a = client.callRemote(Greet, {});
  const b = client.callRemote(Greet, { name: "ann" });
  const c = client.callRemote(Greet, { name: null });
  pump.flush();
  assertEquals([await a, await b, await c].map((r) => r.text), [
    "hi nobody",
    "hi ann",
    "hi nobody",
  ]);
});

Deno.test("QuitBox closes the connection once sent", () => {
  const { proto, transport } = serverOn(new amp.AMP());
  new amp.QuitBox({ bye: "1" }).sendTo(proto);
  assert(transport.disconnecting);
  assertEquals(boxesOf(transport.value())[0].getText("bye"), "1");
});

// ---------------------------------------------------------------------------
// Argument types.

Deno.test("Float writes what Python's repr writes", () => {
  const cases: [number, string][] = [
    [617, "617.0"],
    [1e-5, "1e-05"],
    [1e16, "1e+16"],
    [1e15, "1000000000000000.0"],
    [0.0001, "0.0001"],
    [-0, "-0.0"],
    [0, "0.0"],
    [Infinity, "inf"],
    [-Infinity, "-inf"],
    [NaN, "nan"],
    [0.1, "0.1"],
    [1.5e300, "1.5e+300"],
    [5e-324, "5e-324"],
    [123456789.123, "123456789.123"],
    [1e22, "1e+22"],
    [-2.5e-7, "-2.5e-07"],
  ];
  for (const [x, text] of cases) assertEquals(amp.pythonFloatRepr(x), text);
  const float = new amp.Float();
  for (
    const [text, x] of [
      ["  1_000.5 ", 1000.5],
      ["-inf", -Infinity],
      ["Infinity", Infinity],
      [".5", 0.5],
      ["5.", 5],
      ["1E3", 1000],
    ] as const
  ) {
    assertEquals(float.fromBytes(enc(text)), x);
  }
  assertThrows(() => float.fromBytes(enc("1,5")), TypeError);
});

Deno.test("Integer and BigInteger read Python's int() forms and refuse others", () => {
  const int = new amp.Integer();
  assertEquals(int.fromBytes(enc("-0042")), -42);
  assertEquals(int.fromBytes(enc(" +7 ")), 7);
  assertEquals(int.fromBytes(enc("1_000_000")), 1_000_000);
  assertEquals(int.fromBytes(enc("9007199254740991")), 2 ** 53 - 1);
  for (const bad of ["", "-", "1.0", "0x10", "1__0", "abc"]) {
    assertThrows(() => int.fromBytes(enc(bad)), TypeError, undefined, bad);
  }
  const big = new amp.BigInteger();
  assertEquals(big.fromBytes(enc("-" + "9".repeat(100))), -(10n ** 100n - 1n));
  assertEquals(dec(big.toBytes(-(10n ** 40n))), "-1" + "0".repeat(40));
});

Deno.test("Boolean, Unicode, Bytes and Path", () => {
  const bool = new amp.Boolean();
  assertEquals([dec(bool.toBytes(true)), dec(bool.toBytes(false))], [
    "True",
    "False",
  ]);
  assertThrows(() => bool.fromBytes(enc("true")), TypeError);
  const text = new amp.Unicode();
  assertEquals(text.fromBytes(enc("\ufeffbom kept")), "\ufeffbom kept");
  assertThrows(() => text.fromBytes(new Uint8Array([0xff])), TypeError);
  assertStrictEquals(amp.String, amp.Bytes);
  assertEquals(new amp.Path().fromBytes(enc("/tmp/é")), "/tmp/é");
});

Deno.test("DateTime keeps the offset and the microseconds; UTC is written -00:00", () => {
  const dt = new amp.DateTime();
  for (
    const wire of [
      "2012-01-23T12:34:56.054321-05:30",
      "0001-01-01T00:00:00.000000+23:59",
      "9999-12-31T23:59:59.999999-23:59",
    ]
  ) {
    assertEquals(dec(dt.toBytes(dt.fromBytes(enc(wire)))), wire);
  }
  const utc = dt.fromBytes(enc("2000-01-01T00:00:00.000000-00:00"));
  assertEquals(utc.offset, "+00:00");
  assertEquals(dec(dt.toBytes(utc)), "2000-01-01T00:00:00.000000-00:00");
  assertEquals(
    dec(dt.toBytes(new Date(Date.UTC(2020, 1, 3, 4, 5, 6, 789)))),
    "2020-02-03T04:05:06.789000-00:00",
  );
  assertThrows(() => dt.fromBytes(enc("2012-01-23T12:34:56-05:30")), TypeError);
  assertThrows(
    () => dt.fromBytes(enc("2012-02-30T12:34:56.000000-05:30")),
    TypeError,
  );
  assertThrows(() => dt.toBytes(new Date(NaN)), RangeError);
});

Deno.test("Decimal carries its text, checked against Python's syntax", () => {
  const d = new amp.Decimal();
  for (
    const text of [
      "1.50",
      "-0",
      "1E+2",
      "Infinity",
      "-Infinity",
      "NaN",
      "sNaN",
      ".5",
      "1e-7",
    ]
  ) {
    assertEquals(d.fromBytes(d.toBytes(text)), text);
  }
  for (const bad of ["", "1,5", "0x1", "1e", "--1"]) {
    assertThrows(() => d.toBytes(bad), TypeError, undefined, bad);
  }
});

Deno.test("ListOf and AmpList refuse data that ends mid-element, and allow empty boxes", () => {
  const list = new amp.ListOf(new amp.Integer());
  assertThrows(
    () => list.fromBytes(new Uint8Array([0, 2, 49])),
    amp.MalformedAmpBox,
  );
  assertThrows(() => list.fromBytes(new Uint8Array([0])), amp.MalformedAmpBox);
  const rows = new amp.AmpList({ x: new amp.Integer({ optional: true }) });
  assertEquals(rows.fromBytes(rows.toBytes([{}, { x: 1 }])), [{}, { x: 1 }]);
  assertThrows(
    () => rows.fromBytes(new Uint8Array([0, 1, 120])),
    amp.MalformedAmpBox,
  );
});

// ---------------------------------------------------------------------------
// Protocol switching and StartTLS.

Deno.test("ProtocolSwitchCommand switches both sides; bytes after the answer go to the new protocols", async () => {
  class ToRaw extends amp.ProtocolSwitchCommand {
    static override arguments = { greeting: new amp.Unicode() };
  }
  const serverGot: string[] = [];
  const clientGot: string[] = [];
  class RawServer extends Protocol {
    override dataReceived(data: Uint8Array): void {
      serverGot.push(dec(data));
      this.transport.write(data);
    }
  }
  class RawClient extends Protocol {
    override dataReceived(data: Uint8Array): void {
      clientGot.push(dec(data));
    }
  }
  class Server extends amp.AMP {
    @ToRaw.responder
    toRaw({ greeting }: { greeting: string }): Protocol {
      serverGot.push(greeting);
      return new RawServer();
    }
  }
  const { client, server, pump } = connectedServerAndClient(Server, amp.AMP);
  const factory = {
    buildProtocol: () => new RawClient(),
    doStart() {},
    doStop() {},
  };
  const switched = client.callRemote(ToRaw, { greeting: "hello" }, factory);
  // Nothing more goes out over AMP on a connection being switched.
  await assertRejects(
    () => client.callRemote(Sum, { a: 1, b: 1 }).asPromise(),
    amp.ProtocolSwitched,
  );
  pump.flush();
  await switched;
  assertExists(client.innerProtocol);
  assertExists(server.innerProtocol);
  (client.innerProtocol as Protocol).transport.write("raw bytes");
  pump.flush();
  assertEquals(serverGot, ["hello", "raw bytes"]);
  assertEquals(clientGot, ["raw bytes"]);
  assertThrows(
    () => server.sendBox(new amp.AmpBox({ a: "1" })),
    amp.ProtocolSwitched,
  );
});

/** A StringTransport that records `startTLS` calls. */
class TLSRecordingTransport extends StringTransport {
  started: unknown[] = [];
  /** The bytes written when TLS was started. */
  before = 0;
  startTLS(options: unknown): void {
    this.started.push(options);
    this.before = this.value().length;
  }
}

Deno.test("StartTLS: the responder answers, then starts TLS as the server; the caller holds boxes back until the answer, then starts TLS as the client", async () => {
  const certificate = { cert: "CERT", key: "KEY" };
  class Server extends amp.AMP {
    @amp.StartTLS.responder
    startTLS(): { tls_localCertificate: amp.TLSCertificate } {
      return { tls_localCertificate: certificate };
    }
  }
  const server = new Server();
  const st = new TLSRecordingTransport();
  server.makeConnection(st);
  server.dataReceived(
    new amp.AmpBox({ _command: "StartTLS", _ask: "1" }).serialize(),
  );
  assertEquals(st.started, [{ server: true, cert: "CERT", key: "KEY" }]);
  const answer = boxesOf(st.value());
  assertEquals(answer.map(texts), [{ _answer: "1" }]);
  assertEquals(st.before, st.value().length); // the answer went first

  const client = new amp.AMP();
  const ct = new TLSRecordingTransport();
  client.makeConnection(ct);
  const started = client.callRemote(amp.StartTLS, {
    tls_verifyAuthorities: ["CA"],
    tls_hostname: "example.com",
  });
  const held = client.callRemote(Sum, { a: 1, b: 2 });
  // Only the StartTLS box went out; the special arguments never go on the wire.
  assertEquals(boxesOf(ct.value()).map(texts), [{
    _ask: "1",
    _command: "StartTLS",
  }]);
  client.dataReceived(new amp.AmpBox({ _answer: "1" }).serialize());
  await started;
  assertEquals(ct.started, [{
    server: false,
    hostname: "example.com",
    caCerts: ["CA"],
  }]);
  assertEquals(boxesOf(ct.value()).length, 2); // the held call went after
  client.dataReceived(new amp.AmpBox({ _answer: "2", total: "3" }).serialize());
  assertEquals(await held, { total: 3 });
  // Only once per connection.
  await assertRejects(
    () => client.callRemote(amp.StartTLS, {}).asPromise(),
    amp.OnlyOneTLS,
  );
});

Deno.test("StartTLS without a certificate from the responder is answered with a TLS_ERROR", async () => {
  class Server extends amp.AMP {
    @amp.StartTLS.responder
    startTLS(): Record<string, never> {
      return {};
    }
  }
  const { client, pump } = connectedServerAndClient(Server, amp.AMP);
  const call = client.callRemote(amp.StartTLS, {});
  const after = client.callRemote(Sum, { a: 1, b: 2 });
  pump.flush();
  const e = await assertRejects(() => call.asPromise(), amp.UnknownRemoteError);
  assertEquals(e.errorCode, "TLS_ERROR");
  // The held-back call was sent after all.
  pump.flush();
  await assertRejects(() => after.asPromise(), amp.UnhandledCommand);
});

Deno.test("new AMP({ boxReceiver }) hands parsed boxes to that receiver; sendBox after the connection is gone throws ConnectionLost", () => {
  const got: string[] = [];
  let stopped: Failure | undefined;
  const receiver: amp.IBoxReceiver = {
    startReceivingBoxes(sender) {
      got.push(`start ${sender instanceof amp.AMP}`);
    },
    ampBoxReceived(box) {
      got.push(box.getText("hello")!);
    },
    stopReceivingBoxes(reason) {
      stopped = reason;
    },
  };
  const proto = new amp.AMP({ boxReceiver: receiver });
  proto.makeConnection(new StringTransport());
  proto.dataReceived(new amp.AmpBox({ hello: "world" }).serialize());
  assertEquals(got, ["start true", "world"]);
  proto.connectionLost(new Failure(new ConnectionDone()));
  assertInstanceOf(stopped?.value, ConnectionDone);
  assertThrows(
    () => proto.sendBox(new amp.AmpBox({ a: "1" })),
    ConnectionLost,
  );
});

Deno.test("StartTLS: a responder's tls_verifyAuthorities make its side verify the caller, whose tls_localCertificate is presented", async () => {
  class Server extends amp.AMP {
    @amp.StartTLS.responder
    startTLS(): {
      tls_localCertificate: amp.TLSCertificate;
      tls_verifyAuthorities: string[];
    } {
      return {
        tls_localCertificate: { cert: "CERT", key: "KEY" },
        tls_verifyAuthorities: ["CLIENT CA"],
      };
    }
  }
  const server = new Server();
  const st = new TLSRecordingTransport();
  server.makeConnection(st);
  server.dataReceived(
    new amp.AmpBox({ _command: "StartTLS", _ask: "1" }).serialize(),
  );
  assertEquals(st.started, [{
    server: true,
    cert: "CERT",
    key: "KEY",
    verify: true,
    caCerts: ["CLIENT CA"],
  }]);

  const client = new amp.AMP();
  const ct = new TLSRecordingTransport();
  client.makeConnection(ct);
  const started = client.callRemote(amp.StartTLS, {
    tls_localCertificate: { cert: "MINE", key: "MY KEY" },
    tls_verifyAuthorities: ["CA"],
  });
  client.dataReceived(new amp.AmpBox({ _answer: "1" }).serialize());
  await started;
  assertEquals(ct.started, [{
    server: false,
    hostname: undefined,
    caCerts: ["CA"],
    cert: "MINE",
    key: "MY KEY",
  }]);
});
