import { assertEquals, assertStringIncludes } from "@std/assert";
import { DENO, denoFlags, hasPythonTwisted } from "../_helpers.ts";
import { freePort, spawn, waitForListening } from "../_processes.ts";

const PYTHON = "/usr/bin/python3";
const twisted = await hasPythonTwisted();
if (!twisted) {
  // deno-lint-ignore no-console
  console.log(
    "skipped: interop tests need /usr/bin/python3 with Twisted (apt-get install python3-twisted)",
  );
}

Deno.test({
  name: "interop: a Python Twisted client talks to Twist's echo server",
  ignore: !twisted,
  async fn() {
    const port = freePort();
    await using server = spawn(DENO, [
      "run",
      ...denoFlags(),
      `--allow-net=0.0.0.0:${port}`,
      "examples/echoserver.ts",
      "--port",
      `${port}`,
    ]);
    await waitForListening("127.0.0.1", port);
    const payload = "Hello from Twisted " + "x".repeat(100_000);
    await using client = spawn(PYTHON, [
      "tests/interop/echo_client.py",
      `${port}`,
      payload,
    ]);
    const status = await client.wait(30_000);
    assertEquals(status.code, 0, client.stderr());
    assertStringIncludes(client.stdout(), `Server said: ${payload}\n`);
    assertStringIncludes(client.stdout(), "Connection lost.");
    server.process.kill("SIGINT");
    assertEquals((await server.wait()).code, 0);
  },
});

Deno.test({
  name: "interop: Twist's echo client talks to a Python Twisted echo server",
  ignore: !twisted,
  async fn() {
    await using server = spawn(PYTHON, ["tests/interop/echo_server.py"]);
    const out = await server.waitForOutput(/port (\d+)\n/, 30_000);
    const port = Number(out.match(/port (\d+)/)![1]);
    await using client = spawn(DENO, [
      "run",
      ...denoFlags(),
      `--allow-net=localhost:${port}`,
      "examples/echoclient.ts",
      "--port",
      `${port}`,
    ]);
    const status = await client.wait();
    assertEquals(
      client.stdout(),
      "Server said: Hello, world!\nConnection lost.\n",
    );
    assertEquals(status.code, 0);
  },
});
