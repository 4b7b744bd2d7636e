/**
 * The `node:net` backend of the TCP transport (src/internet/stream/node_conn.ts):
 * what differs from the `Deno.Conn` one. The rest of the TCP and TLS tests
 * run on both backends (`.ci/run` runs them again with
 * `TWIST_STREAM_BACKEND=node`).
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import { Reactor } from "../../src/internet/reactor.ts";
import {
  ClientFactory,
  Factory,
  Protocol,
} from "../../src/internet/protocol.ts";
import type { Failure } from "../../src/internet/failure.ts";
import type { IPv4Address } from "../../src/internet/address.ts";
import {
  CannotListenError,
  ConnectionRefusedError,
} from "../../src/internet/error.ts";
import { setStreamBackend } from "../../src/internet/stream/backend.ts";
import { resetTcpWrapCache } from "../../src/internet/stream/node_conn.ts";
import { log } from "../../src/logger.ts";
import {
  clientFromString,
  serverFromString,
} from "../../src/internet/endpoints.ts";
import { decode, DENO, denoFlags, encode, withTimeout } from "../_helpers.ts";

/** Counts calls of `Deno.listen` until disposed (which puts it back). */
function spyOnDenoListen(): Disposable & { readonly calls: number } {
  const listen = Deno.listen;
  const spy = {
    calls: 0,
    [Symbol.dispose]() {
      Object.defineProperty(Deno, "listen", { value: listen });
    },
  };
  Object.defineProperty(Deno, "listen", {
    value: (options: Deno.TcpListenOptions) => {
      spy.calls++;
      return listen(options);
    },
    configurable: true,
  });
  return spy;
}

/** Runs `f` with `backend` chosen for the ports it makes. */
async function withBackend(
  backend: "deno" | "node",
  f: () => Promise<void>,
): Promise<void> {
  setStreamBackend(backend);
  try {
    await f();
  } finally {
    setStreamBackend(undefined);
  }
}

/** Lets the event loop run `turns` times (timers and I/O), without waiting on time. */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 0));
}

/** A server protocol that records what it is given and can be paused. */
class Recorder extends Protocol {
  chunks: Uint8Array[] = [];
  received = 0;
  #waiters: { bytes: number; resolve: () => void }[] = [];
  override dataReceived(data: Uint8Array): void {
    this.chunks.push(data);
    this.received += data.length;
    this.#waiters = this.#waiters.filter((w) => {
      if (this.received < w.bytes) return true;
      w.resolve();
      return false;
    });
  }
  /** Resolves once `bytes` bytes in all have been received. */
  receivedAtLeast(bytes: number): Promise<void> {
    if (this.received >= bytes) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#waiters.push({ bytes, resolve });
    return promise;
  }
}

async function serve(): Promise<{
  reactor: Reactor;
  port: ReturnType<Reactor["listenTCP"]>;
  server: Promise<Recorder>;
  client: Deno.TcpConn;
}> {
  const reactor = new Reactor();
  const server = Promise.withResolvers<Recorder>();
  const factory = new Factory();
  factory.buildProtocol = () => {
    const p = new Recorder();
    server.resolve(p);
    return p;
  };
  const port = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
  const client = await Deno.connect({
    hostname: "127.0.0.1",
    port: (port.getHost() as IPv4Address).port,
  });
  return { reactor, port, server: server.promise, client };
}

for (const backend of ["node", "deno"] as const) {
  Deno.test(`TCP (${backend}): data that arrives while paused is delivered on resumeProducing, with nothing more from the peer`, async () => {
    await withBackend(backend, async () => {
      const { port, server, client } = await serve();
      await client.write(encode("first"));
      const p = await server;
      await withTimeout(p.receivedAtLeast(5), 5000, "the first chunk");
      p.transport!.pauseProducing();
      // Small, then more than the socket's own buffers hold.
      await client.write(encode("second"));
      const big = new Uint8Array(1024 * 1024).fill(7);
      const writing = (async () => {
        for (let at = 0; at < big.length;) {
          at += await client.write(big.subarray(at));
        }
      })();
      await turns(20);
      assertEquals(p.received, 5, "nothing is delivered while paused");
      p.transport!.resumeProducing();
      await withTimeout(
        p.receivedAtLeast(5 + 6 + big.length),
        5000,
        "what was sent while paused",
      );
      await writing;
      // The peer sent nothing after the resume, and everything came.
      assertEquals(p.received, 11 + big.length);
      client.close();
      await port.stopListening();
      p.transport!.abortConnection();
      await turns(2);
    });
  });
}

