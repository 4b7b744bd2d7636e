/**
 * The simple TCP services of `twisted.protocols.wire`: Echo (RFC 862),
 * Discard (RFC 863), Chargen (RFC 864), QOTD (RFC 865), Who (RFC 866),
 * Daytime (RFC 867) and Time (RFC 868). Serve one with
 * `Factory.forProtocol(Echo)`, as in Twisted; `examples/wire_services.ts`
 * serves five of them.
 *
 * @example Serving echo and daytime
 * ```ts ignore
 * import { Factory, reactor } from "@twist/twist";
 * import { Daytime, Echo } from "@twist/twist/protocols/wire";
 *
 * reactor.listenTCP(7007, Factory.forProtocol(Echo));
 * reactor.listenTCP(1313, Factory.forProtocol(Daytime));
 * reactor.run();
 * ```
 *
 * @module
 */
import { Protocol } from "../internet/protocol.ts";
import type { Data, IPullProducer } from "../internet/interfaces.ts";
import type { Failure } from "../internet/failure.ts";

/**
 * Sends back whatever it receives (RFC 862).
 *
 * @example Using `Echo`
 * ```ts
 * import { Echo } from "@twist/twist/protocols/wire";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const t = new StringTransport();
 * const p = new Echo();
 * p.makeConnection(t);
 * p.dataReceived(new TextEncoder().encode("ping"));
 * assertEquals(new TextDecoder().decode(t.value()), "ping");
 * ```
 */
export class Echo extends Protocol {
  /** Writes `data` back. */
  override dataReceived(data: Uint8Array): void {
    this.transport.write(data);
  }
}

/**
 * Throws away whatever it receives (RFC 863).
 *
 * @example Using `Discard`
 * ```ts
 * import { Discard } from "@twist/twist/protocols/wire";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const t = new StringTransport();
 * const p = new Discard();
 * p.makeConnection(t);
 * p.dataReceived(new Uint8Array(10));
 * assertEquals(t.value().length, 0);
 * ```
 */
export class Discard extends Protocol {
  /** Does nothing with `data`. */
  override dataReceived(_data: Uint8Array): void {}
}

const LINE_LENGTH = 72;
const PRINTABLE_COUNT = 95; // " " (32) to "~" (126)

/**
 * RFC 864's pattern for one full cycle: 95 lines of 72 printable characters
 * plus CRLF, line `n` starting at the `n`th printable character. Line 95 is
 * line 0 again, so the endless stream is this buffer over and over. Built
 * once, written as is (transports do not modify what they are given).
 */
const PATTERN: Uint8Array = (() => {
  const lineBytes = LINE_LENGTH + 2;
  const out = new Uint8Array(PRINTABLE_COUNT * lineBytes);
  for (let n = 0; n < PRINTABLE_COUNT; n++) {
    const at = n * lineBytes;
    for (let i = 0; i < LINE_LENGTH; i++) {
      out[at + i] = 32 + ((n + i) % PRINTABLE_COUNT);
    }
    out[at + LINE_LENGTH] = 13;
    out[at + LINE_LENGTH + 1] = 10;
  }
  return out;
})();

/**
 * Sends RFC 864's character pattern until the connection ends: lines of 72
 * printable ASCII characters and CRLF, each starting one character further
 * along the 95 printable ones. It ignores what it receives.
 *
 * Flow control: like Twisted's, it registers itself with the transport as a
 * pull producer (`registerProducer(this, false)`), so it writes one chunk (a
 * full cycle of 95 lines, 7,030 bytes) each time the transport's buffer has
 * drained and asks for more: it never runs ahead of a slow reader. It stops
 * for good on `stopProducing` or when the connection is lost.
 *
 * (Twisted's `Chargen` repeats one fixed 72-byte string without line ends;
 * Twist sends the RFC's pattern.)
 *
 * @example Using `Chargen`
 * ```ts
 * import { Chargen } from "@twist/twist/protocols/wire";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals, assertStrictEquals } from "@std/assert";
 *
 * const t = new StringTransport();
 * const p = new Chargen();
 * p.makeConnection(t); // registers itself as a pull producer
 * assertStrictEquals(t.producer, p);
 * p.resumeProducing(); // what the transport calls when it wants more
 * const lines = new TextDecoder().decode(t.value()).split("\r\n");
 * assertEquals(lines[0], ` !"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_\`abcdefg`);
 * assertEquals(lines[1], `!"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_\`abcdefgh`);
 * ```
 */
export class Chargen extends Protocol implements IPullProducer {
  #stopped = false;

  /** Registers itself with the transport as a pull producer. */
  override connectionMade(): void {
    this.transport.registerProducer(this, false);
  }

  /** Writes the next chunk of the pattern (unless stopped). */
  resumeProducing(): void {
    if (this.#stopped) return;
    this.transport.write(PATTERN);
  }

  /** Stops producing for good. */
  stopProducing(): void {
    this.#stopped = true;
  }

  /** Stops producing: there is no one left to send to. */
  override connectionLost(_reason: Failure): void {
    this.#stopped = true;
  }
}

/**
 * Sends a quote and closes (RFC 865); override `getQuote` for your own.
 * It ignores what it receives.
 *
 * @example Using `QOTD`
 * ```ts
 * import { QOTD } from "@twist/twist/protocols/wire";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const t = new StringTransport();
 * new QOTD().makeConnection(t);
 * assertEquals(new TextDecoder().decode(t.value()), "An apple a day keeps the doctor away.\r\n");
 * assert(t.disconnecting);
 * ```
 */
export class QOTD extends Protocol {
  /** Sends the quote, then closes. */
  override connectionMade(): void {
    this.transport.write(this.getQuote());
    this.transport.loseConnection();
  }

