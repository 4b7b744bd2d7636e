/**
 * `FileSender` (`twisted.protocols.basic.FileSender`): streams a file to a
 * consumer (a transport) as a pull producer, one chunk each time the
 * consumer has written the last one, so memory stays bounded however big
 * the file and however slow the reader.
 *
 * @module
 */
import type { IConsumer, IPullProducer } from "../internet/interfaces.ts";
import { Deferred } from "../internet/defer.ts";
import { log } from "../logger.ts";

/** What `FileSender` reads: a `Deno.FsFile` is one. */
export interface FileSenderSource {
  /** Reads into `p`: the number of bytes read, or `null` at the end. */
  read(p: Uint8Array): Promise<number | null>;
}

/**
 * Sends a file to a consumer (Twisted's `FileSender`): `beginFileTransfer`
 * registers it as a pull producer, and each time the consumer asks for more
 * it writes one chunk (`CHUNK_SIZE` bytes, passed through `transform` if
 * given), reading the next one ahead meanwhile: memory stays within a
 * couple of chunks whatever the file's size. The Deferred fires with the last byte sent (an
 * empty array for an empty file) once the file has been read to its end and
 * the producer unregistered; it fails when reading fails or the consumer
 * stops the producer (`stopProducing`: the connection was lost).
 *
 * A path is opened here (and closed at the end); a file given open is left
 * open for its owner to close. Opening needs `--allow-read` for the path
 * (the failure names the flag).
 *
 * @example Sending a file over a connection, then closing it
 * ```ts ignore
 * import { Factory, Protocol, reactor } from "@twist/twist";
 * import { FileSender } from "@twist/twist/protocols/basic";
 *
 * class SendFile extends Protocol {
 *   override connectionMade(): void {
 *     new FileSender().beginFileTransfer("data.bin", this.transport)
 *       .addBoth(() => this.transport.loseConnection());
 *   }
 * }
 * reactor.listenTCP(8000, Factory.forProtocol(SendFile));
 * reactor.run();
 * ```
 *
 * @example Into a StringTransport
 * ```ts
 * import { FileSender, type IPullProducer } from "@twist/twist/protocols/basic";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const chunks = [new TextEncoder().encode("hello")];
 * const file = {
 *   read(p: Uint8Array): Promise<number | null> {
 *     const chunk = chunks.shift();
 *     if (!chunk) return Promise.resolve(null);
 *     p.set(chunk);
 *     return Promise.resolve(chunk.length);
 *   },
 * };
 * const transport = new StringTransport();
 * const sent = new FileSender().beginFileTransfer(
 *   file,
 *   transport,
 *   (chunk) => chunk.map((b) => b - 32), // upper case
 * );
 * // A StringTransport only records the producer: ask for chunks by hand.
 * while (transport.producer) {
 *   (transport.producer as IPullProducer).resumeProducing();
 *   await new Promise((resolve) => setTimeout(resolve, 0));
 * }
 * const last = await sent;
 * assertEquals(transport.text(), "HELLO");
 * assertEquals(new TextDecoder().decode(last), "O");
 * ```
 */
export class FileSender implements IPullProducer {
  /** How many bytes are read and written at a time. */
  static CHUNK_SIZE = 16 * 1024;

  /** The last byte written (empty before the first). */
  lastSent: Uint8Array = new Uint8Array(0);
  #file: FileSenderSource | undefined;
  /** The file, when this sender opened it (and so closes it). */
  #opened: Deno.FsFile | undefined;
  #consumer: IConsumer | undefined;
  #transform: ((chunk: Uint8Array) => Uint8Array) | undefined;
  #deferred: Deferred<Uint8Array> | undefined;
  /** A read is under way. */
  #reading = false;
  /** The consumer asked for a chunk not read yet. */
  #wanted = false;
  /** A chunk read ahead (`null`: the end was read), until asked for. */
  #ahead: Uint8Array | null | undefined = undefined;

