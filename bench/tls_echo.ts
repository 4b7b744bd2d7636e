/**
 * TLS echo benchmark (issue 15): a Twist TLS echo server (`listenSSL`) beside
 * the plainest `Deno.listenTls` echo and the plainest `node:tls` echo, driven
 * by the same load client in the same run (`deno-fresh` is the Deno echo
 * reading into a new buffer each time, `deno-pipe` Deno's documented echo,
 * `conn.readable.pipeTo(conn.writable)`: both hand each chunk over, as
 * Twist's default does; `twist-borrow` is Twist's echo borrowing its chunks,
 * `IBorrowingProtocol`). The C harness has no TLS, so the client is this file
 * too.
 *
 * ```sh
 * taskset -c 0 deno run -A bench/tls_echo.ts server twist 4433 &
 * taskset -c 0 deno run -A bench/tls_echo.ts server twist-borrow 4438 &
 * taskset -c 0 deno run -A bench/tls_echo.ts server deno 4434 &
 * taskset -c 0 deno run -A bench/tls_echo.ts server node 4435 &
 * taskset -c 0 deno run -A bench/tls_echo.ts server deno-fresh 4436 &
 * taskset -c 0 deno run -A bench/tls_echo.ts server deno-pipe 4437 &
 * taskset -c 1 deno run -A bench/tls_echo.ts client 4433 stream 5
 * ```
 *
 * Client modes: `stream` (8 connections each sending 64 KiB chunks as fast
 * as the echo comes back: MB/s echoed) and `pingpong` (8 connections, one
 * 64-byte message in flight each: round trips/s). The client also prints the
 * CPU it used during the timed window (% of one core): a client near 100 %
 * would be the bottleneck, not the server (`tls_compare.sh` adds the
 * server's).
 *
 * @module
 */
import { Factory, Protocol, Reactor } from "../mod.ts";

const DIR = new URL("../tests/fixtures/tls/", import.meta.url);
const cert = Deno.readTextFileSync(new URL("server.pem", DIR));
const key = Deno.readTextFileSync(new URL("server.key", DIR));
const ca = Deno.readTextFileSync(new URL("ca.pem", DIR));
const [role, a, b, c] = Deno.args;

if (role === "server") {
  const port = Number(b);
  if (a === "twist" || a === "twist-borrow") {
    class Echo extends Protocol {
      override dataReceived(data: Uint8Array): void {
        this.transport.write(data);
      }
    }
    // `twist-borrow`: the same echo, borrowing its chunks (IBorrowingProtocol).
    class BorrowingEcho extends Echo {
      readonly borrowsData = true;
    }
    const reactor = new Reactor();
    const f = Factory.forProtocol(a === "twist" ? Echo : BorrowingEcho);
    f.noisy = false;
    reactor.listenSSL(port, f, { cert, key }, { interface: "127.0.0.1" });
  } else if (a === "node") {
    const tls = await import("node:tls");
    tls.createServer({ cert, key }, (socket) => {
      socket.on("error", () => socket.destroy());
      socket.pipe(socket);
    }).listen(port, "127.0.0.1");
  } else if (a === "deno-pipe") {
    // Deno's documented echo: the connection's readable piped to its
    // writable (each chunk a new 64 KiB buffer, as the stream allocates).
    const listener = Deno.listenTls({ hostname: "127.0.0.1", port, cert, key });
    for await (const conn of listener) {
      conn.readable.pipeTo(conn.writable).catch(() => {});
    }
  } else {
    // `deno-fresh`: a new 32 KiB buffer for every read, as a server must
    // that hands each chunk over for good (Twist does: zero copies).
    const fresh = a === "deno-fresh";
    const listener = Deno.listenTls({ hostname: "127.0.0.1", port, cert, key });
    for await (const conn of listener) {
      (async () => {
        let buf = new Uint8Array(64 * 1024);
        try {
          for (;;) {
            if (fresh) buf = new Uint8Array(32 * 1024);
            const n = await conn.read(buf);
            if (n === null) break;
            for (let at = 0; at < n;) {
              at += await conn.write(buf.subarray(at, n));
            }
          }
        } catch {
          // The client went away.
        } finally {
          try {
            conn.close();
          } catch { /* closed */ }
        }
      })();
    }
  }
} else {
  const port = Number(a);
  const mode = b;
  const seconds = Number(c ?? 5);
  const CONNS = 8;
  const conns = await Promise.all(
    Array.from({ length: CONNS }, async () => {
      const conn = await Deno.connectTls({
        hostname: "127.0.0.1",
        port,
        caCerts: [ca],
      });
      await conn.handshake();
      return conn;
    }),
  );
  let bytes = 0;
  let trips = 0;
  let stop = false;
  const size = mode === "stream" ? 64 * 1024 : 64;
  const run = async (conn: Deno.TlsConn): Promise<void> => {
    const out = new Uint8Array(size).fill(120);
    const buf = new Uint8Array(256 * 1024);
    if (mode === "stream") {
      // Keep up to 256 KiB in flight per connection. The writer waits for
      // the reader (no polling, which would bill the client for waiting).
      let inFlight = 0;
      let wake: (() => void) | undefined;
      let done = false;
      const writer = (async () => {
        while (!stop && !done) {
          if (inFlight > 192 * 1024) {
            await new Promise<void>((r) => (wake = r));
            continue;
          }
          inFlight += out.length;
          for (let at = 0; at < out.length;) {
            at += await conn.write(out.subarray(at));
          }
        }
      })();
      try {
        while (!stop) {
          const n = await conn.read(buf);
          if (n === null) break;
          bytes += n;
          inFlight -= n;
          if (wake && inFlight <= 192 * 1024) {
            const w = wake;
            wake = undefined;
            w();
          }
        }
      } finally {
        done = true;
        wake?.();
        await writer.catch(() => {});
      }
    } else {
      while (!stop) {
        await conn.write(out);
        let got = 0;
        while (got < size) {
          const n = await conn.read(buf);
          if (n === null) return;
          got += n;
        }
        trips++;
      }
    }
  };
  const { cpuUsage } = await import("node:process");
  const cpu0 = cpuUsage();
  const t0 = performance.now();
  const runs = conns.map((conn) => run(conn).catch(() => {}));
  await new Promise((r) => setTimeout(r, seconds * 1000));
  stop = true;
  const elapsed = (performance.now() - t0) / 1000;
  const used = cpuUsage(cpu0);
  const cpu = `client ${
    ((used.user + used.system) / 1e4 / elapsed).toFixed(0)
  }%`;
  for (const conn of conns) conn.close();
  await Promise.all(runs);
  // deno-lint-ignore no-console
  console.log(
    mode === "stream"
      ? `stream ${(bytes / elapsed / 1e6).toFixed(1)} MB/s`
      : `pingpong ${(trips / elapsed).toFixed(0)} round trips/s`,
    cpu,
  );
}
