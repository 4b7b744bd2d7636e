import {
  assert,
  assertEquals,
  assertFalse,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  Int16StringReceiver,
  Int32StringReceiver,
  Int8StringReceiver,
  IntNStringReceiver,
  StringTooLongError,
} from "../../src/protocols/int_string.ts";
import { decode, encode } from "../_helpers.ts";
import { chunked, feed, join, splits } from "./_basic_helpers.ts";

type Size = 1 | 2 | 4;

/** Twisted's TestInt8/16/32: records strings and lengths over the limit; MAX_LENGTH 50. */
class Recorder extends IntNStringReceiver {
  override MAX_LENGTH = 50;
  received: Uint8Array[] = [];
  limits: number[] = [];
  override stringReceived(s: Uint8Array): void {
    this.received.push(s);
  }
  override lengthLimitExceeded(length: number): void {
    this.limits.push(length);
    super.lengthLimitExceeded(length);
  }
  get texts(): string[] {
    return this.received.map(decode);
  }
}

const KINDS = [
  [1, Int8StringReceiver],
  [2, Int16StringReceiver],
  [4, Int32StringReceiver],
] as const;

function recorder(size: Size): Recorder {
  class R extends Recorder {
    override readonly prefixLength = size;
  }
  return new R();
}

/** `payload` after its `size`-byte big-endian length. */
function frame(size: Size, payload: Uint8Array | string, length?: number) {
  const bytes = typeof payload === "string" ? encode(payload) : payload;
  const prefix = new Uint8Array(size);
  let n = length ?? bytes.length;
  for (let i = size - 1; i >= 0; i--, n = Math.floor(n / 256)) {
    prefix[i] = n & 0xff;
  }
  return join([prefix, bytes]);
}

Deno.test("Int8/16/32 receivers frame with a 1, 2 or 4-byte big-endian length", () => {
  for (const [size, Kind] of KINDS) {
    const { p, transport } = feed(new Kind());
    assertEquals(p.prefixLength, size);
    p.sendString("foo");
    assertEquals(transport.value(), frame(size, "foo"));
    const r = recorder(size);
    feed(r, [frame(size, "ubar")]);
    assertEquals(r.texts, ["ubar"]);
    const b16 = feed(new Kind());
    b16.p.sendString(encode("b".repeat(16)));
    assertEquals(b16.transport.value(), frame(size, "b".repeat(16)));
  }
});

Deno.test("IntN receivers deliver the same strings whatever the chunk boundaries", () => {
  const messages = [
    encode("a"),
    new Uint8Array(0),
    encode("b".repeat(16)),
    Uint8Array.from({ length: 50 }, (_, i) => (i * 37) & 0xff),
    new Uint8Array([0, 0, 0, 0]),
  ];
  for (const [size] of KINDS) {
    const wire = join(messages.map((m) => frame(size, m)));
    for (const chunks of splits(wire, 10)) {
      const { p, transport } = feed(recorder(size), chunks);
      assertEquals(p.received, messages);
      assertEquals(p.bufferedBytes, 0);
      assertFalse(transport.disconnecting);
    }
  }
});

Deno.test("IntN receivers deliver nothing for a partial string, and keep it buffered", () => {
  const partial: Record<Size, string[]> = {
    1: ["\x08", "dzadz", ""],
    2: ["\x00", "hello there", ""],
    4: ["\x00\x00\x00", "hello there", ""],
  };
  for (const [size] of KINDS) {
    for (const input of partial[size]) {
      const bytes = encode(input);
      const { p } = feed(recorder(size), chunked(bytes, 1));
      assertEquals(p.received, []);
      // A prefix that is really text announces a length above MAX_LENGTH.
      if (p.limits.length === 0) assertEquals(p.bufferedBytes, bytes.length);
    }
  }
});