  /**
   * Starts sending `file` (an open file, or a path to open) to `consumer`.
   *
   * @param file what to send
   * @param consumer where to write it (a transport)
   * @param transform applied to each chunk before it is written
   * @returns a Deferred of the last byte sent
   * @throws {Error} if a transfer is already under way
   */
  beginFileTransfer(
    file: FileSenderSource | string,
    consumer: IConsumer,
    transform?: (chunk: Uint8Array) => Uint8Array,
  ): Deferred<Uint8Array> {
    if (this.#deferred) {
      throw new Error("This FileSender is already sending a file");
    }
    const deferred = new Deferred<Uint8Array>();
    if (typeof file === "string") {
      try {
        this.#opened = Deno.openSync(file, { read: true });
      } catch (e) {
        deferred.errback(
          e instanceof Deno.errors.NotCapable
            ? new Error(
              `Cannot read "${file}": run again with --allow-read=${file}`,
              { cause: e },
            )
            : e,
        );
        return deferred;
      }
      this.#file = this.#opened;
    } else {
      this.#file = file;
    }
    this.#consumer = consumer;
    this.#transform = transform;
    this.#deferred = deferred;
    this.lastSent = new Uint8Array(0);
    consumer.registerProducer(this, false);
    return deferred;
  }

  /**
   * Writes the next chunk (the consumer calls this). The chunk after it is
   * read ahead while this one is being sent, so reading the file and writing
   * the connection overlap; at most that one chunk waits here.
   */
  resumeProducing(): void {
    if (!this.#file) return;
    const ahead = this.#ahead;
    if (ahead !== undefined) {
      this.#ahead = undefined;
      this.#deliver(ahead);
    } else if (this.#reading) {
      this.#wanted = true;
    } else {
      this.#wanted = true;
      this.#readNext();
    }
  }

  #readNext(): void {
    this.#reading = true;
    const chunk = new Uint8Array(FileSender.CHUNK_SIZE);
    this.#file!.read(chunk).then(
      (n) => this.#read(n === null ? null : chunk.subarray(0, n)),
      (e) => this.#failed(e),
    );
  }

  #read(chunk: Uint8Array | null): void {
    this.#reading = false;
    if (!this.#file) return; // Stopped meanwhile.
    if (chunk !== null && chunk.length === 0) return this.#readNext();
    if (!this.#wanted) {
      this.#ahead = chunk; // Until the consumer asks.
      return;
    }
    this.#wanted = false;
    this.#deliver(chunk);
  }

  /** Writes `chunk` (`null`: the end) and reads the next one ahead. */
  #deliver(chunk: Uint8Array | null): void {
    if (chunk === null) return this.#finished();
    try {
      const bytes = this.#transform ? this.#transform(chunk) : chunk;
      if (bytes.length > 0) {
        this.lastSent = bytes.subarray(bytes.length - 1);
        this.#consumer!.write(bytes);
      }
    } catch (e) {
      return this.#failed(e);
    }
    // The write may have stopped the producer, or asked for more already.
    if (this.#file && !this.#reading && this.#ahead === undefined) {
      this.#readNext();
    }
  }

  #finished(): void {
    const deferred = this.#deferred;
    const consumer = this.#consumer;
    this.#end();
    consumer?.unregisterProducer();
    deferred?.callback(this.lastSent);
  }

  /** Reading or transforming failed: the Deferred fails with the error. */
  #failed(e: unknown): void {
    this.#reading = false;
    if (!this.#file) return;
    const deferred = this.#deferred;
    const consumer = this.#consumer;
    this.#end();
    consumer?.unregisterProducer();
    deferred?.errback(e);
  }

  /** Lets go of the file (closing it if this sender opened it) and the consumer. */
  #end(): void {
    this.#file = undefined;
    this.#consumer = undefined;
    this.#transform = undefined;
    this.#deferred = undefined;
    this.#wanted = false;
    this.#ahead = undefined;
    const opened = this.#opened;
    this.#opened = undefined;
    if (opened) {
      try {
        opened.close();
      } catch (e) {
        log.err(e, "Error closing the file FileSender sent");
      }
    }
  }

  /** Nothing to do: a pull producer only produces when asked. */
  pauseProducing(): void {}

  /**
   * The consumer will take no more (its connection was lost): the Deferred
   * fails with "Consumer asked us to stop producing".
   */
  stopProducing(): void {
    const deferred = this.#deferred;
    if (!deferred) return;
    this.#end();
    deferred.errback(new Error("Consumer asked us to stop producing"));
  }
}
