import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  NetstringParseError,
  NetstringReceiver,
} from "../../src/protocols/netstring.ts";
import { log } from "../../src/logger.ts";
import { decode, encode } from "../_helpers.ts";
import { chunked, feed, splits } from "./_basic_helpers.ts";

/** Twisted's TestNetstring: records strings and echoes them; MAX_LENGTH 50. */
class TestNetstring extends NetstringReceiver {
  override MAX_LENGTH = 50;
  received: string[] = [];
  override stringReceived(s: Uint8Array): void {
    this.received.push(decode(s));
    this.transport.write(s);
  }
}

/** Feeds `input` and returns the protocol, the transport and the parse errors logged. */
function parse(
  input: string | Uint8Array[],
  make: () => TestNetstring = () => new TestNetstring(),
) {
  using logs = log.capture();
  const chunks = typeof input === "string" ? [encode(input)] : input;
  const { p, transport } = feed(make(), chunks);
  return { p, transport, errors: logs.flushErrors(NetstringParseError) };
}

const STRINGS = [
  "hello",
  "world",
  "how",
  "are",
  "you123",
  ":today",
  "a".repeat(515),
  "",
  "1:a,",
  "\r\n,:",
];

Deno.test("NetstringReceiver delivers the same strings whatever the chunk boundaries", () => {
  const sender = feed(new TestNetstring());
  for (const s of STRINGS) sender.p.sendString(s);
  const wire = sender.transport.value();
  for (let size = 1; size < 10; size++) {
    const { p, errors } = parse(chunked(wire, size), () => {
      const r = new TestNetstring();
      r.MAX_LENGTH = 699;
      return r;
    });
    assertEquals(p.received, STRINGS);
    assertEquals(errors, []);
  }
  const short = encode("5:hello,0:,12:hello world!,1:,,4:1:a,,3:abc");
  for (const chunks of splits(short)) {
    const { p, errors } = parse(chunks);
    assertEquals(p.received, ["hello", "", "hello world!", ",", "1:a,"]);
    assertEquals(p.bufferedBytes, 3);
    assertFalse(p.brokenPeer);
    assertEquals(errors, []);
  }
});

Deno.test("NetstringReceiver receives empty, one- and two-character and nested netstrings", () => {
  assertEquals(parse("0:,").p.received, [""]);
  assertEquals(parse("1:a,").p.received, ["a"]);
  assertEquals(parse("2:ab,").p.received, ["ab"]);
  assertEquals(parse("4:1:a,,").p.received, ["1:a,"]);
});

Deno.test("NetstringReceiver receives netstrings in portions, the length split too", () => {
  assertEquals(parse(["4:aa", "aa,"].map(encode)).p.received, ["aaaa"]);
  assertEquals(
    parse(["1", "0:01234", "56789", ","].map(encode)).p.received,
    ["0123456789"],
  );
  assertEquals(parse(["2", ":", "a", "b", ","].map(encode)).p.received, [
    "ab",
  ]);
  const { p } = parse(["1:a,1"].map(encode));
  assertEquals(p.received, ["a"]);
  p.dataReceived(encode(":b,"));
  assertEquals(p.received, ["a", "b"]);
});

Deno.test("NetstringReceiver: every malformed netstring is logged as a NetstringParseError and loses the connection", () => {
  const cases: [string, string][] = [
    ["2:aaa,", "not terminated by a comma"], // more data than announced
    ["0:a,", "not terminated by a comma"],
    ["4:abcde", "not terminated by a comma"],
    ["3:abc;", "not terminated by a comma"],
    [":aaa,", "does not start with a length"], // no number
    ["3aaa,", "does not start with a length"], // no colon
    ["aaa,", "does not start with a length"],
    ["aaa", "does not start with a length"],
    ["abc", "does not start with a length"],
    ["-1:a,", "does not start with a length"],
    [" 3:abc,", "does not start with a length"],
    ["3 :abc,", "does not start with a length"],
    ["01:a,", "does not start with a length"], // leading zero
    ["00:,", "does not start with a length"],
    ["007:abcdefg,", "does not start with a length"],
    ["51:" + "a".repeat(50) + "b,", "longer than the maximum 50"],
    ["9999999999999999999999", "longer than the maximum 50"],
    ["1000000:", "longer than the maximum 50"],
  ];
  for (const [input, message] of cases) {
    // Byte by byte (Twisted's test_illegal) and all at once.
    for (const chunks of [chunked(encode(input), 1), [encode(input)]]) {
      const { p, transport, errors } = parse(chunks);
      assert(p.brokenPeer, `${JSON.stringify(input)} should be refused`);
      assert(transport.disconnecting);
      assertEquals(errors.length, 1, JSON.stringify(input));
      assertInstanceOf(errors[0].value, NetstringParseError);
      assertStringIncludes(errors[0].getErrorMessage(), message);
      assertEquals(p.bufferedBytes, 0);
      // Nothing more is parsed, or buffered, or logged.
      using logs = log.capture();
      p.dataReceived(encode("3:abc,"));
      assertEquals(p.received.includes("abc"), false);
      assertEquals(p.bufferedBytes, 0);
      assertEquals(logs.errors(), []);
    }
  }
});