Deno.test("IntN receivers: a length of exactly MAX_LENGTH is delivered, one more goes to lengthLimitExceeded", () => {
  for (const [size] of KINDS) {
    const at = feed(recorder(size), [frame(size, "x".repeat(50))]);
    assertEquals(at.p.texts, ["x".repeat(50)]);
    assertEquals(at.p.limits, []);
    // The prefix alone is enough to refuse; the string is never delivered.
    const above = feed(recorder(size), [frame(size, "", 51)]);
    assertEquals(above.p.limits, [51]);
    assert(above.transport.disconnecting);
    const whole = feed(recorder(size), [frame(size, "x".repeat(51))]);
    assertEquals(whole.p.received, []);
    assertEquals(whole.p.limits, [51]);
  }
  // Twisted's illegal strings (MAX_LENGTH 50), fed byte by byte.
  const illegal: [Size, number[]][] = [
    [1, [0x80, 97, 97]],
    [2, [0x10, 0, 97]],
    [4, [0x10, 0, 0, 0, 97]],
  ];
  for (const [size, bytes] of illegal) {
    const { p, transport } = feed(
      recorder(size),
      chunked(new Uint8Array(bytes), 1),
    );
    assert(transport.disconnecting);
    assertEquals(p.received, []);
  }
});

Deno.test("IntN receivers: after a refused length nothing is parsed and nothing more is buffered", () => {
  class Tolerant extends Recorder {
    override readonly prefixLength = 2;
    override lengthLimitExceeded(length: number): void {
      this.limits.push(length);
    }
  }
  const { p } = feed(new Tolerant(), [
    join([frame(2, "ok"), frame(2, "", 1000), encode("junk")]),
  ]);
  assertEquals(p.texts, ["ok"]);
  assertEquals(p.limits, [1000]);
  assertEquals(p.recvd, new Uint8Array([0x03, 0xe8]));
  // As Twisted's, each later call reports the limit again; the data is dropped.
  p.dataReceived(new Uint8Array(10_000));
  assertEquals(p.limits, [1000, 1000]);
  assertEquals(p.bufferedBytes, 2);
  // Raising MAX_LENGTH lets parsing go on.
  p.MAX_LENGTH = 1000;
  p.dataReceived(new Uint8Array(1000));
  assertEquals(p.received.length, 2);
  assertEquals(p.received[1].length, 1000);
});

Deno.test("IntN receivers: sendString refuses strings longer than the prefix can carry", () => {
  const i8 = feed(new Int8StringReceiver());
  i8.p.sendString(new Uint8Array(255).fill(1));
  assertEquals(i8.transport.value().length, 256);
  assertEquals(i8.transport.value()[0], 255);
  const error = assertThrows(
    () => i8.p.sendString(new Uint8Array(256)),
    StringTooLongError,
  );
  assertStringIncludes(error.message, '"256" bytes');
  assertStringIncludes(error.message, "at most 255");
  assert(error instanceof RangeError);
  assertThrows(() => i8.p.sendString("é".repeat(128)), StringTooLongError);
  const i16 = feed(new Int16StringReceiver());
  i16.p.sendString(new Uint8Array(65535));
  assertEquals(
    i16.transport.value().subarray(0, 2),
    new Uint8Array([255, 255]),
  );
  assertThrows(
    () => i16.p.sendString(new Uint8Array(65536)),
    StringTooLongError,
  );
  assertThrows(
    () => i16.p.sendString(new Uint8Array(65537)),
    StringTooLongError,
  );
  assertEquals(i16.transport.value().length, 65537, "nothing more was sent");
});

Deno.test("Int32StringReceiver sends a large string after its prefix without a copy", () => {
  const big = new Uint8Array(200_000).map((_, i) => i & 0xff);
  const { p, transport } = feed(new Int32StringReceiver());
  p.sendString(big);
  assertEquals(transport.value(), frame(4, big));
  const r = recorder(4);
  r.MAX_LENGTH = 1 << 20;
  feed(r, chunked(transport.value(), 65536));
  assertEquals(r.received, [big]);
});

Deno.test("IntN recvd holds the data after the current string inside stringReceived", () => {
  for (const [size] of KINDS) {
    const r = recorder(size);
    const seen: Uint8Array[] = [];
    r.stringReceived = () => {
      seen.push(r.recvd.slice());
    };
    const incomplete = frame(size, "bbbb", 5);
    feed(r, [join([frame(size, "aaaaa"), incomplete])]);
    assertEquals(seen, [incomplete]);
    assertEquals(r.recvd, incomplete);
  }
});

