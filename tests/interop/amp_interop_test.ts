/**
 * Twist's AMP against Python Twisted's, over loopback, both ways: the calls of
 * Twisted's documented ampserver.py/ampclient.py pair (Sum and Divide),
 * random calls with every argument type and their edge values, 1,000 calls in
 * flight answered out of order, a call that needs no answer, and StartTLS;
 * and the bytes of fixed calls and answers compared with Twisted's. The
 * Python peer is tests/interop/amp_peer.py.
 */
import { assert, assertEquals, assertRejects } from "@std/assert";
import { hasPythonTwisted, withTimeout } from "../_helpers.ts";
import { spawn } from "../_processes.ts";
import { Reactor } from "../../src/internet/reactor.ts";
import { Factory } from "../../src/internet/protocol.ts";
import { type Deferred, gatherResults } from "../../src/internet/defer.ts";
import {
  clientFromString,
  connectProtocol,
} from "../../src/internet/endpoints.ts";
import { StringTransport } from "../../src/testing/mod.ts";
import { log } from "../../src/logger.ts";
import { Failure } from "../../src/internet/failure.ts";
import { ConnectionDone } from "../../src/internet/error.ts";
import * as amp from "../../src/protocols/amp.ts";
import {
  Divide,
  Echo,
  Gather,
  MathServer,
  Notified,
  Notify,
  rng,
  Secure,
  Sum,
  ZeroDivision,
} from "./amp_commands.ts";

const PYTHON = "/usr/bin/python3";
const PEER = "tests/interop/amp_peer.py";
const TLS = "tests/fixtures/tls";
const twisted = await hasPythonTwisted();
if (!twisted) {
  // deno-lint-ignore no-console
  console.log(
    "skipped: AMP interop tests need /usr/bin/python3 with Twisted (apt-get install python3-twisted)",
  );
}

const hex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

Deno.test({
  name:
    "interop: Twist's AMP sends the same bytes as Twisted's for the same calls and answers",
  ignore: !twisted,
  async fn() {
    await using dump = spawn(PYTHON, [PEER, "dump"]);
    assertEquals((await dump.wait(30_000)).code, 0, dump.stderr());
    const expected = new Map(
      dump.stdout().trim().split("\n").map((line) =>
        line.split(" ") as [string, string]
      ),
    );
    const got = new Map<string, string>();
    const transport = new StringTransport();
    const client = new amp.AMP();
    client.makeConnection(transport);
    const take = (label: string): void => {
      got.set(label, hex(transport.value()));
      transport.clear();
    };
    const calls: (Deferred<unknown> | undefined)[] = [];
    calls.push(client.callRemote(Sum, { a: 13, b: 81 }));
    take("call-sum");
    client.callRemote(Notify, { text: "h\u00e9llo" });
    take("call-notify");
    calls.push(client.callRemote(Divide, { numerator: 1234, denominator: 0 }));
    take("call-divide");
    calls.push(client.callRemote(Echo, {
      i: -42,
      big: 10n ** 30n,
      flt: 1e-5,
      fl: [617, Infinity, -Infinity, NaN, -0, 1e16, 0.1],
      b: true,
      u: "\u4e16\u754c \u{1F600}",
      s: new Uint8Array([0, 255]),
      l: [1, 22, 333],
      al: [{ x: 7, y: "hello" }, { x: 9 }],
      dt: Temporal.ZonedDateTime.from(
        "2012-01-23T12:34:56.054321-05:30[-05:30]",
      ),
      d: "1.50",
      p: "/tmp/x",
    }));
    take("call-echo");
    calls.push(client.callRemote(Echo, {
      i: 0,
      big: 0n,
      flt: 0,
      fl: [],
      b: false,
      u: "",
      s: new Uint8Array(),
      l: [],
      al: [],
      dt: new Date(Date.UTC(2000, 0, 1)),
      d: "-0",
      p: "/",
      o: "x",
    }));
    take("call-echo-empty");

    const server = new MathServer();
    const st = new StringTransport();
    server.makeConnection(st);
    const answer = (label: string, box: Record<string, string>): void => {
      server.dataReceived(new amp.AmpBox(box).serialize());
      got.set(label, hex(st.value()));
      st.clear();
    };
    answer("answer-sum", { _command: "Sum", _ask: "1", a: "13", b: "81" });
    answer("answer-divide", {
      _command: "Divide",
      _ask: "2",
      numerator: "1",
      denominator: "8",
    });
    answer("answer-zero", {
      _command: "Divide",
      _ask: "3",
      numerator: "1234",
      denominator: "0",
    });
    answer("answer-unhandled", { _command: "Nope", _ask: "a" });
    assertEquals(got, expected);
    // The calls made above wait for answers that never come: end them.
    client.connectionLost(new Failure(new ConnectionDone()));
    for (const d of calls) d?.addErrback(() => undefined);
  },
});

