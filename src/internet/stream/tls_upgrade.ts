/**
 * TLS plumbing for the transport: options, the negotiated ALPN protocol of a
 * connection, and upgrading a plain connection in place — client side with
 * `Deno.startTls`, server side with `node:tls` (Deno has no server-side
 * `startTls`).
 *
 * @module
 */
import type { Duplex } from "node:stream";
import type {
  PeerCertificate as NodePeerCertificate,
  TLSSocket,
} from "node:tls";
import type { X509Certificate } from "node:crypto";
import type {
  PeerCertificate,
  TLSClientOptions,
  TLSServerOptions,
  TLSStartOptions,
} from "../interfaces.ts";
import { NodeConn } from "./node_conn.ts";
export type {
  PeerCertificate,
  TLSClientOptions,
  TLSServerOptions,
  TLSStartOptions,
} from "../interfaces.ts";

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
function nodeCrypto(): typeof import("node:crypto") {
  return globalThis.process.getBuiltinModule("node:crypto");
}

/** The default of `handshakeTimeout`, in seconds (asyncio's). */
export const HANDSHAKE_TIMEOUT = 60;

/**
 * Checks a `handshakeTimeout` option and returns it (or the default).
 *
 * @throws {RangeError} unless a positive number of seconds
 */
export function handshakeTimeoutOf(
  options: { handshakeTimeout?: number },
): number {
  const t = options.handshakeTimeout ?? HANDSHAKE_TIMEOUT;
  if (typeof t !== "number" || !(t > 0) || !Number.isFinite(t)) {
    throw new RangeError(
      `Invalid handshakeTimeout "${t}": expected a number of seconds > 0`,
    );
  }
  return t;
}

/**
 * Checks an `engine` option and returns the TLS implementation to use:
 * `"node"` when `needsNode` names a feature only `node:tls` has (or it was
 * asked for), `"deno"` otherwise.
 *
 * @throws {TypeError} for an unknown engine, or `"deno"` with such a feature
 */
export function engineOf(
  options: { engine?: unknown },
  needsNode: string | undefined,
): "deno" | "node" {
  const { engine } = options;
  if (engine !== undefined && engine !== "deno" && engine !== "node") {
    throw new TypeError(
      `Invalid TLS engine ${JSON.stringify(engine)}: expected "deno" or "node"`,
    );
  }
  if (needsNode === undefined) return engine ?? "deno";
  if (engine === "deno") {
    throw new TypeError(
      `${needsNode} needs engine "node": Deno's own TLS cannot do it`,
    );
  }
  return "node";
}

/**
 * Whether `startTLS` options are the server side's: `server` says so, or,
 * without it, a `cert` does (the rule before client certificates).
 */
export function isServerSide(
  options: TLSStartOptions,
): options is TLSServerOptions & { server?: true } {
  return options.server ?? ("cert" in options && options.cert !== undefined);
}

/**
 * Checks the client-certificate options of a server.
 *
 * @throws {TypeError} for `verify` without `caCerts`, or `caCerts`,
 * `requireCertificate` without `verify`
 */
export function checkServerVerification(options: TLSServerOptions): void {
  const { verify, caCerts, requireCertificate } = options;
  if (verify !== undefined && typeof verify !== "boolean") {
    throw new TypeError(`Invalid verify "${verify}": expected true or false`);
  }
  if (!verify) {
    if (caCerts !== undefined || requireCertificate !== undefined) {
      throw new TypeError(
        "caCerts and requireCertificate verify client certificates: add verify: true",
      );
    }
    return;
  }
  if (
    !Array.isArray(caCerts) || caCerts.length === 0 ||
    caCerts.some((c) => typeof c !== "string")
  ) {
    throw new TypeError(
      "verify: true needs caCerts: the PEM CA certificates a client's certificate must chain to",
    );
  }
}

/**
 * Checks that a client's `cert` and `key` come together, as PEM strings.
 *
 * @throws {TypeError} otherwise
 */
export function checkClientCertificate(options: TLSClientOptions): void {
  const { cert, key } = options;
  if (cert === undefined && key === undefined) return;
  if (typeof cert !== "string" || typeof key !== "string") {
    throw new TypeError(
      "A client certificate needs both cert and key, as PEM strings",
    );
  }
}

/** The certificate each TLS connection's peer presented. */
const peerCertificates = new WeakMap<object, PeerCertificate>();

