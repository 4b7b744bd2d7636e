// The PROXY protocol with real senders: curl --haproxy-protocol (version 1)
// and HAProxy itself (send-proxy, send-proxy-v2) in front of a Twist server
// that answers with the client address it sees. `.ci/run` installs both
// (Debian's curl and haproxy); without them these tests are skipped.
import { assert, assertEquals } from "@std/assert";
import "../../src/protocols/haproxy.ts";
import { serverFromString } from "../../src/internet/endpoints.ts";
import { Reactor } from "../../src/internet/reactor.ts";
import { Factory, Protocol } from "../../src/internet/protocol.ts";
import type { IPv4Address, IPv6Address } from "../../src/internet/address.ts";
import type { IListeningPort } from "../../src/internet/interfaces.ts";
import { decode, encode, withTimeout } from "../_helpers.ts";
import { freePort, spawn, waitForListening } from "../_processes.ts";

const CURL = "/usr/bin/curl";
const HAPROXY = "/usr/sbin/haproxy";

/** What `program args` prints, or `undefined` if it cannot run or fails. */
async function output(
  program: string,
  args: string[],
): Promise<string | undefined> {
  try {
    const { success, stdout } = await new Deno.Command(program, {
      args,
      stdout: "piped",
      stderr: "null",
    }).output();
    return success ? decode(stdout) : undefined;
  } catch {
    return undefined; // not installed, or not allowed to run
  }
}

const curl =
  (await output(CURL, ["--help", "all"]))?.includes("--haproxy-protocol") ??
    false;
const haproxy = (await output(HAPROXY, ["-v"])) !== undefined;
if (!curl) {
  // deno-lint-ignore no-console
  console.log(
    "skipped: the curl PROXY protocol test needs /usr/bin/curl with --haproxy-protocol (apt-get install curl)",
  );
}
if (!haproxy) {
  // deno-lint-ignore no-console
  console.log(
    "skipped: the HAProxy interop tests need /usr/sbin/haproxy (apt-get install haproxy)",
  );
}

/** An HTTP/1.0 server that answers every request with `PEER_HOST PEER_PORT HOST_HOST HOST_PORT`. */
class WhoAmI extends Protocol {
  #request = "";
  override connectionMade(): void {
    live.count++;
  }
  override dataReceived(data: Uint8Array): void {
    this.#request += decode(data);
    if (!this.#request.includes("\r\n\r\n")) return;
    const peer = this.transport.getPeer() as IPv4Address | IPv6Address;
    const host = this.transport.getHost() as IPv4Address | IPv6Address;
    this.transport.write(
      "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n" +
        `${peer.host} ${peer.port} ${host.host} ${host.port}\n`,
    );
    this.transport.loseConnection();
  }
  override connectionLost(): void {
    if (--live.count === 0) live.idle?.();
  }
}
const live: { count: number; idle?: () => void } = { count: 0 };

/** Runs `test` with a Twist WhoAmI server listening on `description`. */
async function withServer(
  description: string,
  test: (port: number) => Promise<void>,
): Promise<void> {
  const reactor = new Reactor();
  const factory = Factory.forProtocol(WhoAmI);
  factory.noisy = false;
  const port: IListeningPort = await serverFromString(reactor, description)
    .listen(factory);
  try {
    await test((port.getHost() as IPv4Address).port);
  } finally {
    // Let the last connections finish closing (the sanitizers check).
    if (live.count > 0) {
      const idle = new Promise<void>((r) => (live.idle = r));
      await withTimeout(idle, 10_000, "the server's connections to close");
    }
    await port.stopListening();
  }
}

/** Sends a request to `hostname:port`; returns the reply's body and this side's port. */
async function ask(
  hostname: string,
  port: number,
): Promise<{ body: string; localPort: number }> {
  const conn = await Deno.connect({ hostname, port });
  try {
    await conn.write(encode("GET / HTTP/1.0\r\n\r\n"));
    let reply = "";
    const buf = new Uint8Array(4096);
    for (;;) {
      const n = await withTimeout(conn.read(buf), 10_000, "the reply");
      if (n === null) break;
      reply += decode(buf.subarray(0, n));
    }
    return {
      body: reply.slice(reply.indexOf("\r\n\r\n") + 4),
      localPort: (conn.localAddr as Deno.NetAddr).port,
    };
  } finally {
    conn.close();
  }
}

Deno.test({
  name:
    "interop: curl --haproxy-protocol reaches a haproxy: server, which sees the addresses of its header",
  ignore: !curl,
  async fn() {
    for (
      const [description, host, url] of [
        ["haproxy:tcp:0:interface=127.0.0.1", "127.0.0.1", "127.0.0.1"],
        ["haproxy:tcp6:0:interface=\\:\\:1", "::1", "[::1]"],
      ]
    ) {
      await withServer(description, async (port) => {
        await using child = spawn(CURL, [
          "--silent",
          "--show-error",
          "--max-time",
          "10",
          "--haproxy-protocol",
          "--write-out",
          "%{local_port}",
          `http://${url}:${port}/`,
        ]);
        const status = await child.wait();
        assertEquals(status.code, 0, child.stderr());
        // curl's header names its own address and port, and the server's.
        const [body, curlPort] = child.stdout().split("\n");
        assertEquals(body, `${host} ${curlPort} ${host} ${port}`);
        assert(Number(curlPort) > 0);
      });
    }
  },
});

Deno.test({
  name:
    "interop: behind HAProxy (send-proxy and send-proxy-v2, IPv4 and IPv6), the server sees the client's address, not the proxy's",
  ignore: !haproxy,
  async fn() {
    await withServer("haproxy:tcp:0:interface=127.0.0.1", async (server) => {
      const frontends = [
        { name: "v1_4", bind: "127.0.0.1", send: "send-proxy" },
        { name: "v2_4", bind: "127.0.0.1", send: "send-proxy-v2" },
        { name: "v1_6", bind: "::1", send: "send-proxy" },
        { name: "v2_6", bind: "::1", send: "send-proxy-v2" },
      ].map((f) => ({ ...f, port: freePort(f.bind) }));
      const config = [
        "global",
        "  nbthread 1",
        "defaults",
        "  mode tcp",
        "  timeout connect 5s",
        "  timeout client 10s",
        "  timeout server 10s",
        ...frontends.flatMap((f) => [
          `frontend fe_${f.name}`,
          `  bind ${f.bind.includes(":") ? `[${f.bind}]` : f.bind}:${f.port}`,
          `  default_backend be_${f.name}`,
          `backend be_${f.name}`,
          `  server twist 127.0.0.1:${server} ${f.send}`,
        ]),
        "",
      ].join("\n");
      Deno.mkdirSync("/tmp/twist-tests", { recursive: true });
      const file = `/tmp/twist-tests/haproxy-${server}.cfg`;
      Deno.writeTextFileSync(file, config);
      try {
        await using _proxy = spawn(HAPROXY, ["-db", "-f", file]);
        for (const f of frontends) {
          await waitForListening(f.bind, f.port);
          const answer = await ask(f.bind, f.port);
          // The client's own port (HAProxy connects to Twist from another).
          assertEquals(
            answer.body,
            `${f.bind} ${answer.localPort} ${f.bind} ${f.port}\n`,
            `${f.send} over ${f.bind}`,
          );
        }
      } finally {
        Deno.removeSync(file);
      }
    });
  },
});