/** Listens with Twist's Math server; resolves with the port. */
function mathServer(reactor: Reactor) {
  MathServer.certificate = {
    cert: Deno.readTextFileSync(`${TLS}/server.pem`),
    key: Deno.readTextFileSync(`${TLS}/server.key`),
  };
  const factory = Factory.forProtocol(MathServer);
  factory.noisy = false;
  return reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
}

Deno.test({
  name:
    "interop: a Twisted AMP client (ampclient.py's calls, every type, 1,000 in flight, StartTLS) against Twist's Math server",
  ignore: !twisted,
  async fn() {
    using _logs = log.capture();
    const reactor = new Reactor();
    const port = mathServer(reactor);
    try {
      await using client = spawn(PYTHON, [
        PEER,
        "client",
        `${port.getHost().port}`,
        `${TLS}/ca.pem`,
        "3",
      ]);
      const status = await client.wait(60_000);
      assertEquals(
        client.stdout(),
        [
          "sum 94",
          "divide ZeroDivisionError division by zero",
          "echo ok 200",
          "gather ok 1000",
          "notified one,two",
          "tls True localhost",
          "sum after tls 3",
          "",
        ].join("\n"),
        client.stderr(),
      );
      assertEquals(status.code, 0);
    } finally {
      await port.stopListening();
    }
  },
});

/** Random values for every argument type, edge cases included. */
function randomEcho(random: () => number, k: number) {
  const int = (lo: number, hi: number): number =>
    Math.floor(lo + random() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)];
  const SPECIAL = [
    Infinity,
    -Infinity,
    NaN,
    -0,
    0,
    1e-5,
    1e16,
    617,
    5e-324,
    Number.MAX_VALUE,
    0.1,
    1e22,
    123456789012345680,
  ];
  const float = (): number =>
    random() < 0.4 ? pick(SPECIAL) : (random() * 2 - 1) * 10 ** int(-300, 300);
  const text = (n: number): string => {
    const ranges = [[0x20, 0x7e], [0xa0, 0xff], [0x4e00, 0x4fff], [
      0x1f600,
      0x1f64f,
    ], [0, 0x1f]];
    let s = "";
    for (let i = 0; i < n; i++) {
      const [lo, hi] = pick(ranges);
      s += String.fromCodePoint(int(lo, hi));
    }
    return s;
  };
  const safe = (): number =>
    int(-(2 ** 53) + 1, 2 ** 53 - 1) * (random() < 0.5 ? 1 : 1);
  const bigint = (): bigint => {
    let b = 0n;
    for (let i = int(0, 12); i > 0; i--) {
      b = b * 2n ** 52n + BigInt(int(0, 2 ** 52 - 1));
    }
    return random() < 0.5 ? -b : b;
  };
  // Only canonical forms (what Python's str(Decimal(...)) gives back).
  const decimal = (): string => {
    const choice = int(0, 5);
    if (choice === 0) {
      return pick(["NaN", "Infinity", "-Infinity", "-0", "0.00"]);
    }
    let frac = "";
    if (choice < 4) {
      const whole = String(int(0, 10 ** int(1, 15)));
      for (let i = int(0, 12); i > 0; i--) frac += String(int(0, 9));
      return `${pick(["", "-"])}${whole}${frac ? "." + frac : ""}`;
    }
    for (let i = int(0, 5); i > 0; i--) frac += String(int(0, 9));
    const exponent = random() < 0.5
      ? `+${frac.length + 1 + int(0, 20)}`
      : `-${7 + int(0, 20)}`;
    return `${pick(["", "-"])}${int(1, 9)}${
      frac ? "." + frac : ""
    }E${exponent}`;
  };
  const offset = int(-(23 * 60 + 59), 23 * 60 + 59);
  const sign = offset < 0 ? "-" : "+";
  const zone = `${sign}${
    String(Math.floor(Math.abs(offset) / 60)).padStart(2, "0")
  }:${String(Math.abs(offset) % 60).padStart(2, "0")}`;
  const dt = Temporal.ZonedDateTime.from({
    year: int(1, 9999),
    month: int(1, 12),
    day: int(1, 28),
    hour: int(0, 23),
    minute: int(0, 59),
    second: int(0, 59),
    millisecond: int(0, 999),
    microsecond: int(0, 999),
    timeZone: zone === "-00:00" ? "+00:00" : zone,
  });
  const size = k % 50 === 0 ? 65_535 : pick([0, 1, 10, 1000]);
  const s = new Uint8Array(size);
  for (let i = 0; i < size; i++) s[i] = int(0, 255);
  return {
    i: safe(),
    big: bigint(),
    flt: float(),
    fl: Array.from({ length: int(0, 20) }, float),
    b: random() < 0.5,
    u: text(int(0, 40)),
    s,
    l: Array.from({ length: int(0, 30) }, safe),
    al: Array.from(
      { length: int(0, 5) },
      () =>
        random() < 0.5 ? { x: int(-1000, 1000), y: text(5) } : {
          x: int(-1000, 1000),
        },
    ),
    dt,
    d: decimal(),
    p: "/tmp/" + text(8).replaceAll("/", "_").replaceAll("\0", "_").replaceAll(
      ".",
      "_",
    ),
    ...(random() < 0.5 ? { o: text(3) } : {}),
  };
}