/** The certificate the peer of `conn` presented, or `null`. */
export function peerCertificateOf(conn: object): PeerCertificate | null {
  return peerCertificates.get(conn) ?? null;
}

function describeCertificate(x509: X509Certificate): PeerCertificate {
  return {
    subject: x509.subject.replaceAll("\n", ", "),
    issuer: x509.issuer.replaceAll("\n", ", "),
    validFrom: new Date(x509.validFrom),
    validTo: new Date(x509.validTo),
    fingerprint256: x509.fingerprint256,
    serialNumber: x509.serialNumber,
    pem: x509.toString(),
  };
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

/**
 * Upgrades a plain client connection with `Deno.startTls` and completes the
 * handshake; with `engine: "node"` or a client certificate (which
 * `Deno.startTls` cannot present), with `node:tls`.
 */
export async function upgradeClient(
  conn: Deno.Conn | NodeConn,
  hostname: string,
  options: TLSClientOptions,
  signal?: AbortSignal,
): Promise<Deno.Conn> {
  const engine = engineOf(
    options,
    options.cert === undefined ? undefined : "A client certificate",
  );
  // A connection on the node:net backend can only be upgraded by node:tls.
  if (engine === "node" || conn instanceof NodeConn) {
    return await upgradeClientNode(
      conn,
      options.hostname ?? hostname,
      options,
      signal,
    );
  }
  const tls = await Deno.startTls(conn as Deno.TcpConn, {
    hostname: options.hostname ?? hostname,
    caCerts: options.caCerts,
    alpnProtocols: options.alpnProtocols,
    ...(options.cert === undefined
      ? {}
      : { cert: options.cert, key: options.key }),
  });
  // The plain conn is the TLS conn's now: an abort closes the TLS conn.
  const unwatch = closeOnAbort(signal, tls);
  try {
    signal?.throwIfAborted();
    const info = await tls.handshake();
    recordNegotiatedProtocol(tls, info.alpnProtocol);
  } catch (e) {
    closeQuietly(tls);
    throw e;
  } finally {
    unwatch();
  }
  return tls;
}

/**
 * Closes `closer` when `signal` aborts (a handshake that timed out);
 * returns what stops watching.
 */
function closeOnAbort(
  signal: AbortSignal | undefined,
  closer: { close(): void },
): () => void {
  if (!signal) return () => {};
  const close = (): void => closeQuietly(closer);
  signal.addEventListener("abort", close, { once: true });
  return () => signal.removeEventListener("abort", close);
}

function closeQuietly(closer: { close(): void }): void {
  try {
    closer.close();
  } catch {
    // Already closed.
  }
}

/** `upgradeClient` with `node:tls`, for a client certificate. */
function upgradeClientNode(
  conn: Deno.Conn | NodeConn,
  name: string,
  options: TLSClientOptions,
  signal?: AbortSignal,
): Promise<Deno.Conn> {
  const duplex = duplexOf(conn);
  const isIP = /^[\d.]+$|:/.test(name);
  const socket = nodeTLS().connect({
    socket: duplex,
    host: name,
    ...(isIP ? {} : { servername: name }),
    ...(options.caCerts ? { ca: options.caCerts } : {}),
    cert: options.cert,
    key: options.key,
    ALPNProtocols: options.alpnProtocols,
    rejectUnauthorized: true,
  });
  const wrapped = new NodeTLSConn(socket, conn, duplex);
  let settled = false;
  return new Promise((resolve, reject) => {
    socket.once("secureConnect", () => {
      settled = true;
      if (!socket.authorized) {
        wrapped.close();
        reject(
          new Error(
            `invalid peer certificate: ${
              socket.authorizationError ?? "unverified"
            }`,
          ),
        );
        return;
      }
      const raw = (socket.getPeerCertificate(true) as { raw?: Uint8Array })
        ?.raw;
      if (raw) {
        peerCertificates.set(
          wrapped,
          describeCertificate(new (nodeCrypto().X509Certificate)(raw)),
        );
      }
      recordNegotiatedProtocol(
        wrapped,
        typeof socket.alpnProtocol === "string" ? socket.alpnProtocol : null,
      );
      resolve(wrapped as unknown as Deno.Conn);
    });
    failHandshakeOnLoss(socket, wrapped, reject, () => settled, signal);
  });
}

/**
 * A Node duplex stream over a Deno connection, for `node:tls` to run on.
 * `hold(true)` stops reading from the connection (the kernel's buffers then
 * push back on the peer) until `hold(false)`.
 */
function duplexOf(
  conn: Deno.Conn | NodeConn,
): Duplex & { hold(on: boolean): void } {
  if (conn instanceof NodeConn) return duplexOfSocket(conn.detach());
  const buf = new Uint8Array(16 * 1024);
  let held = false;
  let wanted = false;
  const duplex = new (nodeStream().Duplex)({
    read() {
      if (held) {
        wanted = true;
        return;
      }
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
  }) as Duplex & { hold(on: boolean): void };
  duplex.hold = (on: boolean): void => {
    held = on;
    if (!on && wanted) {
      wanted = false;
      duplex._read(buf.length);
    }
  };
  return duplex;
}

/**
 * `duplexOf` for a `node:net` socket. Not the socket itself: `node:tls` in
 * Deno then keeps reading it while the TLS socket is paused (measured), so
 * the peer is never pushed back.
 */
function duplexOfSocket(
  socket: import("node:net").Socket,
): Duplex & { hold(on: boolean): void } {
  let held = false;
  const duplex = new (nodeStream().Duplex)({
    read() {
      if (!held) socket.resume();
    },
    write(chunk: Uint8Array, _encoding, callback) {
      socket.write(chunk, (e?: Error | null) => callback(e ?? undefined));
    },
    final(callback) {
      socket.end(() => callback());
    },
    destroy(error, callback) {
      socket.destroy();
      callback(error);
    },
  }) as Duplex & { hold(on: boolean): void };
  socket.on("data", (d: Uint8Array) => {
    if (!duplex.push(d)) socket.pause();
  });
  socket.on("end", () => duplex.push(null));
  socket.on("error", (e: Error) => duplex.destroy(e));
  // Closed from this side (the connection dropped during the handshake):
  // the TLS socket above must hear it, or its handshake never settles.
  socket.on("close", () => {
    if (!duplex.destroyed) duplex.destroy();
  });
  duplex.hold = (on: boolean): void => {
    held = on;
    if (on) socket.pause();
    else socket.resume();
  };
  return duplex;
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
  /** Bytes in `#chunks`. */
  #queued = 0;
  /** Whether the socket is paused because `#chunks` is full. */
  #full = false;
  #ended = false;
  #error: unknown;
  #waiter: (() => void) | undefined;

  #duplex: { hold(on: boolean): void };

  constructor(
    socket: TLSSocket,
    plain: { localAddr: Deno.Addr; remoteAddr: Deno.Addr },
    duplex: { hold(on: boolean): void },
  ) {
    this.#socket = socket;
    this.#duplex = duplex;
    this.localAddr = plain.localAddr;
    this.remoteAddr = plain.remoteAddr;
    socket.on("data", (d: Uint8Array) => {
      this.#chunks.push(d);
      this.#queued += d.length;
      // The transport reads only when its protocol can take more: stop the
      // socket (and so the reads from the network beneath it) meanwhile.
      if (this.#queued >= QUEUE_HIGH && !this.#full) {
        this.#full = true;
        socket.pause();
        duplex.hold(true);
      }
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
    this.#queued -= n;
    if (this.#full && this.#queued <= QUEUE_LOW) {
      this.#full = false;
      this.#socket.resume();
      this.#duplex.hold(false);
    }
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
    this.#chunks = [];
    this.#queued = 0;
    this.#wake();
  }
}

/** Decrypted bytes a `NodeTLSConn` holds before it stops its socket... */
const QUEUE_HIGH = 64 * 1024;
/** ...and resumes it. */
const QUEUE_LOW = 16 * 1024;

/**
 * Upgrades a plain server connection to TLS with `node:tls` and completes the
 * handshake (and, with `verify`, checks the client's certificate). Nothing
 * the peer sent before is read: the caller must have no read pending
 * (plaintext pipelined after the STARTTLS command is never mistaken for TLS
 * data).
 */
export function upgradeServer(
  conn: Deno.Conn | NodeConn,
  options: TLSServerOptions,
  signal?: AbortSignal,
): Promise<Deno.Conn> {
  const { createSecureContext, TLSSocket } = nodeTLS();
  const verify = options.verify === true;
  const duplex = duplexOf(conn);
  const socket = new TLSSocket(duplex, {
    isServer: true,
    secureContext: createSecureContext({
      cert: options.cert,
      key: options.key,
      ...(verify ? { ca: options.caCerts } : {}),
    }),
    ALPNProtocols: options.alpnProtocols,
    requestCert: verify,
    // The chain is checked below: node:tls on Deno does not check it.
    rejectUnauthorized: verify && options.requireCertificate !== false,
  });
  const wrapped = new NodeTLSConn(socket, conn, duplex);
  let settled = false;
  return new Promise((resolve, reject) => {
    socket.once("secure", () => {
      settled = true;
      let certificate: PeerCertificate | null = null;
      try {
        certificate = verify
          ? verifiedClientCertificate(
            socket.getPeerCertificate(true),
            options.caCerts ?? [],
            options.requireCertificate !== false,
          )
          : null;
      } catch (e) {
        wrapped.close();
        reject(e);
        return;
      }
      if (certificate) peerCertificates.set(wrapped, certificate);
      recordNegotiatedProtocol(
        wrapped,
        typeof socket.alpnProtocol === "string" ? socket.alpnProtocol : null,
      );
      resolve(wrapped as unknown as Deno.Conn);
    });
    failHandshakeOnLoss(socket, wrapped, reject, () => settled, signal);
  });
}

/** The longest chain of intermediates followed to a trusted CA. */
const MAX_CHAIN = 8;

/**
 * Checks that the client's certificate chains to one of `caCerts` (through
 * the intermediates it sent), each certificate within its validity period.
 *
 * @returns the client's certificate, or `null` when it sent none and none
 * is required
 * @throws {Error} naming what is wrong
 */
function verifiedClientCertificate(
  presented: NodePeerCertificate & {
    raw?: Uint8Array;
    issuerCertificate?: unknown;
  },
  caCerts: string[],
  required: boolean,
): PeerCertificate | null {
  const { X509Certificate } = nodeCrypto();
  if (!presented?.raw) {
    if (required) throw new Error("The client presented no certificate");
    return null;
  }
  const leaf = new X509Certificate(presented.raw);
  const intermediates: X509Certificate[] = [];
  let link = presented.issuerCertificate as typeof presented | undefined;
  while (link?.raw && link !== presented && intermediates.length < MAX_CHAIN) {
    intermediates.push(new X509Certificate(link.raw));
    if (link.issuerCertificate === link) break;
    link = link.issuerCertificate as typeof presented | undefined;
  }
  const anchors = caCerts.map((pem) => new X509Certificate(pem));
  const now = Date.now();
  const current = (c: X509Certificate): boolean =>
    Date.parse(c.validFrom) <= now && now <= Date.parse(c.validTo);
  const issued = (by: X509Certificate, c: X509Certificate): boolean =>
    c.checkIssued(by) && c.verify(by.publicKey);
  let cert = leaf;
  for (let depth = 0; depth <= MAX_CHAIN; depth++) {
    if (!current(cert)) {
      throw new Error(
        `The client's certificate chain has an expired or not yet valid certificate ("${cert.subject}")`,
      );
    }
    if (anchors.some((ca) => ca.ca && current(ca) && issued(ca, cert))) {
      return describeCertificate(leaf);
    }
    const next = intermediates.find((i) => i.ca && issued(i, cert));
    if (!next) break;
    cert = next;
  }
  throw new Error(
    `The client's certificate ("${leaf.subject}") is not signed by a trusted authority`,
  );
}

/**
 * Rejects a handshake when its socket errors or the peer goes away before
 * it completes (Deno's node:tls reports no error for the latter), or when
 * `signal` aborts it (closing the socket).
 */
function failHandshakeOnLoss(
  socket: TLSSocket,
  wrapped: { close(): void },
  reject: (e: unknown) => void,
  settled: () => boolean,
  signal?: AbortSignal,
): void {
  socket.once("error", (e: unknown) => {
    wrapped.close();
    reject(e);
  });
  const gone = (): void => {
    if (settled()) return;
    wrapped.close();
    reject(
      signal?.aborted
        ? signal.reason
        : new Error("The peer closed the connection during the handshake"),
    );
  };
  socket.once("end", gone);
  socket.once("close", gone);
  if (signal) {
    const abort = (): void => {
      if (!settled()) gone();
    };
    if (signal.aborted) abort();
    else signal.addEventListener("abort", abort, { once: true });
    socket.once("close", () => signal.removeEventListener("abort", abort));
  }
}
