/**
 * TLS hardening against Python Twisted peers that misbehave (issue 15):
 * handshakes that never start or never finish, many of them from one peer,
 * and a peer that floods a paused protocol after STARTTLS.
 */
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
  TLSClientOptions,
  TLSServerOptions,
} from "../../src/internet/interfaces.ts";
import { SSLError } from "../../src/internet/error.ts";
import type { Failure } from "../../src/internet/failure.ts";
import { tlsServerOptionsFromFiles } from "../../src/internet/tls.ts";
import { LineReceiver } from "../../src/protocols/basic.ts";
import { LimitConnectionsByPeer } from "../../src/protocols/policies.ts";

const PYTHON = "/usr/bin/python3";
const DIR = "tests/fixtures/tls";
const twisted = await hasPythonTwisted();
if (!twisted) {
  // deno-lint-ignore no-console
  console.log(
    "skipped: TLS hardening interop tests need /usr/bin/python3 with Twisted (apt-get install python3-twisted)",
  );
}
const server = tlsServerOptionsFromFiles(
  `${DIR}/server.pem`,
  `${DIR}/server.key`,
);
/** A server that verifies client certificates (when they are given). */
const verifying: TLSServerOptions = {
  ...server,
  verify: true,
  requireCertificate: false,
  caCerts: [Deno.readTextFileSync(`${DIR}/client_ca.pem`)],
};
const ca = Deno.readTextFileSync(`${DIR}/ca.pem`);
const clientCert = {
  cert: Deno.readTextFileSync(`${DIR}/client.pem`),
  key: Deno.readTextFileSync(`${DIR}/client.key`),
};

function peer(...args: string[]): RunningChild {
  return spawn(PYTHON, ["tests/interop/tls_hostile_peer.py", ...args]);
}

function quiet<F extends { noisy: boolean }>(f: F): F {
  f.noisy = false;
  return f;
}

/** A server protocol that records how it was lost. */
class Watched extends Protocol {
  static lost: Array<PromiseWithResolvers<Failure>> = [];
  readonly lost = Promise.withResolvers<Failure>();
  override connectionMade(): void {
    Watched.lost.push(this.lost);
  }
  override connectionLost(reason: Failure): void {
    this.lost.resolve(reason);
  }
}

/**
 * A Twisted client connects to a Twist TLS server and never says a word: the
 * server drops it after `handshakeTimeout`, and the peer sees its socket closed.
 */
async function stalledClient(
  tls: TLSServerOptions,
  socketClosed: boolean,
): Promise<void> {
  const reactor = new Reactor();
  Watched.lost = [];
  const port = reactor.listenSSL(
    0,
    quiet(Factory.forProtocol(Watched)),
    { ...tls, handshakeTimeout: 0.5 },
    { interface: "127.0.0.1" },
  );
  try {
    await using client = peer(
      "stall-clients",
      String(port.getHost().port),
      "1",
    );
    await client.waitForOutput("connected 1", 30_000);
    if (socketClosed) {
      const started = performance.now();
      const said = await client.waitForOutput("closed 1 open 0", 30_000);
      const took = (performance.now() - started) / 1000;
      assert(took < 10, `closed after ${took} s: ${said}`);
    }
    const reason = await withTimeout(
      Watched.lost[0].promise,
      10_000,
      "the server protocol to be lost",
    );
    assert(reason.check(SSLError), `${reason}`);
    assertStringIncludes(
      reason.getErrorMessage(),
      "timed out after 0.5 seconds",
    );
  } finally {
    await port.stopListening();
  }
}

Deno.test({
  name:
    "interop: a Twisted client that never starts its handshake loses its Twist TLS protocol after handshakeTimeout",
  ignore: !twisted,
  async fn() {
    // Deno's engine (Deno 2.9) keeps the socket until the peer closes it.
    await stalledClient(server, false);
  },
});

Deno.test({
  name:
    "interop: on the node engine (and with verify), a Twisted client that never starts its handshake has its socket closed after handshakeTimeout",
  ignore: !twisted,
  async fn() {
    await stalledClient({ ...server, engine: "node" }, true);
    await stalledClient(verifying, true);
  },
});

/**
 * A Twist TLS client dials a Twisted server that accepts and never answers:
 * the connect fails after `handshakeTimeout` and the server sees the socket
 * closed.
 */
async function silentServer(
  tls: TLSClientOptions,
  socketClosed: boolean,
): Promise<void> {
  await using silent = peer("silent-server");
  const out = await silent.waitForOutput(/port (\d+)\n/, 30_000);
  const number = Number(out.match(/port (\d+)/)![1]);
  const reactor = new Reactor();
  const failed = Promise.withResolvers<Failure>();
  const factory = quiet(ClientFactory.forProtocol(Protocol));
  factory.clientConnectionFailed = (_c, reason) => failed.resolve(reason);
  reactor.connectSSL("127.0.0.1", number, factory, {
    ...tls,
    handshakeTimeout: 0.5,
  });
  const reason = await withTimeout(
    failed.promise,
    10_000,
    "the connect to fail",
  );
  assert(reason.check(SSLError), `${reason}`);
  assertStringIncludes(reason.getErrorMessage(), "timed out after 0.5 seconds");
  if (socketClosed) await silent.waitForOutput("closed 1", 10_000);
}

Deno.test({
  name:
    "interop: a Twist TLS client gives up on a Twisted server that never answers its handshake after handshakeTimeout",
  ignore: !twisted,
  async fn() {
    // Deno's engine (Deno 2.9) keeps the socket until the server closes it.
    await silentServer({ caCerts: [ca], hostname: "localhost" }, false);
  },
});

