import { assertEquals } from "@std/assert";
import { decode, DENO, denoFlags, encode, withTimeout } from "./_helpers.ts";
import { freePort, spawn, waitForListening } from "./_processes.ts";

const run = (...args: string[]): string[] => ["run", ...denoFlags(), ...args];

Deno.test("examples: the UDP echo pair", async () => {
  await using server = spawn(
    DENO,
    run(
      "--allow-net=127.0.0.1",
      "examples/udp_echo.ts",
      "server",
      "--port",
      "0",
    ),
  );
  const out = await server.waitForOutput(/UDP echo on port (\d+)\n/);
  const port = out.match(/UDP echo on port (\d+)/)![1];
  await using client = spawn(
    DENO,
    run(
      "--allow-net=127.0.0.1",
      "examples/udp_echo.ts",
      "client",
      "--port",
      port,
    ),
  );
  assertEquals((await client.wait()).code, 0, client.stderr());
  assertEquals(client.stdout(), "Server said: Hello, world!\n");
  server.process.kill("SIGINT");
  assertEquals((await server.wait()).code, 0);
});

Deno.test("examples: the command-per-line process runner", async () => {
  const port = freePort();
  await using server = spawn(
    DENO,
    run(
      `--allow-net=127.0.0.1:${port}`,
      "--allow-run=date,uptime,whoami",
      "examples/process_runner.ts",
      "--port",
      `${port}`,
    ),
  );
  await waitForListening("127.0.0.1", port);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let got = "";
  const buf = new Uint8Array(4096);
  const until = async (pattern: RegExp): Promise<void> => {
    while (!pattern.test(got)) {
      const n = await withTimeout(conn.read(buf), 10_000, String(pattern));
      if (n === null) throw new Error(`closed; got ${got}`);
      got += decode(buf.subarray(0, n));
    }
  };
  await until(/Commands: date, uptime, whoami\r\n/);
  await conn.write(encode("rm -rf /\r\n"));
  await until(/Unknown command "rm -rf \/"\r\n/);
  await conn.write(encode("whoami\r\n"));
  await until(/Unknown command[^\n]*\n\S+\n/); // whoami's answer: a user name
  conn.close();
  server.process.kill("SIGINT");
  assertEquals((await server.wait()).code, 0);
});
