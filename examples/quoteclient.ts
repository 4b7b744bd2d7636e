// deno run --allow-net=localhost:8007 examples/quoteclient.ts "A quote to leave" [--port 8007]
//
// Leaves a quote on the quote server and prints the one it gets back.
// deno-lint-ignore-file no-console
import {
  ClientFactory,
  type Failure,
  type IConnector,
  reactor,
} from "../mod.ts";
import { LineReceiver } from "../src/protocols/basic.ts";
import { parseOptions, portOption, runExample } from "./_cli.ts";

class QuoteClient extends LineReceiver {
  quote = "";

  override connectionMade(): void {
    this.sendLine(this.quote);
  }

  override lineReceived(line: Uint8Array): void {
    console.log(`Got quote ${new TextDecoder().decode(line)}`);
  }
}

class QuoteClientFactory extends ClientFactory {
  constructor(readonly quote: string) {
    super();
    this.noisy = false;
  }

  override buildProtocol(): QuoteClient {
    const p = new QuoteClient();
    p.quote = this.quote;
    return p;
  }

  override clientConnectionFailed(_c: IConnector, reason: Failure): void {
    console.log(`Connection failed: ${reason.getErrorMessage()}`);
    reactor.stop();
  }

  override clientConnectionLost(): void {
    reactor.stop();
  }
}

function main(argv: string[]): void {
  const args = parseOptions(argv, {
    string: ["port"],
    default: { port: "8007" },
    positionals: 1,
  });
  const quote = args._[0] ?? "The early bird gets the worm.";
  reactor.connectTCP(
    "localhost",
    portOption(args.port),
    new QuoteClientFactory(quote),
  );
  reactor.run();
}

if (import.meta.main) {
  runExample('quoteclient.ts ["A quote to leave"] [--port 8007]', main);
}
