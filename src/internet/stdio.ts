/**
 * Standard I/O as a transport (`twisted.internet.stdio`): a protocol reads
 * the process's stdin and writes its stdout as it would a TCP connection.
 *
 * The transport's life, as Twisted's:
 *
 * ```text
 * makeConnection → connectionMade → dataReceived* →
 *   [readConnectionLost] (end of input, half-closeable protocols) →
 *   [writeConnectionLost] (loseWriteConnection) → connectionLost
 * ```
 *
 * - The end of input closes the transport (`connectionLost(ConnectionDone)`,
 *   once what was written is sent), unless the protocol has
 *   `readConnectionLost` (`IHalfCloseableProtocol`): it is told and may
 *   write on until it calls `loseConnection`. Once both halves are closed
 *   (`loseWriteConnection` and the end of input), `connectionLost` follows.
 * - `loseConnection` stops reading, sends what is buffered, closes stdout,
 *   then calls `connectionLost(ConnectionDone)`.
 * - A failed write (the reader of stdout went away) or read ends it with
 *   `ConnectionLost`.
 *
 * Writes go through the same write buffer as a connection's: queued, joined
 * and flow-controlled (producers are paused above 64 KiB and resumed at
 * 16 KiB).
 *
 * @module
 */
import type {
  Data,
  IAddress,
  IConsumer,
  IProtocol,
  IPullProducer,
  IPushProducer,
  IReactorCore,
  ITransport,
} from "./interfaces.ts";
import { Failure } from "./failure.ts";
import { ConnectionDone, ConnectionLost } from "./error.ts";
import { log } from "../logger.ts";
import { callLogged, watchResult } from "./common/callbacks.ts";
import { toBytes } from "./common/bytes.ts";
import { defaultReactor } from "./common/default_reactor.ts";
import {
  registryOf,
  type ResourceKind,
  type ResourceRegistry,
} from "./common/registry.ts";
import { WriteBuffer, type WriteBufferEvent } from "./stream/write_buffer.ts";
import { takeRegion } from "./stream/read_pool.ts";

/** How much one read of stdin asks for. */
const READ_SIZE = 16 * 1024;

/**
 * The address of both ends of a pipe (Twisted's `PipeAddress`): standard
 * I/O and a process endpoint's transport have no network address.
 *
 * @example What a pipe's ends report
 * ```ts
 * import { PipeAddress } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new PipeAddress().type, "PIPE");
 * ```
 */
export class PipeAddress implements IAddress {
  /** Always `"PIPE"`. */
  readonly type = "PIPE";

  /** A readable form. */
  toString(): string {
    return "PipeAddress()";
  }
}

/** What `StandardIO` reads: `Deno.stdin` is one. */
export interface StandardIOReader {
  /** Reads into `p`: the number of bytes read, or `null` at the end. */
  read(p: Uint8Array): Promise<number | null>;
  /** Closes the reader (a pending read is interrupted). */
  close(): void;
}

/** What `StandardIO` writes: `Deno.stdout` is one. */
export interface StandardIOWriter {
  /** Writes a prefix of `p`: the number of bytes written. */
  write(p: Uint8Array): Promise<number>;
  /** Closes the writer. */
  close(): void;
}

/** Options of {@linkcode StandardIO}. */
export interface StandardIOOptions {
  /**
   * The reactor that owns the transport: at its shutdown, what was written
   * is sent (for up to `shutdownTimeout` seconds) and the transport closes.
   * @default {the default reactor}
   */
  reactor?: IReactorCore;
  /** Where to read. @default {Deno.stdin} */
  stdin?: StandardIOReader;
  /** Where to write. @default {Deno.stdout} */
  stdout?: StandardIOWriter;
}

/** The optional half-close callbacks (`IHalfCloseableProtocol`). */
type MaybeHalfCloseable = IProtocol & {
  readConnectionLost?(): void;
  writeConnectionLost?(): void;
};

