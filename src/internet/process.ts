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
  IReactorCore,
  TriggerID,
} from "./interfaces.ts";
import { Failure } from "./failure.ts";
import {
  ProcessDone,
  ProcessExitedAlready,
  ProcessTerminated,
} from "./error.ts";
import { log } from "../logger.ts";
import { callLogged } from "./common/callbacks.ts";
import { toBytes } from "./common/bytes.ts";
import { requirePermissions } from "./common/permissions.ts";
import {
  registryOf,
  type ResourceKind,
  type ResourceRegistry,
} from "./common/registry.ts";
import { WriteBuffer, type WriteBufferEvent } from "./stream/write_buffer.ts";
import type { SpawnProcessOptions } from "./interfaces.ts";
export type { SpawnProcessOptions } from "./interfaces.ts";

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
    return this.connectionMade();
  }

  /** Called once the process has started. */
  connectionMade(): void {}

  /** Called with data from the child's `fd` (1: stdout, 2: stderr); dispatches to `outReceived`/`errReceived`. */
  childDataReceived(fd: number, data: Uint8Array): void {
    // Returned, so the transport can watch an async handler's promise.
    if (fd === 1) return this.outReceived(data);
    if (fd === 2) return this.errReceived(data);
  }

  /** Called with data from the child's stdout. */
  outReceived(_data: Uint8Array): void {}

  /** Called with data from the child's stderr. */
  errReceived(_data: Uint8Array): void {}

  /** Called when the child's `fd` is closed; dispatches to the three below. */
  childConnectionLost(fd: number): void {
    if (fd === 0) return this.inConnectionLost();
    if (fd === 1) return this.outConnectionLost();
    if (fd === 2) return this.errConnectionLost();
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

/**
 * A running child process: write to its stdin, signal it, close its pipes.
 * Writes to stdin go through the same write buffer as a connection's: queued,
 * joined, and flow-controlled (a registered streaming producer is paused
 * while more than 64 KiB wait to be written, and resumed at 16 KiB; what a
 * producer throws is logged).
 *
 * @example Using `ProcessTransport`
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
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  /** stdin's queue, pump and producer. */
  #stdin: WriteBuffer;
  /** Whether `childConnectionLost(0)` has been called (or is on its way). */
  #stdinLost = false;
  #exited = false;
  #status: Deno.CommandStatus | undefined;
  /** stdout and stderr, until they reach their end. */
  #openPipes = 2;
  /** Whether reading the child's output is paused (`pauseProducing`). */
  #paused = false;
  /** Resolves the read loops waiting in `pauseProducing`. */
  #resumed: PromiseWithResolvers<void> | undefined;
  #ended = false;
  /** The reactor that owns the process until it ends, if any. */
  #reactor: IReactorCore | undefined;
  /** Its registry, while the process is registered with it. */
  #registry: ResourceRegistry | undefined;
  /** The trigger of a reactor without a registry (a test double). */
  #trigger: TriggerID | undefined;

  /**
   * Wraps a spawned child for `protocol`; `spawnProcess` does this. With a
   * `reactor`, the child stops keeping this process alive when the reactor
   * shuts down (it is not killed: it runs on, as in Twisted).
   */
  constructor(
    child: Deno.ChildProcess,
    protocol: IProcessProtocol,
    reactor?: IReactorCore,
  ) {
    this.#child = child;
    this.#protocol = protocol;
    this.#reactor = reactor;
    this.pid = child.pid;
    const writer = child.stdin.getWriter();
    this.#writer = writer;
    this.#stdin = new WriteBuffer({
      write: (bytes) => writer.write(bytes),
      closeWrite: () => writer.close(),
    }, this.#onStdinEvent);
  }

  /** Connects the protocol and starts reading the child's output. */
  start(): void {
    const reactor = this.#reactor;
    const registry = reactor && registryOf(reactor);
    if (registry) {
      // Registered until it ends, so an ended process leaves nothing behind.
      this.#registry = registry;
      registry.register(this, PROCESS);
    } else if (reactor) {
      this.#trigger = reactor.addSystemEventTrigger(
        "after",
        "shutdown",
        () => this.unref(),
      );
    }
    callLogged(() => this.#protocol.makeConnection(this), "connectionMade");
    this.#readFrom(1, this.#child.stdout);
    this.#readFrom(2, this.#child.stderr);
    this.#child.status.then((status) => {
      this.#exited = true;
      this.#status = status;
      // The child is gone: its stdin is closed too.
      this.#loseStdin();
      callLogged(
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
    const reader = stream.getReader();
    try {
      for (;;) {
        // While paused nothing is read: the pipe fills and the child blocks.
        while (this.#paused) await this.#resumed!.promise;
        const { value, done } = await reader.read();
        if (done) break;
        // A read already pending when the pause came is held until resumed.
        while (this.#paused) await this.#resumed!.promise;
        callLogged(
          () => this.#protocol.childDataReceived(fd, value),
          "childDataReceived",
        );
      }
    } catch {
      // The pipe broke: treat it as closed.
    } finally {
      reader.releaseLock();
    }
    this.#pipeClosed(fd);
  }

  #pipeClosed(fd: number): void {
    callLogged(
      () => this.#protocol.childConnectionLost(fd),
      "childConnectionLost",
    );
    this.#openPipes--;
    this.#maybeEnded();
  }

  #maybeEnded(): void {
    if (this.#ended || !this.#exited || this.#openPipes > 0) return;
    this.#ended = true;
    this.#release();
    this.#stdin.stopProducer();
    callLogged(
      () => this.#protocol.processEnded(this.#reason()),
      "processEnded",
    );
  }

  /** Lets go of the reactor once the process has ended. */
  #release(): void {
    this.#registry?.unregister(this);
    this.#registry = undefined;
    if (this.#trigger) {
      try {
        this.#reactor?.removeSystemEventTrigger(this.#trigger);
      } catch {
        // It ran (the reactor shut down first).
      }
      this.#trigger = undefined;
    }
    this.#reactor = undefined;
  }

  #reason(): Failure {
    const s = this.#status!;
    if (s.success) return new Failure(new ProcessDone());
    return new Failure(
      new ProcessTerminated(s.signal ? null : s.code, s.signal),
    );
  }

  /**
   * Stops reading the child's stdout and stderr until `resumeProducing`: a
   * child that keeps writing blocks once the pipes are full (Twisted's
   * `Process.pauseProducing`).
   */
  pauseProducing(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#resumed = Promise.withResolvers<void>();
  }

  /** Reads the child's output again after `pauseProducing`. */
  resumeProducing(): void {
    if (!this.#paused) return;
    this.#paused = false;
    const resumed = this.#resumed;
    this.#resumed = undefined;
    resumed?.resolve();
  }

  /**
   * Writes to the child's stdin (a string as UTF-8). As in Twisted, writes
   * made after `closeStdin` are still sent until stdin is actually closed;
   * after that, or once the child has exited, they are dropped.
   */
  write(data: Data): void {
    this.#stdin.write(toBytes(data));
  }

  /** Writes each item in order. */
  writeSequence(data: Iterable<Data>): void {
    for (const d of data) this.write(d);
  }

  /** Bytes written to stdin but not yet taken by the child. */
  getWriteBufferSize(): number {
    return this.#stdin.size;
  }

  /**
   * Registers a producer for stdin: a streaming one is paused while the
   * write buffer is above 64 KiB, a pull one is asked for more each time it
   * empties. A producer registered once stdin is gone is stopped at once.
   *
   * @throws {Error} if a producer is already registered
   */
  registerProducer(
    producer: IPushProducer | IPullProducer,
    streaming: boolean,
  ): void {
    this.#stdin.registerProducer(producer, streaming);
  }

  /** Unregisters the producer; a pending `closeStdin` can then complete. */
  unregisterProducer(): void {
    this.#stdin.unregisterProducer();
  }

  /**
   * Closes the child's stdin once what was written has been sent and no
   * producer holds the close (a pull producer, or a streaming one paused by
   * the water marks: as Twisted's `loseConnection` on a pipe);
   * `childConnectionLost(0)` follows.
   */
  closeStdin(): void {
    this.#stdin.end();
  }

  /** What stdin's write buffer tells its owner. */
  #onStdinEvent = (event: WriteBufferEvent): void => {
    // A failed write means the child closed its stdin (it exited, or does
    // not read it): not an error, stdin is just gone.
    if (event === "failed" || event === "shut") this.#loseStdin();
  };

  /** stdin is gone (closed, broken, or the child exited): tell the protocol, once. */
  #loseStdin(): void {
    if (this.#stdinLost) return;
    this.#stdinLost = true;
    const closed = this.#stdin.state === "shut";
    this.#stdin.stop();
    (closed ? Promise.resolve() : this.#writer.close()).catch(() => {})
      .finally(() => {
        callLogged(
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
 * At reactor shutdown a child process is not killed (as in Twisted): it only
 * stops keeping this process alive.
 */
const PROCESS: ResourceKind<ProcessTransport> = {
  name: "process",
  order: 4,
  shutdown: (transport) => transport.unref(),
  describe: (transport) => `pid ${transport.pid}`,
};

/**
 * Starts `executable` with `args` (as in Twisted, `args[0]` is the program's
 * own name and is not passed again) and connects `protocol` to it; what
 * `reactor.spawnProcess` calls. With a `reactor`, the child stops keeping
 * this process alive when that reactor shuts down (it is not killed).
 *
 * @throws {Error} for a missing `--allow-run` permission (naming the flag) or
 * `usePTY: true`; a program that cannot be found ends through `processEnded`
 * with a `ProcessTerminated` that says so
 *
 * @example Calling `spawnProcess`
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
  args?: string[],
  options?: SpawnProcessOptions,
  reactor?: IReactorCore,
): ProcessTransport {
  args ??= [executable];
  options ??= {};
  if ((options as { usePTY?: boolean }).usePTY) {
    throw new TypeError(
      "usePTY is not supported: Deno.Command has no pseudo-terminals",
    );
  }
  let child: Deno.ChildProcess;
  try {
    // Never Deno's prompt.
    requirePermissions({ name: "run", command: executable });
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
  const transport = new ProcessTransport(child, protocol, reactor);
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
      "pauseProducing",
      "resumeProducing",
    ]
  ) {
    Object.defineProperty(stub, m, { value: () => {} });
  }
  Object.defineProperty(stub, "getWriteBufferSize", { value: () => 0 });
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
