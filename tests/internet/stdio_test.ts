/**
 * StandardIO over real pipes: each test runs tests/fixtures/stdio_child.ts
 * with its stdin, stdout and stderr piped, and talks to it.
 */
import { assert, assertEquals, assertMatch } from "@std/assert";
import { decode, DENO, denoFlags, encode, withTimeout } from "../_helpers.ts";
import { Protocol, Reactor, StandardIO } from "../../mod.ts";

interface Child {
  stdin: WritableStreamDefaultWriter<Uint8Array>;
  /** Everything on stdout, once it closes. */
  stdout: Promise<string>;
  /** Everything on stderr, once it closes. */
  stderr: Promise<string>;
  status: Promise<Deno.CommandStatus>;
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = "";
  for await (const chunk of stream) text += decode(chunk);
  return text;
}

function child(mode: string, ...args: string[]): Child {
  const process = new Deno.Command(DENO, {
    args: [
      "run",
      ...denoFlags(),
      "tests/fixtures/stdio_child.ts",
      mode,
      ...args,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return {
    stdin: process.stdin.getWriter(),
    stdout: collect(process.stdout),
    stderr: collect(process.stderr),
    status: process.status,
  };
}

/** The child's exit, its stdout and its stderr (bounded). */
async function finished(
  c: Child,
): Promise<{ code: number; out: string; err: string }> {
  const [status, out, err] = await withTimeout(
    Promise.all([c.status, c.stdout, c.stderr]),
    20_000,
    "the child to exit",
  );
  return { code: status.code, out, err };
}

Deno.test("StandardIO: echoes stdin to stdout; the end of input ends the connection with ConnectionDone", async () => {
  const c = child("echo");
  await c.stdin.write(encode("hello, "));
  await c.stdin.write(encode("world\n"));
  await c.stdin.close();
  const { code, out, err } = await finished(c);
  assertEquals(code, 0, err);
  assertEquals(out, "hello, world\n");
  assertMatch(err, /lost: ConnectionDone/);
});

Deno.test("StandardIO: a half-closeable protocol hears readConnectionLost and may still write", async () => {
  const c = child("halfclose");
  await c.stdin.write(encode("12345"));
  await c.stdin.close();
  const { code, out, err } = await finished(c);
  assertEquals(code, 0, err);
  assertEquals(out, "got 5 bytes, then EOF\n");
  assertMatch(err, /lost: ConnectionDone/);
});

Deno.test("StandardIO: loseConnection sends what was written and ends the process while stdin is still open", async () => {
  const c = child("bye");
  // stdin stays open: the child must not wait for its end.
  const { code, out, err } = await finished(c);
  assertEquals(code, 0, err);
  assertEquals(out, "bye\n");
  assertMatch(err, /lost: ConnectionDone/);
  await c.stdin.close().catch(() => {});
});

Deno.test("StandardIO: the reactor's shutdown sends what was written and closes, with stdin still open", async () => {
  const c = child("shutdown");
  const { code, out, err } = await finished(c);
  assertEquals(code, 0, err);
  assertEquals(out, "flushed at shutdown\n");
  assertMatch(err, /lost: ConnectionDone/);
  assert(!err.includes("error"), err);
  await c.stdin.close().catch(() => {});
});

Deno.test("StandardIO: a pull producer streams 8 MiB to stdout with a bounded write buffer", async () => {
  const total = 8 * 1024 * 1024;
  const process = new Deno.Command(DENO, {
    args: [
      "run",
      ...denoFlags(),
      "tests/fixtures/stdio_child.ts",
      "stream",
      String(total),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let received = 0;
  for await (const chunk of process.stdout) received += chunk.length;
  const err = await collect(process.stderr);
  await process.stdin.close();
  assertEquals((await process.status).code, 0, err);
  assertEquals(received, total);
  const peak = Number(err.match(/peak buffer: (\d+)/)?.[1]);
  assert(peak <= 64 * 1024, `peak write buffer ${peak}`);
  assertMatch(err, /lost: ConnectionDone/);
});

Deno.test("StandardIO: pauseProducing stops delivering stdin until resumeProducing", async () => {
  const c = child("paused");
  await c.stdin.write(encode("data\n"));
  await c.stdin.close();
  const { code, out, err } = await finished(c);
  assertEquals(code, 0, err);
  assertEquals(out, "paused\nresumed\ndata\n");
});

Deno.test("StandardIO: a reader of stdout that goes away ends the connection with ConnectionLost", async () => {
  const process = new Deno.Command(DENO, {
    args: ["run", ...denoFlags(), "tests/fixtures/stdio_child.ts", "echo"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  await process.stdout.cancel(); // Nobody reads the child's stdout any more.
  const stdin = process.stdin.getWriter();
  await stdin.write(encode("echo this\n"));
  const err = await withTimeout(
    collect(process.stderr),
    20_000,
    "the child's stderr",
  );
  await stdin.close().catch(() => {});
  assertEquals((await process.status).code, 0, err);
  assertMatch(err, /lost: ConnectionLost/);
});

Deno.test("StandardIO: loseWriteConnection closes stdout, tells a half-closeable protocol, and reading goes on", async () => {
  const events: string[] = [];
  let feed: ((n: number | null) => void) | undefined;
  let pending: Uint8Array | undefined;
  const stdin = {
    read: (p: Uint8Array): Promise<number | null> => {
      pending = p;
      return new Promise((resolve) => feed = resolve);
    },
    close: () => events.push("stdin closed"),
  };
  const stdout = {
    write: (p: Uint8Array): Promise<number> => {
      events.push(`wrote ${decode(p)}`);
      return Promise.resolve(p.length);
    },
    close: () => events.push("stdout closed"),
  };
  const lost = Promise.withResolvers<string>();
  class Half extends Protocol {
    override connectionMade(): void {
      this.transport.write("a");
      (this.transport as unknown as { loseWriteConnection(): void })
        .loseWriteConnection();
    }
    override dataReceived(data: Uint8Array): void {
      events.push(`got ${decode(data)}`);
      this.transport.write("dropped: stdout is closed");
    }
    readConnectionLost(): void {
      events.push("readConnectionLost");
    }
    writeConnectionLost(): void {
      events.push("writeConnectionLost");
      pending!.set(encode("b"));
      feed!(1);
    }
    override connectionLost(reason: { value: unknown }): void {
      lost.resolve((reason.value as Error).name);
    }
  }
  new StandardIO(new Half(), { reactor: new Reactor(), stdin, stdout });
  // Once "b" is delivered, end the input: both halves are then closed.
  while (!events.includes("got b")) {
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  feed!(null);
  assertEquals(
    await withTimeout(lost.promise, 5_000, "connectionLost"),
    "ConnectionDone",
  );
  assertEquals(events, [
    "wrote a",
    "stdout closed",
    "writeConnectionLost",
    "got b",
    "readConnectionLost",
  ]);
  // No read was pending at the end: stdin is left as it was.
});