Deno.test("TCP (node): each chunk is a plain Uint8Array that later reads never overwrite", async () => {
  await withBackend("node", async () => {
    const { port, server, client } = await serve();
    const total = 4 * 1024 * 1024;
    const data = new Uint8Array(total);
    for (let i = 0; i < total; i++) data[i] = (i * 31 + (i >> 12)) & 0xff;
    const writing = (async () => {
      for (let at = 0; at < total;) {
        at += await client.write(data.subarray(at, at + 1000));
      }
    })();
    const p = await server;
    await withTimeout(p.receivedAtLeast(total), 10_000, "4 MiB");
    await writing;
    let at = 0;
    for (const chunk of p.chunks) {
      assertEquals(Object.getPrototypeOf(chunk), Uint8Array.prototype);
      assertEquals(chunk, data.subarray(at, at + chunk.length));
      at += chunk.length;
    }
    assertEquals(at, total);
    client.close();
    await port.stopListening();
    p.transport!.abortConnection();
    await turns(2);
  });
});

Deno.test("TCP (node): a peer's half-close reaches readConnectionLost and the reply still goes out", async () => {
  await withBackend("node", async () => {
    const reactor = new Reactor();
    const lost = Promise.withResolvers<string>();
    class HalfClose extends Protocol {
      got = "";
      override dataReceived(data: Uint8Array): void {
        this.got += decode(data);
      }
      readConnectionLost(): void {
        this.transport!.write(`got ${this.got}`);
        this.transport!.loseWriteConnection();
      }
      override connectionLost(reason: { type: unknown }): void {
        lost.resolve(String((reason.type as { name: string }).name));
      }
    }
    const port = reactor.listenTCP(0, Factory.forProtocol(HalfClose), {
      interface: "127.0.0.1",
    });
    const client = await Deno.connect({
      hostname: "127.0.0.1",
      port: (port.getHost() as IPv4Address).port,
    });
    await client.write(encode("abc"));
    await client.closeWrite();
    const buf = new Uint8Array(64);
    let reply = "";
    for (;;) {
      const n = await withTimeout(client.read(buf), 5000, "the reply");
      if (n === null) break;
      reply += decode(buf.subarray(0, n));
    }
    assertEquals(reply, "got abc");
    assertEquals(
      await withTimeout(lost.promise, 5000, "connectionLost"),
      "ConnectionDone",
    );
    client.close();
    await port.stopListening();
  });
});

Deno.test("TCP (node): listenTCP binds at once (an address in use is a CannotListenError) and passes the backlog", async () => {
  await withBackend("node", async () => {
    const tcpWrap = (process as unknown as {
      binding(name: string): {
        TCP: { prototype: { listen(backlog: number): number } };
      };
    }).binding("tcp_wrap");
    const listen = tcpWrap.TCP.prototype.listen;
    const backlogs: number[] = [];
    tcpWrap.TCP.prototype.listen = function (backlog: number) {
      backlogs.push(backlog);
      return listen.call(this, backlog);
    };
    const reactor = new Reactor();
    const factory = Factory.forProtocol(Protocol);
    const ports = [];
    try {
      ports.push(
        reactor.listenTCP(0, factory, { interface: "127.0.0.1", backlog: 7 }),
        reactor.listenTCP(0, factory, { interface: "127.0.0.1" }),
      );
    } finally {
      tcpWrap.TCP.prototype.listen = listen;
    }
    assertEquals(backlogs.slice(0, 1), [7]);
    assert(backlogs.includes(511), `default backlog: ${backlogs}`);
    const taken = (ports[0].getHost() as IPv4Address).port;
    assert(taken > 0);
    const error = assertThrows(
      () => reactor.listenTCP(taken, factory, { interface: "127.0.0.1" }),
      CannotListenError,
    );
    assert(error.message.includes("address in use"), error.message);
    for (const port of ports) await port.stopListening();
  });
});

