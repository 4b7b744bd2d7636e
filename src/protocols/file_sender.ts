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
 * it reads one chunk (`CHUNK_SIZE` bytes), passes it through `transform`
 * (if given) and writes it. The Deferred fires with the last byte sent (an
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
  /** The consumer asked for more while a read was under way. */
  #wanted = false;

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

  /** Reads the next chunk and writes it (the consumer calls this). */
  resumeProducing(): void {
    if (!this.#file) return;
    if (this.#reading) {
      this.#wanted = true;
      return;
    }
    this.#reading = true;
    const chunk = new Uint8Array(FileSender.CHUNK_SIZE);
    this.#file.read(chunk).then(
      (n) => this.#read(chunk, n),
      (e) => this.#failed(e),
    );
  }

  #read(chunk: Uint8Array, n: number | null): void {
    this.#reading = false;
    if (!this.#file) return; // Stopped meanwhile.
    if (n === null) return this.#finished();
    let bytes = chunk.subarray(0, n);
    try {
      if (this.#transform) bytes = this.#transform(bytes);
      if (bytes.length > 0) {
        this.lastSent = bytes.subarray(bytes.length - 1);
        this.#consumer!.write(bytes);
      }
    } catch (e) {
      return this.#failed(e);
    }
    if (!this.#file) return; // The write stopped the producer.
    if (this.#wanted || n === 0) {
      this.#wanted = false;
      this.resumeProducing();
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
