/**
 * Child-process helpers for tests that run examples and peers.
 *
 * @module
 */
import { decode, withTimeout } from "./_helpers.ts";

/** A running child whose output is collected as it comes. */
export interface RunningChild extends AsyncDisposable {
  readonly process: Deno.ChildProcess;
  /** Everything the child wrote to stdout so far. */
  stdout(): string;
  /** Everything the child wrote to stderr so far. */
  stderr(): string;
  /** Resolves once stdout contains `text`; rejects after `ms` or if the child exits first. */
  waitForOutput(text: string | RegExp, ms?: number): Promise<string>;
  /** Resolves with stderr once it contains `text`; rejects as `waitForOutput` does. */
  waitForStderr(text: string | RegExp, ms?: number): Promise<string>;
  /** Waits for the child to exit (bounded), returning its status. */
  wait(ms?: number): Promise<Deno.CommandStatus>;
}

/**
 * Spawns `command args` with piped output (and stdin, if asked: write to
 * `process.stdin`); dispose of it to kill and reap it.
 */
export function spawn(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; stdin?: "null" | "piped" } = {},
): RunningChild {
  const process = new Deno.Command(command, {
    args,
    stdout: "piped",
    stderr: "piped",
    stdin: options.stdin ?? "null",
    env: options.env,
  })
    .spawn();
  let out = "";
  let err = "";
  const listeners = new Set<() => void>();
  const pump = async (
    stream: ReadableStream<Uint8Array>,
    append: (s: string) => void,
  ): Promise<void> => {
    for await (const chunk of stream) {
      append(decode(chunk));
      for (const l of listeners) l();
    }
  };
  const pumps = Promise.all([
    pump(process.stdout, (s) => (out += s)),
    pump(process.stderr, (s) => (err += s)),
  ]);
  let exited = false;
  const status = process.status.then(async (s) => {
    await pumps;
    exited = true; // before the waiters look, so an early exit fails them at once
    for (const l of listeners) l();
    return s;
  });
  const waitFor = (
    text: () => string,
    what: string,
    wanted: string | RegExp,
    ms = 20_000,
  ): Promise<string> => {
    const found = (): boolean =>
      typeof wanted === "string"
        ? text().includes(wanted)
        : wanted.test(text());
    return new Promise<string>((resolve, reject) => {
      const finish = (error?: Error): void => {
        listeners.delete(check);
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(text());
      };
      const check = (): void => {
        if (found()) finish();
        else if (exited) {
          finish(
            new Error(
              `The child exited before ${what} ${wanted}; stdout: ${out}\nstderr: ${err}`,
            ),
          );
        }
      };
      const timer = setTimeout(
        () =>
          finish(
            new Error(
              `Timed out after ${ms} ms waiting for ${wanted}; stdout: ${out}\nstderr: ${err}`,
            ),
          ),
        ms,
      );
      listeners.add(check);
      check();
    });
  };
  return {
    process,
    stdout: () => out,
    stderr: () => err,
    waitForOutput: (text, ms) => waitFor(() => out, "printing", text, ms),
    waitForStderr: (text, ms) => waitFor(() => err, "logging", text, ms),
    wait(ms = 20_000) {
      return withTimeout(status, ms, "the child to exit");
    },
    async [Symbol.asyncDispose]() {
      if (!exited) {
        try {
          process.kill("SIGKILL");
        } catch {
          // Already gone.
        }
      }
      await status;
    },
  };
}

/** A TCP port that was free a moment ago (for children that need a fixed port). */
export function freePort(hostname = "127.0.0.1"): number {
  const listener = Deno.listen({ hostname, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Resolves once something accepts connections on `hostname:port` (bounded). */
export async function waitForListening(
  hostname: string,
  port: number,
  ms = 20_000,
): Promise<void> {
  const deadline = performance.now() + ms;
  for (;;) {
    try {
      const conn = await Deno.connect({ hostname, port });
      conn.close();
      return;
    } catch (e) {
      if (
        !(e instanceof Deno.errors.ConnectionRefused) ||
        performance.now() > deadline
      ) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
