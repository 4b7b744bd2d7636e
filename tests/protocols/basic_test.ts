/**
 * Properties every framing receiver of `protocols/basic` must have: messages
 * survive any chunking, and random bytes never make one throw, grow its
 * buffer past its limit, or end anywhere but in delivered messages or a clean
 * connection loss. Each receiver's own behaviour is tested in its own file.
 */
import {
  assert,
  assertEquals,
  assertGreater,
  assertLessOrEqual,
  fail,
} from "@std/assert";
import * as basic from "../../src/protocols/basic.ts";
import {
  Int16StringReceiver,
  Int32StringReceiver,
  Int8StringReceiver,
  LineOnlyReceiver,
  LineReceiver,
  NetstringReceiver,
} from "../../src/protocols/basic.ts";
import type { StringTransport } from "../../src/testing/mod.ts";
import { log } from "../../src/logger.ts";
import { feed, join, prng } from "./_basic_helpers.ts";

/** What the tests need to know about a receiver under test. */
interface Subject {
  readonly name: string;
  /** A receiver with its limit set to `max`, recording what it delivers. */
  make(max: number): Recording;
  /** The most it may buffer between calls with that limit. */
  bound(max: number): number;
  /** The largest message it can send and accept with that limit. */
  largest(max: number): number;
  /** Whether a message may contain any byte (lines cannot hold their delimiter). */
  binary: boolean;
}

interface Recording {
  readonly transport: StringTransport;
  readonly messages: Uint8Array[];
  /** How many times the receiver refused the input (too long, malformed). */
  refusals: number;
  readonly bufferedBytes: number;
  send(message: Uint8Array): void;
  dataReceived(data: Uint8Array): void;
}

function lineSubject(
  name: string,
  Base: typeof LineReceiver | typeof LineOnlyReceiver,
  bound: (max: number) => number,
  largest: (max: number) => number,
): Subject {
  return {
    name,
    binary: false,
    bound,
    largest,
    make(max) {
      const messages: Uint8Array[] = [];
      const p = new (class extends (Base as typeof LineReceiver) {
        override MAX_LENGTH = max;
        refusals = 0;
        messages = messages;
        override lineReceived(line: Uint8Array): void {
          messages.push(line);
        }
        override lineLengthExceeded(line: Uint8Array): void {
          this.refusals++;
          super.lineLengthExceeded(line);
        }
        send(m: Uint8Array): void {
          this.sendLine(m);
        }
      })();
      return Object.assign(p, { transport: feed(p).transport });
    },
  };
}

function stringSubject(
  name: string,
  Base:
    | typeof NetstringReceiver
    | typeof Int8StringReceiver
    | typeof Int16StringReceiver
    | typeof Int32StringReceiver,
  bound: (max: number) => number,
  largest: (max: number) => number,
): Subject {
  return {
    name,
    binary: true,
    bound,
    largest,
    make(max) {
      const messages: Uint8Array[] = [];
      class Recorder extends (Base as typeof Int32StringReceiver) {
        override MAX_LENGTH = max;
        refusals = 0;
        messages = messages;
        override stringReceived(s: Uint8Array): void {
          messages.push(s);
        }
        override lengthLimitExceeded(length: number): void {
          this.refusals++;
          super.lengthLimitExceeded(length);
        }
        send(m: Uint8Array): void {
          this.sendString(m);
        }
      }
      const p = new Recorder();
      const { transport } = feed(p);
      if (Base === NetstringReceiver) {
        // Netstrings report refusals by logging and setting brokenPeer.
        Object.defineProperty(p, "refusals", {
          get: () => ((p as unknown as NetstringReceiver).brokenPeer ? 1 : 0),
        });
      }
      return Object.assign(p, { transport });
    },
  };
}

const SUBJECTS: Subject[] = [
  // Unterminated data is refused at MAX_LENGTH + the delimiter's length.
  lineSubject("LineReceiver", LineReceiver, (max) => max + 1, (max) => max),
  // Twisted's LineOnlyReceiver counts a partly received delimiter against
  // MAX_LENGTH, so only lines shorter than it survive every chunking.
  lineSubject(
    "LineOnlyReceiver",
    LineOnlyReceiver,
    (max) => max,
    (max) => max - 1,
  ),
  // A payload and its comma, less the byte still to come.
  stringSubject(
    "NetstringReceiver",
    NetstringReceiver,
    (max) => max,
    (max) => max,
  ),
  stringSubject(
    "Int8StringReceiver",
    Int8StringReceiver,
    (max) => 1 + max - 1,
    (max) => Math.min(max, 255),
  ),
  stringSubject(
    "Int16StringReceiver",
    Int16StringReceiver,
    (max) => 2 + max - 1,
    (max) => max,
  ),
  stringSubject(
    "Int32StringReceiver",
    Int32StringReceiver,
    (max) => 4 + max - 1,
    (max) => max,
  ),
];