Deno.test("TCP: TWIST_STREAM_BACKEND picks the sockets; a host name or reusePort keeps Deno.listen", async () => {
  using spy = spyOnDenoListen();
  const reactor = new Reactor();
  const factory = Factory.forProtocol(Protocol);
  const counts: Record<string, number> = {};
  try {
    for (
      const [backend, iface] of [
        ["node", "127.0.0.1"],
        ["node", "::1"],
        ["node", "localhost"],
        ["deno", "127.0.0.1"],
      ] as const
    ) {
      setStreamBackend(backend);
      const before = spy.calls;
      const port = reactor.listenTCP(0, factory, { interface: iface });
      counts[`${backend} ${iface}`] = spy.calls - before;
      await port.stopListening();
    }
  } finally {
    setStreamBackend(undefined);
  }
  assertEquals(counts, {
    "node 127.0.0.1": 0,
    "node ::1": 0,
    "node localhost": 1,
    "deno 127.0.0.1": 1,
  });
});

Deno.test("TCP: the backend option (and backend= in endpoint strings) picks the sockets over the default; a bad value is a clear error", async () => {
  using spy = spyOnDenoListen();
  const reactor = new Reactor();
  const factory = Factory.forProtocol(Protocol);
  factory.noisy = false;
  try {
    for (
      const [fallback, backend, denoListens] of [
        ["deno", "node", 0],
        ["node", "deno", 1],
      ] as const
    ) {
      setStreamBackend(fallback);
      let before = spy.calls;
      const port = reactor.listenTCP(0, factory, {
        interface: "127.0.0.1",
        backend,
      });
      assertEquals(spy.calls - before, denoListens, `backend ${backend}`);
      await port.stopListening();
      before = spy.calls;
      const listening = await serverFromString(
        reactor,
        `tcp:0:interface=127.0.0.1:backend=${backend}`,
      ).listen(factory);
      assertEquals(spy.calls - before, denoListens, `backend=${backend}`);
      await listening.stopListening();
    }
  } finally {
    setStreamBackend(undefined);
  }
  assertThrows(
    // @ts-expect-error: not a backend
    () => reactor.listenTCP(0, factory, { backend: "uv" }),
    TypeError,
    'Invalid backend "uv": expected "deno" or "node"',
  );
  assertThrows(
    () => serverFromString(reactor, "tcp:0:backend=uv"),
    TypeError,
    'backend "uv" is not "deno" or "node"',
  );
  assertThrows(
    () => clientFromString(reactor, "tcp:127.0.0.1:80:backend=uv"),
    TypeError,
    'backend "uv" is not "deno" or "node"',
  );
  assertEquals(
    (clientFromString(reactor, "tcp:127.0.0.1:80:backend=node") as unknown as {
      options: { backend?: string };
    }).options.backend,
    "node",
  );
});

