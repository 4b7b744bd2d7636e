// deno run --allow-net=localhost:1079 examples/finger_client.ts USER... [--port 1079]
//
// A line-protocol client that uses Deferreds and async/await together: each
// request returns a Deferred that fires with the server's reply line, and the
// program simply awaits them. Run it against examples/finger.ts.
// deno-lint-ignore-file no-console
import { parseArgs } from "@std/cli";
import {
  connectProtocol,
  Deferred,
  react,
  type Reactor,
  TCP4ClientEndpoint,
} from "../mod.ts";
import { LineReceiver } from "../src/protocols/basic.ts";

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

if (import.meta.main) {
  const args = parseArgs(Deno.args, {
    string: ["port"],
    default: { port: "1079" },
  });
  const users = args._.length > 0 ? args._.map(String) : ["moshez"];
  react(async (reactor: Reactor) => {
    for (const user of users) {
      // A finger server answers one question per connection.
      const endpoint = new TCP4ClientEndpoint(
        reactor,
        "localhost",
        Number(args.port),
      );
      const client = await connectProtocol(endpoint, new FingerClient());
      const answer = await client.finger(user);
      console.log(`${user}: ${answer}`);
    }
  });
}
