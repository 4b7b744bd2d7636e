/**
 * UNIX sockets (`twisted.internet.unix`): `listenUNIX` and `connectUNIX` over
 * `Deno.listen`/`Deno.connect` with `transport: "unix"`, on the same port,
 * connector and transport as TCP.
 *
 * Deno asks for three permissions on the socket's exact path:
 * `--allow-read=PATH --allow-write=PATH --allow-net=unix:PATH` (the path must
 * be absolute in the flag).
 *
 * @module
 */
import type { IProtocolFactory } from "./interfaces.ts";
import type { ReactorBase } from "./base.ts";
import { UNIXAddress } from "./address.ts";
import {
  CannotListenError,
  ConnectError,
  ConnectionRefusedError,
} from "./error.ts";
import { Port, type StreamBinding } from "./stream/port.ts";
import { Connector, type StreamDialer } from "./stream/connector.ts";
import { isNotCapable, requireUnixSocket } from "./common/permissions.ts";
import type { ConnectUNIXOptions, ListenUNIXOptions } from "./interfaces.ts";
export type { ConnectUNIXOptions, ListenUNIXOptions } from "./interfaces.ts";

/**
 * The flags Deno needs for a UNIX socket at `path`, for error messages and
 * docs.
 *
 * @example Calling `unixFlags`
 * ```ts
 * import { unixFlags } from "./unix.ts";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(
 *   unixFlags("/tmp/app.sock"),
 *   "--allow-read=/tmp/app.sock --allow-write=/tmp/app.sock --allow-net=unix:/tmp/app.sock",
 * );
 * ```
 */
export function unixFlags(path: string): string {
  // Deno wants absolute paths in --allow-net=unix:PATH.
  const absolute = path.startsWith("/") ? path : absolutePath(path);
  return `--allow-read=${absolute} --allow-write=${absolute} --allow-net=unix:${absolute}`;
}

function absolutePath(path: string): string {
  let cwd: string;
  try {
    cwd = Deno.cwd();
  } catch {
    return `$PWD/${path}`;
  }
  return `${cwd.replace(/\/$/, "")}/${path.replace(/^\.\//, "")}`;
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Takes the lock file for `path` (Twisted's `wantPID`): creates it holding our
 * pid, or takes it over when the pid in it is no longer running.
 */
function acquireLock(lockPath: string, path: string): void {
  try {
    Deno.writeTextFileSync(lockPath, `${Deno.pid}\n`, { createNew: true });
    return;
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
  }
  const holder = Number(Deno.readTextFileSync(lockPath).trim());
  if (Number.isInteger(holder) && holder > 0 && holder !== Deno.pid) {
    let alive: boolean;
    try {
      Deno.statSync(`/proc/${holder}`);
      alive = true;
    } catch (e) {
      if (isNotCapable(e)) {
        throw new CannotListenError(
          "unix",
          path,
          `the lock "${lockPath}" is held by pid ${holder}: run again with --allow-read=/proc/${holder} so Twist can check whether it is still running, or remove the lock file`,
          { cause: e },
        );
      }
      alive = !(e instanceof Deno.errors.NotFound);
    }
    if (alive) {
      throw new CannotListenError(
        "unix",
        path,
        `the lock "${lockPath}" is held by running process ${holder}`,
      );
    }
  }
  Deno.writeTextFileSync(lockPath, `${Deno.pid}\n`); // the holder is gone: the lock is ours
}

function unixBinding(
  path: string,
  options: ListenUNIXOptions,
): StreamBinding<UNIXAddress> {
  if (typeof path !== "string" || path.length === 0) {
    throw new TypeError(`Invalid UNIX socket path "${path}"`);
  }
  const lockPath = `${path}.lock`;
  let locked = false;
  const fail = (detail: string, cause?: unknown): never => {
    throw new CannotListenError("unix", path, detail, { cause });
  };
  return {
    tcp: false,
    listen() {
      try {
        // Never Deno's prompt.
        requireUnixSocket(path, ...(options.wantPID ? [lockPath] : []));
        if (options.wantPID) {
          acquireLock(lockPath, path);
          locked = true;
          // We hold the lock, so a socket file there is a stale one: remove it.
          if (exists(path)) Deno.removeSync(path);
        }
        const listener = Deno.listen({ transport: "unix", path });
        if (options.mode !== undefined) Deno.chmodSync(path, options.mode);
        return listener;
      } catch (e) {
        if (locked) {
          locked = false;
          try {
            Deno.removeSync(lockPath);
          } catch {
            // Nothing to undo.
          }
        }
        if (e instanceof CannotListenError) throw e;
        if (isNotCapable(e)) {
          return fail(
            `permission denied: run again with ${unixFlags(path)}`,
            e,
          );
        }
        if (e instanceof Deno.errors.AddrInUse) {
          return fail(
            "address in use (a socket file is there; use wantPID to clean up stale ones)",
            e,
          );
        }
        return fail((e as Error)?.message ?? String(e), e);
      }
    },
    hostOf: () => new UNIXAddress(path),
    peerOf: (conn) =>
      new UNIXAddress((conn.remoteAddr as Deno.UnixAddr).path || null),
    describe: () => `unix:${path}`,
    cleanup() {
      try {
        Deno.removeSync(path);
      } catch {
        // Deno removes the socket file when the listener closes.
      }
      if (locked) {
        locked = false;
        try {
          Deno.removeSync(lockPath);
        } catch {
          // Already gone.
        }
      }
    },
  };
}

function unixDialer(path: string): StreamDialer {
  if (typeof path !== "string" || path.length === 0) {
    throw new TypeError(`Invalid UNIX socket path "${path}"`);
  }
  return {
    tcp: false,
    destination: new UNIXAddress(path),
    // Deno's UNIX connect takes no signal: a given-up attempt that connects
    // later is closed at once by the connector.
    dial: () => {
      requireUnixSocket(path); // Never Deno's prompt.
      return Deno.connect({ transport: "unix", path });
    },
    errorFor(e) {
      const opts = { cause: e };
      if (isNotCapable(e)) {
        return new ConnectError(
          `Permission denied connecting to "unix:${path}": run again with ${
            unixFlags(path)
          }`,
          opts,
        );
      }
      if (e instanceof Deno.errors.ConnectionRefused) {
        return new ConnectionRefusedError(
          `Connection to "unix:${path}" was refused (a stale socket file?)`,
          opts,
        );
      }
      if (e instanceof Deno.errors.NotFound) {
        return new ConnectError(`No socket at "${path}"`, opts);
      }
      return new ConnectError(
        `Connecting to "unix:${path}" failed: ${(e as Error)?.message ?? e}`,
        opts,
      );
    },
    peerOf: () => new UNIXAddress(path),
    describe: () => `unix:${path}`,
  };
}

/** Listens on the UNIX socket `path` for `reactor`; what `reactor.listenUNIX` calls. */
export function listenUNIX(
  reactor: ReactorBase,
  path: string,
  factory: IProtocolFactory,
  options?: ListenUNIXOptions,
): Port<UNIXAddress> {
  options ??= {};
  const p = new Port(reactor, factory, unixBinding(path, options));
  p.startListening();
  return p;
}

/** Connects to the UNIX socket `path` for `reactor`; what `reactor.connectUNIX` calls. */
export function connectUNIX(
  reactor: ReactorBase,
  path: string,
  factory: IProtocolFactory,
  options?: ConnectUNIXOptions,
): Connector {
  options ??= {};
  const c = new Connector(reactor, factory, unixDialer(path), options.timeout);
  c.connect();
  return c;
}