Deno.test("NetstringReceiver: a length of exactly MAX_LENGTH is accepted, one more is refused at once", () => {
  const make = (max: number) => () => {
    const p = new TestNetstring();
    p.MAX_LENGTH = max;
    return p;
  };
  const at = parse(`12:${"x".repeat(12)},`, make(12));
  assertEquals(at.p.received, ["x".repeat(12)]);
  assertEquals(at.errors, []);
  // Refused on the colon, before any payload arrives.
  const above = parse("12:", make(11));
  assert(above.p.brokenPeer);
  assertEquals(above.errors.length, 1);
  const far = parse("1000:", make(11));
  assert(far.p.brokenPeer);
  // And already while the digits arrive, before the colon.
  const digits = parse("100", make(99));
  assert(digits.p.brokenPeer);
  assertEquals(parse("99", make(99)).p.brokenPeer, false);
  // Twisted's test_maxReceiveLimit.
  const limit = parse(`51:${"a".repeat(51)}`);
  assert(limit.transport.disconnecting);
});

Deno.test("NetstringReceiver never buffers more than the string being read", () => {
  const { p } = parse([encode("50:")]);
  for (let i = 0; i < 50; i++) {
    p.dataReceived(encode("z"));
    assertEquals(p.bufferedBytes, i + 1);
  }
  p.dataReceived(encode(",4"));
  assertEquals(p.received, ["z".repeat(50)]);
  assertEquals(p.bufferedBytes, 0, "length digits are consumed as they come");
});

Deno.test("NetstringReceiver, as Twisted's, keeps delivering the chunk's strings after loseConnection", () => {
  class Quit extends TestNetstring {
    override stringReceived(s: Uint8Array): void {
      super.stringReceived(s);
      if (decode(s) === "quit") this.transport.loseConnection();
    }
  }
  const { p, transport } = parse("1:a,4:quit,1:b,", () => new Quit());
  assertEquals(p.received, ["a", "quit", "b"]);
  assert(transport.disconnecting);
});

Deno.test("NetstringReceiver.sendString frames strings and bytes", () => {
  const { p, transport } = feed(new TestNetstring());
  p.sendString("");
  p.sendString(encode("ab"));
  p.sendString("é");
  p.sendString("x".repeat(100));
  assertEquals(
    decode(transport.value()),
    `0:,2:ab,2:é,100:${"x".repeat(100)},`,
  );
});

Deno.test("NetstringReceiver without stringReceived says what to override", () => {
  const { p } = feed(new NetstringReceiver());
  assertThrows(
    () => p.dataReceived(encode("1:a,")),
    Error,
    "must override stringReceived",
  );
});

Deno.test("NetstringReceiver: a partial string left at the end of a chunk does not keep the chunk's memory alive", () => {
  const slab = new Uint8Array(256 * 1024);
  const wire = encode("4:done,7:part");
  slab.set(wire);
  let kept: Uint8Array | undefined;
  class Keep extends TestNetstring {
    override stringReceived(s: Uint8Array): void {
      super.stringReceived(s);
      kept = s;
    }
  }
  const { p } = parse([slab.subarray(0, wire.length)], () => new Keep());
  p.dataReceived(encode("ial,"));
  assertEquals(p.received, ["done", "partial"]);
  assert(kept!.buffer !== slab.buffer);
});
