/**
 * The `node:net` backend of the stream transport (see `backend.ts`): a
 * listener and a connection over `node:net` sockets, shaped like the small
 * part of `Deno.Listener`/`Deno.Conn` the port and the write buffer use, so
 * that `Port`, `WriteBuffer` and `Connection` stay one piece of code.
 *
 * Why: Deno's `node:net` sockets are not ops. deno_core's readiness loop
 * reads every ready socket in turn until it would block, so 10,000 busy
 * connections are all served; `Deno.Conn` reads, each a pending op under one
 * cooperative budget, are not (bench/RESULTS.md, "Fairness at high
 * concurrency").
 *
 * Reading is pushed, not pulled: the socket keeps flowing and each `data`
 * event goes to the connection as it comes. The connection pauses the
 * socket only when a chunk arrives that it cannot deliver (its protocol
 * paused it, the write buffer is above its cap, it is closing or starting
 * TLS), keeps that chunk, and resumes the socket once it can deliver again.
 * Pausing between reads (a pull adapter) is not fair (measured: 2,080 of
 * 10,000 connections never served).
 *
 * `node:net` is loaded by the first port of this backend, not imported (see
 * tests/import_graph_test.ts). Listening binds synchronously through the
 * `tcp_wrap` binding, as `Deno.listen` does, so that `listenTCP` reports an
 * address in use at once and `getHost()` knows the port.
 *
 * @module
 */
import type { Server, Socket } from "node:net";

function nodeNet(): typeof import("node:net") {
  return globalThis.process.getBuiltinModule("node:net");
}

/** The parts of `tcp_wrap`'s `TCP` handle used to bind a listener. */
interface TcpHandle {
  bind(address: string, port: number, flags?: number): number;
  bind6(address: string, port: number, flags: number): number;
  listen(backlog: number): number;
  getsockname(out: { address?: string; port?: number }): number;
  close(): void;
}

interface TcpWrap {
  TCP: new (type: number) => TcpHandle;
  constants: { SERVER: number };
}

/** The `Deno.errors` class for a libuv error code from binding or listening. */
function listenError(code: number, what: string): Error {
  const name = globalThis.process.getBuiltinModule("node:util")
    .getSystemErrorName(code);
  const message = `${what}: ${name}`;
  switch (name) {
    case "EADDRINUSE":
      return new Deno.errors.AddrInUse(message);
    case "EADDRNOTAVAIL":
      return new Deno.errors.AddrNotAvailable(message);
    case "EACCES":
    case "EPERM":
      return new Deno.errors.PermissionDenied(message);
    default:
      return new Error(message);
  }
}

let tcpWrapCache: TcpWrap | null | undefined;

/**
 * Deno's internal `tcp_wrap` binding (Deno 2.9 has it), or `null` where it
 * is missing or not what is expected: it is not a stable API.
 */
function tcpWrapBinding(): TcpWrap | null {
  if (tcpWrapCache !== undefined) return tcpWrapCache;
  try {
    const tcpWrap = (globalThis.process as unknown as {
      binding(name: string): TcpWrap;
    }).binding("tcp_wrap");
    tcpWrapCache = typeof tcpWrap?.TCP === "function" &&
        typeof tcpWrap.constants?.SERVER === "number"
      ? tcpWrap
      : null;
  } catch {
    tcpWrapCache = null;
  }
  return tcpWrapCache;
}

/**
 * Whether a `NodeListener` can be made in this Deno (it binds through an
 * internal binding); when not, ports stay on `Deno.listen`.
 *
 * @example
 * ```ts
 * import { canListenOnNode } from "./node_conn.ts";
 * console.log(canListenOnNode()); // true on Deno 2.9
 * ```
 */
export function canListenOnNode(): boolean {
  return tcpWrapBinding() !== null;
}

/** Forgets what `canListenOnNode` found (for tests that stub the binding). */
export function resetTcpWrapCache(): void {
  tcpWrapCache = undefined;
}

/**
 * A listening `node:net` server, accepting `NodeConn`s through `accept()`
 * as a `Deno.Listener` does.
 */
export class NodeListener {
  readonly addr: Deno.NetAddr;
  #server: Server;
  #accepted: NodeConn[] = [];
  #waiter: PromiseWithResolvers<NodeConn> | undefined;
  #error: unknown;
  #closed = false;

