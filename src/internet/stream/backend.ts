/**
 * Which sockets the TCP stream transport runs on: `"deno"` (`Deno.listen`/
 * `Deno.Conn` ops: every pending read is an op, and past ~128 busy
 * connections Deno serves some and starves the rest) or `"node"` (`node:net`
 * sockets, read by deno_core's readiness loop: fair at 10,000 busy
 * connections, but about half the round trips of `Deno.Conn` at 100 busy
 * ones). The figures are in bench/RESULTS.md ("The node:net backend").
 *
 * A port or connector takes the `backend` option of `listenTCP`/`connectTCP`
 * (or `backend=` in an endpoint string); without it, the environment variable
 * `TWIST_STREAM_BACKEND=deno|node` overrides the default, read once and only
 * when `--allow-env` already grants it (never prompting).
 *
 * @module
 */

/** The sockets a TCP stream transport runs on; see the module docs. */
export type StreamBackend = "deno" | "node";

/** The backend used unless `TWIST_STREAM_BACKEND` says otherwise. */
export const DEFAULT_STREAM_BACKEND: StreamBackend = "deno";

const VARIABLE = "TWIST_STREAM_BACKEND";

let chosen: StreamBackend | undefined;

/**
 * The backend new TCP ports use: `TWIST_STREAM_BACKEND` when it is set to
 * `deno` or `node` and readable without a prompt, else the default.
 *
 * @example
 * ```ts
 * import { streamBackend } from "./backend.ts";
 * console.log(streamBackend()); // "deno" unless TWIST_STREAM_BACKEND=node
 * ```
 */
export function streamBackend(): StreamBackend {
  return chosen ??= fromEnvironment() ?? DEFAULT_STREAM_BACKEND;
}

/**
 * Sets the backend for ports made from now on (`undefined`: back to the
 * environment's or the default). For tests and benchmarks.
 *
 * @example
 * ```ts
 * import { setStreamBackend } from "./backend.ts";
 * setStreamBackend("deno");
 * setStreamBackend(undefined);
 * ```
 */
export function setStreamBackend(backend: StreamBackend | undefined): void {
  chosen = backend;
}

function fromEnvironment(): StreamBackend | undefined {
  try {
    if (
      Deno.permissions.querySync({ name: "env", variable: VARIABLE }).state !==
        "granted"
    ) return undefined;
    const value = Deno.env.get(VARIABLE);
    return value === "deno" || value === "node" ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The backend a port or connector with these options uses: their `backend`,
 * else `streamBackend()`.
 *
 * @throws {TypeError} for a `backend` that is not `"deno"` or `"node"`
 *
 * @example
 * ```ts
 * import { backendOf } from "./backend.ts";
 * console.log(backendOf({ backend: "node" })); // "node"
 * ```
 */
export function backendOf(options: { backend?: unknown }): StreamBackend {
  const { backend } = options;
  if (backend === undefined) return streamBackend();
  if (backend !== "deno" && backend !== "node") {
    throw new TypeError(
      `Invalid backend ${JSON.stringify(backend)}: expected "deno" or "node"`,
    );
  }
  return backend;
}