/** An echoed value in a form `assertEquals` compares exactly. */
function comparable(value: Record<string, unknown>): Record<string, unknown> {
  return {
    ...value,
    dt: (value.dt as Temporal.ZonedDateTime).toString(),
    flt: Object.is(value.flt, -0) ? "-0" : value.flt,
    fl: (value.fl as number[]).map((x) => Object.is(x, -0) ? "-0" : x),
  };
}

Deno.test({
  name:
    "interop: a Twist AMP client (ampclient.py's calls, every type, 1,000 in flight, StartTLS) against Twisted's server",
  ignore: !twisted,
  async fn() {
    using _logs = log.capture();
    await using server = spawn(PYTHON, [
      PEER,
      "server",
      `${TLS}/server.pem`,
      `${TLS}/server.key`,
    ]);
    const out = await server.waitForOutput(/port (\d+)\n/, 30_000);
    const port = Number(out.match(/port (\d+)/)![1]);
    const reactor = new Reactor();
    const proto = await withTimeout(
      connectProtocol(
        clientFromString(reactor, `tcp:127.0.0.1:${port}`),
        new amp.AMP(),
      ),
      20_000,
      "the connection",
    );
    const lost = Promise.withResolvers<void>();
    const connectionLost = proto.connectionLost.bind(proto);
    proto.connectionLost = (reason) => {
      connectionLost(reason);
      lost.resolve();
    };
    const { total } = await proto.callRemote(Sum, { a: 13, b: 81 });
    assertEquals(total, 94);
    await assertRejects(
      () =>
        proto.callRemote(Divide, { numerator: 1234, denominator: 0 })
          .asPromise(),
      ZeroDivision,
      "division by zero",
    );
    const random = rng(11);
    for (let k = 0; k < 200; k++) {
      const args = randomEcho(random, k);
      const back = await proto.callRemote(Echo, args);
      assertEquals(comparable(back), comparable(args), `round ${k}`);
    }
    const calls = Array.from(
      { length: 1000 },
      (_, n) => proto.callRemote(Gather, { n, total: 1000 }),
    );
    const order: number[] = [];
    calls.forEach((d) =>
      d.addCallback((answer) => {
        order.push(answer.n);
        return answer;
      })
    );
    const answers = await withTimeout(
      gatherResults(calls),
      30_000,
      "1,000 calls",
    );
    assertEquals(
      answers.map(({ n }) => n),
      Array.from({ length: 1000 }, (_, n) => n),
    );
    assert(order.some((n, i) => n !== i), "the answers came in order");
    assertEquals(proto.callRemote(Notify, { text: "one" }), undefined);
    proto.callRemote(Notify, { text: "two" });
    assertEquals((await proto.callRemote(Notified)).texts, ["one", "two"]);
    await proto.callRemote(amp.StartTLS, {
      tls_verifyAuthorities: [Deno.readTextFileSync(`${TLS}/ca.pem`)],
    });
    assertEquals((await proto.callRemote(Secure)).tls, true);
    assertEquals((await proto.callRemote(Sum, { a: 1, b: 2 })).total, 3);
    proto.transport.loseConnection();
    await withTimeout(lost.promise, 10_000, "the connection to close");
  },
});

Deno.test({
  name:
    "interop: StartTLS fails for a Twist client that does not trust the Twisted server's certificate",
  ignore: !twisted,
  async fn() {
    using logs = log.capture();
    await using server = spawn(PYTHON, [
      PEER,
      "server",
      `${TLS}/untrusted.pem`,
      `${TLS}/untrusted.key`,
    ]);
    const out = await server.waitForOutput(/port (\d+)\n/, 30_000);
    const port = Number(out.match(/port (\d+)/)![1]);
    const reactor = new Reactor();
    const proto = await connectProtocol(
      clientFromString(reactor, `tcp:127.0.0.1:${port}`),
      new amp.AMP(),
    );
    await proto.callRemote(amp.StartTLS, {
      tls_verifyAuthorities: [Deno.readTextFileSync(`${TLS}/ca.pem`)],
    });
    // The handshake fails, so the connection goes and the call after fails.
    await assertRejects(() =>
      withTimeout(proto.callRemote(Secure).asPromise(), 20_000, "the failure")
    );
    logs.flushErrors();
  },
});