Deno.test("TCP (node): without Deno's tcp_wrap binding (an internal API) listenTCP falls back to Deno.listen, with one warning", async () => {
  const proc = globalThis.process as unknown as {
    binding(name: string): unknown;
  };
  const binding = proc.binding;
  using spy = spyOnDenoListen();
  proc.binding = () => {
    throw new Error("No such module: tcp_wrap");
  };
  resetTcpWrapCache();
  using _captured = log.capture();
  const warnings: string[] = [];
  log.addObserver((e) => {
    if (e.level === "warn") warnings.push(e.message);
  });
  const reactor = new Reactor();
  const factory = Factory.forProtocol(Protocol);
  factory.noisy = false;
  try {
    for (let i = 0; i < 2; i++) {
      const port = reactor.listenTCP(0, factory, {
        interface: "127.0.0.1",
        backend: "node",
      });
      assert(port.getHost().port > 0);
      await port.stopListening();
    }
  } finally {
    proc.binding = binding;
    resetTcpWrapCache();
  }
  assertEquals(spy.calls, 2);
  assertEquals(warnings.length, 1, warnings.join("\n"));
  assert(warnings[0].includes("listening with Deno.listen"), warnings[0]);
});

Deno.test("TCP (node): connectTCP to an IP address runs on node:net (echo, addresses), a refusal is ConnectionRefusedError", async () => {
  const connect = Deno.connect;
  let denoConnects = 0;
  Object.defineProperty(Deno, "connect", {
    value: (options: Deno.ConnectOptions) => {
      denoConnects++;
      return connect(options);
    },
    configurable: true,
  });
  try {
    await withBackend("node", async () => {
      const reactor = new Reactor();
      class Echo extends Protocol {
        override dataReceived(data: Uint8Array): void {
          this.transport!.write(data);
        }
      }
      for (const host of ["127.0.0.1", "::1"]) {
        const port = reactor.listenTCP(0, Factory.forProtocol(Echo), {
          interface: host,
        });
        const portNumber = (port.getHost() as IPv4Address).port;
        const reply = Promise.withResolvers<string>();
        const lost = Promise.withResolvers<string>();
        let addresses = "";
        class Client extends Protocol {
          override connectionMade(): void {
            const t = this.transport!;
            addresses = `${t.getHost()} -> ${t.getPeer()}`;
            t.write("ping");
          }
          override dataReceived(data: Uint8Array): void {
            reply.resolve(decode(data));
            this.transport!.loseConnection();
          }
          override connectionLost(reason: Failure): void {
            lost.resolve((reason.type as { name: string }).name);
          }
        }
        reactor.connectTCP(host, portNumber, ClientFactory.forProtocol(Client));
        assertEquals(
          await withTimeout(reply.promise, 5000, "the echo"),
          "ping",
        );
        assertEquals(
          await withTimeout(lost.promise, 5000, "connectionLost"),
          "ConnectionDone",
        );
        const family = host === "::1" ? "IPv6Address" : "IPv4Address";
        assert(
          addresses.startsWith(`${family}(type="TCP", host="${host}"`) &&
            addresses.includes(`host="${host}", port=${portNumber}`),
          addresses,
        );
        await port.stopListening();
      }
      const failed = Promise.withResolvers<Failure>();
      const factory = new ClientFactory();
      factory.clientConnectionFailed = (_c, reason) => failed.resolve(reason);
      reactor.connectTCP("127.0.0.1", 1, factory);
      const reason = await withTimeout(failed.promise, 5000, "the refusal");
      assert(reason.check(ConnectionRefusedError), String(reason));
    });
  } finally {
    Object.defineProperty(Deno, "connect", { value: connect });
  }
  assertEquals(denoConnects, 0);
});

Deno.test("TCP (node): without --allow-net, listenTCP and connectTCP name the flag to add (no prompt)", async () => {
  for (
    const [fixture, expected] of [
      ["tcp_listen_noperm.ts", "CannotListenError"],
      ["tcp_connect_noperm.ts", "clientConnectionFailed"],
    ]
  ) {
    const out = await new Deno.Command(DENO, {
      args: [
        "run",
        ...denoFlags(),
        "--allow-env=TWIST_STREAM_BACKEND",
        `tests/fixtures/${fixture}`,
      ],
      env: { TWIST_STREAM_BACKEND: "node" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = decode(out.stdout);
    assertEquals(out.code, 0, decode(out.stderr));
    assert(stdout.includes(expected), stdout);
    assert(stdout.includes("run again with --allow-net=127.0.0.1"), stdout);
  }
});
