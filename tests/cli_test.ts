import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "@std/assert";
import { decode, DENO, denoFlags, encode, withTimeout } from "./_helpers.ts";
import { type RunningChild, spawn } from "./_processes.ts";

const twist = (permissions: string[], ...args: string[]): RunningChild =>
  spawn(DENO, ["run", ...denoFlags(), ...permissions, "src/cli.ts", ...args]);

/** Starts a subcommand on a port the OS picks and returns the port from its log. */
async function started(child: RunningChild, command: string): Promise<number> {
  const log = await child.waitForStderr(
    /listening on .*port=(\d+)/,
    20_000,
  ).catch((e: Error) => {
    throw new Error(`${command} did not start listening: ${e.message}`);
  });
  return Number(log.match(/listening on .*port=(\d+)/)![1]);
}

async function readAll(conn: Deno.Conn, limit = Infinity): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(65536);
  while (total < limit) {
    const n = await withTimeout(conn.read(buf), 10_000, "data");
    if (n === null) break;
    chunks.push(buf.slice(0, n));
    total += n;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

async function stop(child: RunningChild): Promise<void> {
  child.process.kill("SIGINT");
  assertEquals((await child.wait()).code, 0, child.stderr());
}

const LISTEN = ["--listen", "tcp:0:interface=127.0.0.1"];
const NET = ["--allow-net=127.0.0.1"];

Deno.test("twist echo / discard / chargen / daytime / qotd serve their protocols and stop on SIGINT", async () => {
  for (const command of ["echo", "discard", "chargen", "daytime", "qotd"]) {
    await using child = twist(NET, command, ...LISTEN);
    const port = await started(child, command);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      if (command === "echo") {
        await conn.write(encode("ping"));
        assertEquals(decode(await readAll(conn, 4)), "ping");
      } else if (command === "discard") {
        await conn.write(encode("into the void"));
        await conn.closeWrite();
        assertEquals((await readAll(conn)).length, 0);
      } else if (command === "chargen") {
        const first = decode(await readAll(conn, 74)).slice(0, 74);
        assertEquals(first.length, 74);
        assert(first.startsWith(' !"#$%&'));
      } else if (command === "daytime") {
        assertMatch(
          decode(await readAll(conn)),
          /^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\r\n$/,
        );
      } else {
        assertEquals(
          decode(await readAll(conn)),
          "An apple a day keeps the doctor away.\r\n",
        );
      }
    } finally {
      conn.close();
    }
    await stop(child);
    assertMatch(child.stderr(), /^\d{4}-\d\d-\d\dT[\d:.]+Z \[info\] /m);
  }
});

Deno.test("twist --help, COMMAND --help and --version", async () => {
  await using help = twist([], "--help");
  assertEquals((await help.wait()).code, 0);
  assertStringIncludes(help.stdout(), "Usage: twist");
  assertStringIncludes(help.stdout(), "portforward");
  assertStringIncludes(
    help.stdout(),
    "deno run --allow-net jsr:@twist/twist/cli echo --listen tcp:8000",
  );
  for (const command of ["echo", "portforward", "serve"]) {
    await using sub = twist([], command, "--help");
    assertEquals((await sub.wait()).code, 0);
    assertStringIncludes(sub.stdout(), `Usage: twist ${command}`);
    assertStringIncludes(sub.stdout(), "Example:");
  }
  await using version = twist([], "--version");
  assertEquals((await version.wait()).code, 0);
  assertEquals(version.stdout(), "twist 0.1.0\n");
});

