/**
 * TLS (`twisted.internet.ssl`): `listenSSL` and `connectSSL` over
 * `Deno.listenTls`/`Deno.connectTls`, on the same port, connector and
 * transport as TCP, with Deno's option names. `transport.startTLS()` upgrades
 * an existing connection (see `Connection.startTLS`).
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
import {
  checkPort,
  connectError,
  denoListenOptions,
  ipAddress,
  ipHostOf,
  ipPeerOf,
  listening,
  unbracketed,
} from "./tcp.ts";
import { Port, type StreamBinding } from "./stream/port.ts";
import { Connector, type StreamDialer } from "./stream/connector.ts";
import {
  recordNegotiatedProtocol,
  type TLSClientOptions,
  type TLSServerOptions,
} from "./stream/tls_upgrade.ts";

export type {
  TLSClientOptions,
  TLSServerOptions,
} from "./stream/tls_upgrade.ts";

/** Options of `tlsServerOptionsFromFiles`. */
export interface TLSServerFilesOptions {
  /** Protocols offered for ALPN, most preferred first. */
  alpnProtocols?: string[];
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
  const read = (path: string): string => {
    try {
      return Deno.readTextFileSync(path);
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
  };
  return { cert: read(certFile), key: read(keyFile), alpnProtocols };
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
  const hostname = unbracketed(options.interface ?? "0.0.0.0");
  const listenOptions = denoListenOptions(hostname, port, options);
  return {
    tcp: false,
    tls: true,
    listen: () =>
      listening(hostname, port, () =>
        Deno.listenTls({
          hostname,
          port,
          cert: tls.cert,
          key: tls.key,
          alpnProtocols: tls.alpnProtocols,
          ...listenOptions,
        })),
    async prepare(conn) {
      const info = await (conn as Deno.TlsConn).handshake();
      recordNegotiatedProtocol(conn, info.alpnProtocol);
    },
    hostOf: ipHostOf,
    peerOf: ipPeerOf,
    describe: () => `ssl:${hostname}:${port}`,
  };
}

function tlsDialer(
  host: string,
  port: number,
  tls: TLSClientOptions,
  options: ConnectTCPOptions,
): StreamDialer {
  checkPort(port, 1);
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
    async dial() {
      // Deno.connectTls verifies the host it dials. To verify another name
      // (Twisted's optionsForClientTLS(hostname)), connect in the clear and
      // upgrade with startTls, which checks the name it is given.
      const conn = tls.hostname === undefined
        ? await Deno.connectTls({
          hostname,
          port,
          caCerts: tls.caCerts,
          alpnProtocols: tls.alpnProtocols,
        })
        : await startTlsVerifying(
          await Deno.connect({ hostname, port }),
          tls.hostname,
          tls,
        );
      try {
        const info = await conn.handshake();
        recordNegotiatedProtocol(conn, info.alpnProtocol);
      } catch (e) {
        conn.close();
        const verifying = tls.hostname === undefined
          ? ""
          : ` (verifying "${tls.hostname}")`;
        throw new SSLError(
          `TLS handshake with "${where}"${verifying} failed: ${
            (e as Error)?.message ?? e
          }`,
          { cause: e },
        );
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
    tlsDialer(host, port, tls, options),
    options.timeout,
  );
  c.connect();
  return c;
}
