import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertLessOrEqual,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { Reactor } from "../../src/internet/reactor.ts";
import { ProcessProtocol } from "../../src/internet/process.ts";
import {
  ProcessDone,
  ProcessExitedAlready,
  ProcessTerminated,
} from "../../src/internet/error.ts";
import {
  getProcessOutput,
  getProcessOutputAndValue,
  getProcessValue,
} from "../../src/internet/utils.ts";
import type { Failure } from "../../src/internet/failure.ts";
import type {
  IPushProducer,
  IReactorProcess,
} from "../../src/internet/interfaces.ts";
import { log } from "../../src/logger.ts";
import { decode, DENO, denoFlags, withTimeout } from "../_helpers.ts";

const reactor = new Reactor();

class Recorder extends ProcessProtocol {
  out = "";
  err = "";
  events: string[] = [];
  readonly ended = Promise.withResolvers<Failure>();
  override connectionMade(): void {
    this.events.push("connectionMade");
  }
  override outReceived(d: Uint8Array): void {
    this.out += decode(d);
  }
  override errReceived(d: Uint8Array): void {
    this.err += decode(d);
  }
  override inConnectionLost(): void {
    this.events.push("inConnectionLost");
  }
  override outConnectionLost(): void {
    this.events.push("outConnectionLost");
  }
  override errConnectionLost(): void {
    this.events.push("errConnectionLost");
  }
  override processExited(reason: Failure): void {
    this.events.push(`processExited ${(reason.value as Error).name}`);
  }
  override processEnded(reason: Failure): void {
    this.events.push("processEnded");
    this.ended.resolve(reason);
  }
}

const ended = (p: Recorder): Promise<Failure> =>
  withTimeout(p.ended.promise, 20_000, "processEnded");

Deno.test("spawnProcess: echo through cat, closeStdin, and the full call order", async () => {
  const p = new Recorder();
  const transport = reactor.spawnProcess(p, "cat", ["cat"]);
  assert(transport.pid > 0);
  transport.write("hello ");
  transport.writeSequence(["cat", "!"]);
  transport.closeStdin();
  const reason = await ended(p);
  assert(reason.check(ProcessDone));
  assertEquals(p.out, "hello cat!");
  assertEquals(p.events[0], "connectionMade");
  assertEquals(p.events.at(-1), "processEnded");
  for (
    const e of [
      "inConnectionLost",
      "outConnectionLost",
      "errConnectionLost",
      "processExited ProcessDone",
    ]
  ) {
    assert(p.events.includes(e), `${e} in ${p.events}`);
  }
  assert(
    p.events.indexOf("processExited ProcessDone") <
      p.events.indexOf("processEnded"),
  );
});

Deno.test("spawnProcess: stdout and stderr are kept apart; exit codes become ProcessTerminated", async () => {
  const p = new Recorder();
  reactor.spawnProcess(p, DENO, [
    DENO,
    "eval",
    "console.log('to out'); console.error('to err'); Deno.exit(3)",
  ]);
  const reason = await ended(p);
  assertEquals([p.out, p.err], ["to out\n", "to err\n"]);
  assertInstanceOf(reason.value, ProcessTerminated);
  assertEquals([reason.value.exitCode, reason.value.signal], [3, null]);
});

Deno.test("spawnProcess: signalProcess ends it with ProcessTerminated naming the signal", async () => {
  const p = new Recorder();
  const transport = reactor.spawnProcess(p, "cat", ["cat"]);
  transport.signalProcess("KILL");
  const reason = await ended(p);
  assertInstanceOf(reason.value, ProcessTerminated);
  assertEquals([reason.value.exitCode, reason.value.signal], [null, "SIGKILL"]);
  assertThrows(() => transport.signalProcess("TERM"), ProcessExitedAlready);
});

