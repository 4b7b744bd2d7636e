import { assertEquals, assertFalse } from "@std/assert";
import { decode, DENO, denoFlags, encode, withTimeout } from "./_helpers.ts";
import { spawn } from "./_processes.ts";
import { type Chat, ChatFactory } from "../examples/chat.ts";
import { IPv4Address } from "../src/internet/address.ts";
import { ConnectionDone } from "../src/internet/error.ts";
import { Failure } from "../src/internet/failure.ts";
import { StringTransport } from "../src/testing/mod.ts";

/** A chat client over a real loopback connection, reading line by line. */
class ChatClient implements AsyncDisposable {
  #conn: Deno.TcpConn;
  #pending = "";
  #closed = false;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  static async connect(port: number): Promise<ChatClient> {
    return new ChatClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  async send(line: string): Promise<void> {
    const data = encode(`${line}\r\n`);
    for (let n = 0; n < data.length;) {
      n += await this.#conn.write(data.subarray(n));
    }
  }

  async readLine(): Promise<string> {
    const buf = new Uint8Array(4096);
    while (!this.#pending.includes("\r\n")) {
      const n = await withTimeout(
        this.#conn.read(buf),
        10_000,
        "a line from the chat server",
      );
      if (n === null) {
        throw new Error(`Closed; pending ${JSON.stringify(this.#pending)}`);
      }
      this.#pending += decode(buf.subarray(0, n));
    }
    const end = this.#pending.indexOf("\r\n");
    const line = this.#pending.slice(0, end);
    this.#pending = this.#pending.slice(end + 2);
    return line;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#conn.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

Deno.test("examples/chat.ts asks two clients their names and relays each one's lines to the other", async () => {
  await using server = spawn(DENO, [
    "run",
    ...denoFlags(),
    "--allow-net=0.0.0.0:0",
    "examples/chat.ts",
    "--port",
    "0",
  ]);
  const out = await server.waitForOutput(/Chat server on port \d+\n/, 30_000);
  const port = Number(out.match(/port (\d+)/)![1]);
  {
    await using alice = await ChatClient.connect(port);
    await using bob = await ChatClient.connect(port);
    assertEquals(await alice.readLine(), "What's your name?");
    assertEquals(await bob.readLine(), "What's your name?");
    await alice.send("alice");
    assertEquals(await alice.readLine(), "Welcome, alice!");
    await bob.send("alice");
    assertEquals(await bob.readLine(), "Name taken, please choose another.");
    await bob.send("bob");
    assertEquals(await bob.readLine(), "Welcome, bob!");
    await alice.send("hi bob");
    assertEquals(await bob.readLine(), "<alice> hi bob");
    await bob.send("hi alice");
    await bob.send("how are you?");
    // Alice gets Bob's lines, in order, and never her own.
    assertEquals(await alice.readLine(), "<bob> hi alice");
    assertEquals(await alice.readLine(), "<bob> how are you?");
    // When Alice leaves, her name is free again.
    alice.close();
    await using carol = await ChatClient.connect(port);
    assertEquals(await carol.readLine(), "What's your name?");
    for (let attempt = 0;; attempt++) {
      await carol.send("alice");
      const answer = await carol.readLine();
      if (answer === "Welcome, alice!") break;
      // The server had not yet seen Alice's connection close: ask again.
      assertEquals(answer, "Name taken, please choose another.");
      if (attempt === 1000) throw new Error("Alice's name was never freed");
    }
    await carol.send("hi bob, I'm the new alice");
    assertEquals(await bob.readLine(), "<alice> hi bob, I'm the new alice");
  }
  server.process.kill("SIGINT");
  assertEquals((await server.wait()).code, 0);
});

/** A chat user connected to `factory` through a StringTransport. */
function join(factory: ChatFactory): { chat: Chat; said: () => string[] } {
  const chat = factory.buildProtocol(new IPv4Address("TCP", "127.0.0.1", 1));
  const transport = new StringTransport();
  chat.makeConnection(transport);
  return {
    chat,
    said: () => {
      const lines = decode(transport.value()).split("\r\n").slice(0, -1);
      transport.clear();
      return lines;
    },
  };
}

Deno.test("The chat protocol: names, relaying to everyone else, and leaving", () => {
  const factory = new ChatFactory();
  const alice = join(factory);
  const bob = join(factory);
  const carol = join(factory);
  for (const user of [alice, bob, carol]) {
    assertEquals(user.said(), ["What's your name?"]);
  }
  alice.chat.dataReceived(encode("alice\r\n"));
  // Names and messages may arrive split anywhere.
  bob.chat.dataReceived(encode("ali"));
  bob.chat.dataReceived(encode("ce\r\nbo"));
  bob.chat.dataReceived(encode("b\r\n"));
  assertEquals(alice.said(), ["Welcome, alice!"]);
  assertEquals(bob.said(), [
    "Name taken, please choose another.",
    "Welcome, bob!",
  ]);
  bob.chat.dataReceived(encode("hello all\r\n"));
  assertEquals(alice.said(), ["<bob> hello all"]);
  assertEquals(bob.said(), []);
  // Carol has no name yet, so she is not in the room.
  assertEquals(carol.said(), []);
  assertEquals([...factory.users.keys()], ["alice", "bob"]);
  bob.chat.connectionLost(new Failure(new ConnectionDone()));
  assertEquals([...factory.users.keys()], ["alice"]);
  alice.chat.dataReceived(encode("anyone?\r\n"));
  assertEquals(bob.said(), []);
  // A client that never chose a name leaves without touching the table.
  carol.chat.connectionLost(new Failure(new ConnectionDone()));
  assertFalse(factory.users.has("carol"));
  assertEquals(factory.users.size, 1);
});