/** Random messages for `subject`: empty ones, ones at and near the limit, binary ones. */
function randomMessages(
  subject: Subject,
  max: number,
  random: () => number,
): Uint8Array[] {
  const largest = subject.largest(max);
  const sizes = [0, Math.min(1, largest), largest, Math.max(0, largest - 1), 0];
  for (let i = 0; i < 20; i++) sizes.push(Math.floor(random() * largest));
  return sizes.map((size) =>
    Uint8Array.from({ length: size }, () => {
      if (subject.binary) return Math.floor(random() * 256);
      // Anything but CR and LF, so a line never holds its delimiter.
      const b = Math.floor(random() * 254);
      return b >= 10 ? (b >= 12 ? b + 2 : b + 1) : b;
    })
  );
}

Deno.test("Every receiver delivers exactly what its peer sent, whatever the chunking", () => {
  const random = prng(1);
  for (const subject of SUBJECTS) {
    for (const max of [1, 2, 255, 5000]) {
      const sender = subject.make(max);
      const messages = randomMessages(subject, max, random);
      for (const m of messages) sender.send(m);
      const wire = sender.transport.value();
      for (let run = 0; run < (max > 255 ? 5 : 25); run++) {
        const receiver = subject.make(max);
        // Byte by byte only for the smaller streams, to keep the test quick.
        const spread = [max > 255 ? 2 : 1, 3, 64, 1500, 70_000][run % 5];
        for (let i = 0; i < wire.length;) {
          const n = 1 + Math.floor(random() * spread);
          // Fresh copies: what the receiver keeps must be its own.
          receiver.dataReceived(wire.slice(i, i + n));
          i += n;
        }
        assertEquals(receiver.messages, messages, `${subject.name} max ${max}`);
        assertEquals(receiver.refusals, 0);
        assertEquals(receiver.bufferedBytes, 0);
        assert(!receiver.transport.disconnecting);
      }
    }
  }
});

/** Random bytes, biased towards the ones the parsers care about. */
function randomBytes(size: number, random: () => number): Uint8Array {
  const special = [10, 13, 0x3a, 0x2c, 0x30, 0x31, 0x39, 0, 0xff];
  return Uint8Array.from({ length: size }, () => {
    const r = random();
    if (r < 0.3) return special[Math.floor(random() * special.length)];
    if (r < 0.4) return 0x30 + Math.floor(random() * 10);
    return Math.floor(random() * 256);
  });
}

Deno.test("Fuzz: random bytes never make a receiver throw, buffer past its limit, or end uncleanly", () => {
  const deadline = performance.now() + 2_000;
  const random = prng(7);
  let runs = 0;
  using logs = log.capture();
  while (runs < 2_000 && performance.now() < deadline) {
    runs++;
    const subject = SUBJECTS[runs % SUBJECTS.length];
    const max = [1, 7, 64, 300][Math.floor(random() * 4)];
    const data = randomBytes(1 + Math.floor(random() * 3000), random);
    const p = subject.make(max);
    const bound = subject.bound(max);
    let fed = 0;
    for (let i = 0; i < data.length;) {
      const n = 1 + Math.floor(random() * (random() < 0.5 ? 8 : 400));
      const chunk = data.subarray(i, i + n);
      try {
        p.dataReceived(chunk);
      } catch (e) {
        fail(`${subject.name} threw out of dataReceived: ${e}`);
      }
      fed += chunk.length;
      i += n;
      assertLessOrEqual(p.bufferedBytes, Math.min(bound, fed), subject.name);
    }
    // Either every refusal lost the connection, or nothing was refused.
    assertEquals(p.transport.disconnecting, p.refusals > 0, subject.name);
    for (const m of p.messages) assertLessOrEqual(m.length, max);
  }
  // Netstring parse errors are the only thing logged.
  assertEquals(
    logs.errors().every((f) => f.check(basic.NetstringParseError)),
    true,
  );
  logs.flushErrors();
  assertGreater(runs, 50);
});

Deno.test("A valid stream with garbage spliced in is delivered up to the garbage, then refused cleanly", () => {
  const random = prng(99);
  for (const subject of SUBJECTS) {
    using _logs = log.capture();
    for (let run = 0; run < 40; run++) {
      const sender = subject.make(100);
      const messages = randomMessages(subject, 100, random).slice(0, 6);
      for (const m of messages) sender.send(m);
      const valid = sender.transport.value();
      const garbage = randomBytes(200, random);
      const receiver = subject.make(100);
      receiver.dataReceived(join([valid, garbage]));
      assertEquals(
        receiver.messages.slice(0, messages.length),
        messages,
        subject.name,
      );
      assertEquals(receiver.transport.disconnecting, receiver.refusals > 0);
    }
  }
});

Deno.test("protocols/basic exports every receiver and error", () => {
  for (
    const name of [
      "LineReceiver",
      "LineOnlyReceiver",
      "NetstringReceiver",
      "NetstringParseError",
      "IntNStringReceiver",
      "Int8StringReceiver",
      "Int16StringReceiver",
      "Int32StringReceiver",
      "StringTooLongError",
    ]
  ) {
    assertEquals(typeof (basic as Record<string, unknown>)[name], "function");
  }
});
