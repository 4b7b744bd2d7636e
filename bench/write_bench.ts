/**
 * The write path of a stream connection through a fake `Deno.Conn` whose
 * writes complete at once (`deno bench bench/write_bench.ts`): what the
 * transport itself costs per write, without the kernel.
 *
 * - ping-pong: one 64-byte write, then wait until it is written (each write
 *   goes out at once: nothing is in flight);
 * - burst: 1,000 64-byte writes in one turn (joined into few sink writes);
 * - stream: 64 writes of 64 KiB (sent as they are, never copied);
 * - partial: 1 MiB through a sink that takes at most 16 KiB per write.
 *
 * @module
 */
import { Connection } from "../src/internet/stream/connection.ts";
import { Protocol } from "../src/internet/protocol.ts";

/** A `Deno.Conn` whose writes succeed at once (up to `limit` bytes each). */
class InstantConn {
  readonly localAddr: Deno.NetAddr = {
    transport: "tcp",
    hostname: "127.0.0.1",
    port: 1,
  };
  readonly remoteAddr: Deno.NetAddr = {
    transport: "tcp",
    hostname: "127.0.0.1",
    port: 2,
  };
  written = 0;
  target = 0;
  done: (() => void) | undefined;
  calls = 0;
  constructor(readonly limit = Infinity) {}

  write(buf: Uint8Array): Promise<number> {
    const n = Math.min(buf.length, this.limit);
    this.written += n;
    this.calls++;
    if (this.written >= this.target && this.done) {
      const done = this.done;
      this.done = undefined;
      queueMicrotask(done);
    }
    return Promise.resolve(n);
  }

  /** Resolves once `bytes` more have been written. */
  expect(bytes: number): Promise<void> {
    this.target = this.written + bytes;
    return new Promise((resolve) => (this.done = resolve));
  }

  read(): Promise<number | null> {
    return new Promise(() => {}); // never: the benchmark only writes
  }

  closeWrite(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {}
}

function open(limit?: number): { conn: InstantConn; transport: Connection } {
  const conn = new InstantConn(limit);
  const transport = new Connection(
    conn as unknown as Deno.Conn,
    new Protocol(),
  );
  transport.start();
  return { conn, transport };
}

const small = new Uint8Array(64).fill(0x61);
const big = new Uint8Array(64 * 1024).fill(0x62);
const mib = new Uint8Array(1024 * 1024).fill(0x63);

{
  const { conn, transport } = open();
  Deno.bench("write: 1,000 ping-pong 64-byte writes (each sent at once)", {
    group: "write path",
  }, async () => {
    for (let i = 0; i < 1000; i++) {
      const written = conn.expect(64);
      transport.write(small);
      await written;
    }
  });
}

{
  const { conn, transport } = open();
  Deno.bench("write: burst of 1,000 64-byte writes in one turn (joined)", {
    group: "write path",
  }, async () => {
    const written = conn.expect(64_000);
    for (let i = 0; i < 1000; i++) transport.write(small);
    await written;
  });
}

{
  const { conn, transport } = open();
  Deno.bench("write: 64 writes of 64 KiB (not copied)", {
    group: "write path",
  }, async () => {
    const written = conn.expect(64 * big.length);
    for (let i = 0; i < 64; i++) transport.write(big);
    await written;
  });
}

{
  const { conn, transport } = open(16 * 1024);
  Deno.bench("write: 1 MiB through a sink taking 16 KiB per write", {
    group: "write path",
  }, async () => {
    const written = conn.expect(mib.length);
    transport.write(mib);
    await written;
  });
}
