// `twist serve` with a service module, and `--listen haproxy:...`.
import { assertEquals, assertStringIncludes } from "@std/assert";
import { decode, DENO, denoFlags, encode, withTimeout } from "./_helpers.ts";
import { type RunningChild, spawn } from "./_processes.ts";

const twist = (permissions: string[], ...args: string[]): RunningChild =>
  spawn(DENO, ["run", ...denoFlags(), ...permissions, "src/cli.ts", ...args]);

const NET = ["--allow-net=127.0.0.1", "--allow-read=."];

async function readAll(conn: Deno.Conn): Promise<string> {
  let text = "";
  const buf = new Uint8Array(4096);
  for (;;) {
    const n = await withTimeout(conn.read(buf), 10_000, "data");
    if (n === null) return text;
    text += decode(buf.subarray(0, n));
  }
}

Deno.test("twist serve MODULE runs a default-exported service: started in order, stopped in reverse on SIGINT, waiting for its Deferreds", async () => {
  await using child = twist(NET, "serve", "tests/fixtures/cli_service.ts");
  const log = await child.waitForStderr(/serve started/);
  const port = Number(log.match(/greeter listening on .*port=(\d+)/)![1]);
  assertStringIncludes(log, "lifecycle started");
  assertStringIncludes(log, "serve started tests/fixtures/cli_service.ts");
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  assertEquals(await readAll(conn), "hello from a service, tick 1\r\n");
  conn.close();
  child.process.kill("SIGINT");
  assertEquals((await child.wait()).code, 0, child.stderr());
  const stderr = child.stderr();
  // The listening service (added last) stopped first; shutdown waited for
  // the lifecycle service's slow stop.
  const stopping = stderr.indexOf("lifecycle stopping");
  const stopped = stderr.indexOf("lifecycle stopped");
  assertEquals(stopping > 0 && stopped > stopping, true, stderr);
  await withTimeout(
    Deno.connect({ hostname: "127.0.0.1", port }).then(
      (c) => {
        c.close();
        throw new Error("still listening after the service stopped");
      },
      (e) => e,
    ),
    5_000,
    "a refused connection",
  );
});

Deno.test("twist serve: a service takes no --listen, and one that cannot start exits 1 with its error", async () => {
  {
    await using child = twist(
      NET,
      "serve",
      "tests/fixtures/cli_service.ts",
      "--listen",
      "tcp:0",
    );
    assertEquals((await child.wait()).code, 2);
    assertEquals(
      child.stderr(),
      'twist: "tests/fixtures/cli_service.ts" exports a service, which says where it listens: drop --listen\n',
    );
  }
  {
    await using child = twist(
      NET,
      "serve",
      "tests/fixtures/cli_service_fails.ts",
    );
    assertEquals((await child.wait()).code, 1);
    assertStringIncludes(
      child.stderr(),
      'twist: Cannot connect to the database "db.example": refused',
    );
  }
});

Deno.test("twist --listen haproxy:ENDPOINT serves behind a proxy that sends the PROXY protocol", async () => {
  await using child = twist(
    NET,
    "echo",
    "--listen",
    "haproxy:tcp:0:interface=127.0.0.1",
  );
  const log = await child.waitForStderr(/listening on .*port=(\d+)/);
  const port = Number(log.match(/listening on .*port=(\d+)/)![1]);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(encode("PROXY TCP4 192.0.2.1 192.0.2.2 1234 80\r\nping"));
  const buf = new Uint8Array(16);
  const n = await withTimeout(conn.read(buf), 10_000, "the echo");
  assertEquals(decode(buf.subarray(0, n!)), "ping");
  conn.close();
  // Without the header: dropped, with the reason in the log.
  const bare = await Deno.connect({ hostname: "127.0.0.1", port });
  await bare.write(encode("ping"));
  assertEquals(await readAll(bare), "");
  bare.close();
  await child.waitForStderr("did not start with a PROXY protocol header");
  child.process.kill("SIGINT");
  assertEquals((await child.wait()).code, 0);
});
