import { assertEquals, assertStringIncludes } from "@std/assert";
import { DENO, denoFlags } from "./_helpers.ts";
import { freePort, spawn, waitForListening } from "./_processes.ts";

for (
  const [label, serverNet, clientNet] of [
    [
      "--allow-net",
      (_p: number) => "--allow-net",
      (_p: number) => "--allow-net",
    ],
    [
      "the narrowest flags",
      (p: number) => `--allow-net=0.0.0.0:${p}`,
      (p: number) => `--allow-net=localhost:${p}`,
    ],
  ] as const
) {
  Deno.test(`examples: the echo pair prints what Twisted's does, with ${label}`, async () => {
    const port = freePort();
    await using server = spawn(DENO, [
      "run",
      ...denoFlags(),
      serverNet(port),
      "examples/echoserver.ts",
      "--port",
      `${port}`,
    ]);
    await waitForListening("127.0.0.1", port);
    await using client = spawn(DENO, [
      "run",
      ...denoFlags(),
      clientNet(port),
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
    server.process.kill("SIGINT");
    assertEquals((await server.wait()).code, 0);
  });
}

Deno.test("examples: the echo client against no server prints Connection failed. and exits 0", async () => {
  const port = freePort();
  await using client = spawn(DENO, [
    "run",
    ...denoFlags(),
    "--allow-net",
    "examples/echoclient.ts",
    "--port",
    `${port}`,
  ]);
  const status = await client.wait();
  assertEquals(client.stdout(), "Connection failed.\n");
  assertEquals(status.code, 0);
});

Deno.test("examples: the echo server without permission says which flag to add", async () => {
  const port = freePort();
  await using server = spawn(DENO, [
    "run",
    ...denoFlags(),
    "examples/echoserver.ts",
    "--port",
    `${port}`,
  ]);
  const status = await server.wait();
  assertEquals(status.code, 1);
  assertStringIncludes(server.stderr(), `--allow-net=0.0.0.0:${port}`);
});
