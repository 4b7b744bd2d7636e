/**
 * Wrappers that record traffic: `TrafficLoggingFactory` (a log per
 * connection) and `SpewingFactory` (everything to the shared logger).
 *
 * @module
 */
import type {
  Data,
  IAddress,
  IProtocol,
  IProtocolFactory,
} from "../internet/interfaces.ts";
import type { Failure } from "../internet/failure.ts";
import { log } from "../logger.ts";
import {
  ProtocolWrapper,
  type WrapperFactory,
  WrappingFactory,
} from "./protocol_wrapper.ts";
import { bytesRepr } from "./_data.ts";
import { toBytes } from "./_framing.ts";
import { requirePermissions } from "../internet/common/permissions.ts";

const encoder = new TextEncoder();
const ELIDED = encoder.encode("<... elided>");

/** Where a {@linkcode TrafficLoggingProtocol} writes its lines. */
export interface TrafficLog {
  /** Writes `text` (one line, with its `"\n"`). */
  write(text: string): void;
  /** Closes the log; called once the connection is lost. */
  close?(): void;
}

/**
 * The wrapper {@linkcode TrafficLoggingFactory} puts around each connection.
 * It writes one line per event to its log, in Twisted's format, with bytes
 * shown as Python's `repr` shows them:
 *
 * ```text
 * *                          the connection is made
 * C 1: b'data received'
 * S 1: b'data written'
 * SV 1: [b'writeSequence', b'items']
 * S 1: *                     this side closes (loseConnection)
 * C 1: [Failure instance: ConnectionDone: ...]   the connection is lost
 * ```
 *
 * @example Logging to memory
 * ```ts
 * import { Protocol } from "@twist/twist";
 * import { TrafficLoggingProtocol } from "@twist/twist/protocols/policies";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const lines: string[] = [];
 * const p = new TrafficLoggingProtocol(
 *   { registerProtocol() {}, unregisterProtocol() {} },
 *   new Protocol(),
 *   { write: (text) => lines.push(text) },
 *   { number: 7 },
 * );
 * p.makeConnection(new StringTransport());
 * p.dataReceived(new TextEncoder().encode("hi\r\n"));
 * p.write("ok");
 * assertEquals(lines, ["*\n", "C 7: b'hi\\r\\n'\n", "S 7: b'ok'\n"]);
 * ```
 */
export class TrafficLoggingProtocol extends ProtocolWrapper {
  /** Where the lines go. */
  readonly logfile: TrafficLog;
  /** The longest data shown; longer data is cut and marked `<... elided>`. */
  lengthLimit: number | undefined;
  /** The connection's number in the log lines. */
  readonly number: number;

  /**
   * Wraps `wrappedProtocol`, logging to `logfile`.
   *
   * @param factory The factory that made this wrapper.
   * @param wrappedProtocol The protocol whose traffic is logged.
   * @param logfile Where the lines go.
   * @param options `lengthLimit` (default: none) and `number` (default 0).
   */
  constructor(
    factory: WrapperFactory,
    wrappedProtocol: IProtocol,
    logfile: TrafficLog,
    options: { lengthLimit?: number; number?: number } = {},
  ) {
    super(factory, wrappedProtocol);
    this.logfile = logfile;
    this.lengthLimit = options.lengthLimit;
    this.number = options.number ?? 0;
  }

  #log(line: string): void {
    this.logfile.write(line + "\n");
  }

  #show(data: Data): string {
    let bytes = toBytes(data);
    const limit = this.lengthLimit;
    if (limit && bytes.length > limit) {
      const kept = bytes.subarray(0, Math.max(0, limit - ELIDED.length));
      bytes = new Uint8Array(kept.length + ELIDED.length);
      bytes.set(kept);
      bytes.set(ELIDED, kept.length);
    }
    return bytesRepr(bytes);
  }

  /** Logs `*`. */
  override connectionMade(): void {
    this.#log("*");
  }

  /** Logs `C n: data`, then passes the data on. */
  override dataReceived(data: Uint8Array): void {
    this.#log(`C ${this.number}: ${this.#show(data)}`);
    return super.dataReceived(data);
  }

  /** Logs `C n: reason`, passes the loss on, and closes the log. */
  override connectionLost(reason: Failure): void {
    this.#log(`C ${this.number}: ${reason}`);
    try {
      return super.connectionLost(reason);
    } finally {
      this.logfile.close?.();
    }
  }

  /** Logs `S n: data`, then writes it. */
  override write(data: Data): void {
    this.#log(`S ${this.number}: ${this.#show(data)}`);
    super.write(data);
  }

  /** Logs `SV n: [data, ...]`, then writes the items. */
  override writeSequence(data: Iterable<Data>): void {
    const items = [...data];
    this.#log(
      `SV ${this.number}: [${items.map((d) => this.#show(d)).join(", ")}]`,
    );
    super.writeSequence(items);
  }

  /** Logs `S n: *`, then closes. */
  override loseConnection(): void {
    this.#log(`S ${this.number}: *`);
    super.loseConnection();
  }
}

/** Options of {@linkcode TrafficLoggingFactory}. */
export interface TrafficLoggingOptions {
  /** The longest data shown in a log line. @default {Infinity (no limit)} */
  lengthLimit?: number;
}

/** Writes all of `bytes` to `file` (a write may take only part of it). */
function writeAllSync(file: Deno.FsFile, bytes: Uint8Array): void {
  for (let n = 0; n < bytes.length;) n += file.writeSync(bytes.subarray(n));
}