  /** The quote to send, with its line ending. Override it for your own. */
  getQuote(): Data {
    return "An apple a day keeps the doctor away.\r\n";
  }
}

/**
 * Sends the list of active users and closes (RFC 866, "Active Users"):
 * `"root\r\n"` unless `getUsers` is overridden.
 *
 * @example Using `Who`
 * ```ts
 * import { Who } from "@twist/twist/protocols/wire";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assert, assertEquals } from "@std/assert";
 *
 * class Team extends Who {
 *   override getUsers(): string {
 *     return "alice\r\nbob\r\n";
 *   }
 * }
 * const t = new StringTransport();
 * new Team().makeConnection(t);
 * assertEquals(new TextDecoder().decode(t.value()), "alice\r\nbob\r\n");
 * assert(t.disconnecting);
 * ```
 */
export class Who extends Protocol {
  /** Sends the users, then closes. */
  override connectionMade(): void {
    this.transport.write(this.getUsers());
    this.transport.loseConnection();
  }

  /** The users to send, one per line. Override it for the real list. */
  getUsers(): Data {
    return "root\r\n";
  }
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = [
  "Jan",
  "Feb",
  "Mar",
  "Apr",
  "May",
  "Jun",
  "Jul",
  "Aug",
  "Sep",
  "Oct",
  "Nov",
  "Dec",
];
const two = (n: number): string => String(n).padStart(2, "0");

/**
 * The time as Python's `time.asctime` writes it, in UTC:
 * `"Wed Nov 25 07:55:41 2026"`.
 *
 * @example Calling `asctime`
 * ```ts
 * import { asctime } from "@twist/twist/protocols/wire";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(asctime(new Date(Date.UTC(2026, 5, 9, 1, 2, 3))), "Tue Jun  9 01:02:03 2026");
 * ```
 */
export function asctime(date: Date): string {
  const day = String(date.getUTCDate()).padStart(2, " ");
  return `${DAYS[date.getUTCDay()]} ${MONTHS[date.getUTCMonth()]} ${day} ${
    two(date.getUTCHours())
  }:${two(date.getUTCMinutes())}:${
    two(date.getUTCSeconds())
  } ${date.getUTCFullYear()}`;
}

/**
 * Sends the date and time and closes (RFC 867), in Twisted's format (UTC
 * `asctime`). Override `now` to control the time.
 *
 * @example Using `Daytime`
 * ```ts
 * import { Daytime } from "@twist/twist/protocols/wire";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * class Fixed extends Daytime {
 *   override now(): Date {
 *     return new Date(Date.UTC(2000, 0, 1));
 *   }
 * }
 * const t = new StringTransport();
 * new Fixed().makeConnection(t);
 * assertEquals(new TextDecoder().decode(t.value()), "Sat Jan  1 00:00:00 2000\r\n");
 * ```
 */
export class Daytime extends Protocol {
  /** Sends the time, then closes. */
  override connectionMade(): void {
    this.transport.write(`${asctime(this.now())}\r\n`);
    this.transport.loseConnection();
  }

  /** The time to send. */
  now(): Date {
    return new Date();
  }
}

/** Seconds from 1900-01-01 (RFC 868's epoch) to 1970-01-01 (Unix's). */
const RFC868_EPOCH_OFFSET = 2_208_988_800;

/**
 * Sends the time as RFC 868 machine-readable time and closes: 4 bytes,
 * big-endian, the seconds since 1900-01-01 00:00 UTC (modulo 2^32, so it
 * wraps in 2036 as the RFC's clients expect). Override `now` to control the
 * time.
 *
 * (Twisted's `Time` sends the seconds since 1970, which RFC 868 clients such
 * as `rdate` read as seventy years off; Twist sends what the RFC says.)
 *
 * @example Using `Time`
 * ```ts
 * import { Time } from "@twist/twist/protocols/wire";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assert, assertEquals } from "@std/assert";
 *
 * class Fixed extends Time {
 *   override now(): Date {
 *     return new Date(Date.UTC(1970, 0, 1));
 *   }
 * }
 * const t = new StringTransport();
 * new Fixed().makeConnection(t);
 * assertEquals(new DataView(t.value().buffer).getUint32(0), 2_208_988_800);
 * assert(t.disconnecting);
 * ```
 */
export class Time extends Protocol {
  /** Sends the time, then closes. */
  override connectionMade(): void {
    const seconds = Math.floor(this.now().getTime() / 1000) +
      RFC868_EPOCH_OFFSET;
    const out = new Uint8Array(4);
    // `>>> 0` keeps the low 32 bits, as the RFC's modulo-2^32 time does.
    new DataView(out.buffer).setUint32(0, seconds >>> 0);
    this.transport.write(out);
    this.transport.loseConnection();
  }

  /** The time to send. */
  now(): Date {
    return new Date();
  }
}

// The core types this entry point's signatures mention, re-exported as types
// only (the values live in the root module), so that it is documented on its
// own.
export type * from "../internet/common/entry_types.ts";
