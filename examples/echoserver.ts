// deno run --allow-net examples/echoserver.ts [--port 8000]
//
// The TypeScript twin of Twisted's classic echoserv.py: listens on port 8000
// and sends back whatever it receives. The narrowest permission also works:
//   deno run --allow-net=0.0.0.0:8000 examples/echoserver.ts
// (`deno task echo --port 9000` runs it on another port.)
import { Factory, Protocol, reactor } from "../mod.ts";
import { parseOptions, portOption, runExample } from "./_cli.ts";

/** This is just about the simplest possible protocol. */
class Echo extends Protocol {
  /** As soon as any data is received, write it back. */
  override dataReceived(data: Uint8Array): void {
    this.transport.write(data);
  }
}

function main(argv: string[]): void {
  const args = parseOptions(argv, {
    string: ["port"],
    default: { port: "8000" },
  });
  const port = portOption(args.port);
  const factory = new Factory();
  factory.protocol = Echo;
  reactor.listenTCP(port, factory);
  reactor.run();
}

if (import.meta.main) runExample("echoserver.ts [--port 8000]", main);
