// What every example does with a mistake, in one place (not an example).
//
// A bad command line prints one line with the usage and exits 2; a problem
// with the environment (a missing permission, an address in use, a missing
// file) prints one line that names the fix and exits 1. Add `--debug` to any
// example to see the full stack trace instead.
// deno-lint-ignore-file no-console
import { parseArgs } from "@std/cli";

/** A bad command line: one line, the usage, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * Parses `argv` as `parseArgs` does, refusing unknown options and surplus
 * arguments (`positionals` is how many are allowed).
 */
export function parseOptions<S extends string, B extends string = never>(
  argv: string[],
  spec: {
    string?: S[];
    boolean?: B[];
    default?: Partial<Record<S, string>>;
    positionals?: number;
  },
): Record<S, string> & Record<B, boolean> & { _: string[] } {
  const args = parseArgs(argv, {
    string: spec.string ?? [],
    boolean: spec.boolean ?? [],
    default: spec.default ?? {},
    unknown: (arg: string) => {
      if (arg.startsWith("-")) {
        throw new UsageError(`Unknown option "${arg}"`);
      }
      return true;
    },
  });
  const positionals = args._.map(String);
  if (positionals.length > (spec.positionals ?? 0)) {
    throw new UsageError(
      `Unexpected argument "${positionals[spec.positionals ?? 0]}"`,
    );
  }
  for (const name of spec.string ?? []) {
    if ((args as Record<string, unknown>)[name] === "") {
      throw new UsageError(`--${name} needs a value`);
    }
  }
  return { ...args, _: positionals } as unknown as
    & Record<S, string>
    & Record<B, boolean>
    & { _: string[] };
}

/** A port number from `--name VALUE` (0 lets the system pick). */
export function portOption(value: string, name = "port"): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) {
    throw new UsageError(
      `Invalid --${name} "${value}": expected an integer from 0 to 65535`,
    );
  }
  return port;
}

/** A positive number of seconds from `--name VALUE`. */
export function secondsOption(value: string, name: string): number {
  const seconds = Number(value);
  if (value.trim() === "" || !Number.isFinite(seconds) || seconds <= 0) {
    throw new UsageError(
      `Invalid --${name} "${value}": expected a positive number of seconds`,
    );
  }
  return seconds;
}

/**
 * Runs an example's `main` with its command line: `--help` prints `usage`,
 * and a mistake ends it with one line (see the top of this file).
 */
export async function runExample(
  usage: string,
  main: (argv: string[]) => void | Promise<void>,
): Promise<void> {
  const debug = Deno.args.includes("--debug");
  const argv = Deno.args.filter((a) => a !== "--debug");
  const name = new URL(Deno.mainModule).pathname.split("/").pop();
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(`Usage: ${usage}`);
    return;
  }
  try {
    await main(argv);
  } catch (e) {
    if (debug) console.error(e);
    else console.error(`${name}: ${oneLine(e)}`);
    if (e instanceof UsageError) {
      console.error(`Usage: ${usage}`);
      Deno.exit(2);
    }
    Deno.exit(1);
  }
}

function oneLine(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.split("\n")[0];
}
