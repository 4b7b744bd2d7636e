import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { decode, hasPythonTwisted, withTimeout } from "../_helpers.ts";
import { spawn } from "../_processes.ts";
import { Reactor } from "../../src/internet/reactor.ts";
import { ClientFactory, Protocol } from "../../src/internet/protocol.ts";
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

/** Connects to a Twisted TLS echo server serving example.com's certificate. */
async function echoVerifying(hostname: string): Promise<string | Failure> {
  await using server = spawn(PYTHON, [
    "tests/interop/tls_echo_server.py",
    `${DIR}/example.pem`,
    `${DIR}/example.key`,
  ]);
  const out = await server.waitForOutput(/port (\d+)\n/, 30_000);
  const port = Number(out.match(/port (\d+)/)![1]);
  const reactor = new Reactor();
  const result = Promise.withResolvers<string | Failure>();
  class Client extends Protocol {
    override connectionMade(): void {
      this.transport.write("verified by name");
    }
    override dataReceived(data: Uint8Array): void {
      result.resolve(decode(data));
      this.transport.loseConnection();
    }
  }
  const lost = Promise.withResolvers<void>();
  const factory = ClientFactory.forProtocol(Client);
  factory.noisy = false;
  factory.clientConnectionFailed = (_c, reason) => result.resolve(reason);
  factory.clientConnectionLost = () => lost.resolve();
  reactor.connectSSL("127.0.0.1", port, factory, {
    hostname,
    caCerts: [Deno.readTextFileSync(`${DIR}/named_ca.pem`)],
  });
  const outcome = await withTimeout(result.promise, 30_000, "the TLS echo");
  if (typeof outcome === "string") await lost.promise;
  return outcome;
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