  /**
   * Binds `hostname:port` (an IP address) and listens.
   *
   * @throws {Deno.errors.AddrInUse} and the other `Deno.listen` errors
   */
  constructor(hostname: string, port: number, backlog: number) {
    const tcpWrap = tcpWrapBinding();
    if (!tcpWrap) {
      throw new Error(
        "The node backend cannot bind here: this Deno has no tcp_wrap binding",
      );
    }
    const handle = new tcpWrap.TCP(tcpWrap.constants.SERVER);
    const where = `${hostname}:${port}`;
    let err = hostname.includes(":")
      ? handle.bind6(hostname, port, 0)
      : handle.bind(hostname, port);
    if (err === 0) err = handle.listen(backlog);
    const bound: { address?: string; port?: number } = {};
    if (err === 0) err = handle.getsockname(bound);
    if (err !== 0) {
      handle.close();
      throw listenError(err, `Cannot listen on ${where}`);
    }
    this.addr = {
      transport: "tcp",
      hostname: bound.address ?? hostname,
      port: bound.port ?? port,
    };
    const server = nodeNet().createServer(
      { allowHalfOpen: true },
      (socket) => this.#push(new NodeConn(socket)),
    );
    server.on("error", (e: unknown) => {
      // A failed accept (e.g. EMFILE): the port logs it and waits.
      const waiter = this.#waiter;
      this.#waiter = undefined;
      if (waiter) waiter.reject(e);
      else this.#error = e;
    });
    server.listen(handle as unknown as { fd: number }, backlog);
    this.#server = server;
  }

  #push(conn: NodeConn): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter) waiter.resolve(conn);
    else this.#accepted.push(conn);
  }

  /** The next accepted connection; rejects with `BadResource` once closed. */
  accept(): Promise<NodeConn> {
    const conn = this.#accepted.shift();
    if (conn) return Promise.resolve(conn);
    if (this.#closed) {
      return Promise.reject(new Deno.errors.BadResource("Listener closed"));
    }
    const error = this.#error;
    if (error !== undefined) {
      this.#error = undefined;
      return Promise.reject(error);
    }
    this.#waiter = Promise.withResolvers();
    return this.#waiter.promise;
  }

  /** Stops listening; connections accepted but not taken are closed. */
  close(): void {
    if (this.#closed) {
      throw new Deno.errors.BadResource("Listener already closed");
    }
    this.#closed = true;
    this.#server.close();
    for (const conn of this.#accepted.splice(0)) conn.close();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(new Deno.errors.BadResource("Listener closed"));
  }
}

/** What a connection hears from its `NodeConn` (see `NodeConn.attach`). */
export interface PushReader {
  /** A chunk read (the reader's to keep). */
  data(chunk: Uint8Array): void;
  /** The peer's end of stream. */
  end(): void;
  /** The socket failed (a reset, a broken pipe...). */
  error(e: unknown): void;
}

/** The address of one end of a `node:net` socket, as Deno names it. */
function netAddr(address: string | undefined, port: number | undefined) {
  return {
    transport: "tcp" as const,
    hostname: address ?? "",
    port: port ?? 0,
  };
}

/**
 * A `node:net` socket as the transport uses it: the write side of a
 * `Deno.Conn` (`write`, `closeWrite`, `close`, addresses, TCP options) and
 * pushed reads (`attach`, `pause`, `resume`).
 */
export class NodeConn {
  readonly socket: Socket;
  readonly localAddr: Deno.NetAddr;
  readonly remoteAddr: Deno.NetAddr;
  #reader: PushReader | undefined;
  /** An error before `attach()`, told to the reader then. */
  #error: unknown;
  #paused = false;
  #destroyed = false;
  /** The pending `write`'s promise, settled by its callback or by `close()`. */
  #writing: PromiseWithResolvers<number> | undefined;
  #closed: Promise<void>;

