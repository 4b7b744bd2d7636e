/**
 * Name resolution (`IReactorCore.resolve`): a host name to one IPv4
 * address, as Twisted's default resolver does with `gethostbyname`.
 *
 * It asks the system's resolver (`getaddrinfo`, through `node:dns`'s
 * `lookup`), so names from the hosts file (`localhost`) resolve as they do
 * for every other program; `Deno.resolveDns` only asks DNS servers.
 *
 * @module
 */
import type { IReactorTime } from "./interfaces.ts";
import { Deferred, fail, succeed } from "./defer.ts";
import { DNSLookupError } from "./error.ts";

/** Twisted's default timeouts, in seconds; their sum bounds one lookup. */
const DEFAULT_TIMEOUT = [1, 3, 11, 45];

/** The part of `node:dns` used here. */
interface NodeDns {
  promises: {
    lookup(
      hostname: string,
      options: { family: 4 },
    ): Promise<{ address: string }>;
  };
}

/**
 * `node:dns`, loaded by the first lookup rather than imported, so that a
 * program that never resolves a name does not pay for it at start-up.
 */
function nodeDns(): NodeDns {
  return globalThis.process.getBuiltinModule("node:dns") as NodeDns;
}

/** Whether `name` is a dotted-quad IPv4 address. */
function isIPv4(name: string): boolean {
  const parts = name.split(".");
  return parts.length === 4 &&
    parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/**
 * Resolves `name` to an IPv4 address for `reactor.resolve`: `""` is
 * `"0.0.0.0"` and an IPv4 address is itself (at once); a name is looked up
 * by the system resolver. Fails with `DNSLookupError` when the name does not
 * resolve, when the lookup takes longer than `timeout` seconds (a list, as
 * Twisted's retry schedule, is summed), or when `--allow-net` does not cover
 * the name (checked first, so Deno never prompts; the message names the
 * flag).
 *
 * @param reactor schedules the timeout
 * @param name the host name
 * @param timeout seconds, or Twisted's list of seconds (summed)
 * @returns a Deferred of the address
 */
export function resolve(
  reactor: IReactorTime,
  name: string,
  timeout: number | readonly number[] = DEFAULT_TIMEOUT,
): Deferred<string> {
  if (typeof name !== "string") {
    throw new TypeError(`resolve() takes a host name, not ${typeof name}`);
  }
  const seconds = typeof timeout === "number"
    ? timeout
    : timeout.reduce((a, b) => a + b, 0);
  if (!(seconds > 0)) {
    throw new RangeError(
      `resolve() timeout must be a positive number of seconds, not ${seconds}`,
    );
  }
  if (name === "") return succeed("0.0.0.0");
  if (isIPv4(name)) return succeed(name);
  let state: Deno.PermissionState;
  try {
    state = Deno.permissions.querySync({ name: "net", host: name }).state;
  } catch (e) {
    // Not a host Deno accepts in a permission (a space, a slash...).
    return fail(
      new DNSLookupError(`Invalid host name "${name}"`, { cause: e }),
    );
  }
  if (state !== "granted") {
    return fail(
      new DNSLookupError(
        `Cannot resolve "${name}": run again with --allow-net=${name}`,
      ),
    );
  }
  let settled = false;
  const d = new Deferred<string>(() => {
    settled = true;
    if (timer.active()) timer.cancel();
  });
  const timer = reactor.callLater(seconds, () => {
    if (settled) return;
    settled = true;
    d.errback(
      new DNSLookupError(
        `DNS lookup for "${name}" timed out after ${seconds} s`,
      ),
    );
  });
  nodeDns().promises.lookup(name, { family: 4 }).then(
    (found) => {
      if (settled) return;
      settled = true;
      if (timer.active()) timer.cancel(); // The reactor may have stopped.
      d.callback(found.address);
    },
    (e: Error & { code?: string }) => {
      if (settled) return;
      settled = true;
      if (timer.active()) timer.cancel(); // The reactor may have stopped.
      d.errback(
        new DNSLookupError(
          `DNS lookup failed for "${name}": ${e.code ?? e.message}`,
          { cause: e },
        ),
      );
    },
  );
  return d;
}
