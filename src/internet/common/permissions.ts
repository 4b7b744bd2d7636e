/**
 * Turning Deno's permission errors into messages that name the flag to add.
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
