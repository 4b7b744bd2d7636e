import { streamBackend } from "../../src/internet/stream/backend.ts";
import {
  assert,
  assertEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { Reactor } from "../../src/internet/reactor.ts";
import {
  ClientFactory,
  Factory,
  Protocol,
} from "../../src/internet/protocol.ts";
import { SSLError } from "../../src/internet/error.ts";
import type { Failure } from "../../src/internet/failure.ts";
import { tlsServerOptionsFromFiles } from "../../src/internet/tls.ts";
import {
  clientFromString,
  serverFromString,
  type SSL4ServerEndpoint,
} from "../../src/internet/endpoints.ts";
import type {
  PeerCertificate,
  TLSClientOptions,
  TLSStartOptions,
} from "../../src/internet/interfaces.ts";
import type { IPv4Address } from "../../src/internet/address.ts";
import { LineReceiver } from "../../src/protocols/basic.ts";
import {
  LimitConnectionsByPeer,
  ProtocolWrapper,
  TimeoutFactory,
  WrappingFactory,
} from "../../src/protocols/policies.ts";
import { StringTransport } from "../../src/testing/string_transport.ts";
import { decode, encode, firstBuilt, withTimeout } from "../_helpers.ts";

const DIR = "tests/fixtures/tls";
const server = tlsServerOptionsFromFiles(
  `${DIR}/server.pem`,
  `${DIR}/server.key`,
);
const untrusted = tlsServerOptionsFromFiles(
  `${DIR}/untrusted.pem`,
  `${DIR}/untrusted.key`,
);
const ca = Deno.readTextFileSync(`${DIR}/ca.pem`);

class Echo extends Protocol {
  override dataReceived(d: Uint8Array): void {
    this.transport.write(d);
  }
}

/** An echo server protocol that tells when its handshake is done and when it is lost. */
class ServerEcho extends Echo {
  readonly handshaken = Promise.withResolvers<void>();
  readonly lost = Promise.withResolvers<Failure>();
  handshakeCompleted(): void {
    this.handshaken.resolve();
  }
  override connectionLost(reason: Failure): void {
    this.lost.resolve(reason);
  }
}

class Client extends Protocol {
  text = "";
  readonly made = Promise.withResolvers<void>();
  readonly lost = Promise.withResolvers<Failure>();
  #waiting?: { length: number; resolve: () => void };
  override connectionMade(): void {
    this.made.resolve();
  }
  override dataReceived(d: Uint8Array): void {
    this.text += decode(d);
    if (this.#waiting && this.text.length >= this.#waiting.length) {
      this.#waiting.resolve();
      this.#waiting = undefined;
    }
  }
  /** Resolves once at least `length` characters have arrived. */
  received(length: number): Promise<void> {
    if (this.text.length >= length) return Promise.resolve();
    const w = Promise.withResolvers<void>();
    this.#waiting = { length, resolve: w.resolve };
    return w.promise;
  }
  override connectionLost(reason: Failure): void {
    this.lost.resolve(reason);
  }
}

function quiet<F extends Factory>(f: F): F {
  f.noisy = false;
  return f;
}

for (
  const [serverEngine, clientEngine] of [
    ["deno", "deno"],
    ["node", "node"],
    ["node", "deno"],
    ["deno", "node"],
  ] as const
) {
  Deno.test(`TLS: echo over listenSSL/connectSSL with a private CA (engines: server ${serverEngine}, client ${clientEngine})`, async () => {
    await echoOverTLS(serverEngine, clientEngine);
  });
}

async function echoOverTLS(
  serverEngine: "deno" | "node",
  clientEngine: "deno" | "node",
): Promise<void> {
  const reactor = new Reactor();
  const port = reactor.listenSSL(
    0,
    quiet(Factory.forProtocol(Echo)),
    { ...server, engine: serverEngine },
    { interface: "127.0.0.1" },
  );
  const factory = quiet(new ClientFactory());
  const built = firstBuilt(factory, () => new Client());
  reactor.connectSSL("127.0.0.1", port.getHost().port, factory, {
    caCerts: [ca],
    engine: clientEngine,
  });
  const client = await withTimeout(
    built.then(async (c) => (await c.made.promise, c)),
    10_000,
    "the TLS connection",
  );
  client.transport.write("secret ".repeat(10_000));
  await withTimeout(client.received(70_000), 10_000, "the echo");
  assertEquals(client.text, "secret ".repeat(10_000));
  assertEquals(client.transport.getTcpNoDelay(), false);
  client.transport.loseConnection();
  await client.lost.promise;
  await port.stopListening();
}

Deno.test("TLS: an untrusted certificate fails the client with a clear SSLError", async () => {
  const reactor = new Reactor();
  const serverFactory = quiet(new Factory());
  const serverBuilt = firstBuilt(serverFactory, () => new ServerEcho());
  const port = reactor.listenSSL(0, serverFactory, untrusted, {
    interface: "127.0.0.1",
  });
  const failed = Promise.withResolvers<Failure>();
  const factory = quiet(ClientFactory.forProtocol(Client));
  factory.clientConnectionFailed = (_c, r) => failed.resolve(r);
  reactor.connectSSL("127.0.0.1", port.getHost().port, factory, {
    caCerts: [ca],
  });
  const reason = await withTimeout(failed.promise, 10_000, "the failure");
  assert(reason.check(SSLError), `${reason}`);
  assertStringIncludes(reason.getErrorMessage(), "invalid peer certificate");
  // The server's protocol was connected at accept; the failed handshake loses it.
  const serverSide = await serverBuilt;
  const lost = await withTimeout(
    serverSide.lost.promise,
    10_000,
    "the server to drop it",
  );
  assert(lost.check(SSLError), `${lost}`);
  await port.stopListening();
});

Deno.test("TLS: ALPN is negotiated and visible on both transports", async () => {
  const reactor = new Reactor();
  const serverFactory = quiet(new Factory());
  const serverBuilt = firstBuilt(serverFactory, () => new ServerEcho());
  const port = reactor.listenSSL(0, serverFactory, {
    ...server,
    alpnProtocols: ["h2", "x-twist"],
  }, {
    interface: "127.0.0.1",
  });
  const factory = quiet(new ClientFactory());
  const clientBuilt = firstBuilt(factory, () => new Client());
  reactor.connectSSL("127.0.0.1", port.getHost().port, factory, {
    caCerts: [ca],
    alpnProtocols: ["x-twist"],
  });
  const [client, serverSide] = await withTimeout(
    Promise.all([clientBuilt, serverBuilt]),
    10_000,
    "both sides",
  );
  assertEquals(client.transport.negotiatedProtocol, "x-twist");
  await withTimeout(serverSide.handshaken.promise, 10_000, "the handshake");
  assertEquals(serverSide.transport.negotiatedProtocol, "x-twist");
  client.transport.loseConnection();
  await client.lost.promise;
  await port.stopListening();
});

Deno.test("TLS: startTLS upgrades after a plaintext greeting; pipelined plaintext is never taken as TLS", async () => {
  const reactor = new Reactor();
  const lines: string[] = [];
  const done = Promise.withResolvers<void>();
  class StartTLSServer extends LineReceiver {
    override connectionMade(): void {
      this.sendLine("220 ready");
    }
    override lineReceived(line: Uint8Array): void {
      const text = decode(line);
      lines.push(text);
      if (text === "STARTTLS") {
        this.sendLine("OK");
        this.clearLineBuffer(); // anything pipelined after STARTTLS was plaintext
        this.transport.startTLS!(server);
      } else {
        this.sendLine(`got ${text}`);
        done.resolve();
      }
    }
  }
  const port = reactor.listenTCP(
    0,
    quiet(Factory.forProtocol(StartTLSServer)),
    { interface: "127.0.0.1" },
  );
  const raw = await Deno.connect({
    hostname: "127.0.0.1",
    port: port.getHost().port,
  });
  const buf = new Uint8Array(1024);
  const readText = async (conn: Deno.Conn, want: string): Promise<string> => {
    let text = "";
    while (!text.includes(want)) {
      const n = await withTimeout(conn.read(buf), 10_000, want);
      if (n === null) throw new Error(`closed before ${want}`);
      text += decode(buf.subarray(0, n));
    }
    return text;
  };
  assertEquals(await readText(raw, "\r\n"), "220 ready\r\n");
  // The attacker's trick: plaintext pipelined right after STARTTLS.
  await raw.write(encode("STARTTLS\r\nINJECTED\r\n"));
  assertEquals(await readText(raw, "OK\r\n"), "OK\r\n");
  const tls = await Deno.startTls(raw, {
    hostname: "localhost",
    caCerts: [ca],
  });
  await tls.write(encode("hello\r\n"));
  assertEquals(await readText(tls, "\r\n"), "got hello\r\n");
  await done.promise;
  assertEquals(lines, ["STARTTLS", "hello"]);
  tls.close();
  await port.stopListening();
});

Deno.test("TLS: the client side of startTLS, and calling it with a read pending is a clear error", async () => {
  const reactor = new Reactor();
  class Upgrading extends LineReceiver {
    override lineReceived(line: Uint8Array): void {
      if (decode(line) === "STARTTLS") {
        this.sendLine("OK");
        this.transport.startTLS!(server);
      } else {
        this.sendLine(`secure ${decode(line)}`);
      }
    }
  }
  const port = reactor.listenTCP(0, quiet(Factory.forProtocol(Upgrading)), {
    interface: "127.0.0.1",
  });
  const reply = Promise.withResolvers<string>();
  const early = Promise.withResolvers<Error>();
  class UpgradingClient extends LineReceiver {
    override connectionMade(): void {
      this.sendLine("STARTTLS");
      // A moment later a read is pending: upgrading then is refused (on
      // Deno.Conn; a node:net socket has no pending read to refuse for).
      if (streamBackend() === "node") return early.resolve(new Error("n/a"));
      reactor.callLater(0, () => {
        try {
          this.transport.startTLS!({ caCerts: [ca] });
        } catch (e) {
          early.resolve(e as Error);
        }
      });
    }
    override lineReceived(line: Uint8Array): void {
      const text = decode(line);
      if (text === "OK") {
        this.transport.startTLS!({ caCerts: [ca], hostname: "localhost" });
        this.sendLine("hi"); // queued until TLS is up
      } else {
        reply.resolve(text);
        this.transport.loseConnection();
      }
    }
  }
  const factory = quiet(ClientFactory.forProtocol(UpgradingClient));
  const lost = Promise.withResolvers<void>();
  factory.clientConnectionLost = () => lost.resolve();
  reactor.connectTCP("127.0.0.1", port.getHost().port, factory);
  if (streamBackend() === "deno") {
    assertStringIncludes(
      (await early.promise).message,
      "while a read is pending",
    );
  }
  assertEquals(
    await withTimeout(reply.promise, 10_000, "the secure reply"),
    "secure hi",
  );
  await lost.promise;
  await port.stopListening();
  assertThrows(
    () => tlsServerOptionsFromFiles("/nonexistent/x.pem", "y"),
    Error,
    "Cannot read",
  );
});

const example = tlsServerOptionsFromFiles(
  `${DIR}/example.pem`,
  `${DIR}/example.key`,
);
const namedCa = Deno.readTextFileSync(`${DIR}/named_ca.pem`);

/** Connects with `tls` to a TLS echo server using `serverTLS`; the reason it failed, or null once echoed. */
async function connectVerifying(
  serverTLS: typeof server,
  tls: TLSClientOptions,
): Promise<Failure | null> {
  const reactor = new Reactor();
  const serverFactory = quiet(new Factory());
  const serverBuilt = firstBuilt(serverFactory, () => new ServerEcho());
  const port = reactor.listenSSL(0, serverFactory, serverTLS, {
    interface: "127.0.0.1",
  });
  try {
    const failed = Promise.withResolvers<Failure>();
    const factory = quiet(new ClientFactory());
    const built = firstBuilt(factory, () => new Client());
    factory.clientConnectionFailed = (_c, r) => failed.resolve(r);
    reactor.connectSSL("127.0.0.1", port.getHost().port, factory, tls);
    const outcome = await withTimeout(
      Promise.race([
        failed.promise,
        built.then(async (c) => (await c.made.promise, c)),
      ]),
      10_000,
      "the TLS connection",
    );
    if (!(outcome instanceof Client)) {
      const serverSide = await serverBuilt;
      await withTimeout(
        serverSide.lost.promise,
        10_000,
        "the server to drop it",
      );
      return outcome;
    }
    outcome.transport.write("named");
    await withTimeout(outcome.received(5), 10_000, "the echo");
    assertEquals(outcome.text, "named");
    outcome.transport.loseConnection();
    await outcome.lost.promise;
    return null;
  } finally {
    await port.stopListening();
  }
}

Deno.test("TLS: connectSSL verifies the hostname it is given, whatever address it dials", async () => {
  // example.pem is valid for example.com only; we dial 127.0.0.1.
  for (const engine of ["deno", "node"] as const) {
    assertEquals(
      await connectVerifying(example, {
        hostname: "example.com",
        caCerts: [namedCa],
        engine,
      }),
      null,
    );
  }
});

Deno.test("TLS: a hostname the certificate does not match fails, even when the dialled address matches", async () => {
  // server.pem is valid for 127.0.0.1: the name asked for must be the one checked.
  for (const engine of ["deno", "node"] as const) {
    const reason = await connectVerifying(server, {
      hostname: "evil.example",
      caCerts: [ca],
      engine,
    });
    assert(reason !== null && reason.check(SSLError), `${engine}: ${reason}`);
    assertStringIncludes(reason.getErrorMessage(), "evil.example");
  }
});

Deno.test("TLS: an empty hostname to verify is a TypeError at the call", () => {
  const reactor = new Reactor();
  assertThrows(
    () =>
      reactor.connectSSL("127.0.0.1", 443, new ClientFactory(), {
        hostname: "",
      }),
    TypeError,
    "Invalid TLS hostname",
  );
});

Deno.test("tlsServerOptionsFromFiles reads the PEM files and takes the ALPN protocols as an option", () => {
  const tls = tlsServerOptionsFromFiles(
    `${DIR}/server.pem`,
    `${DIR}/server.key`,
    { alpnProtocols: ["h2", "http/1.1"] },
  );
  assertEquals(tls.cert, Deno.readTextFileSync(`${DIR}/server.pem`));
  assertEquals(tls.key, Deno.readTextFileSync(`${DIR}/server.key`));
  assertEquals(tls.alpnProtocols, ["h2", "http/1.1"]);
  assertEquals(server.alpnProtocols, undefined);
});

Deno.test("TLS: listenSSL takes a bracketed IPv6 interface, as listenTCP does", async () => {
  const reactor = new Reactor();
  let port;
  try {
    port = reactor.listenSSL(0, quiet(Factory.forProtocol(Echo)), server, {
      interface: "[::1]",
    });
  } catch (e) {
    // deno-lint-ignore no-console
    console.log(`skipped: IPv6 loopback unavailable (${(e as Error).message})`);
    return;
  }
  assertEquals(port.getHost().host, "::1");
  await port.stopListening();
});

const clientCa = Deno.readTextFileSync(`${DIR}/client_ca.pem`);
const clientCert = {
  cert: Deno.readTextFileSync(`${DIR}/client.pem`),
  key: Deno.readTextFileSync(`${DIR}/client.key`),
};
const strangerCert = {
  cert: Deno.readTextFileSync(`${DIR}/stranger.pem`),
  key: Deno.readTextFileSync(`${DIR}/stranger.key`),
};
const verifying = {
  ...server,
  verify: true,
  caCerts: [clientCa],
  requireCertificate: true,
};

/** Connects a Twist client with `tls` to a Twist server that verifies clients; the server's view. */
async function clientAuth(
  tls: { cert?: string; key?: string },
  serverTLS: typeof verifying = verifying,
): Promise<{ echoed: boolean; peer: PeerCertificate | null; lost: Failure }> {
  const reactor = new Reactor();
  const serverFactory = quiet(new Factory());
  let peer: PeerCertificate | null = null;
  class Verified extends ServerEcho {
    override handshakeCompleted(): void {
      peer = this.transport.getPeerCertificate!();
      super.handshakeCompleted();
    }
  }
  const serverBuilt = firstBuilt(serverFactory, () => new Verified());
  const port = reactor.listenSSL(0, serverFactory, serverTLS, {
    interface: "127.0.0.1",
  });
  try {
    const factory = quiet(new ClientFactory());
    const built = firstBuilt(factory, () => new Client());
    reactor.connectSSL("127.0.0.1", port.getHost().port, factory, {
      caCerts: [ca],
      ...tls,
    });
    const client = await withTimeout(built, 10_000, "the client");
    client.transport?.write("who am I");
    const echoed = await withTimeout(
      Promise.race([
        client.received(8).then(() => true),
        client.lost.promise.then(() => false),
      ]),
      10_000,
      "the echo or the loss",
    );
    client.transport?.loseConnection();
    const serverSide = await serverBuilt;
    const lost = await withTimeout(serverSide.lost.promise, 10_000, "the end");
    return { echoed, peer, lost };
  } finally {
    await port.stopListening();
  }
}

Deno.test("TLS: a server with verify accepts a client certificate its CA signed and shows it to the protocol", async () => {
  const { echoed, peer } = await clientAuth(clientCert);
  assert(echoed);
  assertEquals(peer!.subject, "CN=Twist Test Client");
  assertEquals(peer!.issuer, "CN=Twist Client Test CA");
  assertEquals(peer!.fingerprint256.split(":").length, 32);
  assert(peer!.validFrom < new Date() && new Date() < peer!.validTo);
  assertStringIncludes(peer!.pem, "BEGIN CERTIFICATE");
});

Deno.test("TLS: a server with verify refuses a client without a certificate, and one from another CA", async () => {
  const none = await clientAuth({});
  assert(!none.echoed);
  assert(none.lost.check(SSLError), `${none.lost}`);
  const stranger = await clientAuth(strangerCert);
  assert(!stranger.echoed);
  assert(stranger.lost.check(SSLError), `${stranger.lost}`);
  assertStringIncludes(
    stranger.lost.getErrorMessage(),
    "not signed by a trusted authority",
  );
});

Deno.test("TLS: requireCertificate: false lets a client without a certificate in, never a bad one", async () => {
  const lenient = { ...verifying, requireCertificate: false };
  const none = await clientAuth({}, lenient);
  assert(none.echoed);
  assertEquals(none.peer, null);
  const stranger = await clientAuth(strangerCert, lenient);
  assert(!stranger.echoed);
});

Deno.test("TLS: server options that cannot verify clients are TypeErrors at the call", () => {
  const reactor = new Reactor();
  const f = Factory.forProtocol(Echo);
  assertThrows(
    () => reactor.listenSSL(0, f, { ...server, verify: true }),
    TypeError,
    "verify: true needs caCerts",
  );
  assertThrows(
    () => reactor.listenSSL(0, f, { ...server, caCerts: [clientCa] }),
    TypeError,
    "add verify: true",
  );
  assertThrows(
    () => reactor.listenSSL(0, f, { ...server, handshakeTimeout: 0 }),
    RangeError,
    "Invalid handshakeTimeout",
  );
  assertThrows(
    // @ts-expect-error: not an engine
    () => reactor.listenSSL(0, f, { ...server, engine: "openssl" }),
    TypeError,
    'Invalid TLS engine "openssl": expected "deno" or "node"',
  );
  assertThrows(
    () =>
      reactor.listenSSL(0, f, {
        ...server,
        verify: true,
        caCerts: [clientCa],
        engine: "deno",
      }),
    TypeError,
    'verify: true needs engine "node"',
  );
  assertThrows(
    () =>
      reactor.connectSSL("127.0.0.1", 443, new ClientFactory(), {
        ...clientCert,
        engine: "deno",
      }),
    TypeError,
    'A client certificate needs engine "node"',
  );
  assertThrows(
    () =>
      reactor.connectSSL("127.0.0.1", 443, new ClientFactory(), {
        cert: clientCert.cert,
      }),
    TypeError,
    "needs both cert and key",
  );
});

/** Connects a peer that never says a word to a server with `tls`; how the server's protocol was lost. */
async function stalledHandshake(
  tls: typeof verifying | typeof server,
  peerSeesTheEnd: boolean,
): Promise<void> {
  const reactor = new Reactor();
  const serverFactory = quiet(new Factory());
  const made = Promise.withResolvers<void>();
  class Made extends ServerEcho {
    override connectionMade(): void {
      this.transport.write("queued until the handshake");
      made.resolve();
    }
  }
  const serverBuilt = firstBuilt(serverFactory, () => new Made());
  const port = reactor.listenSSL(0, serverFactory, {
    ...tls,
    handshakeTimeout: 0.2,
  }, { interface: "127.0.0.1" });
  // A peer that connects and never says a word.
  const raw = await Deno.connect({
    hostname: "127.0.0.1",
    port: port.getHost().port,
  });
  await withTimeout(made.promise, 10_000, "connectionMade");
  const serverSide = await serverBuilt;
  const reason = await withTimeout(serverSide.lost.promise, 10_000, "the drop");
  assert(reason.check(SSLError), `${reason}`);
  assertStringIncludes(reason.getErrorMessage(), "timed out after 0.2 seconds");
  if (peerSeesTheEnd) {
    // Nothing was sent in the clear: the peer sees the end of the stream.
    assertEquals(
      await withTimeout(raw.read(new Uint8Array(64)), 10_000, "the end"),
      null,
    );
  }
  raw.close();
  await port.stopListening();
}

Deno.test("TLS: the protocol is connected at accept; a stalled handshake is dropped after handshakeTimeout", async () => {
  // Deno.listenTls keeps the socket of a handshake that never ends until the
  // peer closes it (Deno 2.9.6): the protocol is lost, the socket lingers.
  await stalledHandshake(server, false);
  // A server on node:tls (verify) closes it.
  await stalledHandshake(verifying, true);
});

/** How a protocol that calls `startTLS(tls)` in `connectionMade` was lost. */
class StartingTLS extends Protocol {
  readonly lost = Promise.withResolvers<Failure>();
  constructor(readonly tls: TLSStartOptions) {
    super();
  }
  override connectionMade(): void {
    this.transport.startTLS!(this.tls);
  }
  override connectionLost(reason: Failure): void {
    this.lost.resolve(reason);
  }
}

function assertTimedOut(reason: Failure, peer: string): void {
  assert(reason.check(SSLError), `${reason}`);
  assertStringIncludes(reason.getErrorMessage(), "timed out after 0.2 seconds");
  assertStringIncludes(reason.getErrorMessage(), peer);
}

Deno.test("TLS: a startTLS server whose peer never sends a ClientHello is dropped after handshakeTimeout", async () => {
  const reactor = new Reactor();
  const factory = quiet(new Factory());
  const built = firstBuilt(
    factory,
    () => new StartingTLS({ server: true, ...server, handshakeTimeout: 0.2 }),
  );
  const port = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
  const raw = await Deno.connect({
    hostname: "127.0.0.1",
    port: port.getHost().port,
  });
  const reason = await withTimeout(
    (await built).lost.promise,
    10_000,
    "the drop",
  );
  assertTimedOut(reason, `${(raw.localAddr as Deno.NetAddr).port}`);
  // The server closed its socket: the peer sees the end of the stream.
  assertEquals(
    await withTimeout(raw.read(new Uint8Array(64)), 10_000, "the end"),
    null,
  );
  raw.close();
  await port.stopListening();
});

Deno.test("TLS: a startTLS client whose peer never answers is dropped after handshakeTimeout (with and without a client certificate)", async () => {
  for (
    const [tls, peerSeesTheEnd] of [
      // Deno.startTls keeps the socket of a handshake that never ends until
      // the peer closes it (Deno 2.9.6, as Deno.listenTls): the protocol is
      // lost, the socket lingers.
      [{ caCerts: [ca], hostname: "localhost", handshakeTimeout: 0.2 }, false],
      // With a client certificate the upgrade runs on node:tls, which closes it.
      [{
        server: false as const,
        caCerts: [ca],
        ...clientCert,
        handshakeTimeout: 0.2,
      }, true],
    ] as [TLSStartOptions, boolean][]
  ) {
    const reactor = new Reactor();
    // A peer that accepts and never says a word.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const accepted = listener.accept();
    const factory = quiet(new ClientFactory());
    const built = firstBuilt(factory, () => new StartingTLS(tls));
    reactor.connectTCP("127.0.0.1", listener.addr.port, factory);
    const peer = await accepted;
    const reason = await withTimeout(
      (await built).lost.promise,
      10_000,
      "the drop",
    );
    assertTimedOut(reason, `${listener.addr.port}`);
    if (peerSeesTheEnd) {
      assertEquals(
        await withTimeout(readToEnd(peer), 10_000, "the end"),
        true,
      );
    }
    peer.close();
    listener.close();
  }
});

/** Reads `conn` (the ClientHello) until its end; true once it ends. */
async function readToEnd(conn: Deno.Conn): Promise<boolean> {
  const buf = new Uint8Array(4096);
  try {
    while ((await conn.read(buf)) !== null) { /* the ClientHello */ }
  } catch {
    // A reset is an end too.
  }
  return true;
}

Deno.test("TLS: 300 stalled handshakes from one peer against LimitConnectionsByPeer leave at most the limit open", async () => {
  const reactor = new Reactor();
  const limited = new LimitConnectionsByPeer(
    quiet(Factory.forProtocol(Echo)),
    { maxConnectionsPerPeer: 5 },
  );
  limited.noisy = false;
  const gone = Promise.withResolvers<void>();
  const unregister = limited.unregisterProtocol.bind(limited);
  limited.unregisterProtocol = (p) => {
    unregister(p);
    if (!limited.peerConnections.has("127.0.0.1")) gone.resolve();
  };
  // On node:tls (verify), so that closing a socket in its handshake frees it.
  const port = reactor.listenSSL(0, limited, verifying, {
    interface: "127.0.0.1",
  });
  const conns: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 300; i++) {
      conns.push(
        await Deno.connect({
          hostname: "127.0.0.1",
          port: port.getHost().port,
        }),
      );
    }
    // The server closes every connection over the limit at accept: their
    // reads end, the five within it stay open (waiting for a handshake).
    const buf = new Uint8Array(16);
    const ended = await withTimeout(
      Promise.all(conns.slice(5).map((c) => c.read(buf).catch(() => null))),
      30_000,
      "the connections over the limit to be closed",
    );
    assert(ended.every((n) => n === null));
    assertEquals(limited.peerConnections.get("127.0.0.1"), 5);
  } finally {
    for (const c of conns) c.close();
  }
  // The five within the limit fail their handshake as their peers go.
  await withTimeout(gone.promise, 10_000, "the last connections to go");
  await port.stopListening();
});

