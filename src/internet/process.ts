/**
 * Child processes (`IReactorProcess`): `spawnProcess` over `Deno.Command`,
 * with Twisted's `ProcessProtocol` callbacks.
 *
 * A process protocol's life:
 *
 * ```text
 * makeConnection → connectionMade → (outReceived | errReceived)* →
 *   inConnectionLost / outConnectionLost / errConnectionLost →
 *   processExited → processEnded (after the exit and every pipe closing)
 * ```
 *
 * Requires `--allow-run` for the program (e.g. `--allow-run=cat`).
 *
 * @module
 */
import type {
  Data,
  IProcessProtocol,
  IProcessTransport,
  IPullProducer,
  IPushProducer,
} from "./interfaces.ts";
import { Failure } from "./failure.ts";
import {
  ProcessDone,
  ProcessExitedAlready,
  ProcessTerminated,
} from "./error.ts";
import { log } from "../logger.ts";
import { toBytes } from "./_bytes.ts";

/**
 * The base class of process protocols: override the events you care about.
 *
 * @example Collecting a process's output
 * ```ts
 * import { ProcessProtocol, Reactor, type Failure } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const ended = Promise.withResolvers<string>();
 * class Collect extends ProcessProtocol {
 *   out = "";
 *   override outReceived(data: Uint8Array): void {
 *     this.out += new TextDecoder().decode(data);
 *   }
 *   override processEnded(_reason: Failure): void {
 *     ended.resolve(this.out);
 *   }
 * }
 * new Reactor().spawnProcess(new Collect(), "deno", ["deno", "eval", "console.log('hi')"]);
 * assertEquals(await ended.promise, "hi\n");
 * ```
 */
export class ProcessProtocol implements IProcessProtocol {
  /** The process's transport; set by `makeConnection`. */
  transport!: IProcessTransport;

  /** Attaches the transport and calls `connectionMade`. */
  makeConnection(transport: IProcessTransport): void {
    this.transport = transport;
    this.connectionMade();
  }

  /** Called once the process has started. */
  connectionMade(): void {}

  /** Called with data from the child's `fd` (1: stdout, 2: stderr); dispatches to `outReceived`/`errReceived`. */
  childDataReceived(fd: number, data: Uint8Array): void {
    if (fd === 1) this.outReceived(data);
    else if (fd === 2) this.errReceived(data);
  }

  /** Called with data from the child's stdout. */
  outReceived(_data: Uint8Array): void {}

  /** Called with data from the child's stderr. */
  errReceived(_data: Uint8Array): void {}

  /** Called when the child's `fd` is closed; dispatches to the three below. */
  childConnectionLost(fd: number): void {
    if (fd === 0) this.inConnectionLost();
    else if (fd === 1) this.outConnectionLost();
    else if (fd === 2) this.errConnectionLost();
  }

  /** Called when the child's stdin is closed. */
  inConnectionLost(): void {}

  /** Called when the child's stdout is closed. */
  outConnectionLost(): void {}

  /** Called when the child's stderr is closed. */
  errConnectionLost(): void {}

  /** Called when the process exits (its pipes may still have data). */
  processExited(_reason: Failure): void {}

  /** Called when the process has exited and all its pipes are closed. */
  processEnded(_reason: Failure): void {}
}

/** Options of `spawnProcess`. */
export interface SpawnProcessOptions {
  /**
   * The child's environment. As in Twisted, the child gets exactly this (so
   * `{}`, the default, is an empty environment); pass `Deno.env.toObject()` to
   * pass yours on (needs `--allow-env`).
   */
  env?: Record<string, string>;
  /** The child's working directory. */
  path?: string;
  /** Pseudo-terminals are not supported: only `false` is accepted. */
  usePTY?: false;
}

const HIGH = 64 * 1024;
const LOW = 16 * 1024;

/**
 * A running child process: write to its stdin, signal it, close its pipes.
 * Writes are queued and flow-controlled: a registered streaming producer is
 * paused while more than 64 KiB wait to be written.
 *
 * @example
 * ```ts
 * import { ProcessProtocol, Reactor } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * const done = Promise.withResolvers<void>();
 * class Cat extends ProcessProtocol {
 *   override connectionMade(): void {
 *     this.transport.write("meow");
 *     this.transport.closeStdin();
 *   }
 *   override processEnded(): void {
 *     done.resolve();
 *   }
 * }
 * const transport = new Reactor().spawnProcess(new Cat(), "deno", ["deno", "eval", "await Deno.stdin.readable.pipeTo(Deno.stdout.writable)"]);
 * assert(transport.pid > 0);
 * await done.promise;
 * ```
 */
