/**
 * The machinery of `ProcessEndpoint` (Twisted's `_WrapIProtocol` and
 * `_ProcessEndpointTransport`): a stream protocol driven by a child
 * process, its transport an `ITransport` over the child's stdin and stdout.
 *
 * @module
 */
import type {
  Data,
  IConsumer,
  IProcessTransport,
  IProtocol,
  IPullProducer,
  IPushProducer,
  ITransport,
} from "./interfaces.ts";
import { Failure } from "./failure.ts";
import { ConnectionDone, ProcessDone } from "./error.ts";
import { log } from "../logger.ts";
import { watchResult } from "./common/callbacks.ts";
import { ProcessProtocol } from "./process.ts";
import { PipeAddress } from "./stdio.ts";

/**
 * What becomes of what the child writes to stderr (Twisted's
 * `StandardErrorBehavior`): `"log"`, logged line by chunk with the
 * program's name; `"drop"`, ignored.
 */
export type StandardErrorBehavior = "log" | "drop";

/**
 * The transport a `ProcessEndpoint`'s protocol gets: `write` goes to the
 * child's stdin, `loseConnection` closes it, and the child process itself
 * is at `process` (to signal it).
 *
 * @example Reaching the child process
 * ```ts
 * import { connectProtocol, ProcessEndpoint, type ProcessEndpointTransport, Protocol, Reactor } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * const reactor = new Reactor();
 * const lost = Promise.withResolvers<void>();
 * class Quit extends Protocol {
 *   override connectionLost(): void {
 *     lost.resolve();
 *   }
 * }
 * const endpoint = new ProcessEndpoint(reactor, "deno", { args: ["deno", "eval", ""] });
 * const p = await connectProtocol(endpoint, new Quit());
 * assert((p.transport as unknown as ProcessEndpointTransport).process.pid > 0);
 * await lost.promise;
 * ```
 */
export class ProcessEndpointTransport implements ITransport, IConsumer {
  /** The child process (signal it with `process.signalProcess`). */
  readonly process: IProcessTransport;

  /** Wraps `process`; `ProcessEndpoint` makes these. */
  constructor(process: IProcessTransport) {
    this.process = process;
  }

  /** Writes to the child's stdin (a string as UTF-8). */
  write(data: Data): void {
    this.process.write(data);
  }

  /** Writes each item in order to the child's stdin. */
  writeSequence(data: Iterable<Data>): void {
    this.process.writeSequence(data);
  }

  /** Closes the child's stdin once what was written is sent. */
  loseConnection(): void {
    this.process.loseConnection();
  }

  /** Bytes written and not yet taken by the child. */
  getWriteBufferSize(): number {
    return this.process.getWriteBufferSize();
  }

  /** A `PipeAddress`. */
  getPeer(): PipeAddress {
    return new PipeAddress();
  }

  /** A `PipeAddress`. */
  getHost(): PipeAddress {
    return new PipeAddress();
  }

  /** Registers a producer for the child's stdin. */
  registerProducer(
    producer: IPushProducer | IPullProducer,
    streaming: boolean,
  ): void {
    this.process.registerProducer(producer, streaming);
  }

  /** Unregisters the producer. */
  unregisterProducer(): void {
    this.process.unregisterProducer();
  }

  /** Stops reading the child's output until `resumeProducing`. */
  pauseProducing(): void {
    this.process.pauseProducing();
  }

  /** Reads the child's output again. */
  resumeProducing(): void {
    this.process.resumeProducing();
  }

  /** As StandardIO's: `loseConnection()` (closes the child's stdin). */
  stopProducing(): void {
    this.loseConnection();
  }
}

/**
 * The process protocol that drives a stream protocol (Twisted's
 * `_WrapIProtocol`): stdout to `dataReceived`, stderr as `errFlag` says,
 * and the process's end to `connectionLost` (`ConnectionDone` for a clean
 * exit, else the `ProcessTerminated` failure).
 */
export class WrappedProcessProtocol extends ProcessProtocol {
  #protocol: IProtocol;
  #executable: string;
  #errFlag: StandardErrorBehavior;
  #notStarted: (reason: Failure) => void;
  /** Whether the program started (and the protocol was connected). */
  connected = false;

  /**
   * Wraps `protocol` for the child `executable`; `notStarted` hears why a
   * program that could not start ended (the protocol is never connected).
   */
  constructor(
    protocol: IProtocol,
    executable: string,
    errFlag: StandardErrorBehavior,
    notStarted: (reason: Failure) => void,
  ) {
    super();
    this.#protocol = protocol;
    this.#executable = executable;
    this.#errFlag = errFlag;
    this.#notStarted = notStarted;
  }

  /** Gives the stream protocol its transport and calls its `connectionMade`. */
  override makeConnection(process: IProcessTransport): void {
    this.transport = process;
    this.connected = true;
    this.#protocol.makeConnection(new ProcessEndpointTransport(process));
  }

  /** stdout to `dataReceived`; stderr logged or dropped. */
  override childDataReceived(fd: number, data: Uint8Array): void {
    if (fd === 1) {
      return this.#protocol.dataReceived(data);
    }
    if (fd === 2 && this.#errFlag === "log") {
      log.msg(
        `Process ${this.#executable} wrote stderr unhandled by ${this.#protocol.constructor.name}: ${
          new TextDecoder().decode(data)
        }`,
      );
    }
  }

  /** The process's end is the connection's. */
  override processEnded(reason: Failure): void {
    if (!this.connected) return this.#notStarted(reason);
    const why = reason.value instanceof ProcessDone
      ? new Failure(new ConnectionDone())
      : reason;
    try {
      watchResult(
        this.#protocol.connectionLost(why),
        "Unhandled error in connectionLost",
      );
    } catch (e) {
      log.err(e, "Unhandled error in connectionLost");
    }
  }
}