Deno.test("TLS: startTLS with server: false presents a client certificate to a startTLS server that verifies it", async () => {
  const reactor = new Reactor();
  const seen = Promise.withResolvers<PeerCertificate | null>();
  class Upgrading extends LineReceiver {
    override lineReceived(line: Uint8Array): void {
      if (decode(line) === "STARTTLS") {
        this.sendLine("OK");
        this.transport.startTLS!({ server: true, ...verifying });
      } else {
        seen.resolve(this.transport.getPeerCertificate!());
        this.sendLine(`secure ${decode(line)}`);
      }
    }
  }
  const port = reactor.listenTCP(0, quiet(Factory.forProtocol(Upgrading)), {
    interface: "127.0.0.1",
  });
  const reply = Promise.withResolvers<string>();
  class UpgradingClient extends LineReceiver {
    override connectionMade(): void {
      this.sendLine("STARTTLS");
    }
    override lineReceived(line: Uint8Array): void {
      const text = decode(line);
      if (text === "OK") {
        this.transport.startTLS!({
          server: false,
          caCerts: [ca],
          hostname: "localhost",
          ...clientCert,
        });
        this.sendLine("hi");
      } else {
        reply.resolve(text);
        this.transport.loseConnection();
      }
    }
  }
  const factory = quiet(ClientFactory.forProtocol(UpgradingClient));
  const lost = Promise.withResolvers<void>();
  factory.clientConnectionLost = () => lost.resolve();
  reactor.connectTCP("127.0.0.1", port.getHost().port, factory);
  assertEquals(
    await withTimeout(reply.promise, 10_000, "the reply"),
    "secure hi",
  );
  assertEquals((await seen.promise)?.subject, "CN=Twist Test Client");
  await lost.promise;
  await port.stopListening();
});

