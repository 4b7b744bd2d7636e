// deno run --allow-net=0.0.0.0:8123 examples/chat.ts [--port 8123]
//
// The LineReceiver chat server from Twisted's "Writing Servers" howto: it asks
// each client for a name, then relays every line to everyone else. Try it
// with two terminals running `nc -C localhost 8123` (-C: lines end with CRLF,
// as LineReceiver expects). With `--port 0` the system
// picks a free port (run it with `--allow-net=0.0.0.0:0`); the port in use is
// printed either way.
import { Factory, reactor } from "../mod.ts";
import type { Failure, IAddress } from "../mod.ts";
import { LineReceiver } from "../src/protocols/basic.ts";
import { parseOptions, portOption, runExample } from "./_cli.ts";

const decoder = new TextDecoder();

/** One chat client: first its name, then its messages. */
export class Chat extends LineReceiver {
  name: string | undefined;
  state: "GETNAME" | "CHAT" = "GETNAME";
  readonly users: Map<string, Chat>;

  constructor(users: Map<string, Chat>) {
    super();
    this.users = users;
  }

  override connectionMade(): void {
    this.sendLine("What's your name?");
  }

  override connectionLost(_reason: Failure): void {
    if (this.name !== undefined && this.users.get(this.name) === this) {
      this.users.delete(this.name);
    }
  }

  override lineReceived(line: Uint8Array): void {
    const text = decoder.decode(line);
    if (this.state === "GETNAME") this.handleGetName(text);
    else this.handleChat(text);
  }

  handleGetName(name: string): void {
    if (this.users.has(name)) {
      this.sendLine("Name taken, please choose another.");
      return;
    }
    this.sendLine(`Welcome, ${name}!`);
    this.name = name;
    this.users.set(name, this);
    this.state = "CHAT";
  }

  handleChat(message: string): void {
    const line = `<${this.name}> ${message}`;
    for (const protocol of this.users.values()) {
      if (protocol !== this) protocol.sendLine(line);
    }
  }
}

/** Makes a `Chat` per connection, all sharing one table of users. */
export class ChatFactory extends Factory {
  readonly users: Map<string, Chat> = new Map(); // maps user names to Chat instances

  override buildProtocol(_addr: IAddress): Chat {
    return new Chat(this.users);
  }
}

function main(argv: string[]): void {
  const args = parseOptions(argv, {
    string: ["port"],
    default: { port: "8123" },
  });
  const port = reactor.listenTCP(portOption(args.port), new ChatFactory());
  // deno-lint-ignore no-console
  console.log(
    `Chat server on port ${port.getHost().port}`,
  );
  reactor.run();
}

if (import.meta.main) runExample("chat.ts [--port 8123]", main);
