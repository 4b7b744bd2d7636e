/**
 * ProcessEndpoint over real child processes (`cat` and `deno`), and
 * StandardIOEndpoint with the `stdio:` description.
 */
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertMatch,
  assertThrows,
} from "@std/assert";
import {
  ConnectionDone,
  connectProtocol,
  Factory,
  type Failure,
  log,
  PipeAddress,
  ProcessEndpoint,
  type ProcessEndpointTransport,
  ProcessTerminated,
  Protocol,
  Reactor,
  serverFromString,
  StandardIOEndpoint,
} from "../../mod.ts";
import type { IProcessTransport } from "../../src/internet/interfaces.ts";
import { ProcessEndpointTransport as EndpointTransport } from "../../src/internet/process_endpoint.ts";
import { MemoryReactor } from "../../src/testing/mod.ts";
import { LineReceiver } from "../../src/protocols/basic.ts";
import { decode, DENO, denoFlags, encode, withTimeout } from "../_helpers.ts";

/** Collects what arrives and how the connection ended. */
class Collect extends Protocol {
  received = "";
  made = false;
  lost = Promise.withResolvers<Failure>();
  override connectionMade(): void {
    this.made = true;
  }
  override dataReceived(data: Uint8Array): void {
    this.received += decode(data);
  }
  override connectionLost(reason: Failure): void {
    this.lost.resolve(reason);
  }
}

const ended = (p: Collect): Promise<Failure> =>
  withTimeout(p.lost.promise, 20_000, "connectionLost");

Deno.test("ProcessEndpoint: a protocol talks to cat as over a connection; closing stdin ends it with ConnectionDone", async () => {
  const p = new Collect();
  const endpoint = new ProcessEndpoint(new Reactor(), "cat");
  const connected = await connectProtocol(endpoint, p);
  assert(connected === p && p.made);
  assertInstanceOf(p.transport.getPeer(), PipeAddress);
  assertInstanceOf(p.transport.getHost(), PipeAddress);
  p.transport.writeSequence(["hello, ", "cat"]);
  p.transport.loseConnection();
  const reason = await ended(p);
  assertInstanceOf(reason.value, ConnectionDone);
  assertEquals(p.received, "hello, cat");
});

Deno.test("ProcessEndpoint: a non-zero exit ends the connection with the ProcessTerminated failure", async () => {
  const p = new Collect();
  await connectProtocol(
    new ProcessEndpoint(new Reactor(), DENO, {
      args: [DENO, "eval", "Deno.exit(3)"],
    }),
    p,
  );
  const reason = await ended(p);
  assertInstanceOf(reason.value, ProcessTerminated);
  assertEquals((reason.value as ProcessTerminated).exitCode, 3);
});

Deno.test("ProcessEndpoint: the child's stderr is logged by default, dropped with errFlag 'drop'", async () => {
  const script = "console.error('complaint'); console.log('answer')";
  for (const errFlag of ["log", "drop"] as const) {
    using logs = log.capture();
    const p = new Collect();
    await connectProtocol(
      new ProcessEndpoint(new Reactor(), DENO, {
        args: [DENO, "eval", script],
        errFlag,
      }),
      p,
    );
    assertInstanceOf((await ended(p)).value, ConnectionDone);
    assertEquals(p.received, "answer\n");
    const logged = logs.events.filter((e) => e.message?.includes("complaint"));
    if (errFlag === "log") {
      assertEquals(logged.length, 1);
      assertMatch(
        logged[0].message!,
        /^Process deno wrote stderr unhandled by Collect: complaint/,
      );
    } else {
      assertEquals(logged, []);
    }
  }
});

Deno.test("ProcessEndpoint: a program that cannot be found fails the Deferred; the protocol is never connected", async () => {
  const p = new Collect();
  let failure: Failure | undefined;
  await connectProtocol(
    new ProcessEndpoint(new Reactor(), "/nonexistent/twist-no-such-program"),
    p,
  ).addErrback((f) => {
    failure = f;
  });
  assertInstanceOf(failure?.value, ProcessTerminated);
  assertMatch((failure.value as Error).message, /no such program/);
  assertEquals(p.made, false);
});

Deno.test("ProcessEndpoint: a program --allow-run does not cover fails the Deferred, naming the flag", async () => {
  let failure: Failure | undefined;
  await connectProtocol(
    new ProcessEndpoint(new Reactor(), "ls"),
    new Collect(),
  ).addErrback((f) => {
    failure = f;
  });
  assertEquals(
    (failure?.value as Error).message,
    'Cannot run "ls": run again with --allow-run=ls',
  );
});

Deno.test("ProcessEndpoint: a LineReceiver talks to a Twist program on StandardIO", async () => {
  const lines: string[] = [];
  const lost = Promise.withResolvers<Failure>();
  class Lines extends LineReceiver {
    override delimiter = "\n";
    override connectionMade(): void {
      this.sendLine("one");
      this.sendLine("two");
    }
    override lineReceived(line: Uint8Array): void {
      lines.push(decode(line));
      if (lines.length === 2) this.transport.loseConnection();
    }
    override connectionLost(reason: Failure): void {
      lost.resolve(reason);
    }
  }
  using logs = log.capture();
  const p = await connectProtocol(
    new ProcessEndpoint(new Reactor(), DENO, {
      args: [
        DENO,
        "run",
        ...denoFlags(),
        "tests/fixtures/stdio_child.ts",
        "echo",
      ],
    }),
    new Lines(),
  );
  assert((p.transport as unknown as ProcessEndpointTransport).process.pid > 0);
  const reason = await withTimeout(lost.promise, 20_000, "connectionLost");
  assertInstanceOf(reason.value, ConnectionDone);
  assertEquals(lines, ["one", "two"]);
  // The child reported how its StandardIO ended, on stderr: logged.
  assert(
    logs.events.some((e) => e.message?.includes("lost: ConnectionDone")),
    JSON.stringify(logs.events.map((e) => e.message)),
  );
});

