/**
 * Running a program and getting its results as Deferreds
 * (`twisted.internet.utils`).
 *
 * Requires `--allow-run` for the program.
 *
 * @module
 */
import { Deferred } from "./defer.ts";
import type { Failure } from "./failure.ts";
import type { ProcessDone, ProcessTerminated } from "./error.ts";
import type { IReactorProcess } from "./interfaces.ts";
import {
  ProcessProtocol,
  spawnProcess,
  type SpawnProcessOptions,
} from "./process.ts";

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Collects a process's output and exit status. */
class Collector extends ProcessProtocol {
  readonly out: Uint8Array[] = [];
  readonly err: Uint8Array[] = [];
  /** Fires with the reason's value (a Failure given to callback() would take the errback path). */
  readonly ended = new Deferred<ProcessDone | ProcessTerminated>();
  override outReceived(data: Uint8Array): void {
    this.out.push(data.slice());
  }
  override errReceived(data: Uint8Array): void {
    this.err.push(data.slice());
  }
  /** Whether the program started (a program that cannot be started never connects). */
  started = false;
  override connectionMade(): void {
    this.started = true;
  }
  override processEnded(reason: Failure): void {
    this.ended.callback(reason.value as ProcessDone | ProcessTerminated);
  }
}

/** Options of the `getProcess*` functions. */
export interface ProcessUtilsOptions extends SpawnProcessOptions {
  /**
   * The reactor that runs the program (Twisted's `reactor=`), so a test can
   * pass its own. By default the program is run directly.
   *
   * @default {none: the program is run directly}
   */
  reactor?: IReactorProcess;
}

/**
 * Starts `executable` with a `Collector`; what `spawnProcess` throws (the
 * program may not run) fails `ended` instead, so every `getProcess*` returns
 * a failed Deferred, as Twisted's do.
 */
function run(
  executable: string,
  args: string[],
  options: ProcessUtilsOptions,
): Collector {
  const collector = new Collector();
  const { reactor, ...spawnOptions } = options;
  const argv = [executable, ...args];
  try {
    if (reactor) {
      reactor.spawnProcess(collector, executable, argv, spawnOptions);
    } else spawnProcess(collector, executable, argv, spawnOptions);
  } catch (e) {
    collector.ended.errback(e);
  }
  return collector;
}

/**
 * Runs `executable` with `args` and fires with its stdout. Fails if it
 * writes to stderr (unless `errorToo`, which includes stderr in the output),
 * if it cannot be started (`got stderr: cannot run ...`), or if it may not
 * run (the message names the `--allow-run` flag), as Twisted's
 * `getProcessOutput`: always through the Deferred, never by throwing.
 *
 * @example Calling `getProcessOutput`
 * ```ts
 * import { getProcessOutput } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const out = await getProcessOutput("deno", ["eval", "console.log('hello')"]);
 * assertEquals(new TextDecoder().decode(out), "hello\n");
 * ```
 */
export function getProcessOutput(
  executable: string,
  args?: string[],
  options?: ProcessUtilsOptions & { errorToo?: boolean },
): Deferred<Uint8Array> {
  args ??= [];
  options ??= {};
  const c = run(executable, args, options);
  return c.ended.addCallback((e: ProcessDone | ProcessTerminated) => {
    // Twisted's child writes why exec failed to stderr: "got stderr: ...".
    if (!c.started) throw new Error(`got stderr: ${e.message}`, { cause: e });
    if (c.err.length > 0 && !options.errorToo) {
      throw new Error(
        `"${executable}" wrote to stderr: ${
          new TextDecoder().decode(concat(c.err)).trim()
        }`,
      );
    }
    return concat(options.errorToo ? [...c.out, ...c.err] : c.out);
  }) as Deferred<Uint8Array>;
}

/**
 * Runs `executable` with `args` and fires with its exit code.
 *
 * @example Calling `getProcessValue`
 * ```ts
 * import { getProcessValue } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(await getProcessValue("deno", ["eval", "Deno.exit(3)"]), 3);
 * ```
 */
export function getProcessValue(
  executable: string,
  args?: string[],
  options?: ProcessUtilsOptions,
): Deferred<number> {
  args ??= [];
  options ??= {};
  return run(executable, args, options).ended.addCallback(
    (e: ProcessDone | ProcessTerminated) => {
      return e.exitCode ?? 128;
    },
  ) as Deferred<number>;
}

/**
 * Runs `executable` with `args` and fires with `[stdout, stderr, exitCode]`;
 * fails with `ProcessTerminated` (and the output) if a signal ended it.
 *
 * @example Calling `getProcessOutputAndValue`
 * ```ts
 * import { getProcessOutputAndValue } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const [out, err, code] = await getProcessOutputAndValue("deno", ["eval", "console.error('e'); console.log('o')"]);
 * assertEquals([new TextDecoder().decode(out), new TextDecoder().decode(err), code], ["o\n", "e\n", 0]);
 * ```
 */
export function getProcessOutputAndValue(
  executable: string,
  args?: string[],
  options?: ProcessUtilsOptions,
): Deferred<[Uint8Array, Uint8Array, number]> {
  args ??= [];
  options ??= {};
  const c = run(executable, args, options);
  return c.ended.addCallback((e: ProcessDone | ProcessTerminated) => {
    if (e.signal) throw e;
    return [concat(c.out), concat(c.err), e.exitCode ?? 0] as [
      Uint8Array,
      Uint8Array,
      number,
    ];
  }) as Deferred<[Uint8Array, Uint8Array, number]>;
}
