// deno run --allow-net=0.0.0.0:8007 examples/quoteserver.ts [--port 8007]
//
// The counting quote server: each client sends a quote (one line) and gets
// back the quote the previous client left, numbered; its own quote is kept
// for the next client. The first client gets the server's own quote.
import { Factory, type IAddress, reactor } from "../mod.ts";
import { LineReceiver } from "../src/protocols/basic.ts";
import { parseOptions, portOption, runExample } from "./_cli.ts";

class QuoteFactory extends Factory {
  count = 0;
  quote = "An apple a day keeps the doctor away.";

  override buildProtocol(_addr: IAddress): QuoteProtocol {
    const p = new QuoteProtocol();
    p.factory = this;
    return p;
  }
}

class QuoteProtocol extends LineReceiver {
  declare factory: QuoteFactory;

  override lineReceived(line: Uint8Array): void {
    const factory = this.factory;
    factory.count++;
    this.sendLine(`#${factory.count}: ${factory.quote}`);
    factory.quote = new TextDecoder().decode(line);
    this.transport.loseConnection();
  }
}

function main(argv: string[]): void {
  const args = parseOptions(argv, {
    string: ["port"],
    default: { port: "8007" },
  });
  reactor.listenTCP(portOption(args.port), new QuoteFactory());
  reactor.run();
}

if (import.meta.main) runExample("quoteserver.ts [--port 8007]", main);
