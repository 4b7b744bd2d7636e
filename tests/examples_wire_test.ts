import {
  assert,
  assertEquals,
  assertLessOrEqual,
  assertMatch,
  assertStringIncludes,
} from "@std/assert";
import { decode, DENO, denoFlags, encode, withTimeout } from "./_helpers.ts";
import { spawn } from "./_processes.ts";

const SERVICES = ["echo", "discard", "chargen", "qotd", "daytime"] as const;
type Service = typeof SERVICES[number];

/** A loopback connection to one of the example's services. */
class ServiceClient implements Disposable {
  readonly #conn: Deno.TcpConn;
  readonly #buf = new Uint8Array(16_384);

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  static async connect(port: number): Promise<ServiceClient> {
    return new ServiceClient(
      await withTimeout(
        Deno.connect({ hostname: "127.0.0.1", port }),
        10_000,
        `a connection to port ${port}`,
      ),
    );
  }

  async send(text: string): Promise<void> {
    const data = encode(text);
    for (let n = 0; n < data.length;) {
      n += await this.#conn.write(data.subarray(n));
    }
  }

  /** Tells the service this side will send no more. */
  closeWrite(): Promise<void> {
    return this.#conn.closeWrite();
  }

  /** Reads until at least `n` bytes have arrived (or the end, if `n` is omitted). */
  async read(n = Infinity): Promise<string> {
    const chunks: Uint8Array[] = [];
    let size = 0;
    while (size < n) {
      const got = await withTimeout(
        this.#conn.read(this.#buf),
        10_000,
        "data from the service",
      );
      if (got === null) {
        if (n === Infinity) break;
        throw new Error(`Closed after ${size} of ${n} bytes`);
      }
      chunks.push(this.#buf.slice(0, got));
      size += got;
    }
    return chunks.map(decode).join("");
  }

  [Symbol.dispose](): void {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }
}

Deno.test("examples: wire_services answers with echo, discard, chargen, qotd and daytime on the ports it is given", async () => {
  // Port 0 for each service: the system picks, and the example prints them.
  await using server = spawn(DENO, [
    "run",
    ...denoFlags(),
    "--allow-net=127.0.0.1",
    "examples/wire_services.ts",
    "--interface",
    "127.0.0.1",
    ...SERVICES.flatMap((name) => [`--${name}`, "0"]),
  ]);
  const out = await server.waitForOutput(/daytime on port \d+\n/);
  const ports = Object.fromEntries(
    [...out.matchAll(/(\w+) on port (\d+)/g)].map((m) => [m[1], Number(m[2])]),
  ) as Record<Service, number>;
  assertEquals(Object.keys(ports).sort(), [...SERVICES].sort());

  {
    using qotd = await ServiceClient.connect(ports.qotd);
    assertEquals(
      await qotd.read(),
      "An apple a day keeps the doctor away.\r\n",
    );
  }
  {
    using daytime = await ServiceClient.connect(ports.daytime);
    const text = await daytime.read();
    assertMatch(text, /^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\r\n$/);
    const sent = Date.parse(text.trim() + " UTC");
    assertLessOrEqual(Math.abs(Date.now() - sent), 60_000);
  }
  {
    using echo = await ServiceClient.connect(ports.echo);
    await echo.send("echo this\r\n");
    assertEquals(await echo.read(11), "echo this\r\n");
    await echo.send("and this");
    await echo.closeWrite(); // Echo then closes its side too
    assertEquals(await echo.read(), "and this");
  }
  {
    using chargen = await ServiceClient.connect(ports.chargen);
    const lines = (await chargen.read(3 * 74)).split("\r\n");
    assertEquals(
      lines[0],
      ` !"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_\`abcdefg`,
    );
    assertEquals(lines[1], lines[0].slice(1) + "h");
    assertEquals(lines[2], lines[0].slice(2) + "hi");
  }
  {
    using discard = await ServiceClient.connect(ports.discard);
    await discard.send("into the void\r\n");
    await discard.send("x".repeat(100_000));
    await discard.closeWrite();
    assertEquals(await discard.read(), ""); // nothing comes back, then it closes
  }

  server.process.kill("SIGINT"); // stops the reactor gracefully
  const status = await server.wait();
  assertEquals(status.code, 0, server.stderr());
});

Deno.test("examples: wire_services prints its usage with --help and rejects a bad port", async () => {
  const run = (args: string[]) =>
    new Deno.Command(DENO, {
      args: ["run", ...denoFlags(), "examples/wire_services.ts", ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  const help = await withTimeout(run(["--help"]), 20_000, "--help");
  assert(help.success);
  assertStringIncludes(decode(help.stdout), "--chargen 1919");
  const bad = await withTimeout(run(["--echo", "70000"]), 20_000, "a bad port");
  assertEquals(bad.code, 2);
  assertStringIncludes(decode(bad.stderr), 'Invalid port "70000" for --echo');
});