Deno.test("twist: bad input is one line on stderr and exit code 2", async () => {
  const cases: [string[], string][] = [
    [["echo", "--bogus"], 'Unknown option "--bogus"'],
    [["nosuch"], 'Unknown command "nosuch"'],
    [[], "Missing the command"],
    [["echo", "--listen", "tcp:abc"], 'Invalid endpoint description "tcp:abc"'],
    [["echo", "--listen", "carrier:pigeon"], 'unknown endpoint type "carrier"'],
    [["portforward", "--listen", "tcp:0"], "portforward needs --dest"],
    [
      ["portforward", "--dest", "tcp:nohost"],
      'Invalid endpoint description "tcp:nohost"',
    ],
    [["echo", "--log-format", "xml"], 'Invalid --log-format "xml"'],
    [["serve"], "serve needs exactly one MODULE"],
  ];
  for (const [args, message] of cases) {
    await using child = twist(NET, ...args);
    const status = await child.wait();
    assertEquals(status.code, 2, `${args.join(" ")}: ${child.stderr()}`);
    assertEquals(child.stderr().trim().split("\n").length, 1, child.stderr());
    assertStringIncludes(child.stderr(), message);
  }
});

Deno.test("twist: a missing permission says which flag to add", async () => {
  await using child = twist([], "echo", ...LISTEN);
  assertEquals((await child.wait()).code, 1);
  assertStringIncludes(child.stderr(), "run again with --allow-net=127.0.0.1");
});

Deno.test("twist serve MODULE serves a default-exported Protocol class or Factory; --log-format json; --quiet", async () => {
  {
    await using child = twist(
      [...NET, "--allow-read=."],
      "--log-format",
      "json",
      "serve",
      "tests/fixtures/cli_protocol.ts",
      ...LISTEN,
    );
    const port = await started(child, "serve");
    const line = child.stderr().trim().split("\n").find((l) =>
      l.includes("listening on")
    )!;
    assertEquals(JSON.parse(line).level, "info");
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(encode("quiet please"));
    assertEquals(decode(await readAll(conn, 12)), "QUIET PLEASE");
    conn.close();
    await stop(child);
  }
  {
    await using child = twist(
      [...NET, "--allow-read=."],
      "serve",
      "tests/fixtures/cli_factory.ts",
      ...LISTEN,
    );
    const port = await started(child, "serve");
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    assertEquals(decode(await readAll(conn)), "hello from a factory\r\n");
    conn.close();
    await stop(child);
  }
  {
    await using child = twist(NET, "--quiet", "echo", ...LISTEN);
    await new Promise((r) => setTimeout(r, 300)); // nothing to wait for: --quiet logs nothing
    assertEquals(child.stderr(), "");
    child.process.kill("SIGINT");
    assertEquals((await child.wait()).code, 0);
  }
  {
    await using child = twist(
      NET,
      "serve",
      "tests/fixtures/nonexistent.ts",
      ...LISTEN,
    );
    assertEquals((await child.wait()).code, 2);
    assertStringIncludes(
      child.stderr(),
      'Cannot import "tests/fixtures/nonexistent.ts"',
    );
  }
});

