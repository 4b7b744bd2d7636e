// deno run --allow-net=0.0.0.0:8000 --allow-read examples/hash_server.ts [--port 8000] [--rounds 2000]
//
// A line server whose requests are CPU-heavy: each line received is hashed
// (examples/hash_work.ts, `rounds` passes) and the hash sent back. The
// hashing runs in a WorkerPool (one Worker per core), so the reactor thread
// keeps accepting and answering while the Workers compute. Workers load
// their module from disk: `--allow-read` (or --allow-read=examples,src).
//
//   printf 'hello\n' | nc -q1 127.0.0.1 8000
//
// The same work on every core without a pool: examples/hash_factory.ts, run
// by `twist serve --workers N` (one reactor per Worker).
import { parseArgs } from "@std/cli";
import { deferToWorker, Factory, reactor, WorkerPool } from "../mod.ts";
import { LineReceiver } from "../src/protocols/basic.ts";

const args = parseArgs(Deno.args, {
  string: ["port", "rounds", "workers"],
  default: { port: "8000", rounds: "2000" },
});
const rounds = Number(args.rounds);
const pool = new WorkerPool(new URL("./hash_work.ts", import.meta.url), {
  size: args.workers ? Number(args.workers) : undefined,
});

class HashLine extends LineReceiver {
  override delimiter = "\n";
  /** The last answer: answers finish in any order, and go out in order. */
  #tail: Promise<void> = Promise.resolve();

  override lineReceived(line: Uint8Array): void {
    const hash = deferToWorker<string>(pool, "slowHash", line, rounds)
      .asPromise();
    this.#tail = this.#tail.then(() => hash).then(
      (hex) => this.sendLine(hex),
      (e) => this.sendLine(`error: ${(e as Error).message}`),
    );
  }
}

if (import.meta.main) {
  reactor.listenTCP(Number(args.port), Factory.forProtocol(HashLine));
  // SIGINT/SIGTERM: the reactor's shutdown stops the pool too.
  reactor.run();
}
