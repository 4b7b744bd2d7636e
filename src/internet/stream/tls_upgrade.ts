/**
 * TLS plumbing for the transport: options, the negotiated ALPN protocol of a
 * connection, and upgrading a plain connection in place — client side with
 * `Deno.startTls`, server side with `node:tls` (Deno has no server-side
 * `startTls`).
 *
 * @module
 */
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import type { TLSClientOptions, TLSServerOptions } from "../interfaces.ts";
export type { TLSClientOptions, TLSServerOptions } from "../interfaces.ts";

// `node:tls` (with `node:stream`) is loaded by the first server-side upgrade,
// not imported: loading it is most of the start-up time of a program that
// imports the reactor, and few programs upgrade a server connection.
// `getBuiltinModule` loads it synchronously, so the upgrade starts as before.
function nodeTLS(): typeof import("node:tls") {
  return globalThis.process.getBuiltinModule("node:tls");
}
function nodeStream(): typeof import("node:stream") {
  return globalThis.process.getBuiltinModule("node:stream");
}

/** The ALPN protocol negotiated on each TLS connection. */
const negotiated = new WeakMap<object, string | null>();

/** Records the ALPN protocol negotiated on `conn`. */
export function recordNegotiatedProtocol(
  conn: object,
  protocol: string | null | undefined,
): void {
  negotiated.set(conn, protocol ?? null);
}

/** The ALPN protocol negotiated on `conn`, or `null`. */
export function negotiatedProtocolOf(conn: object): string | null {
  return negotiated.get(conn) ?? null;
}

/** Upgrades a plain client connection with `Deno.startTls` and completes the handshake. */
export async function upgradeClient(
  conn: Deno.Conn,
  hostname: string,
  options: TLSClientOptions,
): Promise<Deno.Conn> {
  const tls = await Deno.startTls(conn as Deno.TcpConn, {
    hostname: options.hostname ?? hostname,
    caCerts: options.caCerts,
    alpnProtocols: options.alpnProtocols,
  });
  try {
    const info = await tls.handshake();
    recordNegotiatedProtocol(tls, info.alpnProtocol);
  } catch (e) {
    tls.close();
    throw e;
  }
  return tls;
}

/** A Node duplex stream over a Deno connection, for `node:tls` to run on. */
function duplexOf(conn: Deno.Conn): Duplex {
  const buf = new Uint8Array(16 * 1024);
  return new (nodeStream().Duplex)({
    read() {
      conn.read(buf).then(
        (n) => this.push(n === null ? null : buf.slice(0, n)),
        (e) => this.destroy(e),
      );
    },
    write(chunk: Uint8Array, _encoding, callback) {
      (async () => {
        for (let at = 0; at < chunk.length;) {
          at += await conn.write(chunk.subarray(at));
        }
      })().then(() => callback(), callback);
    },
    final(callback) {
      conn.closeWrite().then(() => callback(), callback);
    },
    destroy(error, callback) {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
      callback(error);
    },
  });
}

/**
 * A TLS server connection made with `node:tls` over a plain `Deno.Conn`,
 * presented as the small part of `Deno.Conn` the transport uses.
 */
class NodeTLSConn {
  readonly localAddr: Deno.Addr;
  readonly remoteAddr: Deno.Addr;
  #socket: TLSSocket;
  #chunks: Uint8Array[] = [];
  #ended = false;
  #error: unknown;
  #waiter: (() => void) | undefined;

  constructor(socket: TLSSocket, plain: Deno.Conn) {
    this.#socket = socket;
    this.localAddr = plain.localAddr;
    this.remoteAddr = plain.remoteAddr;
    socket.on("data", (d: Uint8Array) => {
      this.#chunks.push(d);
      this.#wake();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#wake();
    });
    socket.on("error", (e: unknown) => {
      this.#error = e;
      this.#wake();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#wake();
    });
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }

  async read(into: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#error) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => (this.#waiter = resolve));
    }
    const head = this.#chunks[0];
    const n = Math.min(head.length, into.length);
    into.set(head.subarray(0, n));
    if (n === head.length) this.#chunks.shift();
    else this.#chunks[0] = head.subarray(n);
    return n;
  }

  write(data: Uint8Array): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#socket.write(
        data,
        (e?: Error | null) => (e ? reject(e) : resolve(data.length)),
      );
    });
  }

  closeWrite(): Promise<void> {
    return new Promise((resolve) => this.#socket.end(() => resolve()));
  }

  close(): void {
    this.#socket.destroy();
    this.#ended = true;
    this.#wake();
  }
}

/**
 * Upgrades a plain server connection to TLS with `node:tls` and completes the
 * handshake. Nothing the peer sent before is read: the caller must have no
 * read pending (plaintext pipelined after the STARTTLS command is never
 * mistaken for TLS data).
 */
export function upgradeServer(
  conn: Deno.Conn,
  options: TLSServerOptions,
): Promise<Deno.Conn> {
  const { createSecureContext, TLSSocket } = nodeTLS();
  const socket = new TLSSocket(duplexOf(conn), {
    isServer: true,
    secureContext: createSecureContext({
      cert: options.cert,
      key: options.key,
    }),
    ALPNProtocols: options.alpnProtocols,
  });
  const wrapped = new NodeTLSConn(socket, conn);
  return new Promise((resolve, reject) => {
    socket.once("secure", () => {
      recordNegotiatedProtocol(
        wrapped,
        typeof socket.alpnProtocol === "string" ? socket.alpnProtocol : null,
      );
      resolve(wrapped as unknown as Deno.Conn);
    });
    socket.once("error", (e: unknown) => {
      wrapped.close();
      reject(e);
    });
  });
}
