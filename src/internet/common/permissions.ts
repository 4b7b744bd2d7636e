/**
 * Permissions: Twist queries them (never requests them) before it opens a
 * socket, reads a file or runs a program, so Deno's interactive prompt —
 * which would freeze the whole event loop while it waits for an answer —
 * never appears. "prompt" counts as denied, and the error names the flag to
 * add. Deno's own permission errors are turned into the same messages.
 *
 * @module
 */
import { log } from "../../logger.ts";

/** Whether `e` is Deno's "permission not granted" error. */
export function isNotCapable(e: unknown): boolean {
  return e instanceof Deno.errors.NotCapable;
}

/** `host:port` as `--allow-net` spells it (`[::1]:8000`, or just the host for port 0). */
export function netTarget(host: string, port: number): string {
  const h = host.includes(":") ? `[${host}]` : host;
  return port === 0 ? h : `${h}:${port}`;
}

/** The flag that grants network access to `host:port`. */
export function allowNetFlag(host: string, port: number): string {
  return `--allow-net=${netTarget(host, port)}`;
}

/** What Twist asks about: the permissions of sockets, files and programs. */
export type PermissionQuery =
  | { name: "net"; host: string }
  | { name: "read"; path: string }
  | { name: "write"; path: string }
  | { name: "run"; command: string };

/**
 * Whether `query` is granted now. Never prompts: "prompt" (the answer for
 * what was neither granted nor denied on the command line) counts as denied.
 */
export function isGranted(query: PermissionQuery): boolean {
  try {
    return Deno.permissions.querySync(query).state === "granted";
  } catch {
    return false; // A malformed query (an invalid host): Deno refuses it too.
  }
}

/** The flag that grants `query` (`--allow-net=host:8000`, `--allow-read=/path`...). */
export function flagFor(query: PermissionQuery): string {
  switch (query.name) {
    case "net":
      return `--allow-net=${query.host}`;
    case "read":
      return `--allow-read=${query.path}`;
    case "write":
      return `--allow-write=${query.path}`;
    case "run":
      return `--allow-run=${query.command}`;
  }
}

/**
 * Throws Deno's `NotCapable` error (so the callers' usual mapping names the
 * flag) unless every one of `queries` is granted. Call it right before the
 * operation, so that Deno never gets to prompt.
 *
 * @throws {Deno.errors.NotCapable} naming the flags of what is not granted
 */
export function requirePermissions(...queries: PermissionQuery[]): void {
  const missing = queries.filter((q) => !isGranted(q));
  if (missing.length === 0) return;
  throw new Deno.errors.NotCapable(
    `Requires ${missing.map(describe).join(" and ")}, run again with ${
      missing.map(flagFor).join(" ")
    }`,
  );
}

/** Throws Deno's `NotCapable` error unless network access to `host:port` is granted. */
export function requireNet(host: string, port: number): void {
  const h = host.includes(":") ? `[${host}]` : host;
  if (isGranted({ name: "net", host: `${h}:${port}` })) return;
  throw new Deno.errors.NotCapable(
    `Requires net access to "${h}:${port}", run again with ${
      allowNetFlag(host, port)
    }`,
  );
}

function describe(query: PermissionQuery): string {
  switch (query.name) {
    case "net":
      return `net access to "${query.host}"`;
    case "read":
      return `read access to "${query.path}"`;
    case "write":
      return `write access to "${query.path}"`;
    case "run":
      return `run access to "${query.command}"`;
  }
}

/**
 * Throws Deno's `NotCapable` error unless what a UNIX socket at `path` needs
 * is granted (read and write on `path` and on each of `more`, and
 * `--allow-net=unix:PATH`; Deno takes only an absolute path in that query).
 */
export function requireUnixSocket(path: string, ...more: string[]): void {
  const queries: PermissionQuery[] = [];
  for (const p of [path, ...more]) {
    queries.push({ name: "read", path: p }, { name: "write", path: p });
  }
  if (path.startsWith("/")) queries.push({ name: "net", host: `unix:${path}` });
  requirePermissions(...queries);
}

const warnedDestinations = new Set<string>();

/**
 * Logs one warning naming the flag to add when an operation on
 * `destination` (`localhost:8000`, `unix:/tmp/x.sock`) failed for lack of
 * permission (`error` is what Deno threw, `message` says what to run), once
 * per destination: a failure that a protocol swallows ("Connection failed.")
 * still tells the user why. Any other error is ignored.
 *
 * @returns whether the failure was for lack of permission
 */
export function warnIfNotCapable(
  error: unknown,
  destination: string,
  message: string,
): boolean {
  if (!isNotCapable(error)) return false;
  if (!warnedDestinations.has(destination)) {
    warnedDestinations.add(destination);
    log.warn(message);
  }
  return true;
}