/**
 * Wraps a factory so the traffic of each of its connections is logged to its
 * own file, `<logfilePrefix>-<n>` with `n` counting connections from 1 (see
 * {@linkcode TrafficLoggingProtocol} for the format): a debugging aid.
 * The file is opened when the connection's protocol is built and closed when
 * the connection is lost. Override `open` to log somewhere else.
 *
 * Requires `--allow-write` for the log files (e.g.
 * `--allow-write=/tmp/traffic`), unless `open` is overridden.
 *
 * @example Logging to memory instead of files
 * ```ts
 * import { Factory, IPv4Address, Protocol } from "@twist/twist";
 * import { type TrafficLog, TrafficLoggingFactory } from "@twist/twist/protocols/policies";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * class Echo extends Protocol {
 *   override dataReceived(data: Uint8Array): void {
 *     this.transport.write(data);
 *   }
 * }
 * const logs = new Map<string, string>();
 * class InMemory extends TrafficLoggingFactory {
 *   override open(name: string): TrafficLog {
 *     logs.set(name, "");
 *     return { write: (text) => logs.set(name, logs.get(name) + text) };
 *   }
 * }
 * const factory = new InMemory(Factory.forProtocol(Echo), "echo");
 * const p = factory.buildProtocol(new IPv4Address("TCP", "1.2.3.4", 5))!;
 * p.makeConnection(new StringTransport());
 * p.dataReceived(new TextEncoder().encode("ping"));
 * assertEquals(logs.get("echo-1"), "*\nC 1: b'ping'\nS 1: b'ping'\n");
 * ```
 */
export class TrafficLoggingFactory extends WrappingFactory {
  /** The start of each log file's name. */
  logfilePrefix: string;
  /** The longest data shown in a log line. */
  lengthLimit: number | undefined;
  #counter = 0;

  /**
   * Wraps `wrappedFactory`, logging to files named from `logfilePrefix`.
   *
   * @param wrappedFactory The factory whose connections are logged.
   * @param logfilePrefix The start of each log file's name.
   * @param options The length limit of logged data.
   */
  constructor(
    wrappedFactory: IProtocolFactory,
    logfilePrefix: string,
    options?: TrafficLoggingOptions,
  ) {
    options ??= {};
    super(wrappedFactory);
    this.logfilePrefix = logfilePrefix;
    this.lengthLimit = options.lengthLimit;
  }

  /** How many connections have been numbered since the last reset. */
  get counter(): number {
    return this.#counter;
  }

  /** Numbers the next connection 1 again. */
  resetCounter(): void {
    this.#counter = 0;
  }

  /**
   * Opens the log named `name` (by default a file, created or truncated).
   * Requires `--allow-write` for it.
   */
  open(name: string): TrafficLog {
    // Each connection opens one: never Deno's prompt (the flag is named).
    requirePermissions({ name: "write", path: name });
    const file = Deno.openSync(name, {
      write: true,
      create: true,
      truncate: true,
    });
    return {
      write: (text) => writeAllSync(file, encoder.encode(text)),
      close: () => file.close(),
    };
  }

  /**
   * Wraps the wrapped factory's protocol in a logging wrapper with its own
   * log, numbered with the next count.
   *
   * @returns the wrapper, or `null` when the wrapped factory refuses
   */
  override buildProtocol(addr: IAddress): ProtocolWrapper | null {
    const wrapped = this.wrappedFactory.buildProtocol(addr);
    if (!wrapped) return null;
    const number = ++this.#counter;
    const logfile = this.open(`${this.logfilePrefix}-${number}`);
    return new TrafficLoggingProtocol(this, wrapped, logfile, {
      lengthLimit: this.lengthLimit,
      number,
    });
  }
}

/**
 * The wrapper {@linkcode SpewingFactory} puts around each connection: it logs
 * (`log.msg`) what is received and sent.
 *
 * @example Using `SpewingProtocol`
 * ```ts
 * import { log, Protocol } from "@twist/twist";
 * import { SpewingProtocol } from "@twist/twist/protocols/policies";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * using logs = log.capture();
 * const p = new SpewingProtocol({ registerProtocol() {}, unregisterProtocol() {} }, new Protocol());
 * p.makeConnection(new StringTransport());
 * p.write("hi");
 * assertEquals(logs.events.at(-1)?.message, "Sending: b'hi'");
 * ```
 */
export class SpewingProtocol extends ProtocolWrapper {
  /** Logs `Received: data`, then passes it on. */
  override dataReceived(data: Uint8Array): void {
    log.msg(`Received: ${bytesRepr(data)}`);
    return super.dataReceived(data);
  }

  /** Logs `Sending: data`, then writes it. */
  override write(data: Data): void {
    log.msg(`Sending: ${bytesRepr(data)}`);
    super.write(data);
  }
}

/**
 * Wraps a factory so everything its connections receive and send is logged
 * with `log.msg` (at info level: `log.startLogging()` shows it): a
 * debugging aid.
 *
 * @example Using `SpewingFactory`
 * ```ts
 * import { Factory, IPv4Address, Protocol } from "@twist/twist";
 * import { SpewingFactory, SpewingProtocol } from "@twist/twist/protocols/policies";
 * import { assertInstanceOf } from "@std/assert";
 *
 * const factory = new SpewingFactory(Factory.forProtocol(Protocol));
 * assertInstanceOf(factory.buildProtocol(new IPv4Address("TCP", "1.1.1.1", 1)), SpewingProtocol);
 * ```
 */
export class SpewingFactory extends WrappingFactory {
  /**
   * Wraps `wrappedFactory`.
   *
   * @param wrappedFactory The factory whose connections are logged.
   */
  constructor(wrappedFactory: IProtocolFactory) {
    super(wrappedFactory);
    this.wrapperClass = SpewingProtocol;
  }
}