Deno.test("TLS: after server-side startTLS a paused protocol stops the peer, and resuming delivers everything", async () => {
  const reactor = new Reactor();
  const paused = Promise.withResolvers<Protocol>();
  let received = 0;
  const all = Promise.withResolvers<void>();
  const TOTAL = 64 * 1024 * 1024;
  class Sink extends LineReceiver {
    override lineReceived(line: Uint8Array): void {
      if (decode(line) !== "STARTTLS") return;
      this.sendLine("OK");
      this.clearLineBuffer();
      this.setRawMode();
      this.transport.startTLS!({ server: true, ...server });
      this.transport.pauseProducing();
      paused.resolve(this);
    }
    override rawDataReceived(data: Uint8Array): void {
      received += data.length;
      if (received >= TOTAL) all.resolve();
    }
  }
  const port = reactor.listenTCP(0, quiet(Factory.forProtocol(Sink)), {
    interface: "127.0.0.1",
  });
  const raw = await Deno.connect({
    hostname: "127.0.0.1",
    port: port.getHost().port,
  });
  await raw.write(encode("STARTTLS\r\n"));
  const buf = new Uint8Array(16);
  await withTimeout(raw.read(buf), 10_000, "OK");
  const tls = await Deno.startTls(raw, {
    hostname: "localhost",
    caCerts: [ca],
  });
  const sink = await paused.promise;
  const rssBefore = Deno.memoryUsage().rss;
  // Write until a write stalls: the server stopped reading.
  const chunk = new Uint8Array(1024 * 1024);
  let sent = 0;
  const stalled = Symbol("stalled");
  let pending: Promise<number> | undefined;
  while (sent < TOTAL) {
    pending = tls.write(chunk);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      pending,
      new Promise<symbol>((r) => timer = setTimeout(() => r(stalled), 1000)),
    ]);
    clearTimeout(timer);
    if (outcome === stalled) break;
    sent += outcome as number;
    pending = undefined;
  }
  assert(
    sent < 16 * 1024 * 1024,
    `the peer sent ${sent} bytes to a paused protocol`,
  );
  assertEquals(received, 0);
  assert(
    Deno.memoryUsage().rss - rssBefore < 64 * 1024 * 1024,
    "the server's memory grew while paused",
  );
  // Resume: everything sent (and the rest) arrives.
  sink.transport!.resumeProducing();
  if (pending) sent += await pending;
  while (sent < TOTAL) {
    sent += await tls.write(
      chunk.subarray(0, Math.min(chunk.length, TOTAL - sent)),
    );
  }
  await withTimeout(all.promise, 30_000, "everything to arrive");
  assertEquals(received, TOTAL);
  tls.close();
  await port.stopListening();
});

