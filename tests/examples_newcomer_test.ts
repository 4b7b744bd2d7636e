/**
 * The examples as a newcomer meets them: every mistake is one clear line and
 * an exit code, and every command an example's header suggests is run here
 * exactly as written (with the import map flags of .ci/run added to `deno
 * run`, the only change).
 */
import { assert, assertEquals, assertMatch } from "@std/assert";
import { decode, DENO, denoFlags, encode, withTimeout } from "./_helpers.ts";
import { freePort, spawn, waitForListening } from "./_processes.ts";

const run = (...args: string[]): string[] => ["run", ...denoFlags(), ...args];

async function output(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await withTimeout(
    new Deno.Command(DENO, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output(),
    20_000,
    args.join(" "),
  );
  return { code, stdout: decode(stdout), stderr: decode(stderr) };
}

/** Whether `nc` (netcat-openbsd, installed by .ci/run) is here. */
const HAVE_NC = (() => {
  try {
    return new Deno.Command("nc", {
      args: ["-h"],
      stdout: "null",
      stderr: "null",
    })
      .outputSync() !== undefined;
  } catch {
    return false;
  }
})();
if (!HAVE_NC) {
  // deno-lint-ignore no-console
  console.log(
    "skipped: the tests of the nc commands the examples suggest need nc (apt-get install netcat-openbsd)",
  );
}

/** The exact command in `example`'s header, in backquotes, checked to be there. */
function suggested(example: string, command: string): string {
  const source = Deno.readTextFileSync(`examples/${example}`);
  const header = source.split("\n").filter((l) => l.startsWith("//")).join(
    "\n",
  ).replaceAll(/\n\/\/ ?/g, " ");
  assert(
    header.includes(`\`${command}\``),
    `examples/${example} no longer suggests \`${command}\``,
  );
  return command;
}

/** A shell command with stdin and stdout piped (as a user types it). */
function shell(command: string) {
  const child = spawn("sh", ["-c", command], { stdin: "piped" });
  const writer = child.process.stdin.getWriter();
  return {
    type: (text: string) => writer.write(encode(text)),
    waitFor: (pattern: RegExp): Promise<string> =>
      child.waitForOutput(pattern, 20_000),
    async [Symbol.asyncDispose]() {
      await writer.close().catch(() => {});
      await child[Symbol.asyncDispose]();
    },
  };
}

/** Runs a suggested shell command to its end and returns its stdout. */
async function shellOutput(command: string): Promise<string> {
  const { code, stdout, stderr } = await withTimeout(
    new Deno.Command("sh", {
      args: ["-c", command],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output(),
    20_000,
    command,
  );
  assertEquals(code, 0, decode(stderr));
  return decode(stdout);
}

// --- One clear line and an exit code -------------------------------------

Deno.test("examples: bad arguments are one line, the usage, and exit code 2", async () => {
  const cases: [string[], string, string][] = [
    [
      ["--allow-net", "examples/echoserver.ts", "--port", "abc"],
      'echoserver.ts: Invalid --port "abc": expected an integer from 0 to 65535',
      "Usage: echoserver.ts [--port 8000]",
    ],
    [
      ["--allow-net", "examples/echoserver.ts", "--bogus"],
      'echoserver.ts: Unknown option "--bogus"',
      "Usage: echoserver.ts [--port 8000]",
    ],
    [
      ["--allow-net", "examples/heartbeat.ts", "--interval", "abc"],
      'heartbeat.ts: Invalid --interval "abc": expected a positive number of seconds',
      "Usage: heartbeat.ts [--port 8009] [--interval 1]",
    ],
    [
      ["--allow-net", "examples/echoclient.ts", "--port", "70000"],
      'echoclient.ts: Invalid --port "70000": expected an integer from 0 to 65535',
      "Usage: echoclient.ts [--port 8000]",
    ],
    [
      ["examples/udp_echo.ts"],
      "udp_echo.ts: Missing server or client",
      "Usage: udp_echo.ts server|client [--port 8008] [--message TEXT] [--timeout 5]",
    ],
    [
      ["examples/unix_echo.ts", "serve"],
      'unix_echo.ts: Unknown mode "serve": expected server or client',
      "Usage: unix_echo.ts server|client [--path /tmp/twist-echo.sock]",
    ],
    [
      ["--allow-net", "examples/portforward.ts", "--dest", "carrier:pigeon"],
      'portforward.ts: Invalid --dest: Invalid endpoint description "carrier:pigeon": unknown endpoint type "carrier" (expected "tcp", "tcp6", "unix", "ssl" or "tls")',
      "Usage: portforward.ts [--port 8080] [--dest ENDPOINT]",
    ],
  ];
  for (const [args, line, usage] of cases) {
    const got = await output(run(...args));
    assertEquals(got, { code: 2, stdout: "", stderr: `${line}\n${usage}\n` });
  }
});

Deno.test("examples: a problem with the environment is one line naming the fix, exit code 1; --debug shows the stack", async () => {
  const port = freePort();
  Deno.mkdirSync("/tmp/twist-tests", { recursive: true });
  const stale = "/tmp/twist-tests/c.sock";
  Deno.writeTextFileSync(stale, ""); // a file left where the socket goes
  const unixFlags = [
    `--allow-read=${stale}`,
    `--allow-write=${stale}`,
    `--allow-net=unix:${stale}`,
  ];
  try {
    const cases: [string[], string][] = [
      [
        ["examples/echoserver.ts", "--port", `${port}`],
        `echoserver.ts: Cannot listen on "0.0.0.0:${port}": permission denied: run again with --allow-net=0.0.0.0:${port}`,
      ],
      [
        ["--allow-net", "examples/tls_echoclient.ts"],
        'tls_echoclient.ts: Cannot read "tests/fixtures/tls/ca.pem": run again with --allow-read=tests/fixtures/tls/ca.pem',
      ],
      [
        [...unixFlags, "examples/unix_echo.ts", "server", "--path", stale],
        `unix_echo.ts: ${stale} is in use: if no server is running there, remove the stale socket file (rm ${stale}) and run again`,
      ],
    ];
    for (const [args, line] of cases) {
      const got = await output(run(...args));
      assertEquals(got, { code: 1, stdout: "", stderr: `${line}\n` });
    }
  } finally {
    Deno.removeSync(stale);
  }
  const debug = await output(
    run("examples/echoserver.ts", "--port", `${port}`, "--debug"),
  );
  assertEquals(debug.code, 1);
  assertMatch(debug.stderr, /^CannotListenError: Cannot listen on/);
  assertMatch(debug.stderr, /\n {4}at .*examples\/echoserver\.ts/);
});

Deno.test("examples: the echo client without --allow-net keeps its output and warns once, naming the flag", async () => {
  const port = freePort();
  const got = await output(run("examples/echoclient.ts", "--port", `${port}`));
  assertEquals(got.code, 0);
  assertEquals(got.stdout, "Connection failed.\n");
  assertMatch(
    got.stderr,
    new RegExp(
      `^\\S+ \\[warn\\] Permission denied connecting to "localhost:${port}": run again with --allow-net=localhost:${port}\\n$`,
    ),
  );
});

Deno.test("examples: the UDP client with no server says so after --timeout and exits 1", async () => {
  const port = freePort();
  const got = await output(
    run(
      "--allow-net=127.0.0.1",
      "examples/udp_echo.ts",
      "client",
      "--port",
      `${port}`,
      "--timeout",
      "0.3",
    ),
  );
  assertEquals(got, {
    code: 1,
    stdout: "",
    stderr:
      `No reply from 127.0.0.1:${port} within 0.3 s: is the server running?\n`,
  });
});

Deno.test("examples: `deno task echo --port N` runs the echo server on port N", async () => {
  const port = freePort();
  await using server = spawn(DENO, ["task", "echo", "--port", `${port}`]);
  await waitForListening("127.0.0.1", port);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(encode("ping"));
  const buf = new Uint8Array(4);
  assertEquals(await withTimeout(conn.read(buf), 10_000, "the echo"), 4);
  assertEquals(decode(buf), "ping");
  conn.close();
  // deno task passes SIGINT on to the server (SIGKILL would leave it running).
  server.process.kill("SIGINT");
  assertEquals((await server.wait()).code, 0);
});

// --- The commands the headers suggest, exactly as written -----------------

Deno.test({
  name: "examples: finger.ts's `echo moshez | nc -C localhost 1079`",
  ignore: !HAVE_NC,
  async fn() {
    await using server = spawn(
      DENO,
      run("--allow-net=0.0.0.0:1079", "examples/finger.ts"),
    );
    await waitForListening("127.0.0.1", 1079);
    const command = suggested(
      "finger.ts",
      "echo moshez | nc -C localhost 1079",
    );
    assertEquals(await shellOutput(command), "Happy and well\r\n");
    server.process.kill("SIGINT");
    assertEquals((await server.wait()).code, 0);
  },
});

Deno.test({
  name: "examples: chat.ts with two terminals running `nc -C localhost 8123`",
  ignore: !HAVE_NC,
  async fn() {
    await using server = spawn(
      DENO,
      run("--allow-net=0.0.0.0:8123", "examples/chat.ts"),
    );
    await server.waitForOutput("Chat server on port 8123\n");
    const command = suggested("chat.ts", "nc -C localhost 8123");
    await using alice = shell(command);
    await alice.waitFor(/What's your name\?\r\n$/);
    await alice.type("alice\n");
    await alice.waitFor(/Welcome, alice!\r\n$/);
    await using bob = shell(command);
    await bob.waitFor(/What's your name\?\r\n$/);
    await bob.type("bob\n");
    await bob.waitFor(/Welcome, bob!\r\n$/);
    await alice.type("hello bob\n");
    await bob.waitFor(/<alice> hello bob\r\n$/);
    server.process.kill("SIGINT");
    assertEquals((await server.wait()).code, 0);
  },
});

Deno.test({
  name: "examples: heartbeat.ts's `nc localhost 8009`",
  ignore: !HAVE_NC,
  async fn() {
    await using server = spawn(
      DENO,
      run("--allow-net=0.0.0.0:8009", "examples/heartbeat.ts"),
    );
    await waitForListening("127.0.0.1", 8009);
    await using nc = shell(suggested("heartbeat.ts", "nc localhost 8009"));
    assertMatch(await nc.waitFor(/heartbeat \d+\r\n/), /^heartbeat \d+\r\n/);
    server.process.kill("SIGINT");
    assertEquals((await server.wait()).code, 0);
  },
});

Deno.test({
  name: "examples: wire_services.ts's nc commands",
  ignore: !HAVE_NC,
  async fn() {
    await using server = spawn(
      DENO,
      run(
        "--allow-net=0.0.0.0:7007,0.0.0.0:9009,0.0.0.0:1919,0.0.0.0:1717,0.0.0.0:1313",
        "examples/wire_services.ts",
      ),
    );
    await server.waitForOutput("daytime on port 1313\n");
    assertEquals(
      await shellOutput(suggested("wire_services.ts", "nc localhost 1717")),
      "An apple a day keeps the doctor away.\r\n",
    );
    assertMatch(
      await shellOutput(suggested("wire_services.ts", "nc localhost 1313")),
      /^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\r\n$/,
    );
    const chargen = await shellOutput(
      suggested("wire_services.ts", "nc localhost 1919 | head"),
    );
    assertEquals(chargen.split("\r\n").length, 11);
    assert(chargen.startsWith(' !"#$%&'));
    server.process.kill("SIGINT");
    assertEquals((await server.wait()).code, 0);
  },
});

Deno.test({
  name:
    "examples: process_runner.ts listens on 127.0.0.1, answers `nc -C localhost 8010`, and sends Failed: when a command may not run",
  ignore: !HAVE_NC,
  async fn() {
    // The header's command: --allow-net=127.0.0.1:8010 only works because
    // the server binds 127.0.0.1, not every interface.
    await using server = spawn(
      DENO,
      run(
        "--allow-net=127.0.0.1:8010",
        "--allow-run=date,whoami", // uptime left out: its reply is Failed:
        "examples/process_runner.ts",
      ),
    );
    await waitForListening("127.0.0.1", 8010);
    await using nc = shell(
      suggested("process_runner.ts", "nc -C localhost 8010"),
    );
    await nc.waitFor(/Commands: date, uptime, whoami\r\n$/);
    await nc.type("date\n");
    await nc.waitFor(/\d\d:\d\d:\d\d.*\n$/);
    await nc.type("uptime\n");
    await nc.waitFor(
      /Failed: Cannot run "uptime": run again with --allow-run=uptime\r\n$/,
    );
    server.process.kill("SIGINT");
    assertEquals((await server.wait()).code, 0);
  },
});
