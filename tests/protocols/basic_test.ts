import {
  assert,
  assertEquals,
  assertLessOrEqual,
  assertThrows,
} from "@std/assert";
import {
  Int16StringReceiver,
  Int32StringReceiver,
  Int8StringReceiver,
  IntNStringReceiver,
  LineOnlyReceiver,
  LineReceiver,
  NetstringParseError,
  NetstringReceiver,
  StringTooLongError,
} from "../../src/protocols/basic.ts";
import { StringTransport } from "../../src/testing/mod.ts";
import { log } from "../../src/logger.ts";
import { decode, encode } from "../_helpers.ts";

/** A seeded PRNG, so random tests are repeatable. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

/** Every way of cutting `data`: fixed sizes 1..n, every 2-split, and seeded random cuts. */
function* splits(data: Uint8Array, randomRuns = 20): Generator<Uint8Array[]> {
  for (let size = 1; size <= data.length; size++) {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < data.length; i += size) {
      chunks.push(data.subarray(i, i + size));
    }
    yield chunks;
  }
  for (let i = 0; i <= data.length; i++) {
    yield [data.subarray(0, i), data.subarray(i)];
  }
  const random = prng(42);
  for (let run = 0; run < randomRuns; run++) {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < data.length;) {
      const n = 1 + Math.floor(random() * 7);
      chunks.push(data.subarray(i, i + n));
      i += n;
    }
    yield chunks;
  }
}

/**
 * Twisted's LineTester: records lines; "len N" switches to raw mode for N
 * bytes; "produce" / "pause" / "resume" exercise pausing; "delim X" changes the
 * delimiter.
 */