Deno.test("StandardIOEndpoint: listen connects one protocol; stopListening loses it and fires once it is lost", async () => {
  const written: string[] = [];
  let stdoutClosed = false;
  let readEnd: ((n: null) => void) | undefined;
  const endpoint = new StandardIOEndpoint(new Reactor(), {
    stdin: {
      read: () => new Promise((resolve) => readEnd = resolve),
      close: () => readEnd?.(null),
    },
    stdout: {
      write: (p) => {
        written.push(decode(p));
        return Promise.resolve(p.length);
      },
      close: () => {
        stdoutClosed = true;
      },
    },
  });
  const p = new Collect();
  const factory = new Factory();
  factory.buildProtocol = () => p;
  const port = await endpoint.listen(factory);
  assert(p.made);
  assertEquals(port.getHost().type, "PIPE");
  port.transport.write("hi");
  await port.stopListening();
  assertInstanceOf((await p.lost.promise).value, ConnectionDone);
  assertEquals(written, ["hi"]);
  assert(stdoutClosed);
});

Deno.test("serverFromString: stdio: is a StandardIOEndpoint and takes no arguments", () => {
  const reactor = new MemoryReactor();
  assertInstanceOf(serverFromString(reactor, "stdio:"), StandardIOEndpoint);
  assertInstanceOf(serverFromString(reactor, "stdio"), StandardIOEndpoint);
  assertThrows(
    () => serverFromString(reactor, "stdio:8080"),
    TypeError,
    '"stdio:" takes no arguments',
  );
});

Deno.test("examples: stdiodemo answers commands on stdin and stops at the end of input", async () => {
  const process = new Deno.Command(DENO, {
    args: [
      "run",
      ...denoFlags(),
      "--allow-net=localhost",
      "examples/stdiodemo.ts",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdin = process.stdin.getWriter();
  await stdin.write(encode("help\necho hi there\nbogus\nresolve localhost\n"));
  await stdin.close();
  const [status, out] = await withTimeout(
    Promise.all([process.status, collect(process)]),
    20_000,
    "stdiodemo to exit",
  );
  assertEquals(status.code, 0, out.err);
  assertEquals(
    out.out,
    'Twist stdio demo. Type "help" for help.\n' +
      ">>> Commands: help, echo TEXT, resolve NAME, quit\n" +
      ">>> hi there\n" +
      '>>> No such command "bogus": try "help".\n' +
      ">>> localhost is 127.0.0.1\n>>> ",
  );
});

async function collect(
  process: Deno.ChildProcess,
): Promise<{ out: string; err: string }> {
  const read = async (s: ReadableStream<Uint8Array>): Promise<string> => {
    let text = "";
    for await (const chunk of s) text += decode(chunk);
    return text;
  };
  const [out, err] = await Promise.all([
    read(process.stdout),
    read(process.stderr),
  ]);
  return { out, err };
}

Deno.test("twist echo --listen stdio: echoes over standard I/O (driven through a ProcessEndpoint)", async () => {
  const echoed = Promise.withResolvers<void>();
  class Ping extends Collect {
    override connectionMade(): void {
      super.connectionMade();
      this.transport.write("ping\n");
    }
    override dataReceived(data: Uint8Array): void {
      super.dataReceived(data);
      if (this.received === "ping\n") echoed.resolve();
    }
  }
  using _logs = log.capture(); // The runner's log lines arrive on stderr.
  const p = new Ping();
  await connectProtocol(
    new ProcessEndpoint(new Reactor(), DENO, {
      args: [
        DENO,
        "run",
        ...denoFlags(),
        "src/cli.ts",
        "echo",
        "--listen",
        "stdio:",
      ],
    }),
    p,
  );
  await withTimeout(echoed.promise, 20_000, "the echo");
  // A stdio server runs on after its input ends, as a TCP server does after
  // a client leaves: stop it as a user would, with Ctrl-C.
  (p.transport as unknown as ProcessEndpointTransport).process.signalProcess(
    "INT",
  );
  // A clean exit (the runner's handler) is ConnectionDone; a SIGINT that
  // arrives before the runner's reactor has installed its handlers ends the
  // child by the signal itself. Either way the connection ends.
  const reason = (await ended(p)).value;
  assert(
    reason instanceof ConnectionDone ||
      (reason instanceof ProcessTerminated && reason.signal === "SIGINT"),
    String(reason),
  );
});

Deno.test("ProcessEndpoint: pauseProducing and resumeProducing on the transport reach the process", () => {
  const calls: string[] = [];
  const process = {
    pauseProducing: () => calls.push("pause"),
    resumeProducing: () => calls.push("resume"),
  } as unknown as IProcessTransport;
  const transport = new EndpointTransport(process);
  transport.pauseProducing();
  transport.resumeProducing();
  assertEquals(calls, ["pause", "resume"]);
});
