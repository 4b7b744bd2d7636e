/**
 * `deferLater` and `react` (`twisted.internet.task`).
 *
 * @module
 */
import type { IReactorTime } from "../interfaces.ts";
import { CancelledError, Deferred, maybeDeferred } from "../defer.ts";
import type { Failure } from "../failure.ts";
import type { Reactor } from "../reactor.ts";
import { log } from "../../logger.ts";

/**
 * A Deferred that fires with `f(...args)`'s result (or `undefined` without
 * `f`) after `delay` seconds on `clock`. Cancelling it cancels the call and
 * fails it with `CancelledError`.
 *
 * @example Calling `deferLater`
 * ```ts
 * import { Clock, deferLater } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const clock = new Clock();
 * let result = "";
 * deferLater(clock, 5, (x: string) => x.toUpperCase(), "later").addCallback((r) => (result = r));
 * clock.advance(5);
 * assertEquals(result, "LATER");
 * ```
 */
export function deferLater<T = undefined, A extends unknown[] = []>(
  clock: IReactorTime,
  delay: number,
  f?: (...args: A) => T | PromiseLike<T>,
  ...args: A
): Deferred<T> {
  const d = new Deferred<T>((self) => {
    call.cancel();
    self.errback(new CancelledError("deferLater was cancelled"));
  });
  const call = clock.callLater(delay, () => {
    if (f === undefined) d.callback(undefined as T);
    else maybeDeferred(f, ...args).chainDeferred(d);
  });
  return d;
}

/** Options of {@linkcode react}. */
export interface ReactOptions {
  /** The reactor to run. @default {the shared `reactor`} */
  reactor?: Reactor;
  /** How to end the process. @default {Deno.exit} */
  exit?: (code: number) => void;
}

/**
 * Runs the reactor until `main(reactor, ...argv)`'s result (a Deferred, a
 * Promise or a value) settles, then stops it and exits the process: with code
 * 0 on success, or 1 after logging the failure. If the reactor is stopped
 * some other way first, the exit code is 0.
 *
 * @param main the program; gets the reactor and `argv`
 * @param argv extra arguments for `main`
 * @param reactorOrOptions the reactor to run (default: the shared `reactor`),
 * or {@linkcode ReactOptions}
 * @returns a Promise that settles only if `exit` returns (in tests)
 *
 * @example A script's entry point
 * ```ts ignore
 * import { deferLater, react, type Reactor } from "@twist/twist";
 *
 * react(async (reactor: Reactor) => {
 *   await deferLater(reactor, 1);
 *   console.log("one second later");
 * });
 * ```
 */
export async function react<A extends unknown[]>(
  main: (reactor: Reactor, ...argv: A) => unknown,
  argv?: A,
  reactorOrOptions?: Reactor | ReactOptions,
): Promise<void> {
  argv ??= [] as unknown as A;
  reactorOrOptions ??= {};
  // Twisted's third argument is the reactor; options add a testable exit.
  const options: ReactOptions = "run" in reactorOrOptions
    ? { reactor: reactorOrOptions }
    : reactorOrOptions;
  // Imported here, as Twisted's react does: running the shared reactor is
  // this function's job, and importing it at the top would load every
  // transport into programs that only use deferLater or LoopingCall.
  const reactor = options.reactor ?? (await import("../reactor.ts")).reactor;
  const exit = options.exit ?? ((code: number) => Deno.exit(code));
  let code = 0;
  reactor.callWhenRunning(() => {
    maybeDeferred(main, reactor, ...argv).addCallbacks(
      () => {},
      (failure: Failure) => {
        log.err(failure, "main function encountered error");
        code = 1;
      },
    ).addBoth(() => {
      if (reactor.running) reactor.stop();
    });
  });
  await reactor.run();
  exit(code);
}