Deno.test("spawnProcess: 16 MiB stdin to stdout through cat, with a streaming producer kept within bounds", async () => {
  const TOTAL = 16 * 1024 * 1024;
  const CHUNK = 64 * 1024;
  class Pipe extends Recorder implements IPushProducer {
    sent = 0;
    received = 0;
    paused = false;
    maxQueued = 0;
    override connectionMade(): void {
      this.transport.registerProducer(this, true);
      this.resumeProducing();
    }
    pauseProducing(): void {
      this.paused = true;
    }
    resumeProducing(): void {
      this.paused = false;
      while (!this.paused && this.sent < TOTAL) {
        this.transport.write(
          new Uint8Array(CHUNK).fill(this.sent / CHUNK & 0xff),
        );
        this.sent += CHUNK;
        this.maxQueued = Math.max(
          this.maxQueued,
          this.transport.getWriteBufferSize(),
        );
      }
      if (this.sent >= TOTAL) {
        this.transport.unregisterProducer();
        this.transport.closeStdin();
      }
    }
    stopProducing(): void {}
    override outReceived(d: Uint8Array): void {
      this.received += d.length;
    }
  }
  const p = new Pipe();
  reactor.spawnProcess(p, "cat", ["cat"]);
  assert((await ended(p)).check(ProcessDone));
  assertEquals(p.received, TOTAL);
  assertLessOrEqual(p.maxQueued, 64 * 1024 + CHUNK);
});

Deno.test("spawnProcess: an exception thrown by a producer is logged, as a connection's is, and stdin stays open", async () => {
  using logs = log.capture();
  const p = new Recorder();
  const transport = reactor.spawnProcess(p, "cat", ["cat"]);
  const secondPull = Promise.withResolvers<void>();
  let pulls = 0;
  transport.registerProducer({
    resumeProducing(): void {
      if (++pulls === 1) return transport.write("first ");
      secondPull.resolve();
      throw new URIError("a bug in the producer");
    },
    stopProducing(): void {},
  }, false);
  await withTimeout(secondPull.promise, 20_000, "the second pull");
  transport.unregisterProducer();
  transport.write("second");
  transport.closeStdin();
  assert((await ended(p)).check(ProcessDone));
  assertEquals(p.out, "first second", "stdin was not taken as closed");
  assertEquals(logs.flushErrors(URIError).length, 1);
});

Deno.test("spawnProcess: as in Twisted, writes made right after closeStdin are still sent, and stdin closes once a pull producer unregisters", async () => {
  class Echoed extends Recorder {
    readonly echoed = Promise.withResolvers<void>();
    override outReceived(d: Uint8Array): void {
      super.outReceived(d);
      if (this.out === "before after") this.echoed.resolve();
    }
  }
  const p = new Echoed();
  const transport = reactor.spawnProcess(p, "cat", ["cat"]);
  const stops: string[] = [];
  transport.registerProducer({
    resumeProducing(): void {},
    stopProducing: () => stops.push("stop"),
  }, false);
  transport.write("before ");
  transport.closeStdin();
  transport.write("after");
  await withTimeout(p.echoed.promise, 20_000, "the echo");
  assertEquals(p.events, ["connectionMade"], "stdin is still open");
  transport.unregisterProducer();
  assert((await ended(p)).check(ProcessDone));
  assert(p.events.includes("inConnectionLost"));
  assertEquals(stops, [], "an unregistered producer is not stopped");
});

Deno.test("spawnProcess: the environment and working directory are the ones given", async () => {
  const p = new Recorder();
  reactor.spawnProcess(p, DENO, [
    DENO,
    "eval",
    "console.log(Deno.env.get('TWIST_X') ?? 'unset', Deno.cwd())",
  ], {
    env: { TWIST_X: "from the parent" },
    path: "/tmp",
  });
  await ended(p);
  assertEquals(p.out, "from the parent /tmp\n");
  const q = new Recorder();
  reactor.spawnProcess(q, DENO, [
    DENO,
    "eval",
    "console.log(Deno.env.get('TWIST_X') ?? 'unset')",
  ]);
  await ended(q);
  assertEquals(
    q.out,
    "unset\n",
    "the default environment is empty, as in Twisted",
  );
});

Deno.test("spawnProcess: a program that does not exist fails through processEnded; usePTY is refused", async () => {
  const p = new Recorder();
  reactor.spawnProcess(p, "/nonexistent/twist-no-such-program", ["x"]);
  const reason = await ended(p);
  assertInstanceOf(reason.value, ProcessTerminated);
  assertStringIncludes(
    reason.getErrorMessage(),
    'cannot run "/nonexistent/twist-no-such-program": no such program',
  );
  assertThrows(
    () =>
      reactor.spawnProcess(
        new Recorder(),
        "cat",
        ["cat"],
        { usePTY: true } as unknown as { usePTY: false },
      ),
    TypeError,
    "usePTY",
  );
});