/**
 * Connects `protocol` to this process's stdin and stdout (Twisted's
 * `stdio.StandardIO`): `dataReceived` gets what arrives on stdin, `write`
 * goes to stdout, `loseConnection` flushes and closes stdout, and the end
 * of input ends the connection (see the module docs for half-closing). As a
 * producer, `pauseProducing` stops reading stdin until `resumeProducing`.
 *
 * Needs no permission. Reading stdin keeps the process alive until the end
 * of input or `loseConnection`.
 *
 * @example An echo over stdin and stdout
 * ```ts ignore
 * import { Protocol, reactor, StandardIO, type Failure } from "@twist/twist";
 *
 * class Echo extends Protocol {
 *   override dataReceived(data: Uint8Array): void {
 *     this.transport.write(data);
 *   }
 *   override connectionLost(_reason: Failure): void {
 *     reactor.stop();
 *   }
 * }
 * new StandardIO(new Echo());
 * reactor.run();
 * ```
 *
 * @example Over other streams (a test's)
 * ```ts
 * import { Protocol, Reactor, StandardIO } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const input = [new TextEncoder().encode("hello")];
 * const output: string[] = [];
 * const closed = Promise.withResolvers<void>();
 * class Shout extends Protocol {
 *   override dataReceived(data: Uint8Array): void {
 *     this.transport.write(new TextDecoder().decode(data).toUpperCase());
 *   }
 *   override connectionLost(): void {
 *     closed.resolve();
 *   }
 * }
 * new StandardIO(new Shout(), {
 *   reactor: new Reactor(),
 *   stdin: {
 *     read: (p) => {
 *       const chunk = input.shift();
 *       if (!chunk) return Promise.resolve(null);
 *       p.set(chunk);
 *       return Promise.resolve(chunk.length);
 *     },
 *     close: () => {},
 *   },
 *   stdout: {
 *     write: (p) => {
 *       output.push(new TextDecoder().decode(p));
 *       return Promise.resolve(p.length);
 *     },
 *     close: () => {},
 *   },
 * });
 * await closed.promise;
 * assertEquals(output, ["HELLO"]);
 * ```
 */
export class StandardIO implements ITransport, IConsumer, IPushProducer {
  #protocol: MaybeHalfCloseable;
  #stdin: StandardIOReader;
  #stdout: StandardIOWriter;
  #buffer: WriteBuffer;
  #registry: ResourceRegistry | undefined;
  /** Whether stdin is read (not after its end, a failure, or loseConnection). */
  #reading = true;
  #paused = false;
  /** Resolves a read loop waiting in `pauseProducing`. */
  #resume: (() => void) | undefined;
  #readPending = false;
  #writeClosed = false;
  #disconnecting = false;
  #disconnected = false;

  /**
   * Connects `protocol` to stdin and stdout and starts reading: its
   * `connectionMade` runs from the constructor, as in Twisted.
   */
  constructor(protocol: IProtocol, options: StandardIOOptions = {}) {
    this.#protocol = protocol;
    this.#stdin = options.stdin ?? Deno.stdin;
    const stdout = options.stdout ?? Deno.stdout;
    this.#stdout = stdout;
    this.#buffer = new WriteBuffer({
      write: (bytes) => stdout.write(bytes),
      closeWrite: () => {
        stdout.close();
        return Promise.resolve();
      },
    }, this.#onWriteEvent);
    const reactor = options.reactor ?? defaultReactor();
    this.#registry = registryOf(reactor);
    this.#registry?.register(this, STDIO);
    callLogged(() => protocol.makeConnection(this), "connectionMade");
    if (!this.#disconnected) this.#readLoop();
  }

  /** Whether `loseConnection` was called. */
  get disconnecting(): boolean {
    return this.#disconnecting;
  }

  /** Whether the transport has closed (`connectionLost` has run). */
  get disconnected(): boolean {
    return this.#disconnected;
  }

  async #readLoop(): Promise<void> {
    while (this.#reading) {
      if (this.#paused) {
        await new Promise<void>((resolve) => this.#resume = resolve);
        continue;
      }
      const buf = takeRegion(READ_SIZE);
      let n: number | null;
      this.#readPending = true;
      try {
        n = await this.#stdin.read(buf);
      } catch (e) {
        this.#readPending = false;
        if (!this.#reading) return; // Closed by us.
        this.#reading = false;
        this.#connectionLost(
          new Failure(
            new ConnectionLost(`Reading stdin failed: ${e}`, { cause: e }),
          ),
        );
        return;
      }
      this.#readPending = false;
      if (!this.#reading) return;
      if (n === null) {
        this.#reading = false;
        this.#readConnectionLost();
        return;
      }
      if (n === 0) continue;
      // Paused while the read was under way: deliver on resume.
      while (this.#paused && this.#reading) {
        await new Promise<void>((resolve) => this.#resume = resolve);
      }
      if (!this.#reading) return;
      callLogged(
        () => this.#protocol.dataReceived(buf.subarray(0, n)),
        "dataReceived",
      );
    }
  }

  /** The end of input. */
  #readConnectionLost(): void {
    const p = this.#protocol;
    if (typeof p.readConnectionLost === "function") {
      try {
        watchResult(
          p.readConnectionLost(),
          "Unhandled error in readConnectionLost",
        );
      } catch (e) {
        log.err(e, "Unhandled error in readConnectionLost");
        this.#connectionLost(new Failure(e));
        return;
      }
      // Both halves are closed now.
      if (this.#writeClosed) {
        this.#connectionLost(new Failure(new ConnectionDone()));
      }
    } else {
      // Send what the protocol already wrote, then close.
      this.loseConnection();
    }
  }

  #onWriteEvent = (event: WriteBufferEvent, error?: unknown): void => {
    if (event === "shut") {
      this.#writeClosed = true;
      if (this.#disconnecting || !this.#reading) {
        this.#connectionLost(new Failure(new ConnectionDone()));
        return;
      }
      const p = this.#protocol;
      if (typeof p.writeConnectionLost === "function") {
        try {
          watchResult(
            p.writeConnectionLost(),
            "Unhandled error in writeConnectionLost",
          );
        } catch (e) {
          log.err(e, "Unhandled error in writeConnectionLost");
          this.#connectionLost(new Failure(e));
        }
      }
    } else if (event === "failed") {
      this.#writeClosed = true;
      this.#connectionLost(
        new Failure(
          new ConnectionLost(`Writing stdout failed: ${error}`, {
            cause: error,
          }),
        ),
      );
    }
  };