Deno.test("IntN: assigning recvd inside stringReceived replaces what is parsed next", () => {
  for (const [size] of KINDS) {
    const r = recorder(size);
    const result: string[] = [];
    r.stringReceived = (s) => {
      if (result.length === 0) r.recvd = frame(size, "ccccc");
      result.push(decode(s));
    };
    feed(r, [join([frame(size, "aaaaa"), frame(size, "bbbbb")])]);
    assertEquals(result, ["aaaaa", "ccccc"]);
  }
});

Deno.test("IntN: consuming from recvd inside stringReceived is not reparsed (Twisted's test_switching)", () => {
  for (const [size] of KINDS) {
    const r = recorder(size);
    const SWITCH = new Uint8Array(4);
    const strings = ["a", "b".repeat(16)];
    const result: string[] = [];
    r.stringReceived = (s) => {
      result.push(decode(s));
      r.recvd = r.recvd.subarray(SWITCH.length);
    };
    feed(r, [join(strings.flatMap((s) => [frame(size, s), SWITCH]))]);
    r.dataReceived(new Uint8Array([1]));
    assertEquals(result, strings);
    assertEquals(r.recvd, new Uint8Array([1]));
  }
});

Deno.test("IntN recvd holds the whole unparsed message inside lengthLimitExceeded", () => {
  for (const [size] of KINDS) {
    const r = recorder(size);
    r.MAX_LENGTH = 7;
    const message = frame(size, "too long");
    const result: [number, Uint8Array][] = [];
    r.lengthLimitExceeded = (length) => {
      result.push([length, r.recvd.slice()]);
    };
    feed(r, [message]);
    assertEquals(result, [[8, message]]);
  }
});

Deno.test("IntN receivers: pausing holds the buffered strings back until resumeProducing", () => {
  class Pausing extends Int32StringReceiver {
    got: string[] = [];
    override stringReceived(s: Uint8Array): void {
      this.got.push(decode(s));
      if (decode(s).startsWith("pause")) this.pauseProducing();
    }
  }
  const wire = join(["a", "pause", "b", "pause2", "c"].map((s) => frame(4, s)));
  for (const chunks of splits(wire, 10)) {
    const { p, transport } = feed(new Pausing(), chunks);
    assertEquals(p.got, ["a", "pause"]);
    assertEquals(transport.producerState, "paused");
    p.resumeProducing();
    assertEquals(p.got, ["a", "pause", "b", "pause2"]);
    p.resumeProducing();
    assertEquals(p.got, ["a", "pause", "b", "pause2", "c"]);
    assertEquals(transport.producerState, "producing");
  }
  const stop = feed(new Pausing(), [frame(4, "x")]);
  stop.p.stopProducing();
  stop.p.dataReceived(frame(4, "y"));
  assertEquals(stop.p.got, ["x"]);
  assertEquals(stop.transport.producerState, "stopped");
});

Deno.test("IntN receivers, as Twisted's, keep delivering the chunk's strings after loseConnection", () => {
  const r = recorder(2);
  r.stringReceived = (s) => {
    r.received.push(s);
    r.transport.loseConnection();
  };
  const { transport } = feed(r, [join([frame(2, "a"), frame(2, "b")])]);
  assertEquals(r.texts, ["a", "b"]);
  assert(transport.disconnecting);
});

Deno.test("IntNStringReceiver without stringReceived says what to override", () => {
  const { p } = feed(new Int8StringReceiver());
  assertThrows(
    () => p.dataReceived(new Uint8Array([1, 97])),
    Error,
    "must override stringReceived",
  );
});

Deno.test("IntN receivers: a partial string left at the end of a chunk does not keep the chunk's memory alive", () => {
  const slab = new Uint8Array(256 * 1024);
  const wire = join([frame(4, "done"), frame(4, "partial").subarray(0, 6)]);
  slab.set(wire);
  const { p } = feed(recorder(4), [slab.subarray(0, wire.length)]);
  assertEquals(p.texts, ["done"]);
  assertEquals(p.recvd, frame(4, "partial").subarray(0, 6));
  assert(p.recvd.buffer !== slab.buffer);
});
