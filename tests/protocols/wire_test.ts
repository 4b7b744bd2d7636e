import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertLessOrEqual,
  assertMatch,
  assertStrictEquals,
} from "@std/assert";
import {
  asctime,
  Chargen,
  Daytime,
  Discard,
  Echo,
  QOTD,
  Time,
  Who,
} from "../../src/protocols/wire.ts";
import { Factory } from "../../src/internet/protocol.ts";
import { IPv4Address } from "../../src/internet/address.ts";
import { ConnectionDone } from "../../src/internet/error.ts";
import { Failure } from "../../src/internet/failure.ts";
import type { IProtocol } from "../../src/internet/interfaces.ts";
import {
  AccumulatingProtocol,
  connectedServerAndClient,
  type FakeTransport,
  StringTransport,
} from "../../src/testing/mod.ts";
import { decode, encode } from "../_helpers.ts";

const LINE = 74; // 72 characters and CRLF
const CYCLE = 95 * LINE; // one full cycle of RFC 864's pattern

/** Checks that `text` is RFC 864's stream from its first line on. */
function assertChargenPattern(text: string): void {
  assertEquals(text.length % LINE, 0, "whole lines only");
  for (let n = 0; n < text.length / LINE; n++) {
    const line = text.slice(n * LINE, (n + 1) * LINE);
    assertEquals(line.slice(72), "\r\n", `line ${n} ends with CRLF`);
    for (let i = 0; i < 72; i++) {
      const expected = 32 + ((n + i) % 95);
      if (line.charCodeAt(i) !== expected) {
        throw new Error(
          `Line ${n}, column ${i}: expected ${
            String.fromCharCode(expected)
          }, got ${line[i]}`,
        );
      }
    }
  }
}

function connect(p: IProtocol): StringTransport {
  const t = new StringTransport();
  p.makeConnection(t);
  return t;
}

Deno.test("Echo writes back each chunk it receives, in order", () => {
  const t = new StringTransport();
  const p = new Echo();
  p.makeConnection(t);
  for (const word of ["hello", "world", "how", "are", "you"]) {
    p.dataReceived(encode(word));
  }
  assertEquals(decode(t.value()), "helloworldhowareyou");
  assertFalse(t.disconnecting);
});

Deno.test("Echo served by Factory.forProtocol echoes over iosim, a byte at a time", () => {
  const factory = Factory.forProtocol(Echo);
  const echo = factory.buildProtocol(new IPv4Address("TCP", "127.0.0.1", 1));
  assertInstanceOf(echo, Echo);
  assertStrictEquals(echo.factory, factory);
  const { client, pump } = connectedServerAndClient(
    factory,
    AccumulatingProtocol,
    { chunkSize: 1 },
  );
  client.transport.write("echo me, byte by byte");
  pump.flush();
  assertEquals(client.text(), "echo me, byte by byte");
});

Deno.test("Discard sends nothing back and keeps the connection open", () => {
  const t = new StringTransport();
  const p = new Discard();
  p.makeConnection(t);
  for (const word of ["hello", "world", "how", "are", "you"]) {
    p.dataReceived(encode(word));
  }
  assertEquals(t.value().length, 0);
  assertFalse(t.disconnecting);
});

Deno.test("Chargen registers itself as a pull producer and writes one chunk each time it is asked", () => {
  const t = new StringTransport();
  const p = new Chargen();
  p.makeConnection(t);
  assertStrictEquals(t.producer, p);
  assertEquals(t.streaming, false);
  assertEquals(t.value().length, 0); // nothing until the transport asks
  p.resumeProducing();
  assertEquals(t.value().length, CYCLE);
  p.resumeProducing();
  p.resumeProducing();
  assertEquals(t.value().length, 3 * CYCLE);
});

Deno.test("Chargen sends RFC 864's pattern: 72 printable characters a line, each line starting one further on", () => {
  const t = new StringTransport();
  const p = new Chargen();
  p.makeConnection(t);
  for (let i = 0; i < 3; i++) p.resumeProducing();
  const text = decode(t.value());
  assertChargenPattern(text);
  const lines = text.split("\r\n");
  assertEquals(
    lines[0],
    ` !"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_\`abcdefg`,
  );
  assertEquals(
    lines[94],
    `~ !"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_\`abcdef`,
  );
  assertEquals(lines[95], lines[0]); // the pattern repeats after 95 lines
  p.dataReceived(encode("ignored"));
  assertEquals(t.value().length, 3 * CYCLE);
});

Deno.test("Chargen stops for good on stopProducing and when the connection is lost", () => {
  const stopped = new Chargen();
  const t1 = connect(stopped);
  stopped.stopProducing();
  stopped.resumeProducing();
  assertEquals(t1.value().length, 0);

  const lost = new Chargen();
  const t2 = connect(lost);
  lost.resumeProducing();
  lost.connectionLost(new Failure(new ConnectionDone()));
  t2.clear();
  lost.resumeProducing();
  assertEquals(t2.value().length, 0);
});

