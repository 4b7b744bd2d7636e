/**
 * The simple wire services (`twisted.protocols.wire`): Echo (RFC 862),
 * Discard (RFC 863), Chargen (RFC 864), QOTD (RFC 865) and Daytime (RFC 867).
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
import type { IPullProducer } from "../internet/interfaces.ts";

/**
 * Sends back whatever it receives (RFC 862).
 *
 * @example
 * ```ts
 * import { Echo } from "@twist/twist";
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
 * @example
 * ```ts
 * import { Discard } from "@twist/twist";
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

/** The 95 printable ASCII characters RFC 864's lines rotate through. */
const PRINTABLE = Uint8Array.from({ length: 95 }, (_, i) => 32 + i);
const LINE_LENGTH = 72;
const LINES_PER_WRITE = 64;

/**
 * Sends RFC 864's character pattern until the peer hangs up: lines of 72
 * printable characters, each starting one character further along. It is a
 * pull producer, so it writes only as fast as the peer reads.
 *
 * @example
 * ```ts
 * import { Chargen } from "@twist/twist";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const t = new StringTransport();
 * const p = new Chargen();
 * p.makeConnection(t); // registers itself as a pull producer
 * p.resumeProducing(); // the transport asks for more
 * const lines = new TextDecoder().decode(t.value()).split("\r\n");
 * assertEquals(lines[0], ` !"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_\`abcdefg`);
 * assertEquals(lines[1][0], "!");
 * ```
 */
export class Chargen extends Protocol implements IPullProducer {
  #line = 0;
  #stopped = false;

  /** Registers itself with the transport as a pull producer. */
  override connectionMade(): void {
    this.transport.registerProducer(this, false);
  }

  /** Writes the next batch of lines. */
  resumeProducing(): void {
    if (this.#stopped) return;
    const out = new Uint8Array(LINES_PER_WRITE * (LINE_LENGTH + 2));
    let at = 0;
    for (let n = 0; n < LINES_PER_WRITE; n++) {
      const start = this.#line++ % PRINTABLE.length;
      for (let i = 0; i < LINE_LENGTH; i++) {
        out[at++] = PRINTABLE[(start + i) % PRINTABLE.length];
      }
      out[at++] = 13;
      out[at++] = 10;
    }
    this.transport.write(out);
  }

  /** Stops producing. */
  stopProducing(): void {
    this.#stopped = true;
  }
}

/**
 * Sends a quote and closes (RFC 865); override `getQuote` for your own.
 *
 * @example
 * ```ts
 * import { QOTD } from "@twist/twist";
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

  /** The quote to send, with its line ending. */
  getQuote(): string {
    return "An apple a day keeps the doctor away.\r\n";
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
 * @example
 * ```ts
 * import { asctime } from "@twist/twist";
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
 * @example
 * ```ts
 * import { Daytime } from "@twist/twist";
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
