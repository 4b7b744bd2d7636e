import {
  assert,
  assertEquals,
  assertFalse,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import {
  LineOnlyReceiver,
  LineReceiver,
} from "../../src/protocols/line_receiver.ts";
import { Clock } from "../../src/testing/mod.ts";
import { decode, encode } from "../_helpers.ts";
import { chunked, feed, join, splits } from "./_basic_helpers.ts";

/**
 * Twisted's LineTester: "" switches to raw mode for the count given by an
 * earlier "len N" line; "pause" and "rawpause" pause until the clock turns;
 * "stop" stops producing; "produce"/"unproduce" register it as a producer. A
 * too-long line is recorded, then parsing resumes after its first
 * `MAX_LENGTH + 1` bytes.
 */
class LineTester extends LineReceiver {
  override delimiter = "\n";
  override MAX_LENGTH = 64;
  received: Uint8Array[] = [];
  length = 0;
  readonly clock: Clock | undefined;

  constructor(clock?: Clock) {
    super();
    this.clock = clock;
  }

  override lineReceived(line: Uint8Array): void {
    this.received.push(line);
    const text = decode(line);
    if (text === "") {
      this.setRawMode();
    } else if (text === "pause") {
      this.pauseProducing();
      this.clock!.callLater(0, () => this.resumeProducing());
    } else if (text === "rawpause") {
      this.pauseProducing();
      this.setRawMode();
      this.received.push(new Uint8Array(0));
      this.clock!.callLater(0, () => this.resumeProducing());
    } else if (text === "stop") {
      this.stopProducing();
    } else if (text.startsWith("len ")) {
      this.length = Number(text.slice(4));
    } else if (text.startsWith("produce")) {
      this.transport.registerProducer(this, false);
    } else if (text.startsWith("unproduce")) {
      this.transport.unregisterProducer();
    }
  }

  override rawDataReceived(data: Uint8Array): void {
    const body = data.subarray(0, this.length);
    this.length -= body.length;
    const last = this.received.length - 1;
    this.received[last] = join([this.received[last], body]);
    if (this.length === 0) this.setLineMode(data.subarray(body.length));
  }

  override lineLengthExceeded(line: Uint8Array): void {
    if (line.length > this.MAX_LENGTH + 1) {
      this.setLineMode(line.subarray(this.MAX_LENGTH + 1));
    }
  }

  get texts(): string[] {
    return this.received.map(decode);
  }
}

const LINE_TESTER_INPUT = encode(`len 10

0123456789len 5

1234
len 20
foo 123

0123456789
012345678len 0
foo 5

1234567890123456789012345678901234567890123456789012345678901234567890
len 1

a`);

const LINE_TESTER_OUTPUT = [
  "len 10",
  "0123456789",
  "len 5",
  "1234\n",
  "len 20",
  "foo 123",
  "0123456789\n012345678",
  "len 0",
  "foo 5",
  "",
  "67890",
  "len 1",
  "a",
];

Deno.test("LineReceiver parses Twisted's line-and-raw test stream in packets of 1 to 9 bytes", () => {
  for (let size = 1; size < 10; size++) {
    const { p } = feed(
      new LineTester(),
      chunked(LINE_TESTER_INPUT, size),
    );
    assertEquals(p.texts, LINE_TESTER_OUTPUT, `packets of ${size}`);
  }
});

Deno.test("LineReceiver delivers the same lines and raw data whatever the chunk boundaries", () => {
  for (const chunks of splits(LINE_TESTER_INPUT)) {
    const { p } = feed(new LineTester(), chunks);
    // Bytes a too-long line's handler puts back wait for the next call (as in
    // Twisted); an empty chunk parses them.
    p.dataReceived(new Uint8Array(0));
    assertEquals(p.texts, LINE_TESTER_OUTPUT);
  }
});

Deno.test("LineReceiver: lines it handed out stay intact while more data arrives", () => {
  const input = encode(
    "alpha\r\nbe" + "ta\r\n" + "x".repeat(5000) + "\r\nz\r\n",
  );
  for (const chunks of splits(input, 10)) {
    const kept: Uint8Array[] = [];
    class Keep extends LineReceiver {
      override lineReceived(line: Uint8Array): void {
        kept.push(line);
      }
    }
    feed(new Keep(), chunks);
    assertEquals(kept.map(decode), ["alpha", "beta", "x".repeat(5000), "z"]);
  }
});

Deno.test("LineReceiver: a mode switch inside lineReceived applies to the very next byte of the same chunk", () => {
  const { p } = feed(new LineTester(), [encode("len 3\n\nabcdef\n")]);
  assertEquals(p.texts, ["len 3", "abc", "def"]);
});

Deno.test("LineReceiver: setLineMode(extra) from rawDataReceived flips modes many times without recursion", () => {
  // Twisted's FlippingLineTester / test_stackRecursion.
  class Flipping extends LineReceiver {
    override delimiter = "\n";
    lines: string[] = [];
    override lineReceived(line: Uint8Array): void {
      this.lines.push(decode(line));
      this.setRawMode();
    }
    override rawDataReceived(data: Uint8Array): void {
      this.setLineMode(data.subarray(1));
    }
  }
  const count = 20_000;
  const { p } = feed(new Flipping(), [encode("x\nx".repeat(count))]);
  assertEquals(p.lines.join(""), "x".repeat(count));
});

Deno.test("LineReceiver: a delimiter changed inside lineReceived applies from the next byte", () => {
  class Switching extends LineReceiver {
    lines: string[] = [];
    override lineReceived(line: Uint8Array): void {
      const text = decode(line);
      this.lines.push(text);
      if (text.startsWith("delim ")) this.delimiter = text.slice(6);
    }
  }
  const input = encode("a\r\ndelim ;\r\nb;c;delim ||;d||e\r\n||f");
  for (const chunks of splits(input)) {
    const { p } = feed(new Switching(), chunks);
    assertEquals(p.lines, ["a", "delim ;", "b", "c", "delim ||", "d", "e\r\n"]);
    assertEquals(decode(p.clearLineBuffer()), "f");
  }
});

Deno.test("LineReceiver accepts a delimiter given as bytes and sends lines with it", () => {
  class Zero extends LineReceiver {
    override delimiter = new Uint8Array([0]);
    lines: string[] = [];
    override lineReceived(line: Uint8Array): void {
      this.lines.push(decode(line));
    }
  }
  const { p, transport } = feed(new Zero(), [
    new Uint8Array([0, 0, 97, 0, 98]),
  ]);
  assertEquals(p.lines, ["", "", "a"]);
  p.sendLine("x");
  p.sendLine(encode("y"));
  p.sendLine("");
  assertEquals(transport.value(), new Uint8Array([120, 0, 121, 0, 0]));
});

Deno.test("LineReceiver.sendLine writes the line and the delimiter in one write, UTF-8 for strings", () => {
  const { p, transport } = feed(new LineTester());
  let writes = 0;
  const write = transport.write.bind(transport);
  transport.write = (data) => {
    writes++;
    write(data);
  };
  p.sendLine("héllo");
  p.sendLine(encode("bytes"));
  assertEquals(writes, 2);
  assertEquals(decode(transport.value()), "héllo\nbytes\n");
});

Deno.test("LineReceiver refuses an empty delimiter", () => {
  const { p } = feed(new LineTester());
  p.delimiter = "";
  assertThrows(() => p.dataReceived(encode("z")), RangeError, "delimiter");
  assertThrows(() => p.sendLine("z"), RangeError, "delimiter");
});

Deno.test("LineReceiver: a line of exactly MAX_LENGTH is delivered, one byte more is refused", () => {
  for (const [length, ok] of [[9, true], [10, true], [11, false]] as const) {
    const long: Uint8Array[] = [];
    class Max extends LineReceiver {
      override MAX_LENGTH = 10;
      lines: string[] = [];
      override lineReceived(line: Uint8Array): void {
        this.lines.push(decode(line));
      }
      override lineLengthExceeded(line: Uint8Array): void {
        long.push(line);
        super.lineLengthExceeded(line);
      }
    }
    const line = "x".repeat(length);
    const { p, transport } = feed(new Max(), [encode(`${line}\r\nnext\r\n`)]);
    if (ok) {
      assertEquals(p.lines, [line, "next"]);
      assertEquals(long, []);
      assertFalse(transport.disconnecting);
    } else {
      assertEquals(p.lines, []);
      // The too-long line comes with everything buffered after it.
      assertEquals(long.map(decode), [`${line}\r\nnext\r\n`]);
      assert(transport.disconnecting);
    }
  }
});

Deno.test("LineReceiver: unterminated data is refused once it reaches MAX_LENGTH plus the delimiter's length", () => {
  const long: string[] = [];
  class Max extends LineReceiver {
    override MAX_LENGTH = 10;
    override lineReceived(): void {}
    override lineLengthExceeded(line: Uint8Array): void {
      long.push(decode(line));
      super.lineLengthExceeded(line);
    }
  }
  const { p, transport } = feed(new Max(), [encode("y".repeat(10))]);
  p.dataReceived(encode("\r")); // Could be the start of the delimiter.
  assertEquals(long, []);
  assertEquals(p.bufferedBytes, 11);
  p.dataReceived(encode("y"));
  assertEquals(long, ["y".repeat(10) + "\ry"]);
  assertEquals(p.bufferedBytes, 0);
  assert(transport.disconnecting);
});

Deno.test("LineReceiver: the default MAX_LENGTH is 16384 and the default delimiter CRLF (Twisted's tests)", () => {
  // test_maximumLineLength
  const over = feed(new LineReceiver());
  over.p.dataReceived(encode("x".repeat(16385) + "\r\nr"));
  assert(over.transport.disconnecting);
  // test_maximumLineLengthRemaining
  const remaining = feed(new LineReceiver());
  remaining.p.dataReceived(encode("x".repeat(16384 + 2)));
  assert(remaining.transport.disconnecting);
  // test_notQuiteMaximumLineLengthUnfinished
  const notQuite = feed(new LineReceiver());
  notQuite.p.dataReceived(encode("x".repeat(16384) + "\r"));
  assertFalse(notQuite.transport.disconnecting);
});

Deno.test("LineReceiver: a finished line of MAX_LENGTH whose delimiter arrived split is accepted", () => {
  // Twisted's test_maximumLineLengthPartialDelimiter.
  const p = new LineTester();
  p.MAX_LENGTH = 4;
  const { transport } = feed(p);
  p.dataReceived(encode("xxx"));
  p.dataReceived(encode(""));
  p.dataReceived(encode("\nxxx"));
  assertFalse(transport.disconnecting);
  assertEquals(p.texts, ["xxx"]);
  const crlf = feed(
    new (class extends LineReceiver {
      override MAX_LENGTH = 4;
      lines: string[] = [];
      override lineReceived(line: Uint8Array): void {
        this.lines.push(decode(line));
      }
    })(),
    [encode("xxxx\r"), encode("\nxxxx")],
  );
  assertFalse(crlf.transport.disconnecting);
  assertEquals(crlf.p.lines, ["xxxx"]);
});

/** Twisted's ExcessivelyLargeLineCatcher. */
class LargeLineCatcher extends LineReceiver {
  override MAX_LENGTH = 6;
  longLines: string[] = [];
  override lineReceived(): void {}
  override lineLengthExceeded(line: Uint8Array): void {
    this.longLines.push(decode(line));
  }
}

Deno.test("LineReceiver.lineLengthExceeded gets all the excess bytes (Twisted's four cases)", () => {
  const excessive = "x".repeat(6 * 2 + 2);
  const cases: [string, string][] = [
    [excessive, excessive],
    ["x\r\n" + excessive, excessive],
    [[excessive, excessive].join("\r\n"), [excessive, excessive].join("\r\n")],
    [(excessive + "\r\n").repeat(2), (excessive + "\r\n").repeat(2)],
  ];
  for (const [input, expected] of cases) {
    const { p } = feed(new LargeLineCatcher(), [encode(input)]);
    assertEquals(p.longLines, [expected]);
  }
});

Deno.test("LineReceiver stops delivering lines once the transport is disconnecting", () => {
  class Quit extends LineReceiver {
    lines: string[] = [];
    override lineReceived(line: Uint8Array): void {
      this.lines.push(decode(line));
      if (decode(line) === "quit") this.transport.loseConnection();
    }
  }
  const { p } = feed(new Quit(), [encode("a\r\nquit\r\nb\r\n")]);
  assertEquals(p.lines, ["a", "quit"]);
  p.dataReceived(encode("c\r\n"));
  assertEquals(p.lines, ["a", "quit"]);
});

const PAUSE_INPUT = encode("twiddle1\ntwiddle2\npause\ntwiddle3\n");
const RAWPAUSE_INPUT = encode(
  "twiddle1\ntwiddle2\nlen 5\nrawpause\n12345twiddle3\n",
);

Deno.test("LineReceiver: pausing inside lineReceived holds the buffered lines until resumeProducing", () => {
  for (let size = 1; size < 10; size++) {
    const clock = new Clock();
    const { p, transport } = feed(
      new LineTester(clock),
      chunked(PAUSE_INPUT, size),
    );
    assertEquals(p.texts, ["twiddle1", "twiddle2", "pause"]);
    assert(p.paused);
    assertEquals(transport.producerState, "paused");
    clock.advance(0);
    assertEquals(p.texts, ["twiddle1", "twiddle2", "pause", "twiddle3"]);
    assertEquals(transport.producerState, "producing");
  }
});

Deno.test("LineReceiver: pausing while switching to raw mode holds the raw data too", () => {
  for (let size = 1; size < 10; size++) {
    const clock = new Clock();
    const { p } = feed(new LineTester(clock), chunked(RAWPAUSE_INPUT, size));
    assertEquals(p.texts, ["twiddle1", "twiddle2", "len 5", "rawpause", ""]);
    clock.advance(0);
    assertEquals(p.texts, [
      "twiddle1",
      "twiddle2",
      "len 5",
      "rawpause",
      "12345",
      "twiddle3",
    ]);
  }
});

Deno.test("LineReceiver: stopProducing inside lineReceived stops delivery for good", () => {
  const input = encode("twiddle1\ntwiddle2\nstop\nmore\nstuff\n");
  for (let size = 1; size < 10; size++) {
    const { p, transport } = feed(new LineTester(), chunked(input, size));
    assertEquals(p.texts, ["twiddle1", "twiddle2", "stop"]);
    assertEquals(transport.producerState, "stopped");
  }
});

Deno.test("LineReceiver can register itself as its transport's producer from lineReceived", () => {
  const { p, transport } = feed(new LineTester(), [
    encode("produce\nhello world\n"),
  ]);
  assertStrictEquals(transport.producer, p);
  p.dataReceived(encode("unproduce\ngoodbye\n"));
  assertEquals(transport.producer, undefined);
  assertEquals(p.texts, ["produce", "hello world", "unproduce", "goodbye"]);
});

Deno.test("LineReceiver: a protocol that pauses after every line gets one line per resumeProducing", () => {
  // Twisted's ProducerTests.test_pauseResume.
  class Consuming extends LineReceiver {
    override lineReceived(line: Uint8Array): void {
      this.transport.write(line);
      this.transport.write("|");
      this.pauseProducing();
    }
  }
  const { p, transport } = feed(new Consuming());
  const written = (): string => decode(transport.value());
  p.dataReceived(encode("hello, "));
  assertEquals(written(), "");
  assertFalse(p.paused);
  p.dataReceived(encode("world\r\n"));
  assertEquals(written(), "hello, world|");
  assert(p.paused);
  assertEquals(transport.producerState, "paused");
  p.resumeProducing();
  assertEquals(written(), "hello, world|");
  assertFalse(p.paused);
  assertEquals(transport.producerState, "producing");
  p.dataReceived(encode("hello\r\nworld\r\n"));
  assertEquals(written(), "hello, world|hello|");
  assert(p.paused);
  p.resumeProducing();
  assertEquals(written(), "hello, world|hello|world|");
  assert(p.paused);
  p.dataReceived(encode("goodbye\r\n"));
  assertEquals(written(), "hello, world|hello|world|");
  p.resumeProducing();
  assertEquals(written(), "hello, world|hello|world|goodbye|");
  assert(p.paused);
  p.resumeProducing();
  assertFalse(p.paused);
  assertEquals(transport.producerState, "producing");
});

Deno.test("LineReceiver.clearLineBuffer returns and forgets the buffered bytes, even from lineReceived", () => {
  // Twisted's test_clearLineBuffer, which runs without a transport.
  class Clearing extends LineReceiver {
    line = "";
    rest = "";
    override lineReceived(line: Uint8Array): void {
      this.line = decode(line);
      this.rest = decode(this.clearLineBuffer());
    }
  }
  const p = new Clearing();
  p.dataReceived(encode("foo\r\nbar\r\nbaz"));
  assertEquals([p.line, p.rest], ["foo", "bar\r\nbaz"]);
  p.dataReceived(encode("quux\r\n"));
  assertEquals([p.line, p.rest], ["quux", ""]);
  assertEquals(p.clearLineBuffer().length, 0);
  p.dataReceived(encode("partial"));
  assertEquals(p.bufferedBytes, 7);
  assertEquals(decode(p.clearLineBuffer()), "partial");
  assertEquals(p.bufferedBytes, 0);
});

Deno.test("LineReceiver delivers empty lines", () => {
  const lines: string[] = [];
  class Lines extends LineReceiver {
    override lineReceived(line: Uint8Array): void {
      lines.push(decode(line));
    }
  }
  feed(new Lines(), [encode("\r\n\r\na\r\n\r\n")]);
  assertEquals(lines, ["", "", "a", ""]);
});

Deno.test("LineReceiver without overrides says which method to override", () => {
  const { p } = feed(new LineReceiver());
  assertThrows(
    () => p.dataReceived(encode("x\r\n")),
    Error,
    "must override lineReceived",
  );
  const raw = feed(new LineReceiver()).p;
  raw.setRawMode();
  assertThrows(
    () => raw.dataReceived(encode("x")),
    Error,
    "must override rawDataReceived",
  );
  // The parse loop is not left busy by the exception.
  class Late extends LineReceiver {
    lines: string[] = [];
    fail = true;
    override lineReceived(line: Uint8Array): void {
      if (this.fail) {
        this.fail = false;
        throw new Error("boom");
      }
      this.lines.push(decode(line));
    }
  }
  const late = feed(new Late()).p;
  assertThrows(() => late.dataReceived(encode("a\r\nb\r\n")), Error, "boom");
  late.dataReceived(encode("c\r\n"));
  assertEquals(late.lines, ["b", "c"]);
});

/** Twisted's LineOnlyTester. */
class LineOnlyTester extends LineOnlyReceiver {
  override delimiter = "\n";
  override MAX_LENGTH = 64;
  lines: string[] = [];
  long: string[] = [];
  override lineReceived(line: Uint8Array): void {
    this.lines.push(decode(line));
  }
  override lineLengthExceeded(line: Uint8Array): void {
    this.long.push(decode(line));
    super.lineLengthExceeded(line);
  }
}

Deno.test("LineOnlyReceiver delivers the same lines whatever the chunk boundaries", () => {
  const input = encode(
    "foo\n    bleakness\n\n    desolation\nplastic forks\nend",
  );
  const expected = [
    "foo",
    "    bleakness",
    "",
    "    desolation",
    "plastic forks",
  ];
  for (const chunks of splits(input)) {
    const kept: Uint8Array[] = [];
    class Keep extends LineOnlyTester {
      override lineReceived(line: Uint8Array): void {
        kept.push(line);
      }
    }
    const { p } = feed(new Keep(), chunks);
    assertEquals(kept.map(decode), expected);
    assertEquals(p.bufferedBytes, 3);
  }
});

Deno.test("LineOnlyReceiver: a line of exactly MAX_LENGTH is delivered, one byte more is refused", () => {
  const at = feed(new LineOnlyTester(), [encode("x".repeat(64) + "\n")]);
  assertEquals(at.p.lines, ["x".repeat(64)]);
  const above = feed(new LineOnlyTester(), [encode("x".repeat(65) + "\nr")]);
  assertEquals(above.p.lines, []);
  assertEquals(above.p.long, ["x".repeat(65)]);
  assert(above.transport.disconnecting);
});

Deno.test("LineOnlyReceiver: unterminated data is refused once longer than MAX_LENGTH (not plus the delimiter)", () => {
  const { p, transport } = feed(new LineOnlyTester(), [
    encode("y".repeat(64)),
  ]);
  assertEquals(p.long, []);
  p.dataReceived(encode("y"));
  assertEquals(p.long, ["y".repeat(65)]);
  assertEquals(p.bufferedBytes, 0);
  assert(transport.disconnecting);
});

Deno.test("LineOnlyReceiver: after a too-long line the chunk's other complete lines are dropped, a partial one kept", () => {
  class Tolerant extends LineOnlyTester {
    override lineLengthExceeded(line: Uint8Array): void {
      this.long.push(decode(line));
    }
  }
  const { p } = feed(new Tolerant(), [
    encode("ok\n" + "x".repeat(65) + "\ndropped\nalso dropped\npart"),
  ]);
  assertEquals(p.lines, ["ok"]);
  assertEquals(p.long, ["x".repeat(65)]);
  p.dataReceived(encode("ial\nnext\n"));
  assertEquals(p.lines, ["ok", "partial", "next"]);
});

Deno.test("LineOnlyReceiver disregards the lines after one that lost the connection", () => {
  class Quit extends LineOnlyTester {
    override lineReceived(line: Uint8Array): void {
      super.lineReceived(line);
      if (decode(line) === "quit") this.transport.loseConnection();
    }
  }
  const { p } = feed(new Quit(), [encode("a\nquit\nb\nc")]);
  assertEquals(p.lines, ["a", "quit"]);
  assertEquals(p.bufferedBytes, 0);
  p.dataReceived(encode("d\ne\n"));
  assertEquals(p.lines, ["a", "quit"]);
});

Deno.test("LineOnlyReceiver: a delimiter changed inside lineReceived applies from the next chunk", () => {
  class Switching extends LineOnlyTester {
    override lineReceived(line: Uint8Array): void {
      super.lineReceived(line);
      if (decode(line) === "switch") this.delimiter = "\r\n";
    }
  }
  const { p } = feed(new Switching(), [encode("switch\na\nb\r\n")]);
  assertEquals(p.lines, ["switch", "a", "b\r"]);
  p.dataReceived(encode("c\nd\r\n"));
  assertEquals(p.lines, ["switch", "a", "b\r", "c\nd"]);
});

Deno.test("LineOnlyReceiver.sendLine writes the line and the delimiter; a missing lineReceived says so", () => {
  const { p, transport } = feed(new LineOnlyTester());
  p.sendLine("a");
  p.sendLine(encode("b"));
  assertEquals(decode(transport.value()), "a\nb\n");
  const bare = feed(new LineOnlyReceiver()).p;
  assertThrows(
    () => bare.dataReceived(encode("x\r\n")),
    Error,
    "must override lineReceived",
  );
});

Deno.test("LineReceiver: a partial line left at the end of a chunk does not keep the chunk's memory alive", () => {
  const slab = new Uint8Array(256 * 1024);
  const wire = encode("one\ntwo");
  slab.set(wire);
  const chunk = slab.subarray(0, wire.length);
  const { p } = feed(new LineTester(), [chunk]);
  const rest = p.clearLineBuffer();
  assertEquals(decode(rest), "two");
  assert(rest.buffer !== slab.buffer);
});
