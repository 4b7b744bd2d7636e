/**
 * AMP end to end on loopback: pipelined `Sum` calls on one connection (all
 * in flight at once, after the same number untimed to warm up), then
 * sequential calls for the latency, Twist client →
 * Twist server beside Python Twisted client → server, each side in its own
 * process, interleaved rounds. Bounded (a few thousand calls per round, one
 * connection): not a load test.
 *
 *     deno run --allow-net=127.0.0.1 --allow-run=deno,/usr/bin/python3 bench/amp_pipeline.ts [--calls 5000] [--sequential 500] [--rounds 3]
 *
 * With `server` or `client PORT CALLS SEQUENTIAL` it is one side of the Twist
 * pair (what the driver runs).
 *
 * @module
 */
// deno-lint-ignore-file no-console
import { parseArgs } from "@std/cli";
import { Factory } from "../src/internet/protocol.ts";
import { Reactor } from "../src/internet/reactor.ts";
import { gatherResults } from "../src/internet/defer.ts";
import {
  clientFromString,
  connectProtocol,
} from "../src/internet/endpoints.ts";
import * as amp from "../src/protocols/amp.ts";

class Sum extends amp.Command {
  static override arguments = { a: new amp.Integer(), b: new amp.Integer() };
  static override response = { total: new amp.Integer() };
}

class Adder extends amp.AMP {
  @Sum.responder
  sum({ a, b }: { a: number; b: number }): { total: number } {
    return { total: a + b };
  }
}

function server(): void {
  const reactor = new Reactor();
  const factory = Factory.forProtocol(Adder);
  factory.noisy = false;
  const port = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
  console.log("port", port.getHost().port);
}

async function client(
  port: number,
  calls: number,
  sequential: number,
): Promise<void> {
  const reactor = new Reactor();
  const proto = await connectProtocol(
    clientFromString(reactor, `tcp:127.0.0.1:${port}`),
    new amp.AMP(),
  );
  // Warm up (the JIT) with the same work, untimed; the Python side does too.
  await gatherResults(
    Array.from({ length: calls }, (_, a) => proto.callRemote(Sum, { a, b: 1 })),
  );
  let start = performance.now();
  const results = await gatherResults(
    Array.from({ length: calls }, (_, a) => proto.callRemote(Sum, { a, b: 1 })),
  );
  const pipelined = (performance.now() - start) / 1000;
  if (results.some(({ total }, i) => total !== i + 1)) {
    throw new Error("A wrong answer");
  }
  start = performance.now();
  for (let a = 0; a < sequential; a++) {
    await proto.callRemote(Sum, { a, b: 1 });
  }
  const latency = (performance.now() - start) / 1000 / sequential;
  console.log(`pipelined_calls_per_s ${(calls / pipelined).toFixed(0)}`);
  console.log(`sequential_latency_us ${(latency * 1e6).toFixed(1)}`);
  proto.transport.loseConnection();
}

/** Runs one pair (server and client processes); returns the client's figures. */
async function pair(
  serverCmd: string[],
  clientCmd: (port: number) => string[],
): Promise<{ rate: number; latency: number }> {
  const srv = new Deno.Command(serverCmd[0], {
    args: serverCmd.slice(1),
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const reader = srv.stdout.getReader();
    let text = "";
    while (!/port (\d+)\n/.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error("The server exited");
      text += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    const port = Number(text.match(/port (\d+)/)![1]);
    const cmd = clientCmd(port);
    const out = await new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      stderr: "inherit",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const rate = Number(stdout.match(/pipelined_calls_per_s (\S+)/)?.[1]);
    const latency = Number(stdout.match(/sequential_latency_us (\S+)/)?.[1]);
    if (!out.success || !rate) throw new Error(`The client failed: ${stdout}`);
    return { rate, latency };
  } finally {
    srv.kill("SIGKILL");
    await srv.status;
    await srv.stdout.cancel().catch(() => {});
  }
}

const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function drive(
  calls: number,
  sequential: number,
  rounds: number,
): Promise<void> {
  const self = new URL(import.meta.url).pathname;
  const flags = Deno.args.filter((a) => a.startsWith("--import-map"));
  const deno = ["deno", "run", "--allow-net=127.0.0.1", ...flags, self];
  const python = [
    "/usr/bin/python3",
    new URL("amp_pipeline.py", import.meta.url).pathname,
  ];
  const twist: { rate: number; latency: number }[] = [];
  const twisted: { rate: number; latency: number }[] = [];
  for (let r = 0; r < rounds; r++) {
    twist.push(
      await pair(
        [...deno, "server"],
        (port) => [...deno, "client", `${port}`, `${calls}`, `${sequential}`],
      ),
    );
    twisted.push(
      await pair(
        [...python, "server"],
        (port) => [...python, "client", `${port}`, `${calls}`, `${sequential}`],
      ),
    );
    console.log(
      `round ${r + 1}: twist ${twist[r].rate} calls/s, ${
        twist[r].latency
      } us; twisted ${twisted[r].rate} calls/s, ${twisted[r].latency} us`,
    );
  }
  const ratios = twist.map((t, i) => t.rate / twisted[i].rate);
  console.log(
    `median: twist ${median(twist.map((t) => t.rate))} calls/s (sequential ${
      median(twist.map((t) => t.latency))
    } us/call), twisted ${
      median(twisted.map((t) => t.rate))
    } calls/s (sequential ${
      median(twisted.map((t) => t.latency))
    } us/call); pipelined ratio ${median(ratios).toFixed(2)}x`,
  );
}

if (import.meta.main) {
  const args = parseArgs(Deno.args, {
    string: ["calls", "sequential", "rounds", "import-map"],
    default: { calls: "5000", sequential: "500", rounds: "3" },
  });
  const [mode, port, calls, sequential] = args._.map(String);
  if (mode === "server") server();
  else if (mode === "client") {
    await client(Number(port), Number(calls), Number(sequential));
  } else {
    await drive(
      Number(args.calls),
      Number(args.sequential),
      Number(args.rounds),
    );
  }
}
