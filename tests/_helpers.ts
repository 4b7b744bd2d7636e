/**
 * Helpers shared by Twist's own tests.
 *
 * @module
 */

/**
 * The executable for child `deno` processes. Tests spawn `deno` by name, not
 * `Deno.execPath()`: the test task grants `--allow-run=deno`, which Deno
 * resolves through PATH, and an npm-installed `deno` is a symlink whose real
 * path (what `execPath()` returns) that grant does not cover.
 */
export const DENO = "deno";

/**
 * Extra flags for child `deno` processes: `.ci/run` sets `TWIST_DENO_FLAGS`
 * (for example `--import-map=.ci/import_map.json` when JSR is unreachable) and
 * children must resolve imports the same way.
 */
export function denoFlags(): string[] {
  const flags = Deno.env.get("TWIST_DENO_FLAGS")?.trim();
  return flags ? flags.split(/\s+/) : [];
}

/**
 * Sets `factory.buildProtocol` to build with `make`, and resolves with the
 * first protocol built: a test waits on the connection instead of polling.
 */
export function firstBuilt<P>(
  factory: { buildProtocol: (...args: never[]) => unknown },
  make: () => P,
): Promise<P> {
  const built = Promise.withResolvers<P>();
  factory.buildProtocol = () => {
    const p = make();
    built.resolve(p);
    return p;
  };
  return built.promise;
}

/**
 * Resolves or rejects as `promise` does, or rejects after `ms` milliseconds
 * saying what was awaited. The timer is always cleared (sanitizer-safe).
 */
export async function withTimeout<T>(
  promise: PromiseLike<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether `/usr/bin/python3` with Twisted is available for interop tests. */
export async function hasPythonTwisted(): Promise<boolean> {
  try {
    const out = await new Deno.Command("/usr/bin/python3", {
      args: ["-c", "import twisted"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** UTF-8 encodes a string. */
export const encode = (s: string): Uint8Array => new TextEncoder().encode(s);
/** UTF-8 decodes bytes. */
export const decode = (b: Uint8Array): string => new TextDecoder().decode(b);
