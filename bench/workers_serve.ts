// CPU-bound request/response throughput of `twist serve --workers N`, N = 1
// and 2, in interleaved rounds (not a test: run it by hand, with the
// exclusive net lock, see bench/RESULTS.md "Workers"):
//
//   flock -x /tmp/twist-net.lock bash -c 'deno run -A --import-map=.ci/import_map.json bench/workers_serve.ts; sleep 65'
//
// The server is examples/hash_factory.ts (each 1 KiB line is hashed 2000
// times, a few ms of CPU); the load generator, here, keeps 8 connections
// each with one request in flight: light next to the work.
// deno-lint-ignore-file no-console

const ROUNDS = Number(Deno.env.get("ROUNDS") ?? 3);
const SECONDS = Number(Deno.env.get("SECONDS") ?? 5);
const CONNECTIONS = 8;
const line = new TextEncoder().encode("x".repeat(1023) + "\n");
const flags =
  (Deno.env.get("TWIST_DENO_FLAGS") ?? "--import-map=.ci/import_map.json")
    .split(" ").filter(Boolean);

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function waitForLine(
  reader: ReadableStreamDefaultReader<string>,
  text: string,
): Promise<void> {
  let seen = "";
  while (!seen.includes(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the server ended before "${text}":\n${seen}`);
    seen += value;
  }
}

/** One connection: request, wait for the 9-byte answer, again, until `end`. */
async function client(port: number, end: number): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const buf = new Uint8Array(64);
  let done = 0;
  try {
    while (performance.now() < end) {
      await conn.write(line);
      let got = 0;
      while (got < 9) {
        const n = await conn.read(buf);
        if (n === null) throw new Error("closed");
        got += n;
      }
      done++;
    }
  } finally {
    conn.close();
  }
  return done;
}

async function run(workers: number): Promise<number> {
  const port = freePort();
  const child = new Deno.Command("deno", {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--unstable-net",
      ...flags,
      "src/cli.ts",
      "serve",
      "examples/hash_factory.ts",
      "--workers",
      String(workers),
      "--listen",
      `tcp:${port}:interface=127.0.0.1`,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  await waitForLine(reader, "workers listening");
  const end = performance.now() + SECONDS * 1000;
  const counts = await Promise.all(
    Array.from({ length: CONNECTIONS }, () => client(port, end)),
  );
  child.kill("SIGTERM");
  const status = await child.status;
  reader.releaseLock();
  await child.stderr.cancel().catch(() => {});
  if (status.code !== 0) throw new Error(`exit code ${status.code}`);
  return counts.reduce((a, b) => a + b, 0) / SECONDS;
}

const results: Record<number, number[]> = { 1: [], 2: [] };
for (let r = 0; r < ROUNDS; r++) {
  for (const n of [1, 2]) {
    const rps = await run(n);
    results[n].push(rps);
    console.log(`round ${r + 1}: --workers ${n}: ${rps.toFixed(0)} requests/s`);
  }
}
const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ratios = results[2].map((v, i) => v / results[1][i]);
console.log(
  `median: 1 worker ${median(results[1]).toFixed(0)} req/s, 2 workers ${
    median(results[2]).toFixed(0)
  } req/s, ratio ${median(ratios).toFixed(2)}x (rounds: ${
    ratios.map((x) => x.toFixed(2)).join(", ")
  })`,
);
