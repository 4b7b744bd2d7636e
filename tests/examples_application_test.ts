// examples/application.ts and examples/haproxy_whoami.ts.
import { assertEquals } from "@std/assert";
import { makeApplication } from "../examples/application.ts";
import { Reactor } from "../src/internet/reactor.ts";
import type { IPv4Address } from "../src/internet/address.ts";
import type { StreamServerEndpointService } from "../src/application/mod.ts";
import { decode, DENO, denoFlags, encode, withTimeout } from "./_helpers.ts";
import { spawn } from "./_processes.ts";

async function read(conn: Deno.Conn, until: (text: string) => boolean) {
  let text = "";
  const buf = new Uint8Array(4096);
  while (!until(text)) {
    const n = await withTimeout(conn.read(buf), 10_000, "data");
    if (n === null) break;
    text += decode(buf.subarray(0, n));
  }
  return text;
}

Deno.test("examples/application.ts: the echo server and the clock start and stop with the application", async () => {
  const app = makeApplication("tcp:0:interface=127.0.0.1", {
    reactor: new Reactor(),
    every: 0.05,
  });
  app.startService();
  const server = app.getServiceNamed("server") as StreamServerEndpointService;
  const port = await withTimeout(server.whenListening(), 5_000, "listening");
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: (port.getHost() as IPv4Address).port,
  });
  try {
    await conn.write(encode("ping\r\n"));
    const text = await read(
      conn,
      (t) => t.includes("ping\r\n") && t.includes("It is "),
    );
    assertEquals(text.includes("ping\r\n"), true, text);
  } finally {
    conn.close();
  }
  await withTimeout(app.stopService(), 5_000, "the application to stop");
  assertEquals([...app].map((s) => s.running), [false, false]);
});

Deno.test("examples/haproxy_whoami.ts answers with the client's address from the PROXY header", async () => {
  await using child = spawn(DENO, [
    "run",
    ...denoFlags(),
    "--allow-net=127.0.0.1",
    "examples/haproxy_whoami.ts",
    "--listen",
    "haproxy:tcp:0:interface=127.0.0.1",
  ]);
  const out = await child.waitForOutput(/port=(\d+)/);
  const port = Number(out.match(/port=(\d+)/)![1]);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      encode(
        "PROXY TCP4 198.51.100.9 127.0.0.1 4242 80\r\nGET / HTTP/1.0\r\n\r\n",
      ),
    );
    const reply = await read(conn, () => false);
    assertEquals(
      reply.slice(reply.indexOf("\r\n\r\n") + 4),
      "You are 198.51.100.9, port 4242\n",
    );
  } finally {
    conn.close();
  }
  child.process.kill("SIGINT");
  assertEquals((await child.wait()).code, 0);
});
