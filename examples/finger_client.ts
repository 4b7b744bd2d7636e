// deno run --allow-net=localhost:1079 examples/finger_client.ts USER... [--port 1079]
//
// A line-protocol client that uses Deferreds and async/await together: each
// request returns a Deferred that fires with the server's reply line, and the
// program simply awaits them. Run it against examples/finger.ts.
// deno-lint-ignore-file no-console
import {
  connectProtocol,
  Deferred,
  react,
  type Reactor,
  TCP4ClientEndpoint,
} from "../mod.ts";
import { LineReceiver } from "../src/protocols/basic.ts";
import { parseOptions, portOption, runExample } from "./_cli.ts";

/** Sends one line and returns a Deferred for the reply line. */
class FingerClient extends LineReceiver {
  #reply = new Deferred<string>();

  finger(user: string): Deferred<string> {
    this.sendLine(user);
    return this.#reply;
  }

  override lineReceived(line: Uint8Array): void {
    this.#reply.callback(new TextDecoder().decode(line));
  }
}

function main(argv: string[]): void {
  const args = parseOptions(argv, {
    string: ["port"],
    default: { port: "1079" },
    positionals: Infinity,
  });
  const port = portOption(args.port);
  const users = args._.length > 0 ? args._ : ["moshez"];
  react(async (reactor: Reactor) => {
    for (const user of users) {
      // A finger server answers one question per connection.
      const endpoint = new TCP4ClientEndpoint(
        reactor,
        "localhost",
        port,
      );
      const client = await connectProtocol(endpoint, new FingerClient());
      const answer = await client.finger(user);
      console.log(`${user}: ${answer}`);
    }
  });
}

if (import.meta.main) {
  runExample("finger_client.ts [USER...] [--port 1079]", main);
}
