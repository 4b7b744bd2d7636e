// deno run --allow-net=localhost:8007 examples/quoteclient.ts "A quote to leave" [--port 8007]
//
// Leaves a quote on the quote server and prints the one it gets back.
// deno-lint-ignore-file no-console
import { parseArgs } from "@std/cli";
import {
  ClientFactory,
  type Failure,
  type IConnector,
  reactor,
} from "../mod.ts";
import { LineReceiver } from "../src/protocols/basic.ts";

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

if (import.meta.main) {
  const args = parseArgs(Deno.args, {
    string: ["port"],
    default: { port: "8007" },
  });
  const quote = String(args._[0] ?? "The early bird gets the worm.");
  reactor.connectTCP(
    "localhost",
    Number(args.port),
    new QuoteClientFactory(quote),
  );
  reactor.run();
}
