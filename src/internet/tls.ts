/**
 * TLS (`twisted.internet.ssl`): `listenSSL` and `connectSSL` over
 * `Deno.listenTls`/`Deno.connectTls`, on the same port, connector and
 * transport as TCP, with Deno's option names. A server that verifies client
 * certificates (`verify: true`, Twisted's `CertificateOptions` names) runs
 * `node:tls` over an accepted TCP connection instead, since `Deno.listenTls`
 * cannot ask for one. `transport.startTLS()` upgrades an existing connection
 * (see `Connection.startTLS`).
 *
 * @module
 */
import type {
  ConnectTCPOptions,
  IProtocolFactory,
  ListenTCPOptions,
} from "./interfaces.ts";
import type { ReactorBase } from "./base.ts";
import type { IPv4Address, IPv6Address } from "./address.ts";
import { SSLError } from "./error.ts";
import type { DelayedCall } from "./base.ts";
import {
  checkPort,
  connectError,
  denoListenOptions,
  ipAddress,
  ipHostOf,
  ipPeerOf,
  listening,
  listenStream,
  nodeSocketsFor,
  unbracketed,
} from "./tcp.ts";
import { Port, type StreamBinding } from "./stream/port.ts";
import { requireNet, requirePermissions } from "./common/permissions.ts";
import { Connector, type StreamDialer } from "./stream/connector.ts";
import {
  checkClientCertificate,
  checkServerVerification,
  engineOf,
  handshakeTimeoutOf,
  negotiatedProtocolOf,
  recordNegotiatedProtocol,
  type TLSClientOptions,
  type TLSServerOptions,
  upgradeClient,
  upgradeServer,
} from "./stream/tls_upgrade.ts";

export type {
  PeerCertificate,
  TLSClientOptions,
  TLSServerOptions,
  TLSStartOptions,
} from "./stream/tls_upgrade.ts";

/** Options of `tlsServerOptionsFromFiles`. */
export interface TLSServerFilesOptions {
  /** Protocols offered for ALPN, most preferred first. */
  alpnProtocols?: string[];
}

/**
 * Reads a PEM file (certificates, a key) for TLS options.
 *
 * @throws {Error} naming the file and, when the permission is missing, the
 * `--allow-read` flag to add
 */
