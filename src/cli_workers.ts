/**
 * `twist serve MODULE --workers N`: the runner's side of `serveOnWorkers`
 * (internal to the runner).
 *
 * @module
 */
import { serveOnWorkers } from "./internet/workers.ts";
import { log } from "./logger.ts";

/**
 * Reads `--workers`.
 *
 * @param value the option's value, if given
 * @param command the runner's command
 * @returns the number of workers, or `undefined` without the option
 * @throws {TypeError} for a bad value, another command than `serve`, or a
 * Deno without `--unstable-net`
 */
export function workersOption(
  value: unknown,
  command: string,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== "string" || !Number.isInteger(n) || n < 1) {
    throw new TypeError(
      `Invalid --workers "${value}": expected a positive integer`,
    );
  }
  if (command !== "serve") {
    throw new TypeError(`--workers works with serve only`);
  }
  if (
    typeof (Deno as { listenDatagram?: unknown }).listenDatagram !== "function"
  ) {
    throw new TypeError(
      "--workers listens with reusePort, one of Deno's unstable network APIs: run again with --unstable-net",
    );
  }
  return n;
}

/**
 * Serves `module` on `workers` Workers and runs `reactor` until SIGINT or
 * SIGTERM, which stop every worker gracefully.
 *
 * @returns the exit code: 0 once stopped, 1 if a worker could not start
 */
export async function serveWorkers(
  module: string,
  options: {
    workers: number;
    listen: string[];
    reactor: object & { run(): Promise<void> };
    err: (line: string) => void;
  },
): Promise<number> {
  const url = /^[a-z][a-z0-9+.-]*:/i.test(module)
    ? module
    : new URL(module, `file://${Deno.cwd()}/`).href;
  const served = serveOnWorkers(url, {
    workers: options.workers,
    listen: options.listen,
    reactor: options.reactor,
  });
  try {
    await served.ready;
  } catch (e) {
    options.err(`twist: ${(e as Error).message}`);
    return 1;
  }
  log.msg(
    `serve: ${options.workers} workers listening on ${
      options.listen.join(", ")
    }`,
  );
  await options.reactor.run();
  return 0;
}
