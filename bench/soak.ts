/**
 * The soak (issue 18): everything a hostile peer and a careless programmer
 * do, at once, for a few minutes, against one Twist server in a child
 * process (bench/soak_server.ts), on loopback only; it stops by itself.
 *
 * ```sh
 * ulimit -n 65536
 * flock -x /tmp/twist-net.lock bash -c 'deno run --allow-net=127.0.0.1 --allow-run=deno --allow-env --allow-write=bench/results $TWIST_DENO_FLAGS bench/soak.ts; sleep 65'
 * ```
 *
 * Load (`SOAK_SECONDS`, default 150 s), then `SOAK_IDLE` (default 30 s) of
 * quiet:
 * - echo: 64-byte ping-pong on 50 connections, every byte checked;
 * - line: "ping N" / "pong N" line ping-pong on 50 connections;
 * - churn: connect, echo 64 bytes, close, 20 at a time;
 * - slow readers: 4 connections at a time send 32 MiB to the echo port and
 *   never read; each is dropped after 10 s and another takes its place;
 * - careless: connections that make the server's protocol throw, return a
 *   rejected promise, or leave a rejection nobody awaits, 4 at a time.
 *
 * Prints the server's RSS and bookkeeping over time and a summary; writes
 * the figures to bench/results/soak-TIMESTAMP.json.
 *
 * @module
 */
// deno-lint-ignore-file no-console

const LOAD_S = Number(Deno.env.get("SOAK_SECONDS") ?? 150);
const IDLE_S = Number(Deno.env.get("SOAK_IDLE") ?? 30);
const HOST = "127.0.0.1";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Figures {
  t: number;
  rss: number;
  heapUsed: number;
  external: number;
  open: number;
  made: number;
  triggers: number;
  resources: number;
  delayedCalls: number;
  errors: Record<string, number>;
}

const flags = (Deno.env.get("TWIST_DENO_FLAGS") ?? "").split(/\s+/).filter(
  Boolean,
);
const server = new Deno.Command("deno", {
  args: ["run", ...flags, "--allow-net=127.0.0.1", "bench/soak_server.ts"],
  stdout: "piped",
  stderr: "inherit",
  stdin: "null",
}).spawn();

const samples: Figures[] = [];
const ready = Promise.withResolvers<number[]>();
const serverDone = (async () => {
  let pending = "";
  for await (
    const chunk of server.stdout.pipeThrough(new TextDecoderStream())
  ) {
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.startsWith("ports ")) {
        ready.resolve(line.slice(6).split(" ").map(Number));
      } else if (line.startsWith("{")) samples.push(JSON.parse(line));
    }
  }
})();
const [ECHO, LINE, CARELESS] = await ready.promise;

const stats = {
  echoRoundTrips: 0,
  lineRoundTrips: 0,
  churned: 0,
  slowReaders: 0,
  careless: 0,
  clientErrors: {} as Record<string, number>,
};
let running = true;
const started = performance.now();
const elapsed = (): number => (performance.now() - started) / 1000;

function clientError(what: string, e: unknown): void {
  const key = `${what}: ${(e as Error)?.name ?? e}`;
  stats.clientErrors[key] = (stats.clientErrors[key] ?? 0) + 1;
}

async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  for (let at = 0; at < n;) {
    const got = await conn.read(out.subarray(at));
    if (got === null) throw new Error("closed early");
    at += got;
  }
  return out;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let at = 0; at < data.length;) at += await conn.write(data.subarray(at));
}

async function echoClient(): Promise<void> {
  const conn = await Deno.connect({ hostname: HOST, port: ECHO });
  const msg = new Uint8Array(64).map((_, i) => i);
  try {
    while (running) {
      await writeAll(conn, msg);
      const back = await readExactly(conn, 64);
      if (back[63] !== 63) throw new Error("echo mismatch");
      stats.echoRoundTrips++;
    }
  } finally {
    conn.close();
  }
}

async function lineClient(id: number): Promise<void> {
  const conn = await Deno.connect({ hostname: HOST, port: LINE });
  const buf = new Uint8Array(256);
  let pending = "";
  try {
    for (let n = 0; running; n++) {
      await writeAll(conn, encoder.encode(`ping ${id}-${n}\r\n`));
      while (!pending.includes("\r\n")) {
        const got = await conn.read(buf);
        if (got === null) throw new Error("closed early");
        pending += decoder.decode(buf.subarray(0, got));
      }
      const line = pending.slice(0, pending.indexOf("\r\n"));
      pending = pending.slice(line.length + 2);
      if (line !== `pong ${id}-${n}`) throw new Error(`bad line ${line}`);
      stats.lineRoundTrips++;
    }
  } finally {
    conn.close();
  }
}

async function churner(): Promise<void> {
  const msg = new Uint8Array(64).fill(1);
  while (running) {
    const conn = await Deno.connect({ hostname: HOST, port: ECHO });
    try {
      await writeAll(conn, msg);
      await readExactly(conn, 64);
      stats.churned++;
    } finally {
      conn.close();
    }
  }
}