  constructor(socket: Socket) {
    this.socket = socket;
    // Read now: a destroyed socket no longer knows its addresses.
    this.localAddr = netAddr(socket.localAddress, socket.localPort);
    this.remoteAddr = netAddr(socket.remoteAddress, socket.remotePort);
    const closed = Promise.withResolvers<void>();
    this.#closed = closed.promise;
    socket.once("close", () => closed.resolve());
    socket.on("error", (e: unknown) => {
      if (this.#reader) this.#reader.error(e);
      else if (!this.#destroyed) this.#error ??= e;
    });
  }

  /** Starts reading: `reader` hears every chunk, the end of stream and errors. */
  attach(reader: PushReader): void {
    this.#reader = reader;
    const socket = this.socket;
    socket.on("data", (b: Uint8Array) => {
      // A plain Uint8Array over the Buffer's memory (no copy): a Buffer's
      // slice() would share memory where a Uint8Array's copies.
      reader.data(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
    });
    socket.on("end", () => reader.end());
    if (this.#error !== undefined) reader.error(this.#error);
  }

  /**
   * Takes the socket away from the reader (for `node:tls` to wrap it):
   * nothing more is delivered.
   */
  detach(): Socket {
    this.#reader = undefined;
    this.socket.removeAllListeners("data");
    this.socket.removeAllListeners("end");
    return this.socket;
  }

  /** Stops reading from the socket (the kernel's buffers push back on the peer). */
  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.socket.pause();
  }

  /** Reads on after `pause()`. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.socket.resume();
  }

  /** Sends `bytes` (not copied: kept until written); resolves once the socket has taken them. */
  write(bytes: Uint8Array): Promise<number> {
    const writing = Promise.withResolvers<number>();
    this.#writing = writing;
    this.socket.write(bytes, (e?: Error | null) => {
      if (this.#writing !== writing) return; // Settled by close().
      this.#writing = undefined;
      if (e) writing.reject(e);
      else writing.resolve(bytes.length);
    });
    return writing.promise;
  }

  /** Half-closes once what was written is sent. */
  closeWrite(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#destroyed) {
        reject(new Deno.errors.BadResource("The socket is closed"));
        return;
      }
      this.socket.end(() => resolve());
      this.socket.once("error", reject);
    });
  }

  /** Closes the socket at once; a pending write fails. */
  close(): void {
    if (this.#destroyed) {
      throw new Deno.errors.BadResource("The socket is already closed");
    }
    this.#destroyed = true;
    this.#reader = undefined;
    this.socket.destroy();
    const writing = this.#writing;
    this.#writing = undefined;
    writing?.reject(new Deno.errors.BadResource("The socket was closed"));
  }

  /** Resolves once the socket is closed (after `close()` or an error). */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /** `TCP_NODELAY`. */
  setNoDelay(enabled: boolean): void {
    this.socket.setNoDelay(enabled);
  }

  /** `SO_KEEPALIVE`. */
  setKeepAlive(enabled: boolean): void {
    this.socket.setKeepAlive(enabled);
  }
}

/** The `Deno.errors` class for a `node:net` connect error, so `connectError` maps it as Deno's. */
function connectErrorOf(e: unknown): unknown {
  const error = e as { code?: string; message?: string };
  const message = error?.message ?? String(e);
  switch (error?.code) {
    case "ECONNREFUSED":
      return new Deno.errors.ConnectionRefused(message, { cause: e });
    case "ETIMEDOUT":
      return new Deno.errors.TimedOut(message, { cause: e });
    case "ENETUNREACH":
      return new Deno.errors.NetworkUnreachable(message, { cause: e });
    case "EHOSTUNREACH":
      return new Error(`No route to host: ${message}`, { cause: e });
    default:
      return e;
  }
}

/**
 * Connects to `hostname:port` (an IP address) with `node:net`; aborting
 * `signal` destroys the socket and rejects with its reason.
 */
export function dialNode(
  hostname: string,
  port: number,
  signal: AbortSignal,
): Promise<NodeConn> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const socket = nodeNet().connect({
      host: hostname,
      port,
      allowHalfOpen: true,
    });
    const onAbort = (): void => {
      socket.destroy();
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    const failed = (e: unknown): void => {
      signal.removeEventListener("abort", onAbort);
      socket.destroy();
      reject(connectErrorOf(e));
    };
    socket.once("error", failed);
    socket.once("connect", () => {
      signal.removeEventListener("abort", onAbort);
      socket.removeListener("error", failed);
      resolve(new NodeConn(socket));
    });
  });
}