Deno.test("Chargen over iosim is paced by the reader: one chunk ahead at most, nothing while it is paused", () => {
  const { client, server, pump } = connectedServerAndClient(
    Chargen,
    AccumulatingProtocol,
    { greet: false },
  );
  const serverIO = server.transport as FakeTransport;
  for (let i = 0; i < 5; i++) {
    pump.pump();
    assertLessOrEqual(serverIO.pendingBytes, CYCLE);
  }
  assertEquals(client.value().length, 4 * CYCLE); // the fifth chunk is queued
  client.transport.pauseProducing(); // the reader stops reading
  for (let i = 0; i < 5; i++) pump.pump();
  assertEquals(client.value().length, 4 * CYCLE);
  assertEquals(serverIO.pendingBytes, CYCLE); // and chargen waits
  client.transport.resumeProducing();
  pump.pump();
  assertEquals(client.value().length, 5 * CYCLE);
  assertChargenPattern(client.text());
});

Deno.test("Chargen stops when the peer hangs up", () => {
  const { client, server, pump } = connectedServerAndClient(
    Chargen,
    AccumulatingProtocol,
  );
  for (let i = 0; i < 3; i++) pump.pump();
  client.transport.loseConnection();
  pump.flush(); // would not finish if chargen kept producing
  assert(client.closed);
  assertFalse(server.connected);
  const serverIO = server.transport as FakeTransport;
  assertEquals(serverIO.producer, undefined); // the transport let it go
  let writes = 0;
  serverIO.write = () => void writes++;
  server.resumeProducing(); // a late call writes nothing
  assertEquals(writes, 0);
});

Deno.test("QOTD sends its quote and closes", () => {
  const t = connect(new QOTD());
  assertEquals(decode(t.value()), "An apple a day keeps the doctor away.\r\n");
  assert(t.disconnecting);
  class Mine extends QOTD {
    override getQuote(): Uint8Array {
      return encode("Simple is better than complex.\r\n");
    }
  }
  assertEquals(
    decode(connect(new Mine()).value()),
    "Simple is better than complex.\r\n",
  );
});

Deno.test("Who sends root (or getUsers) and closes", () => {
  const t = connect(new Who());
  assertEquals(decode(t.value()), "root\r\n");
  assert(t.disconnecting);
  class Team extends Who {
    override getUsers(): string {
      return "alice\r\nbob\r\n";
    }
  }
  assertEquals(decode(connect(new Team()).value()), "alice\r\nbob\r\n");
});

Deno.test("Daytime sends the UTC time in asctime format and closes", () => {
  const t = connect(new Daytime());
  const text = decode(t.value());
  assertMatch(
    text,
    /^(Sun|Mon|Tue|Wed|Thu|Fri|Sat) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d \d{4}\r\n$/,
  );
  const sent = Date.parse(text.trim() + " UTC");
  assertLessOrEqual(Math.abs(Date.now() - sent), 5000);
  assert(t.disconnecting);
  class Fixed extends Daytime {
    override now(): Date {
      return new Date(951_782_400_000);
    }
  }
  assertEquals(
    decode(connect(new Fixed()).value()),
    "Tue Feb 29 00:00:00 2000\r\n",
  );
});

Deno.test("asctime matches Python's time.asctime(time.gmtime(t))", () => {
  // Expected values printed by /usr/bin/python3.
  const cases: [number, string][] = [
    [0, "Thu Jan  1 00:00:00 1970"],
    [951_782_400, "Tue Feb 29 00:00:00 2000"],
    [1_000_000_000, "Sun Sep  9 01:46:40 2001"],
    [1_781_917_200, "Sat Jun 20 01:00:00 2026"],
    [2_103_258_496, "Mon Aug 25 06:28:16 2036"],
  ];
  for (const [seconds, expected] of cases) {
    assertEquals(asctime(new Date(seconds * 1000)), expected);
  }
});

Deno.test("Time sends RFC 868's 32-bit seconds since 1900, big-endian, and closes", () => {
  class At extends Time {
    constructor(readonly ms: number) {
      super();
    }
    override now(): Date {
      return new Date(this.ms);
    }
  }
  const secondsAt = (ms: number): number => {
    const t = connect(new At(ms));
    assert(t.disconnecting);
    const bytes = t.value();
    assertEquals(bytes.length, 4);
    return new DataView(bytes.buffer, bytes.byteOffset).getUint32(0);
  };
  assertEquals(secondsAt(0), 2_208_988_800); // 1970 in RFC 868's epoch
  assertEquals(secondsAt(1_000_000_000_999), 3_208_988_800); // whole seconds
  // 2036-02-07T06:28:16Z is 2^32 seconds after 1900: the count wraps to 0.
  assertEquals(secondsAt(Date.UTC(2036, 1, 7, 6, 28, 16)), 0);
  const now = connect(new Time()).value();
  const sent = new DataView(now.buffer, now.byteOffset).getUint32(0);
  assertLessOrEqual(
    Math.abs(sent - (Math.floor(Date.now() / 1000) + 2_208_988_800)),
    5,
  );
});

Deno.test("The one-shot services send once and close over iosim, served by Factory.forProtocol", () => {
  for (
    const [service, expected] of [
      [QOTD, "An apple a day keeps the doctor away.\r\n"],
      [Who, "root\r\n"],
    ] as const
  ) {
    const { client, pump } = connectedServerAndClient(
      Factory.forProtocol(service),
      AccumulatingProtocol,
    );
    pump.flush();
    assertEquals(client.text(), expected);
    assert(client.closed);
    assert(client.closedReason?.check(ConnectionDone));
  }
});