Deno.test("twist portforward carries 16 MiB both ways intact through a slow reader", async () => {
  await using echo = twist(NET, "echo", ...LISTEN);
  const echoPort = await started(echo, "echo");
  await using forward = twist(
    NET,
    "portforward",
    ...LISTEN,
    "--dest",
    `tcp:host=127.0.0.1:port=${echoPort}`,
  );
  const port = await started(forward, "portforward");
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const TOTAL = 16 * 1024 * 1024;
  const pattern = (i: number): number => (i * 31 + (i >> 12)) & 0xff;
  const writing = (async () => {
    const chunk = new Uint8Array(256 * 1024);
    for (let sent = 0; sent < TOTAL;) {
      for (let i = 0; i < chunk.length; i++) chunk[i] = pattern(sent + i);
      for (let at = 0; at < chunk.length;) {
        at += await conn.write(chunk.subarray(at));
      }
      sent += chunk.length;
    }
  })();
  let received = 0;
  let mismatch = -1;
  const buf = new Uint8Array(8192); // a slow reader: small reads, with pauses
  while (received < TOTAL) {
    const n = await withTimeout(conn.read(buf), 20_000, "forwarded data");
    if (n === null) break;
    for (let i = 0; i < n && mismatch < 0; i++) {
      if (buf[i] !== pattern(received + i)) mismatch = received + i;
    }
    received += n;
    if (received % (1024 * 1024) < n) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  await writing;
  conn.close();
  assertEquals(received, TOTAL);
  assertEquals(mismatch, -1);
  await stop(forward);
  await stop(echo);
});

Deno.test("twist portforward checks its destination at start-up: not granted, it exits 1 naming the flag instead of prompting at each connection", async () => {
  for (
    const [dest, flag] of [
      ["tcp:host=example.com:port=80", "--allow-net=example.com:80"],
      ["unix:/tmp/twist-no-such.sock", "--allow-read=/tmp/twist-no-such.sock"],
    ]
  ) {
    await using child = twist(NET, "portforward", ...LISTEN, "--dest", dest);
    const status = await child.wait(20_000);
    assertEquals(status.code, 1, child.stderr());
    assertStringIncludes(child.stderr(), `Cannot forward to "${dest}"`);
    assertStringIncludes(child.stderr(), `run again with ${flag}`);
    assert(!child.stderr().includes("listening"), child.stderr());
  }
});

/** Runs the runner to its end and returns its exit code and output. */
async function runToEnd(
  permissions: string[],
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  await using child = twist(permissions, ...args);
  const { code } = await child.wait();
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}

Deno.test("twist: mistakes are one line naming the fix, with exit code 2 (command line) or 1 (environment)", async () => {
  const cwd = Deno.cwd();
  const cases: [string[], string[], number, string][] = [
    [
      NET,
      ["echo", "--listen"],
      2,
      "--listen needs a value: an endpoint such as tcp:8000",
    ],
    [
      NET,
      ["echo", "--log-level", "loud"],
      2,
      'Invalid --log-level "loud": expected debug, info, warn, error',
    ],
    [
      NET,
      ["--quiet", "--log-level", "info", "echo"],
      2,
      "Use --quiet or --log-level, not both",
    ],
    [
      [...NET, "--allow-read=."],
      ["serve", "tests/fixtures/cli_not_servable.ts", ...LISTEN],
      2,
      '"tests/fixtures/cli_not_servable.ts" must export by default a Factory (with buildProtocol), a Protocol class (with makeConnection) or a service (with startService), not the function hello',
    ],
    [
      [],
      ["echo", "--listen", "unix:relative.sock"],
      1,
      `Cannot listen on "unix:relative.sock": permission denied: run again with --allow-read=${cwd}/relative.sock --allow-write=${cwd}/relative.sock --allow-net=unix:${cwd}/relative.sock`,
    ],
    [
      NET,
      ["--log-file", "/tmp/twist-tests/cli.log", "echo", ...LISTEN],
      1,
      'Cannot open the log file "/tmp/twist-tests/cli.log": run again with --allow-write=/tmp/twist-tests/cli.log',
    ],
  ];
  for (const [permissions, args, code, line] of cases) {
    const got = await runToEnd(permissions, ...args);
    assertEquals(
      { code: got.code, stderr: got.stderr, stdout: got.stdout },
      { code, stderr: `twist: ${line}\n`, stdout: "" },
      args.join(" "),
    );
  }
});

Deno.test("twist --log-level and --log-file, as Twisted's twist", async () => {
  Deno.mkdirSync("/tmp/twist-tests", { recursive: true });
  const path = "/tmp/twist-tests/cli-log-file.log";
  try {
    Deno.removeSync(path);
  } catch {
    // Not there.
  }
  {
    await using child = twist(
      [...NET, `--allow-write=${path}`],
      "--log-file",
      path,
      "--log-format",
      "json",
      "echo",
      ...LISTEN,
    );
    // The log goes to the file, nothing to stderr.
    const deadline = Date.now() + 20_000;
    const logged = (): string => {
      try {
        return Deno.readTextFileSync(path);
      } catch {
        return ""; // not created yet
      }
    };
    while (!logged().includes("listening on")) {
      if (Date.now() > deadline) throw new Error("no log line in the file");
      await new Promise((r) => setTimeout(r, 50));
    }
    await stop(child);
    assertEquals(child.stderr(), "");
    const events = Deno.readTextFileSync(path).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert(events.some((e) => /^echo listening on /.test(e.message)));
    assert(events.every((e) => e.level === "info" || e.level === "warn"));
  }
});
