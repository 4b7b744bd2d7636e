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
import { LineReceiver } from "../../src/protocols/basic.ts";
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

Deno.test("TLS: echo over listenSSL/connectSSL with a private CA", async () => {
  const reactor = new Reactor();
  const port = reactor.listenSSL(0, quiet(Factory.forProtocol(Echo)), server, {
    interface: "127.0.0.1",
  });
  const factory = quiet(new ClientFactory());
  const built = firstBuilt(factory, () => new Client());
  reactor.connectSSL("127.0.0.1", port.getHost().port, factory, {
    caCerts: [ca],
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
});

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
      // A moment later a read is pending: upgrading then is refused.
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
  assertStringIncludes(
    (await early.promise).message,
    "while a read is pending",
  );
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
  tls: { hostname?: string; caCerts?: string[] },
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
  assertEquals(
    await connectVerifying(example, {
      hostname: "example.com",
      caCerts: [namedCa],
    }),
    null,
  );
});

Deno.test("TLS: a hostname the certificate does not match fails, even when the dialled address matches", async () => {
  // server.pem is valid for 127.0.0.1: the name asked for must be the one checked.
  const reason = await connectVerifying(server, {
    hostname: "evil.example",
    caCerts: [ca],
  });
  assert(reason !== null && reason.check(SSLError), `${reason}`);
  assertStringIncludes(reason.getErrorMessage(), "evil.example");
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