  #connectionLost(reason: Failure): void {
    if (this.#disconnected) return;
    this.#disconnected = true;
    this.#reading = false;
    this.#resume?.();
    this.#buffer.stopProducer();
    this.#buffer.stop();
    this.#registry?.unregister(this);
    this.#registry = undefined;
    // As Twisted closes both descriptors; a pending read is interrupted, so
    // nothing keeps the process alive.
    if (this.#readPending) closeQuietly(this.#stdin);
    if (!this.#writeClosed) closeQuietly(this.#stdout);
    callLogged(
      () => this.#protocol.connectionLost(reason),
      "connectionLost",
    );
  }

  /** Writes to stdout (a string as UTF-8); dropped once stdout is closed. */
  write(data: Data): void {
    this.#buffer.write(toBytes(data));
  }

  /** Writes each item in order. */
  writeSequence(data: Iterable<Data>): void {
    for (const d of data) this.write(d);
  }

  /** Bytes written and not yet taken by stdout. */
  getWriteBufferSize(): number {
    return this.#buffer.size;
  }

  /**
   * Stops reading stdin, sends what is buffered (once a registered producer
   * unregisters), closes stdout, then calls `connectionLost(ConnectionDone)`.
   * Idempotent.
   */
  loseConnection(): void {
    if (this.#disconnected || this.#disconnecting) return;
    this.#disconnecting = true;
    this.#reading = false;
    this.#resume?.();
    this.#buffer.end();
  }

  /**
   * Closes stdout once what is buffered is sent, and goes on reading; a
   * half-closeable protocol's `writeConnectionLost` is then called.
   */
  loseWriteConnection(): void {
    this.#buffer.end();
  }

  /** A `PipeAddress`. */
  getPeer(): PipeAddress {
    return new PipeAddress();
  }

  /** A `PipeAddress`. */
  getHost(): PipeAddress {
    return new PipeAddress();
  }

  /**
   * Registers a producer for stdout: a streaming one is paused while more
   * than 64 KiB wait to be written, a pull one is asked for more each time
   * the buffer empties. One registered once stdout is gone is stopped.
   *
   * @throws {Error} if a producer is already registered
   */
  registerProducer(
    producer: IPushProducer | IPullProducer,
    streaming: boolean,
  ): void {
    this.#buffer.registerProducer(producer, streaming);
  }

  /** Unregisters the producer; a pending `loseConnection` can then complete. */
  unregisterProducer(): void {
    this.#buffer.unregisterProducer();
  }

  /** Stops reading stdin until `resumeProducing`. */
  pauseProducing(): void {
    this.#paused = true;
  }

  /** Reads stdin again after `pauseProducing`. */
  resumeProducing(): void {
    this.#paused = false;
    const resume = this.#resume;
    this.#resume = undefined;
    resume?.();
  }

  /** As Twisted's: `loseConnection()`. */
  stopProducing(): void {
    this.loseConnection();
  }

  /** Closes at once: buffered writes are dropped (reactor shutdown, after its timeout). */
  abortConnection(reason: Failure = new Failure(new ConnectionLost())): void {
    this.#connectionLost(reason);
  }
}

function closeQuietly(closer: { close(): void }): void {
  try {
    closer.close();
  } catch {
    // Already closed.
  }
}

/**
 * At reactor shutdown standard I/O sends what is buffered (for up to
 * `shutdownTimeout` seconds, then it is aborted) and closes, as a
 * connection does.
 */
const STDIO: ResourceKind<StandardIO> = {
  name: "standard I/O",
  order: 2,
  shutdown: (stdio) => stdio.loseConnection(),
  abort: (stdio, afterSeconds) =>
    stdio.abortConnection(
      new Failure(
        new ConnectionLost(
          `The reactor stopped: unsent data left after ${afterSeconds} seconds`,
        ),
      ),
    ),
  describe: () => "stdin/stdout",
};