Deno.test("TLS endpoints: certKey/privateKey on the client, caCerts on the server, and clear errors for bad files", async () => {
  const reactor = new Reactor();
  const serverFactory = quiet(new Factory());
  let peer: PeerCertificate | null = null;
  class Verified extends ServerEcho {
    override handshakeCompleted(): void {
      peer = this.transport.getPeerCertificate!();
      super.handshakeCompleted();
    }
  }
  const serverBuilt = firstBuilt(serverFactory, () => new Verified());
  const listening = await serverFromString(
    reactor,
    `ssl:0:privateKey=${DIR}/server.key:certKey=${DIR}/server.pem:interface=127.0.0.1:caCerts=${DIR}/client_ca.pem:handshakeTimeout=5`,
  ).listen(serverFactory).asPromise();
  const number = (listening.getHost() as IPv4Address).port;
  const endpoint = clientFromString(
    reactor,
    `ssl:127.0.0.1:${number}:caCerts=${DIR}/ca.pem:hostname=localhost:certKey=${DIR}/client.pem:privateKey=${DIR}/client.key`,
  );
  const client = new Client();
  const f = quiet(new ClientFactory());
  f.buildProtocol = () => client;
  await endpoint.connect(f).asPromise();
  client.transport.write("endpoint");
  await withTimeout(client.received(8), 10_000, "the echo");
  assertEquals(
    (peer as PeerCertificate | null)?.subject,
    "CN=Twist Test Client",
  );
  client.transport.loseConnection();
  await client.lost.promise;
  await (await serverBuilt).lost.promise;
  await listening.stopListening();

  const bad: [string, string][] = [
    [`ssl:h:1:certKey=/nonexistent/c.pem`, 'cannot read "/nonexistent/c.pem"'],
    [`ssl:h:1:privateKey=${DIR}/client.key`, "privateKey needs certKey"],
    [
      `ssl:h:1:certKey=${DIR}/client.pem:privateKey=${DIR}/client.pem`,
      "holds no PEM private key",
    ],
    [`ssl:h:1:caCertsDir=${DIR}/../../internet`, "holds no .pem or .crt"],
    [`tls:h:1:trustRoots=/nonexistent/dir`, 'cannot read "/nonexistent/dir"'],
    [`ssl:h:1:caCerts=${DIR}/README.md`, "holds no PEM data"],
    [`ssl:h:1:handshakeTimeout=0`, 'handshakeTimeout "0"'],
    [`ssl:h:1:engine=openssl`, 'engine "openssl" is not "deno" or "node"'],
  ];
  for (const [description, message] of bad) {
    const err = assertThrows(
      () => clientFromString(reactor, description),
      TypeError,
    );
    assertStringIncludes(err.message, message);
  }
  assertThrows(
    () =>
      serverFromString(
        reactor,
        `ssl:0:privateKey=${DIR}/server.key:certKey=${DIR}/server.pem:caCertsDir=/nonexistent`,
      ),
    TypeError,
    'cannot read "/nonexistent"',
  );
  assertThrows(
    () =>
      serverFromString(
        reactor,
        `ssl:0:privateKey=${DIR}/server.key:certKey=${DIR}/server.pem:engine=rustls`,
      ),
    TypeError,
    'engine "rustls" is not "deno" or "node"',
  );
  const nodeEngine = serverFromString(
    reactor,
    `ssl:0:privateKey=${DIR}/server.key:certKey=${DIR}/server.pem:engine=node`,
  ) as SSL4ServerEndpoint;
  assertEquals(nodeEngine.tls.engine, "node");
});

