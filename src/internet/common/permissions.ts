/**
 * Turning Deno's permission errors into messages that name the flag to add.
 *
 * @module
 */

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
