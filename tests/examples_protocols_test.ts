import { assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { decode, DENO, denoFlags, encode, withTimeout } from "./_helpers.ts";
import { spawn } from "./_processes.ts";

/** A line-oriented loopback client for talking to example servers. */
class LineClient implements AsyncDisposable {
  #conn: Deno.TcpConn;
  #buffer = "";
  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }
  static async connect(port: number): Promise<LineClient> {
    return new LineClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }
  async send(line: string): Promise<void> {
    const data = encode(line + "\r\n");
    for (let n = 0; n < data.length;) {
      n += await this.#conn.write(data.subarray(n));
    }
  }
  async readLine(): Promise<string> {
    const buf = new Uint8Array(4096);
    while (!this.#buffer.includes("\r\n")) {
      const n = await withTimeout(
        this.#conn.read(buf),
        10_000,
        "a line from the server",
      );
      if (n === null) {
        throw new Error(
          `Connection closed; buffered: ${JSON.stringify(this.#buffer)}`,
        );
      }
      this.#buffer += decode(buf.subarray(0, n));
    }
    const i = this.#buffer.indexOf("\r\n");
    const line = this.#buffer.slice(0, i);
    this.#buffer = this.#buffer.slice(i + 2);
    return line;
  }
  async readAll(): Promise<string> {
    const buf = new Uint8Array(4096);
    for (
      let n = await this.#conn.read(buf);
      n !== null;
      n = await this.#conn.read(buf)
    ) {
      this.#buffer += decode(buf.subarray(0, n));
    }
    return this.#buffer;
  }
  [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
    return Promise.resolve();
  }
}

Deno.test("examples: the wire services answer on their ports", async () => {
  // Port 0 for each: the example prints the ports it got.
  const flags = ["echo", "discard", "chargen", "qotd", "daytime"].flatMap((
    name,
  ) => [`--${name}`, "0"]);
  await using server = spawn(DENO, [
    "run",
    ...denoFlags(),
    "--allow-net=0.0.0.0",
    "examples/wire_services.ts",
    ...flags,
  ]);
  const out = await server.waitForOutput(/daytime on port \d+\n/);
  const ports = Object.fromEntries(
    [...out.matchAll(/(\w+) on port (\d+)/g)].map((m) => [m[1], Number(m[2])]),
  );
  {
    await using qotd = await LineClient.connect(ports.qotd);
    assertEquals(
      await qotd.readAll(),
      "An apple a day keeps the doctor away.\r\n",
    );
  }
  {
    await using daytime = await LineClient.connect(ports.daytime);
    assertMatch(
      await daytime.readAll(),
      /^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\r\n$/,
    );
  }
  {
    await using echo = await LineClient.connect(ports.echo);
    await echo.send("echo this");
    assertEquals(await echo.readLine(), "echo this");
  }
  {
    await using chargen = await LineClient.connect(ports.chargen);
    const first = await chargen.readLine();
    assertEquals(first.length, 72);
    assertStringIncludes(first, "0123456789");
    assertEquals((await chargen.readLine())[0], "!");
  }
  {
    await using discard = await LineClient.connect(ports.discard);
    await discard.send("into the void");
    await discard.send("and more");
  }
  server.process.kill("SIGINT");
  assertEquals((await server.wait()).code, 0);
});