Deno.test("TLS: TimeoutFactory sees a connection in its handshake and drops it when it stalls", async () => {
  const reactor = new Reactor();
  const lost = Promise.withResolvers<Failure>();
  class Watched extends Echo {
    override connectionLost(reason: Failure): void {
      lost.resolve(reason);
    }
  }
  const timed = new TimeoutFactory(quiet(Factory.forProtocol(Watched)), {
    timeoutPeriod: 0.2,
  });
  timed.noisy = false;
  const port = reactor.listenSSL(0, timed, verifying, {
    interface: "127.0.0.1",
  });
  const raw = await Deno.connect({
    hostname: "127.0.0.1",
    port: port.getHost().port,
  });
  // The policy's timeout (not the 60-second handshake timeout) closes it.
  await withTimeout(lost.promise, 10_000, "the timeout");
  assertEquals(
    await withTimeout(raw.read(new Uint8Array(16)), 10_000, "the end"),
    null,
  );
  raw.close();
  await port.stopListening();
});

Deno.test("TLS: a policy's ProtocolWrapper passes handshakeCompleted and getPeerCertificate through", () => {
  let told = 0;
  class Inner extends Protocol {
    handshakeCompleted(): void {
      told++;
    }
  }
  const inner = new Inner();
  const wrapper = new ProtocolWrapper(
    new WrappingFactory(new Factory()),
    inner,
  );
  const certificate = { subject: "CN=x" } as PeerCertificate;
  const transport = new StringTransport() as StringTransport & {
    getPeerCertificate(): PeerCertificate | null;
  };
  transport.getPeerCertificate = () => certificate;
  wrapper.makeConnection(transport);
  wrapper.handshakeCompleted();
  assertEquals(told, 1);
  assertEquals(
    (inner.transport as { getPeerCertificate(): unknown })
      .getPeerCertificate(),
    certificate,
  );
});