export function readPEMFile(path: string): string {
  let text: string;
  try {
    requirePermissions({ name: "read", path }); // Never Deno's prompt.
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) {
      throw new Error(
        `Cannot read "${path}": run again with --allow-read=${path}`,
        { cause: e },
      );
    }
    throw new Error(`Cannot read "${path}": ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (!text.includes("-----BEGIN ")) {
    throw new Error(`Cannot use "${path}": it holds no PEM data`);
  }
  return text;
}

/**
 * Reads a certificate chain and key from PEM files (Twisted's
 * `privateKey=`/`certKey=`), for `listenSSL`. Requires `--allow-read` on both
 * files.
 *
 * @param certFile the certificate chain, PEM
 * @param keyFile the private key, PEM
 * @param options the ALPN protocols to offer
 * @returns the options `listenSSL` takes
 * @throws {Error} when a file cannot be read (naming the flag to add when the
 * permission is missing)
 *
 * @example Calling `tlsServerOptionsFromFiles`
 * ```ts ignore
 * import { Factory, Protocol, reactor, tlsServerOptionsFromFiles } from "@twist/twist";
 *
 * const tls = tlsServerOptionsFromFiles("server.pem", "server.key", {
 *   alpnProtocols: ["h2", "http/1.1"],
 * });
 * reactor.listenSSL(8443, Factory.forProtocol(Protocol), tls);
 * ```
 */
export function tlsServerOptionsFromFiles(
  certFile: string,
  keyFile: string,
  options?: TLSServerFilesOptions,
): TLSServerOptions {
  options ??= {};
  const { alpnProtocols } = options;
  return {
    cert: readPEMFile(certFile),
    key: readPEMFile(keyFile),
    alpnProtocols,
  };
}

function tlsBinding(
  port: number,
  tls: TLSServerOptions,
  options: ListenTCPOptions,
): StreamBinding<IPv4Address | IPv6Address> {
  checkPort(port, 0);
  if (typeof tls?.cert !== "string" || typeof tls?.key !== "string") {
    throw new TypeError(
      "listenSSL needs { cert, key } as PEM strings (tlsServerOptionsFromFiles reads them from files)",
    );
  }
  checkServerVerification(tls);
  const engine = engineOf(tls, tls.verify ? "verify: true" : undefined);
  const handshakeTimeout = handshakeTimeoutOf(tls);
  const hostname = unbracketed(options.interface ?? "0.0.0.0");
  const listenOptions = denoListenOptions(hostname, port, options);
  const common = {
    tcp: false,
    tls: true,
    handshakeTimeout,
    hostOf: ipHostOf,
    peerOf: ipPeerOf,
    describe: () => `ssl:${hostname}:${port}`,
  };
  if (engine === "node") {
    // Deno.listenTls cannot ask for a client certificate, nor close the
    // socket of a handshake that never completes: node:tls can, over the
    // accepted TCP connection, a node:net socket where possible (read by
    // deno_core's readiness loop, not through Deno.Conn ops).
    const node = nodeSocketsFor(hostname, options, true);
    return {
      ...common,
      listen: () =>
        listening(
          hostname,
          port,
          () => listenStream(hostname, port, options, node),
        ),
      handshake: (conn) => upgradeServer(conn, tls),
    };
  }
  return {
    ...common,
    listen: () =>
      listening(hostname, port, () => {
        requireNet(hostname, port); // Never Deno's prompt.
        return Deno.listenTls({
          hostname,
          port,
          cert: tls.cert,
          key: tls.key,
          alpnProtocols: tls.alpnProtocols,
          ...listenOptions,
        });
      }),
    async handshake(conn) {
      const info = await (conn as Deno.TlsConn).handshake();
      recordNegotiatedProtocol(conn, info.alpnProtocol);
      return conn;
    },
  };
}

function tlsDialer(
  reactor: ReactorBase,
  host: string,
  port: number,
  tls: TLSClientOptions,
  options: ConnectTCPOptions,
): StreamDialer {
  checkPort(port, 1);
  checkClientCertificate(tls);
  const engine = engineOf(
    tls,
    tls.cert === undefined ? undefined : "A client certificate",
  );
  const handshakeTimeout = handshakeTimeoutOf(tls);
  if (
    tls.hostname !== undefined &&
    (typeof tls.hostname !== "string" || tls.hostname === "")
  ) {
    throw new TypeError(
      `Invalid TLS hostname ${
        JSON.stringify(tls.hostname)
      }: expected the name the server's certificate must match`,
    );
  }
  if (options.bindAddress !== undefined) {
    throw new TypeError(
      "Cannot bind a local address: Deno.connectTls does not support it",
    );
  }
  const hostname = unbracketed(host);
  const where = hostname.includes(":")
    ? `[${hostname}]:${port}`
    : `${hostname}:${port}`;
  return {
    tcp: false,
    tls: true,
    destination: ipAddress(hostname, port),
    async dial(signal) {
      // Connect in the clear (Deno.connectTls cannot be cancelled: a given-up
      // attempt must not stay pending), then upgrade with startTls, which
      // verifies the name it is given: the host dialled, or another name
      // (Twisted's optionsForClientTLS(hostname)). With a client certificate
      // (which Deno.startTls cannot present) or engine "node", with node:tls,
      // in the handshake step below.
      requireNet(hostname, port); // Never Deno's prompt.
      let conn: Deno.Conn = await Deno.connect({ hostname, port, signal });
      const viaNode = engine === "node";
      if (!viaNode) {
        conn = await startTlsVerifying(
          conn as Deno.TcpConn,
          tls.hostname ?? hostname,
          tls,
        );
      }
      let timer: DelayedCall | undefined;
      try {
        const info = await new Promise<Deno.TlsHandshakeInfo>(
          (resolve, reject) => {
            timer = reactor.callLater(handshakeTimeout, () =>
              reject(
                new Error(`timed out after ${handshakeTimeout} seconds`),
              ));
            const handshaking = viaNode
              ? upgradeClient(conn, tls.hostname ?? hostname, tls).then(
                (upgraded) => {
                  conn = upgraded;
                  return { alpnProtocol: negotiatedProtocolOf(upgraded) };
                },
              )
              : (conn as Deno.TlsConn).handshake();
            handshaking.then(resolve, reject);
          },
        );
        recordNegotiatedProtocol(conn, info.alpnProtocol);
      } catch (e) {
        try {
          conn.close();
        } catch {
          // Already closed by the failed handshake.
        }
        const verifying = tls.hostname === undefined
          ? ""
          : ` (verifying "${tls.hostname}")`;
        throw new SSLError(
          `TLS handshake with "${where}"${verifying} failed: ${
            (e as Error)?.message ?? e
          }`,
          { cause: e },
        );
      } finally {
        if (timer?.active()) timer.cancel();
      }
      return conn;
    },
    errorFor: (
      e,
    ) => (e instanceof SSLError ? e : connectError(e, hostname, port)),
    peerOf: ipPeerOf,
    describe: () => `ssl:${where}`,
  };
}

/** Upgrades `conn` to TLS verifying `name`; closes `conn` if that cannot start. */
async function startTlsVerifying(
  conn: Deno.TcpConn,
  name: string,
  tls: TLSClientOptions,
): Promise<Deno.TlsConn> {
  try {
    return await Deno.startTls(conn, {
      hostname: name,
      caCerts: tls.caCerts,
      alpnProtocols: tls.alpnProtocols,
      ...(tls.cert === undefined ? {} : { cert: tls.cert, key: tls.key }),
    });
  } catch (e) {
    conn.close();
    throw e;
  }
}

/** Listens with TLS on `port` for `reactor`; what `reactor.listenSSL` calls. */
export function listenSSL(
  reactor: ReactorBase,
  port: number,
  factory: IProtocolFactory,
  tls: TLSServerOptions,
  options?: ListenTCPOptions,
): Port<IPv4Address | IPv6Address> {
  options ??= {};
  const p = new Port(reactor, factory, tlsBinding(port, tls, options));
  p.startListening();
  return p;
}

/** Connects with TLS to `host:port` for `reactor`; what `reactor.connectSSL` calls. */
export function connectSSL(
  reactor: ReactorBase,
  host: string,
  port: number,
  factory: IProtocolFactory,
  tls?: TLSClientOptions,
  options?: ConnectTCPOptions,
): Connector {
  tls ??= {};
  options ??= {};
  const c = new Connector(
    reactor,
    factory,
    tlsDialer(reactor, host, port, tls, options),
    options.timeout,
  );
  c.connect();
  return c;
}
