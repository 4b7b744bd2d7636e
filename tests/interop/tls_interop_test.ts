import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { decode, hasPythonTwisted, withTimeout } from "../_helpers.ts";
import { type RunningChild, spawn } from "../_processes.ts";
import { Reactor } from "../../src/internet/reactor.ts";
import {
  ClientFactory,
  Factory,
  Protocol,
} from "../../src/internet/protocol.ts";
import type {
  PeerCertificate,
  TLSClientOptions,
} from "../../src/internet/interfaces.ts";
import { SSLError } from "../../src/internet/error.ts";
import type { Failure } from "../../src/internet/failure.ts";

const PYTHON = "/usr/bin/python3";
const DIR = "tests/fixtures/tls";
const twisted = await hasPythonTwisted();
if (!twisted) {
  // deno-lint-ignore no-console
  console.log(
    "skipped: TLS interop tests need /usr/bin/python3 with Twisted (apt-get install python3-twisted)",
  );
}

/** Starts a Python Twisted TLS peer; returns it and the port it printed. */
async function startPeer(
  script: string,
  ...args: string[]
): Promise<{ peer: RunningChild; port: number }> {
  const peer = spawn(PYTHON, [`tests/interop/${script}`, ...args]);
  const out = await peer.waitForOutput(/port (\d+)\n/, 30_000);
  return { peer, port: Number(out.match(/port (\d+)/)![1]) };
}

/**
 * Connects with TLS to 127.0.0.1:`port` and writes `message`: the echo (once
 * the connection is closed again), or why the connection failed or was lost.
 */
async function echoOnce(
  port: number,
  message: string,
  tls: TLSClientOptions,
): Promise<string | Failure> {
  const reactor = new Reactor();
  const result = Promise.withResolvers<string | Failure>();
  const lost = Promise.withResolvers<void>();
  class Client extends Protocol {
    override connectionMade(): void {
      this.transport.write(message);
    }
    override dataReceived(data: Uint8Array): void {
      result.resolve(decode(data));
      this.transport.loseConnection();
    }
    override connectionLost(reason: Failure): void {
      result.resolve(reason); // refused after the handshake
      lost.resolve();
    }
  }
  const factory = ClientFactory.forProtocol(Client);
  factory.noisy = false;
  factory.clientConnectionFailed = (_c, reason) => result.resolve(reason);
  reactor.connectSSL("127.0.0.1", port, factory, tls);
  const outcome = await withTimeout(result.promise, 30_000, "the TLS echo");
  if (typeof outcome === "string") await lost.promise;
  return outcome;
}

/** Connects to a Twisted TLS echo server serving example.com's certificate. */
async function echoVerifying(hostname: string): Promise<string | Failure> {
  const { peer, port } = await startPeer(
    "tls_echo_server.py",
    `${DIR}/example.pem`,
    `${DIR}/example.key`,
  );
  await using _peer = peer;
  return await echoOnce(port, "verified by name", {
    hostname,
    caCerts: [Deno.readTextFileSync(`${DIR}/named_ca.pem`)],
  });
}

Deno.test({
  name:
    "interop: a Twist TLS client dials 127.0.0.1 and verifies example.com on a Twisted server",
  ignore: !twisted,
  async fn() {
    assertEquals(await echoVerifying("example.com"), "verified by name");
  },
});

Deno.test({
  name:
    "interop: a Twist TLS client refuses a Twisted server whose certificate does not match the name asked for",
  ignore: !twisted,
  async fn() {
    const reason = await echoVerifying("evil.example");
    assert(typeof reason !== "string" && reason.check(SSLError), `${reason}`);
    assertStringIncludes(reason.getErrorMessage(), "evil.example");
  },
});

/** Connects to Twisted's client-authenticating echo server with `tls`; what came back, or why it failed. */
async function echoToClientAuthServer(
  tls: { cert?: string; key?: string },
): Promise<{ outcome: string | Failure; server: string }> {
  const { peer, port } = await startPeer(
    "tls_clientauth_server.py",
    `${DIR}/server.pem`,
    `${DIR}/server.key`,
    `${DIR}/client_ca.pem`,
  );
  await using server = peer;
  const outcome = await echoOnce(port, "with my certificate", {
    caCerts: [Deno.readTextFileSync(`${DIR}/ca.pem`)],
    ...tls,
  });
  const said = await server.waitForOutput(/lost [^\n]*\n/, 30_000);
  return { outcome, server: said };
}

Deno.test({
  name:
    "interop: a Twist TLS client presents its certificate to a Twisted server that requires one",
  ignore: !twisted,
  async fn() {
    const { outcome, server } = await echoToClientAuthServer({
      cert: Deno.readTextFileSync(`${DIR}/client.pem`),
      key: Deno.readTextFileSync(`${DIR}/client.key`),
    });
    assertEquals(outcome, "with my certificate");
    assertStringIncludes(server, "client Twist Test Client");
  },
});

Deno.test({
  name:
    "interop: a Twisted server that requires a client certificate refuses a Twist client without one",
  ignore: !twisted,
  async fn() {
    const { outcome } = await echoToClientAuthServer({});
    assert(typeof outcome !== "string", `echoed: ${outcome}`);
  },
});

/** Runs Twisted's client against a Twist server that verifies client certificates. */
async function twistedClientOf(
  args: string[],
): Promise<{ said: string; peer: PeerCertificate | null | undefined }> {
  const reactor = new Reactor();
  let peer: PeerCertificate | null | undefined;
  const served = Promise.withResolvers<void>();
  class Echo extends Protocol {
    override dataReceived(data: Uint8Array): void {
      peer = this.transport.getPeerCertificate!();
      this.transport.write(data);
    }
    override connectionLost(): void {
      served.resolve();
    }
  }
  const factory = Factory.forProtocol(Echo);
  factory.noisy = false;
  const port = reactor.listenSSL(0, factory, {
    cert: Deno.readTextFileSync(`${DIR}/server.pem`),
    key: Deno.readTextFileSync(`${DIR}/server.key`),
    verify: true,
    caCerts: [Deno.readTextFileSync(`${DIR}/client_ca.pem`)],
    requireCertificate: true,
  }, { interface: "127.0.0.1" });
  try {
    await using client = spawn(PYTHON, [
      "tests/interop/tls_clientauth_client.py",
      String(port.getHost().port),
      `${DIR}/ca.pem`,
      ...args,
    ]);
    const said = await client.waitForOutput(/(echo|failed)[^\n]*\n/, 30_000);
    await withTimeout(served.promise, 30_000, "the server connection to end");
    return { said, peer };
  } finally {
    await port.stopListening();
  }
}

Deno.test({
  name:
    "interop: a Twist server that verifies clients accepts Twisted's client with a good certificate and shows it to the protocol",
  ignore: !twisted,
  async fn() {
    const { said, peer } = await twistedClientOf([
      `${DIR}/client.pem`,
      `${DIR}/client.key`,
    ]);
    assertStringIncludes(said, "echo hello");
    assertEquals(peer?.subject, "CN=Twist Test Client");
    assertEquals(peer?.issuer, "CN=Twist Client Test CA");
  },
});

Deno.test({
  name:
    "interop: a Twist server that verifies clients refuses Twisted's client without a certificate, and with one from another authority",
  ignore: !twisted,
  async fn() {
    const none = await twistedClientOf([]);
    assertStringIncludes(none.said, "failed");
    const stranger = await twistedClientOf([
      `${DIR}/stranger.pem`,
      `${DIR}/stranger.key`,
    ]);
    assertStringIncludes(stranger.said, "failed");
    assertEquals(stranger.peer, undefined); // Its protocol never got data.
  },
});
