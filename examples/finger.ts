// deno run --allow-net=0.0.0.0:1079 examples/finger.ts [--port 1079]
//
// A finger server in the spirit of Twisted's finger tutorial: a client sends
// a user name and gets that user's status. The lookup returns a Deferred (it
// could be a database or a remote service), and the protocol writes the answer
// when it fires. Try `echo moshez | nc -C localhost 1079` (-C: lines end with
// CRLF, as LineReceiver expects).
import {
  deferLater,
  type Deferred,
  Factory,
  type IAddress,
  reactor,
  succeed,
} from "../mod.ts";
import { LineReceiver } from "../src/protocols/basic.ts";
import { parseOptions, portOption, runExample } from "./_cli.ts";

class FingerProtocol extends LineReceiver {
  declare factory: FingerFactory;

  override lineReceived(user: Uint8Array): void {
    this.factory.getUser(new TextDecoder().decode(user).trim())
      .addErrback(() => "Internal error in server")
      .addCallback((message: string) => {
        this.sendLine(message);
        this.transport.loseConnection();
      });
  }
}

class FingerFactory extends Factory {
  constructor(readonly users: Record<string, string>) {
    super();
  }

  /** Looks a user up, later: the answer is a Deferred. */
  getUser(user: string): Deferred<string> {
    if (user === "") return succeed("Try a user name, e.g. moshez");
    return deferLater(reactor, 0.01, () => this.users[user] ?? "No such user");
  }

  override buildProtocol(_addr: IAddress): FingerProtocol {
    const p = new FingerProtocol();
    p.factory = this;
    return p;
  }
}

function main(argv: string[]): void {
  const args = parseOptions(argv, {
    string: ["port"],
    default: { port: "1079" },
  });
  reactor.listenTCP(
    portOption(args.port),
    new FingerFactory({ moshez: "Happy and well", glyph: "Writing Twisted" }),
  );
  reactor.run();
}

if (import.meta.main) runExample("finger.ts [--port 1079]", main);
