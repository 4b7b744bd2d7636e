import { assertEquals } from "@std/assert";
import { DENO, denoFlags } from "./_helpers.ts";
import { freePort, spawn, waitForListening } from "./_processes.ts";

const run = (...args: string[]): string[] => ["run", ...denoFlags(), ...args];

Deno.test("examples: the TLS echo pair", async () => {
  const port = freePort();
  await using server = spawn(
    DENO,
    run(
      "--allow-net",
      "--allow-read",
      "examples/tls_echoserver.ts",
      "--port",
      `${port}`,
    ),
  );
  await waitForListening("127.0.0.1", port);
  await using client = spawn(
    DENO,
    run(
      "--allow-net",
      "--allow-read",
      "examples/tls_echoclient.ts",
      "--port",
      `${port}`,
    ),
  );
  const status = await client.wait();
  assertEquals(
    client.stdout(),
    "Server said: Hello, world!\nConnection lost.\n",
    client.stderr(),
  );
  assertEquals(status.code, 0);
  server.process.kill("SIGINT");
  assertEquals((await server.wait()).code, 0);
});

Deno.test("examples: the UNIX-socket echo, and the socket file removed when the server stops", async () => {
  // A new machine has no /tmp/twist-tests until a test makes it.
  Deno.mkdirSync("/tmp/twist-tests", { recursive: true });
  const path = "/tmp/twist-tests/example.sock";
  const perms = [
    `--allow-read=${path}`,
    `--allow-write=${path}`,
    `--allow-net=unix:${path}`,
  ];
  await using server = spawn(
    DENO,
    run(...perms, "examples/unix_echo.ts", "server", "--path", path),
  );
  await server.waitForOutput(`listening on ${path}`);
  await using client = spawn(
    DENO,
    run(...perms, "examples/unix_echo.ts", "client", "--path", path),
  );
  const status = await client.wait();
  assertEquals(
    client.stdout(),
    "Server said: Hello, world!\nConnection lost.\n",
    client.stderr(),
  );
  assertEquals(status.code, 0);
  server.process.kill("SIGINT");
  assertEquals((await server.wait()).code, 0);
  let exists = true;
  try {
    Deno.lstatSync(path);
  } catch {
    exists = false;
  }
  assertEquals(exists, false);
});

Deno.test("examples: the reconnecting client follows a server that comes and goes", async () => {
  const port = freePort();
  const count = (text: string, what: string): number =>
    text.split(what).length - 1;
  await using client = spawn(
    DENO,
    run(
      `--allow-net=localhost:${port}`,
      "examples/reconnecting_client.ts",
      "--port",
      `${port}`,
      "--max-delay",
      "0.2",
    ),
  );
  await client.waitForOutput("Connection failed");
  const startServer = () =>
    spawn(
      DENO,
      run(
        `--allow-net=0.0.0.0:${port}`,
        "examples/echoserver.ts",
        "--port",
        `${port}`,
      ),
    );
  {
    await using server = startServer();
    await client.waitForOutput("Server said: hello");
    server.process.kill("SIGINT");
    await server.wait();
    await client.waitForOutput("Connection lost; retrying");
  }
  {
    await using server = startServer();
    await client.waitForOutput(/Server said: hello[\s\S]*Server said: hello/);
    assertEquals(count(client.stdout(), "Connected."), 2);
    client.process.kill("SIGINT");
    assertEquals((await client.wait()).code, 0);
    // Stopping on Ctrl-C closes the connection on purpose: no "retrying".
    assertEquals(
      client.stdout().slice(client.stdout().lastIndexOf("Server said:")),
      "Server said: hello\nConnection closed.\n",
    );
    server.process.kill("SIGINT");
    await server.wait();
  }
});