Deno.test({
  name:
    "interop: on the node engine (and with a client certificate), a Twist TLS client that gives up on a silent Twisted server closes its socket",
  ignore: !twisted,
  async fn() {
    const options = { caCerts: [ca], hostname: "localhost" };
    await silentServer({ ...options, engine: "node" }, true);
    await silentServer({ ...options, ...clientCert }, true);
  },
});

/**
 * 300 silent connections from one Twisted peer against a Twist TLS server
 * wrapped in LimitConnectionsByPeer(5): all but 5 are closed at once; the 5
 * are closed by the handshake timeout.
 */
async function stalledHorde(
  tls: TLSServerOptions,
  socketsClosed: boolean,
): Promise<void> {
  const reactor = new Reactor();
  const limited = quiet(
    new LimitConnectionsByPeer(quiet(Factory.forProtocol(Protocol)), {
      maxConnectionsPerPeer: 5,
    }),
  );
  const port = reactor.listenSSL(
    0,
    limited,
    { ...tls, handshakeTimeout: 2 },
    { interface: "127.0.0.1" },
  );
  // Watches the policy: how many connections it counted at most, and when
  // all 300 have been seen and none is counted any more.
  const counted = (): number => limited.peerConnections.get("127.0.0.1") ?? 0;
  let built = 0;
  let most = 0;
  const allGone = Promise.withResolvers<void>();
  const build = limited.buildProtocol.bind(limited);
  limited.buildProtocol = (addr) => {
    const p = build(addr);
    built++;
    most = Math.max(most, counted());
    if (built === 300 && counted() === 0) allGone.resolve();
    return p;
  };
  const unregister = limited.unregisterProtocol.bind(limited);
  limited.unregisterProtocol = (p) => {
    unregister(p);
    if (built === 300 && counted() === 0) allGone.resolve();
  };
  try {
    await using horde = peer(
      "stall-clients",
      String(port.getHost().port),
      "300",
    );
    await horde.waitForOutput("connected 300", 30_000);
    if (socketsClosed) {
      // Everything over the limit is closed at accept, long before the
      // timeout.
      await horde.waitForOutput("closed 295 open 5", 30_000);
      // The five within the limit go when their handshakes time out.
      await horde.waitForOutput("closed 300 open 0", 30_000);
    }
    // On Deno's engine the protocols go too (at accept, or at the timeout),
    // but the sockets stay until the peer closes them.
    await withTimeout(allGone.promise, 30_000, "every protocol to go");
    assert(most <= 5, `${most} connections counted at once`);
    assertEquals(counted(), 0);
  } finally {
    await port.stopListening();
  }
}

Deno.test({
  name:
    "interop: 300 stalled handshakes from one Twisted peer on the node engine against LimitConnectionsByPeer leave at most the limit open",
  ignore: !twisted,
  async fn() {
    await stalledHorde({ ...server, engine: "node" }, true);
  },
});

Deno.test({
  name:
    "interop: 300 stalled handshakes from one Twisted peer against LimitConnectionsByPeer: at most the limit of protocols, none after the timeout",
  ignore: !twisted,
  async fn() {
    await stalledHorde(server, false);
  },
});

Deno.test({
  name:
    "interop: a Twisted peer flooding 1 GiB after STARTTLS into a paused Twist protocol keeps the server's memory flat; resuming delivers it all",
  ignore: !twisted,
  async fn() {
    const TOTAL_MIB = 1024;
    const reactor = new Reactor();
    const paused = Promise.withResolvers<Protocol>();
    const all = Promise.withResolvers<void>();
    const lost = Promise.withResolvers<void>();
    let received = 0;
    class Sink extends LineReceiver {
      override lineReceived(line: Uint8Array): void {
        if (decode(line) !== "STARTTLS") return;
        this.sendLine("OK");
        this.setRawMode();
        this.transport.startTLS!({ server: true, ...server });
        this.transport.pauseProducing();
        paused.resolve(this);
      }
      override rawDataReceived(data: Uint8Array): void {
        received += data.length;
        if (received === TOTAL_MIB * 1024 * 1024) {
          all.resolve();
          this.transport.loseConnection();
        }
      }
      override connectionLost(): void {
        lost.resolve();
      }
    }
    const port = reactor.listenTCP(0, quiet(Factory.forProtocol(Sink)), {
      interface: "127.0.0.1",
    });
    try {
      await using flood = peer(
        "starttls-flood",
        String(port.getHost().port),
        `${DIR}/ca.pem`,
        String(TOTAL_MIB),
      );
      const sink = await withTimeout(paused.promise, 30_000, "STARTTLS");
      const rssBefore = Deno.memoryUsage().rss;
      const said = await flood.waitForOutput(/stalled (\d+)/, 60_000);
      const offered = Number(said.match(/stalled (\d+)/)![1]);
      const grown = Deno.memoryUsage().rss - rssBefore;
      assert(
        offered < 64 * 1024 * 1024,
        `the peer handed over ${offered} bytes to a paused protocol`,
      );
      assertEquals(received, 0);
      assert(
        grown < 64 * 1024 * 1024,
        `the server's memory grew by ${grown} bytes while paused`,
      );
      sink.transport!.resumeProducing();
      await withTimeout(all.promise, 120_000, "the whole GiB to arrive");
      assertEquals(received, TOTAL_MIB * 1024 * 1024);
      assert(
        Deno.memoryUsage().rss - rssBefore < 256 * 1024 * 1024,
        "the server's memory grew without bound while receiving",
      );
      await withTimeout(lost.promise, 10_000, "the connection to close");
    } finally {
      await port.stopListening();
    }
  },
});
