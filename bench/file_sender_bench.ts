/**
 * FileSender's throughput over one loopback TCP connection, against a plain
 * Deno copy of the same file (`file.readable.pipeTo(conn.writable)`):
 *
 *   deno run --allow-net=127.0.0.1 --allow-read=/tmp --allow-write=/tmp \
 *     bench/file_sender_bench.ts [MiB]
 *
 * The server and the reader share this process (one connection, bounded: it
 * can run beside other work). Each of 3 rounds sends the file both ways; the
 * median is printed.
 *
 * @module
 */
// deno-lint-ignore-file no-console
import { Factory, Protocol, Reactor } from "../mod.ts";
import { FileSender } from "../src/protocols/basic.ts";

const mib = Number(Deno.args[0] ?? 64);
if (Deno.args[1]) FileSender.CHUNK_SIZE = Number(Deno.args[1]) * 1024;
const size = mib * 1024 * 1024;
const path = await Deno.makeTempFile({ prefix: "twist-file-bench-" });
await Deno.writeFile(path, new Uint8Array(size).fill(7));

/** Reads a connection to its end; resolves with the bytes read. */
async function drain(conn: Deno.Conn): Promise<number> {
  const buf = new Uint8Array(256 * 1024);
  let total = 0;
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    total += n;
  }
  conn.close();
  return total;
}

async function twist(): Promise<number> {
  const reactor = new Reactor();
  class Send extends Protocol {
    override connectionMade(): void {
      new FileSender().beginFileTransfer(path, this.transport)
        .addBoth(() => this.transport.loseConnection());
    }
  }
  const port = reactor.listenTCP(0, Factory.forProtocol(Send), {
    interface: "127.0.0.1",
  });
  const start = performance.now();
  const got = await drain(
    await Deno.connect({ hostname: "127.0.0.1", port: port.getHost().port }),
  );
  const ms = performance.now() - start;
  await port.stopListening();
  if (got !== size) throw new Error(`got ${got} of ${size} bytes`);
  return ms;
}

async function plain(): Promise<number> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    const conn = await listener.accept();
    const file = await Deno.open(path);
    await file.readable.pipeTo(conn.writable);
  })();
  const start = performance.now();
  const got = await drain(
    await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
  );
  const ms = performance.now() - start;
  await served;
  listener.close();
  if (got !== size) throw new Error(`got ${got} of ${size} bytes`);
  return ms;
}

const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rate = (ms: number): string => `${(mib / (ms / 1000)).toFixed(0)} MiB/s`;

try {
  await twist(); // Warm-up.
  const t: number[] = [];
  const p: number[] = [];
  for (let round = 0; round < 3; round++) {
    t.push(await twist());
    p.push(await plain());
  }
  console.log(`${mib} MiB over loopback TCP, median of 3 rounds:`);
  console.log(
    `  FileSender (${FileSender.CHUNK_SIZE / 1024} KiB chunks): ${
      rate(median(t))
    }`,
  );
  console.log(`  Deno pipeTo:                ${rate(median(p))}`);
  console.log(
    `  rounds: FileSender ${t.map(rate).join(" / ")}; pipeTo ${
      p.map(rate).join(" / ")
    }`,
  );
} finally {
  await Deno.remove(path);
}
