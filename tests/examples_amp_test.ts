import { assertEquals, assertStringIncludes } from "@std/assert";
import { DENO, denoFlags, hasPythonTwisted } from "./_helpers.ts";
import { freePort, spawn, waitForListening } from "./_processes.ts";

const run = (...args: string[]): string[] => ["run", ...denoFlags(), ...args];
const PYTHON = "/usr/bin/python3";
const twisted = await hasPythonTwisted();

/** Starts examples/amp_server.ts on a free port. */
async function server() {
  const port = freePort();
  const child = spawn(
    DENO,
    run(
      `--allow-net=0.0.0.0:${port}`,
      "examples/amp_server.ts",
      "--port",
      `${port}`,
    ),
  );
  await waitForListening("127.0.0.1", port);
  return { child, port };
}

const client = (port: number) =>
  spawn(
    DENO,
    run(
      `--allow-net=127.0.0.1:${port}`,
      "examples/amp_client.ts",
      "--port",
      `${port}`,
    ),
  );

Deno.test("examples: the AMP math client asks the AMP math server for Sum(13, 81) and Divide(1234, 0), and exits", async () => {
  const { child, port } = await server();
  await using _server = child;
  await using c = client(port);
  assertEquals((await c.wait()).code, 0, c.stderr());
  assertEquals(
    c.stdout(),
    "Divided by zero: returning INF\nDone with math: [ 94, Infinity ]\n",
  );
  await child.waitForOutput("Did a sum: 13 + 81 = 94");
  child.process.kill("SIGINT");
  assertEquals((await child.wait()).code, 0);
});

Deno.test({
  name:
    "examples: the AMP math server answers Twisted's ampclient.py, and the client works with Twisted's server",
  ignore: !twisted,
  async fn() {
    const { child, port } = await server();
    await using _server = child;
    {
      await using py = spawn(PYTHON, [
        "tests/interop/amp_peer.py",
        "math",
        `${port}`,
      ]);
      assertEquals((await py.wait(30_000)).code, 0, py.stderr());
      assertEquals(
        py.stdout(),
        "Divided by zero: returning INF\nDone with math: [(True, 94), (True, inf)]\n",
      );
    }
    child.process.kill("SIGINT");
    await child.wait();

    await using python = spawn(PYTHON, [
      "tests/interop/amp_peer.py",
      "server",
      "tests/fixtures/tls/server.pem",
      "tests/fixtures/tls/server.key",
    ]);
    const out = await python.waitForOutput(/port (\d+)\n/, 30_000);
    const pyPort = Number(out.match(/port (\d+)/)![1]);
    await using c = client(pyPort);
    assertEquals((await c.wait()).code, 0, c.stderr());
    assertStringIncludes(c.stdout(), "Done with math: [ 94, Infinity ]");
  },
});