Deno.test("spawnProcess: without --allow-run the error names the flag", async () => {
  const out = await new Deno.Command(DENO, {
    args: ["run", ...denoFlags(), "tests/fixtures/process_noperm.ts"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertStringIncludes(
    decode(out.stdout),
    'Cannot run "cat": run again with --allow-run=cat',
  );
});

Deno.test("getProcessOutput, getProcessValue and getProcessOutputAndValue", async () => {
  assertEquals(decode(await getProcessOutput("cat", ["/dev/null"])), "");
  assertEquals(
    decode(await getProcessOutput(DENO, ["eval", "console.log('x')"])),
    "x\n",
  );
  let failed = "";
  await getProcessOutput(DENO, ["eval", "console.error('oops')"]).addErrback(
    (f: Failure) => {
      failed = f.getErrorMessage();
    },
  );
  assertStringIncludes(failed, "wrote to stderr: oops");
  assertEquals(
    decode(
      await getProcessOutput(DENO, ["eval", "console.error('e')"], {
        errorToo: true,
      }),
    ),
    "e\n",
  );
  assertEquals(await getProcessValue(DENO, ["eval", "Deno.exit(7)"]), 7);
  const [out, err, code] = await getProcessOutputAndValue(DENO, [
    "eval",
    "console.log('o'); console.error('e'); Deno.exit(2)",
  ]);
  assertEquals([decode(out), decode(err), code], ["o\n", "e\n", 2]);
});

Deno.test("getProcessValue runs the program through the reactor it is given", async () => {
  const spawned: string[][] = [];
  const processes: IReactorProcess = {
    spawnProcess(protocol, executable, args, options) {
      spawned.push(args ?? []);
      return reactor.spawnProcess(protocol, executable, args, options);
    },
  };
  const code = await withTimeout(
    getProcessValue(DENO, ["eval", "Deno.exit(4)"], { reactor: processes }),
    20_000,
    "the exit code",
  );
  assertEquals(code, 4);
  assertEquals(spawned, [[DENO, "eval", "Deno.exit(4)"]]);
});

/**
 * A child that writes 8 MiB to stdout in 64 KiB writes and exits with code 7
 * if one write is blocked for 2 s (nobody reads its stdout), 0 otherwise.
 */
const BLOCKABLE_WRITER = `
const chunk = new Uint8Array(65536);
for (let i = 0; i < 128; i++) {
  const watchdog = setTimeout(() => Deno.exit(7), 2000);
  for (let at = 0; at < chunk.length;) at += await Deno.stdout.write(chunk.subarray(at));
  clearTimeout(watchdog);
}`;

Deno.test("spawnProcess: pauseProducing stops reading the child's output (it blocks), resumeProducing reads on", async () => {
  class Paused extends Recorder {
    bytes = 0;
    readonly exited = Promise.withResolvers<Failure>();
    override connectionMade(): void {
      super.connectionMade();
      this.transport.pauseProducing();
    }
    override outReceived(d: Uint8Array): void {
      this.bytes += d.length;
    }
    override processExited(reason: Failure): void {
      this.exited.resolve(reason);
    }
  }
  const p = new Paused();
  reactor.spawnProcess(p, DENO, [DENO, "eval", BLOCKABLE_WRITER]);
  const exited = await withTimeout(p.exited.promise, 30_000, "processExited");
  // The child could not write everything: its stdout was not read.
  assertEquals((exited.value as ProcessTerminated).exitCode, 7);
  assertEquals(p.bytes, 0);
  p.transport.resumeProducing();
  const ended = await withTimeout(p.ended.promise, 30_000, "processEnded");
  assertEquals((ended.value as ProcessTerminated).exitCode, 7);
  // What the pipe held arrives after the resume.
  assert(p.bytes > 0 && p.bytes < 8 * 1024 * 1024, `${p.bytes} bytes`);
});