async function slowReader(): Promise<void> {
  const chunk = new Uint8Array(1024 * 1024).fill(2);
  while (running) {
    const conn = await Deno.connect({ hostname: HOST, port: ECHO });
    const sending = (async () => {
      for (let i = 0; i < 32; i++) await writeAll(conn, chunk);
    })().catch(() => {}); // Fails when dropped below: expected.
    await new Promise((r) => setTimeout(r, 10_000));
    conn.close(); // Never read a byte: the server must drop what it held.
    await sending;
    stats.slowReaders++;
  }
}

async function careless(): Promise<void> {
  const kinds = ["throw", "reject", "stray", "fine"];
  for (let n = 0; running; n++) {
    const kind = kinds[n % kinds.length];
    const conn = await Deno.connect({ hostname: HOST, port: CARELESS });
    try {
      await writeAll(conn, encoder.encode(`${kind}\n`));
      const buf = new Uint8Array(64);
      // throw/reject: the server closes; stray: "ok"; fine: the echo.
      const got = await conn.read(buf);
      if ((kind === "throw" || kind === "reject") && got !== null) {
        throw new Error(`${kind}: the connection stayed open`);
      }
      if ((kind === "stray" || kind === "fine") && got === null) {
        throw new Error(`${kind}: the connection was closed`);
      }
      stats.careless++;
    } finally {
      conn.close();
    }
  }
}

/** Runs `worker` in a loop until the load ends, counting what fails. */
async function keep(what: string, worker: () => Promise<void>): Promise<void> {
  while (running) {
    try {
      await worker();
    } catch (e) {
      if (running) clientError(what, e);
    }
  }
}

const workers: Promise<void>[] = [];
for (let i = 0; i < 50; i++) workers.push(keep("echo", echoClient));
for (let i = 0; i < 50; i++) workers.push(keep("line", () => lineClient(i)));
// SOAK_CHURN=0: no churn (a quick check of the script that leaves no TIME_WAIT).
const CHURNERS = Number(Deno.env.get("SOAK_CHURN") ?? 20);
for (let i = 0; i < CHURNERS; i++) workers.push(keep("churn", churner));
for (let i = 0; i < 4; i++) workers.push(keep("slow", slowReader));
for (let i = 0; i < 4; i++) workers.push(keep("careless", careless));

const mib = (n: number): string => (n / 1048576).toFixed(0);
const progress = setInterval(() => {
  const s = samples.at(-1);
  if (!s) return;
  console.log(
    `${elapsed().toFixed(0).padStart(4)} s  rss ${mib(s.rss)} MiB  heap ${
      mib(s.heapUsed)
    } MiB  open ${s.open}  resources ${s.resources}  delayed ${s.delayedCalls}  triggers ${s.triggers}  echo ${stats.echoRoundTrips}  line ${stats.lineRoundTrips}  churn ${stats.churned}  slow ${stats.slowReaders}  careless ${stats.careless}`,
  );
}, 10_000);

await new Promise((r) => setTimeout(r, LOAD_S * 1000));
running = false;
const loadEnded = samples.length;
await Promise.race([
  Promise.allSettled(workers),
  new Promise((r) => setTimeout(r, 15_000)),
]);
await new Promise((r) => setTimeout(r, IDLE_S * 1000));
clearInterval(progress);
server.kill("SIGINT");
const status = await server.status;
await serverDone;

// The plateau: the median RSS over the last third of the load.
const load = samples.slice(0, loadEnded);
const tail = load.slice(Math.floor(load.length * 2 / 3)).map((s) => s.rss)
  .sort((a, b) => a - b);
const plateau = tail[Math.floor(tail.length / 2)];
const peak = Math.max(...samples.map((s) => s.rss));
const last = samples.at(-1)!;
const idle = samples.at(-2)!; // the last sample before SIGINT
const summary = {
  loadSeconds: LOAD_S,
  idleSeconds: IDLE_S,
  ...stats,
  serverExit: status.code,
  rssPlateauMiB: Number(mib(plateau)),
  rssPeakMiB: Number(mib(peak)),
  rssAfterIdleMiB: Number(mib(idle.rss)),
  afterIdleVsPlateau: Number((idle.rss / plateau).toFixed(3)),
  afterIdle: {
    open: idle.open,
    resources: idle.resources,
    delayedCalls: idle.delayedCalls,
    triggers: idle.triggers,
  },
  connectionsServed: last.made,
  serverErrors: last.errors,
};
console.log(JSON.stringify(summary, null, 2));
const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(
  /\.\d+Z$/,
  "Z",
);
Deno.writeTextFileSync(
  `bench/results/soak-${stamp}.json`,
  JSON.stringify({ summary, samples }, null, 1) + "\n",
);
Deno.exit(0);