class LineTester extends LineReceiver {
  received: string[] = [];
  #rawLeft = 0;
  constructor(maxLength = 64) {
    super();
    this.delimiter = "\n";
    this.MAX_LENGTH = maxLength;
  }
  override lineReceived(bytes: Uint8Array): void {
    const line = decode(bytes);
    this.received.push(line);
    if (line.startsWith("len ")) {
      this.#rawLeft = Number(line.slice(4));
      this.received.push("");
      this.setRawMode();
    } else if (line.startsWith("delim ")) {
      this.delimiter = line.slice(6);
    }
  }
  override rawDataReceived(data: Uint8Array): void {
    const take = Math.min(data.length, this.#rawLeft);
    this.received[this.received.length - 1] += decode(data.subarray(0, take));
    this.#rawLeft -= take;
    if (this.#rawLeft === 0) this.setLineMode(data.subarray(take));
  }
  override lineLengthExceeded(line: Uint8Array): void {
    this.received.push(`exceeded ${line.length}`);
    super.lineLengthExceeded(line);
  }
}

function feed<
  P extends {
    makeConnection(t: StringTransport): void;
    dataReceived(d: Uint8Array): void;
  },
>(
  make: () => P,
  chunks: Uint8Array[],
): { p: P; transport: StringTransport } {
  const p = make();
  const transport = new StringTransport();
  p.makeConnection(transport);
  for (const c of chunks) p.dataReceived(c);
  return { p, transport };
}

const LINE_INPUT = encode(
  "len 10\n0123456789len 5\n1234\nhello\nfoo\ndelim ;\na;b;delim \n;last\nrest",
);

Deno.test("LineReceiver delivers the same lines and raw data whatever the chunk boundaries", () => {
  const expected = [
    "len 10",
    "0123456789",
    "len 5",
    "1234\n",
    "hello",
    "foo",
    "delim ;",
    "a",
    "b",
    "delim \n",
    "last",
  ];
  for (const chunks of splits(LINE_INPUT)) {
    const { p } = feed(() => new LineTester(), chunks);
    assertEquals(
      p.received.filter((l) => l !== ""),
      expected.filter((l) => l !== ""),
    );
    assertEquals(decode(p.clearLineBuffer()), "rest");
  }
});

Deno.test("LineReceiver: a mode switch takes effect for the very next byte, within one chunk", () => {
  const { p } = feed(() => new LineTester(), [encode("len 3\nabcdef\n")]);
  assertEquals(p.received, ["len 3", "abc", "def"]);
});

Deno.test("LineReceiver: MAX_LENGTH exactly, below and above", () => {
  const max = 10;
  const at = feed(() => new LineTester(max), [encode("x".repeat(max) + "\n")]);
  assertEquals(at.p.received, ["x".repeat(max)]);
  assert(!at.transport.disconnecting);
  const below = feed(() => new LineTester(max), [
    encode("x".repeat(max - 1) + "\n"),
  ]);
  assertEquals(below.p.received, ["x".repeat(max - 1)]);
  const above = feed(() => new LineTester(max), [
    encode("x".repeat(max + 1) + "\nmore\n"),
  ]);
  assertEquals(above.p.received, [`exceeded ${max + 1 + 1 + 5}`]);
  assert(above.transport.disconnecting);
  // Unterminated data: exceeded once it is MAX_LENGTH + the delimiter long.
  const partial = feed(() => new LineTester(max), [encode("y".repeat(max))]);
  assertEquals(partial.p.received, []);
  partial.p.dataReceived(encode("y"));
  assertEquals(partial.p.received, [`exceeded ${max + 1}`]);
});

Deno.test("LineReceiver stops delivering once the transport is disconnecting", () => {
  class Quit extends LineReceiver {
    lines: string[] = [];
    override lineReceived(line: Uint8Array): void {
      this.lines.push(decode(line));
      if (decode(line) === "quit") this.transport.loseConnection();
    }
  }
  const { p } = feed(() => new Quit(), [encode("a\r\nquit\r\nb\r\n")]);
  assertEquals(p.lines, ["a", "quit"]);
});

Deno.test("LineReceiver: pauseProducing holds lines back, including buffered ones, until resumeProducing", () => {
  class Pausing extends LineReceiver {
    lines: string[] = [];
    override lineReceived(line: Uint8Array): void {
      this.lines.push(decode(line));
      if (decode(line) === "pause") this.pauseProducing();
    }
  }
  const { p, transport } = feed(() => new Pausing(), [
    encode("a\r\npause\r\nb\r\nc\r\n"),
  ]);
  assertEquals(p.lines, ["a", "pause"]);
  assertEquals(transport.producerState, "paused");
  p.dataReceived(encode("d\r\n"));
  assertEquals(p.lines, ["a", "pause"]);
  p.resumeProducing();
  assertEquals(p.lines, ["a", "pause", "b", "c", "d"]);
  assertEquals(transport.producerState, "producing");
});

Deno.test("LineReceiver: sendLine, byte delimiters, empty lines and clearLineBuffer", () => {
  class Lines extends LineReceiver {
    lines: string[] = [];
    override lineReceived(line: Uint8Array): void {
      this.lines.push(decode(line));
    }
  }
  const { p, transport } = feed(() => {
    const l = new Lines();
    l.delimiter = new Uint8Array([0]);
    return l;
  }, [new Uint8Array([0, 0, 97, 0, 98])]);
  assertEquals(p.lines, ["", "", "a"]);
  p.sendLine("x");
  p.sendLine(encode("y"));
  assertEquals(transport.value(), new Uint8Array([120, 0, 121, 0]));
  assertEquals(decode(p.clearLineBuffer()), "b");
  assertEquals(p.clearLineBuffer().length, 0);
  p.delimiter = "";
  assertThrows(() => p.dataReceived(encode("z")), RangeError);
});

Deno.test("LineReceiver without overrides says what to override", () => {
  const p = new LineReceiver();
  p.makeConnection(new StringTransport());
  assertThrows(
    () => p.dataReceived(encode("x\r\n")),
    Error,
    "must override lineReceived",
  );
  const raw = new LineReceiver();
  raw.makeConnection(new StringTransport());
  raw.setRawMode();
  assertThrows(() => raw.dataReceived(encode("x")), Error, "rawDataReceived");
});

class OnlyLines extends LineOnlyReceiver {
  lines: string[] = [];
  exceeded: number[] = [];
  override lineReceived(line: Uint8Array): void {
    this.lines.push(decode(line));
  }
  override lineLengthExceeded(line: Uint8Array): void {
    this.exceeded.push(line.length);
    super.lineLengthExceeded(line);
  }
}

Deno.test("LineOnlyReceiver delivers the same lines whatever the chunk boundaries", () => {
  const input = encode("first\r\n\r\nsecond line\r\nthird\r\nunfinished");
  for (const chunks of splits(input)) {
    const { p } = feed(() => new OnlyLines(), chunks);
    assertEquals(p.lines, ["first", "", "second line", "third"]);
  }
});

Deno.test("LineOnlyReceiver: MAX_LENGTH exactly and above, terminated or not", () => {
  const make = () => {
    const p = new OnlyLines();
    p.MAX_LENGTH = 5;
    return p;
  };
  assertEquals(feed(make, [encode("12345\r\n")]).p.lines, ["12345"]);
  const above = feed(make, [encode("123456\r\nx\r\n")]);
  assertEquals(above.p.exceeded, [6]);
  assertEquals(above.p.lines, []);
  assert(above.transport.disconnecting);
  const unterminated = feed(make, [encode("12345")]);
  assertEquals(unterminated.p.exceeded, []);
  unterminated.p.dataReceived(encode("6"));
  assertEquals(unterminated.p.exceeded, [6]);
});

class Strings extends NetstringReceiver {
  strings: string[] = [];
  override stringReceived(s: Uint8Array): void {
    this.strings.push(decode(s));
  }
}

Deno.test("NetstringReceiver delivers the same strings whatever the chunk boundaries", () => {
  const input = encode("5:hello,0:,12:hello world!,1:,,3:abc");
  for (const chunks of splits(input)) {
    const { p } = feed(() => new Strings(), chunks);
    assertEquals(p.strings, ["hello", "", "hello world!", ","]);
    assertEquals(p.brokenPeer, false);
  }
});

Deno.test("NetstringReceiver: every malformed form is a NetstringParseError that loses the connection", () => {
  for (
    const bad of [
      "abc",
      ":",
      "-1:a,",
      "01:a,",
      "00:,",
      "3:abcX",
      "3:abc;",
      "1000000:",
      "99999999999999999999",
      " 3:abc,",
    ]
  ) {
    using logs = log.capture();
    const { p, transport } = feed(() => new Strings(), [encode(bad)]);
    assert(p.brokenPeer, `${JSON.stringify(bad)} should be rejected`);
    assert(transport.disconnecting);
    assertEquals(logs.flushErrors(NetstringParseError).length, 1);
    p.dataReceived(encode("3:abc,"));
    assertEquals(p.strings, [], "nothing is parsed after a parse error");
  }
});

Deno.test("NetstringReceiver: MAX_LENGTH exactly and above; sendString", () => {
  const make = () => {
    const p = new Strings();
    p.MAX_LENGTH = 3;
    return p;
  };
  assertEquals(feed(make, [encode("3:abc,")]).p.strings, ["abc"]);
  using logs = log.capture();
  const above = feed(make, [encode("4:")]);
  assert(above.p.brokenPeer);
  assertEquals(logs.flushErrors(NetstringParseError).length, 1);
  const { p, transport } = feed(() => new Strings(), []);
  p.sendString("");
  p.sendString(encode("ab"));
  assertEquals(decode(transport.value()), "0:,2:ab,");
});

class Frames extends IntNStringReceiver {
  strings: number[][] = [];
  limits: number[] = [];
  override stringReceived(s: Uint8Array): void {
    this.strings.push([...s]);
  }
  override lengthLimitExceeded(length: number): void {
    this.limits.push(length);
    super.lengthLimitExceeded(length);
  }
}

function framesOf(prefixLength: 1 | 2 | 4): () => Frames {
  class F extends Frames {
    override readonly prefixLength = prefixLength;
  }
  return () => new F();
}

Deno.test("IntN receivers (8, 16, 32 bits) deliver the same strings whatever the chunk boundaries", () => {
  for (
    const [prefix, Sender] of [[1, Int8StringReceiver], [
      2,
      Int16StringReceiver,
    ], [4, Int32StringReceiver]] as const
  ) {
    const sender = new Sender();
    const wire = new StringTransport();
    sender.makeConnection(wire);
    const messages = [
      [1, 2, 3],
      [],
      [255],
      Array.from({ length: 200 }, (_, i) => i),
    ];
    for (const m of messages) sender.sendString(new Uint8Array(m));
    const input = wire.value();
    for (const chunks of splits(input, 5)) {
      const { p } = feed(framesOf(prefix), chunks);
      assertEquals(p.strings, messages);
    }
  }
});

Deno.test("IntN receivers: MAX_LENGTH exactly and above; sendString refuses what the prefix cannot carry", () => {
  const make = () => {
    const p = framesOf(2)();
    p.MAX_LENGTH = 3;
    return p;
  };
  assertEquals(feed(make, [new Uint8Array([0, 3, 1, 2, 3])]).p.strings, [[
    1,
    2,
    3,
  ]]);
  const above = feed(make, [new Uint8Array([0, 4])]);
  assertEquals(above.p.limits, [4]);
  assert(above.transport.disconnecting);
  const i8 = new Int8StringReceiver();
  i8.makeConnection(new StringTransport());
  i8.sendString(new Uint8Array(255));
  assertThrows(() => i8.sendString(new Uint8Array(256)), StringTooLongError);
  const i16 = new Int16StringReceiver();
  i16.makeConnection(new StringTransport());
  assertThrows(() => i16.sendString(new Uint8Array(65536)), StringTooLongError);
});

Deno.test("IntN receivers: pause holds buffered strings back until resume", () => {
  class Pausing extends Int32StringReceiver {
    got: string[] = [];
    override stringReceived(s: Uint8Array): void {
      this.got.push(decode(s));
      if (decode(s) === "pause") this.pauseProducing();
    }
  }
  const wire = new StringTransport();
  const sender = new Int32StringReceiver();
  sender.makeConnection(wire);
  for (const s of ["a", "pause", "b", "c"]) sender.sendString(s);
  const { p } = feed(() => new Pausing(), [wire.value()]);
  assertEquals(p.got, ["a", "pause"]);
  p.resumeProducing();
  assertEquals(p.got, ["a", "pause", "b", "c"]);
});

Deno.test("Fuzz: random bytes never throw out of dataReceived, never buffer past the limit, and end cleanly", () => {
  const deadline = performance.now() + 1500;
  const random = prng(7);
  let runs = 0;
  while (performance.now() < deadline && runs < 400) {
    runs++;
    const size = 1 + Math.floor(random() * 4000);
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i++) {
      // Bias towards the bytes that matter to the parsers.
      const r = random();
      data[i] = r < 0.05
        ? 10
        : r < 0.1
        ? 13
        : r < 0.2
        ? 0x30 + Math.floor(random() * 10)
        : r < 0.25
        ? 58
        : r < 0.3
        ? 44
        : Math.floor(random() * 256);
    }
    using _logs = log.capture();
    // LineReceiver: buffered bytes = fed - consumed; bounded by MAX_LENGTH + delimiter.
    class CountingLines extends LineReceiver {
      consumed = 0;
      override lineReceived(line: Uint8Array): void {
        this.consumed += line.length + 2;
      }
      override lineLengthExceeded(line: Uint8Array): void {
        this.consumed += line.length;
        super.lineLengthExceeded(line);
      }
    }
    const lines = new CountingLines();
    lines.MAX_LENGTH = 100;
    const lt = new StringTransport();
    lines.makeConnection(lt);
    let fed = 0;
    for (let i = 0; i < size && !lt.disconnecting;) {
      const n = 1 + Math.floor(random() * 64);
      const chunk = data.subarray(i, i + n);
      lines.dataReceived(chunk);
      fed += chunk.length;
      i += n;
      if (!lt.disconnecting) assertLessOrEqual(fed - lines.consumed, 100 + 2);
    }
    // Netstrings and IntN: they either keep parsing or break off cleanly.
    for (
      const make of [() => new Strings(), framesOf(1), framesOf(2), framesOf(4)]
    ) {
      const p = make();
      p.MAX_LENGTH = 500;
      const t = new StringTransport();
      p.makeConnection(t);
      for (let i = 0; i < size && !t.disconnecting; i += 97) {
        p.dataReceived(data.subarray(i, i + 97));
      }
      if (p instanceof Strings && p.brokenPeer) assert(t.disconnecting);
    }
  }
  assert(runs > 10, `only ${runs} fuzz runs`);
});