export class ProcessTransport implements IProcessTransport {
  /** The child's process id. */
  readonly pid: number;
  #child: Deno.ChildProcess;
  #protocol: IProcessProtocol;
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #writing = false;
  #stdinClosing = false;
  #producer: IPushProducer | IPullProducer | undefined;
  #streaming = false;
  #producerPaused = false;
  #exited = false;
  #status: Deno.CommandStatus | undefined;
  /** stdout and stderr, until they reach their end. */
  #openPipes = 2;
  #ended = false;

  /** Wraps a spawned child for `protocol`; `spawnProcess` does this. */
  constructor(child: Deno.ChildProcess, protocol: IProcessProtocol) {
    this.#child = child;
    this.#protocol = protocol;
    this.pid = child.pid;
    this.#writer = child.stdin.getWriter();
  }

  /** Connects the protocol and starts reading the child's output. */
  start(): void {
    try {
      this.#protocol.makeConnection(this);
    } catch (e) {
      log.err(e, "Unhandled error in connectionMade");
    }
    this.#readFrom(1, this.#child.stdout);
    this.#readFrom(2, this.#child.stderr);
    this.#child.status.then((status) => {
      this.#exited = true;
      this.#status = status;
      // The child is gone: its stdin is closed too.
      this.#queue = [];
      this.#queued = 0;
      if (!this.#writing) this.#finishStdin();
      this.#call(
        () => this.#protocol.processExited(this.#reason()),
        "processExited",
      );
      this.#maybeEnded();
    });
  }

  async #readFrom(
    fd: number,
    stream: ReadableStream<Uint8Array>,
  ): Promise<void> {
    try {
      for await (const chunk of stream) {
        this.#call(
          () => this.#protocol.childDataReceived(fd, chunk),
          "childDataReceived",
        );
      }
    } catch {
      // The pipe broke: treat it as closed.
    }
    this.#pipeClosed(fd);
  }

  #pipeClosed(fd: number): void {
    this.#call(
      () => this.#protocol.childConnectionLost(fd),
      "childConnectionLost",
    );
    this.#openPipes--;
    this.#maybeEnded();
  }

  #maybeEnded(): void {
    if (this.#ended || !this.#exited || this.#openPipes > 0) return;
    this.#ended = true;
    const producer = this.#producer;
    this.#producer = undefined;
    if (producer) this.#call(() => producer.stopProducing(), "stopProducing");
    this.#call(
      () => this.#protocol.processEnded(this.#reason()),
      "processEnded",
    );
  }

  #reason(): Failure {
    const s = this.#status!;
    if (s.success) return new Failure(new ProcessDone());
    return new Failure(
      new ProcessTerminated(s.signal ? null : s.code, s.signal),
    );
  }

  #call(f: () => void, what: string): void {
    try {
      f();
    } catch (e) {
      log.err(e, `Unhandled error in ${what}`);
    }
  }

  /** Writes to the child's stdin (a string as UTF-8); dropped once stdin is closed. */
  write(data: Data): void {
    if (this.#stdinClosing || !this.#writer) return;
    const bytes = toBytes(data);
    if (bytes.length === 0) return;
    this.#queue.push(bytes);
    this.#queued += bytes.length;
    if (
      this.#producer && this.#streaming && !this.#producerPaused &&
      this.#queued > HIGH
    ) {
      this.#producerPaused = true;
      (this.#producer as IPushProducer).pauseProducing();
    }
    if (!this.#writing) this.#pump();
  }

  /** Writes each item in order. */
  writeSequence(data: Iterable<Data>): void {
    for (const d of data) this.write(d);
  }

  /** Bytes written to stdin but not yet taken by the child. */
  getWriteBufferSize(): number {
    return this.#queued;
  }

  async #pump(): Promise<void> {
    const writer = this.#writer;
    if (!writer) return;
    this.#writing = true;
    try {
      while (this.#queue.length > 0) {
        const chunk = this.#queue.shift()!;
        await writer.write(chunk);
        this.#queued -= chunk.length;
        if (this.#producerPaused && this.#queued <= LOW) {
          this.#producerPaused = false;
          (this.#producer as IPushProducer).resumeProducing();
        }
        if (
          this.#queue.length === 0 && this.#producer && !this.#streaming &&
          !this.#stdinClosing
        ) {
          this.#producer.resumeProducing();
        }
      }
    } catch {
      // The child closed its stdin (it exited, or does not read it).
      this.#queue = [];
      this.#queued = 0;
      this.#finishStdin();
      return;
    } finally {
      this.#writing = false;
    }
    if (this.#stdinClosing) this.#finishStdin();
  }

  /** Registers a producer for stdin, paused while the write queue is full. */
  registerProducer(
    producer: IPushProducer | IPullProducer,
    streaming: boolean,
  ): void {
    if (this.#producer) throw new Error("A producer is already registered");
    this.#producer = producer;
    this.#streaming = streaming;
    if (!streaming && this.#queue.length === 0) producer.resumeProducing();
  }

  /** Unregisters the producer. */
  unregisterProducer(): void {
    this.#producer = undefined;
    this.#producerPaused = false;
  }

  /** Closes the child's stdin once what was written has been sent. */
  closeStdin(): void {
    if (this.#stdinClosing) return;
    this.#stdinClosing = true;
    if (!this.#writing) this.#finishStdin();
  }

  #finishStdin(): void {
    const writer = this.#writer;
    if (!writer) return;
    this.#writer = undefined;
    this.#stdinClosing = true;
    writer.close().catch(() => {}).finally(() => {
      this.#call(
        () => this.#protocol.childConnectionLost(0),
        "childConnectionLost",
      );
    });
  }

  /** Lets this process exit without waiting for the child (it keeps running). */
  unref(): void {
    this.#child.unref();
  }

  /** Closes a pipe by descriptor: 0 (stdin) is closed; 1 and 2 are read to the end. */
  closeChildFD(fd: number): void {
    if (fd === 0) this.closeStdin();
  }

  /** Closes stdin, as Twisted's `loseConnection` on a process does; the process ends on its own. */
  loseConnection(): void {
    this.closeStdin();
  }

  /**
   * Sends a signal: `"TERM"`, `"KILL"`, `"INT"`, `"HUP"`... (or `"SIGTERM"`).
   *
   * @throws {ProcessExitedAlready} if the process has exited
   */
  signalProcess(signal: string): void {
    if (this.#exited) throw new ProcessExitedAlready();
    const name =
      (signal.startsWith("SIG") ? signal : `SIG${signal}`) as Deno.Signal;
    this.#child.kill(name);
  }
}

/**
 * Starts `executable` with `args` (as in Twisted, `args[0]` is the program's
 * own name and is not passed again) and connects `protocol` to it; what
 * `reactor.spawnProcess` calls.
 *
 * @throws {Error} for a missing `--allow-run` permission (naming the flag) or
 * `usePTY: true`; a program that cannot be found ends through `processEnded`
 * with a `ProcessTerminated` that says so
 *
 * @example
 * ```ts
 * import {
 *   type Failure,
 *   ProcessProtocol,
 *   type ProcessTerminated,
 *   Reactor,
 * } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const ended = Promise.withResolvers<number | null>();
 * class Wait extends ProcessProtocol {
 *   override processEnded(reason: Failure): void {
 *     ended.resolve((reason.value as ProcessTerminated).exitCode);
 *   }
 * }
 * new Reactor().spawnProcess(new Wait(), "deno", ["deno", "eval", "Deno.exit(3)"]);
 * assertEquals(await ended.promise, 3);
 * ```
 */
export function spawnProcess(
  protocol: IProcessProtocol,
  executable: string,
  args: string[] = [executable],
  options: SpawnProcessOptions = {},
): ProcessTransport {
  if ((options as { usePTY?: boolean }).usePTY) {
    throw new TypeError(
      "usePTY is not supported: Deno.Command has no pseudo-terminals",
    );
  }
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(executable, {
      args: args.slice(1),
      cwd: options.path,
      env: options.env ?? {},
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) {
      throw new Error(
        `Cannot run "${executable}": run again with --allow-run=${executable}`,
        { cause: e },
      );
    }
    if (e instanceof Deno.errors.NotFound) {
      return notFound(protocol, executable, e);
    }
    throw e;
  }
  const transport = new ProcessTransport(child, protocol);
  transport.start();
  return transport;
}

/** A transport for a program that could not be started: the protocol hears it through processEnded. */
function notFound(
  protocol: IProcessProtocol,
  executable: string,
  cause: unknown,
): ProcessTransport {
  const reason = new Failure(
    new ProcessTerminated(
      127,
      null,
      `cannot run "${executable}": no such program`,
    ),
  );
  (reason.value as Error).cause = cause;
  const stub = Object.create(ProcessTransport.prototype) as ProcessTransport;
  Object.defineProperty(stub, "pid", { value: 0 });
  for (
    const m of [
      "write",
      "writeSequence",
      "closeStdin",
      "closeChildFD",
      "loseConnection",
      "unregisterProducer",
    ]
  ) {
    Object.defineProperty(stub, m, { value: () => {} });
  }
  Object.defineProperty(stub, "registerProducer", { value: () => {} });
  Object.defineProperty(stub, "signalProcess", {
    value: () => {
      throw new ProcessExitedAlready();
    },
  });
  // Attached without connectionMade: the program never started.
  (protocol as { transport?: IProcessTransport }).transport = stub;
  queueMicrotask(() => {
    try {
      protocol.processExited(reason);
      protocol.processEnded(reason);
    } catch (e) {
      log.err(e, "Unhandled error in processEnded");
    }
  });
  return stub;
}
