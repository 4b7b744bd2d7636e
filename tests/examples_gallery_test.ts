import { assertEquals, assertMatch } from "@std/assert";
import { decode, DENO, denoFlags, encode, withTimeout } from "./_helpers.ts";
import { freePort, spawn, waitForListening } from "./_processes.ts";

const run = (...args: string[]): string[] => ["run", ...denoFlags(), ...args];

async function request(port: number, text?: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    if (text !== undefined) await conn.write(encode(text));
    let out = "";
    const buf = new Uint8Array(4096);
    for (
      let n = await withTimeout(conn.read(buf), 10_000, "a reply");
      n !== null;
      n = await withTimeout(conn.read(buf), 10_000, "the rest of the reply")
    ) {
      out += decode(buf.subarray(0, n));
    }
    return out;
  } finally {
    conn.close();
  }
}

/** Reads from `conn` until `done(text so far)`; each read is bounded, and the end of stream fails. */
async function readUntil(
  conn: Deno.Conn,
  done: (got: string) => boolean,
  what: string,
): Promise<string> {
  const buf = new Uint8Array(1024);
  let got = "";
  while (!done(got)) {
    const n = await withTimeout(conn.read(buf), 10_000, what);
    if (n === null) throw new Error(`closed before ${what}; got ${got}`);
    got += decode(buf.subarray(0, n));
  }
  return got;
}

Deno.test("examples: the counting quote server and its client", async () => {
  const port = freePort();
  await using server = spawn(
    DENO,
    run(
      `--allow-net=0.0.0.0:${port}`,
      "examples/quoteserver.ts",
      "--port",
      `${port}`,
    ),
  );
  await waitForListening("127.0.0.1", port);
  const client = (quote: string) =>
    spawn(
      DENO,
      run(
        `--allow-net=localhost:${port}`,
        "examples/quoteclient.ts",
        quote,
        "--port",
        `${port}`,
      ),
    );
  {
    await using first = client("Fortune favours the bold.");
    assertEquals((await first.wait()).code, 0);
    assertEquals(
      first.stdout(),
      "Got quote #1: An apple a day keeps the doctor away.\n",
    );
  }
  {
    await using second = client("Brevity is the soul of wit.");
    assertEquals((await second.wait()).code, 0);
    assertEquals(second.stdout(), "Got quote #2: Fortune favours the bold.\n");
  }
  server.process.kill("SIGINT");
  assertEquals((await server.wait()).code, 0);
});

Deno.test("examples: the finger server and the Deferred + async/await finger client", async () => {
  const port = freePort();
  await using server = spawn(
    DENO,
    run(
      `--allow-net=0.0.0.0:${port}`,
      "examples/finger.ts",
      "--port",
      `${port}`,
    ),
  );
  await waitForListening("127.0.0.1", port);
  assertEquals(await request(port, "moshez\r\n"), "Happy and well\r\n");
  assertEquals(await request(port, "nobody\r\n"), "No such user\r\n");
  await using client = spawn(
    DENO,
    run(
      `--allow-net=localhost:${port}`,
      "examples/finger_client.ts",
      "moshez",
      "glyph",
      "--port",
      `${port}`,
    ),
  );
  assertEquals((await client.wait()).code, 0, client.stderr());
  assertEquals(
    client.stdout(),
    "moshez: Happy and well\nglyph: Writing Twisted\n",
  );
  server.process.kill("SIGINT");
  assertEquals((await server.wait()).code, 0);
});

Deno.test("examples: the port forwarder forwards to an echo server", async () => {
  const echoPort = freePort();
  await using echo = spawn(
    DENO,
    run(
      `--allow-net=0.0.0.0:${echoPort}`,
      "examples/echoserver.ts",
      "--port",
      `${echoPort}`,
    ),
  );
  await waitForListening("127.0.0.1", echoPort);
  const port = freePort();
  await using forward = spawn(
    DENO,
    run(
      "--allow-net",
      "examples/portforward.ts",
      "--port",
      `${port}`,
      "--dest",
      `tcp:host=127.0.0.1:port=${echoPort}`,
    ),
  );
  await waitForListening("127.0.0.1", port);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(encode("through the forwarder"));
  const got = await readUntil(conn, (got) => got.length >= 21, "the echo");
  conn.close();
  assertEquals(got, "through the forwarder");
  forward.process.kill("SIGINT");
  assertEquals((await forward.wait()).code, 0);
  echo.process.kill("SIGINT");
  assertEquals((await echo.wait()).code, 0);
});

Deno.test("examples: the LoopingCall heartbeat", async () => {
  const port = freePort();
  await using server = spawn(
    DENO,
    run(
      `--allow-net=0.0.0.0:${port}`,
      "examples/heartbeat.ts",
      "--port",
      `${port}`,
      "--interval",
      "0.05",
    ),
  );
  await waitForListening("127.0.0.1", port);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const got = await readUntil(
    conn,
    (got) => (got.match(/heartbeat/g) ?? []).length >= 2,
    "two heartbeats",
  );
  conn.close();
  assertMatch(got, /^heartbeat \d+\r\nheartbeat \d+\r\n/);
  server.process.kill("SIGINT");
  assertEquals((await server.wait()).code, 0);
});