Deno.test("TLS: a client with a certificate and a hostname still verifies that name and chain, and sees the server's certificate", async () => {
  const reactor = new Reactor();
  const port = reactor.listenSSL(0, quiet(Factory.forProtocol(Echo)), server, {
    interface: "127.0.0.1",
  });
  try {
    const attempt = async (
      hostname: string,
      caCerts: string[],
    ): Promise<PeerCertificate | Failure | null> => {
      const done = Promise.withResolvers<PeerCertificate | Failure | null>();
      class Seeing extends Protocol {
        override connectionMade(): void {
          done.resolve(this.transport.getPeerCertificate!());
          this.transport.loseConnection();
        }
      }
      const f = quiet(ClientFactory.forProtocol(Seeing));
      const lost = Promise.withResolvers<void>();
      f.clientConnectionLost = () => lost.resolve();
      f.clientConnectionFailed = (_c, reason) => {
        done.resolve(reason);
        lost.resolve();
      };
      reactor.connectSSL("127.0.0.1", port.getHost().port, f, {
        hostname,
        caCerts,
        ...clientCert,
      });
      const outcome = await withTimeout(done.promise, 10_000, "the attempt");
      await lost.promise;
      return outcome;
    };
    const seen = await attempt("localhost", [ca]);
    assertEquals((seen as PeerCertificate).subject, "CN=localhost");
    const wrongName = await attempt("evil.example", [ca]);
    assert((wrongName as Failure).check(SSLError), `${wrongName}`);
    assertStringIncludes(
      (wrongName as Failure).getErrorMessage(),
      "evil.example",
    );
    const wrongCa = await attempt("localhost", [namedCa]);
    assert((wrongCa as Failure).check(SSLError), `${wrongCa}`);
  } finally {
    await port.stopListening();
  }
});
