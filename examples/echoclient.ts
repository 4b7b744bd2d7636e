// deno run --allow-net examples/echoclient.ts [--port 8000]
//
// The TypeScript twin of Twisted's classic echoclient.py: connects to
// localhost:8000, sends "Hello, world!", prints what the server said, and
// stops the reactor when the connection is gone. The narrowest permission
// also works:
//   deno run --allow-net=localhost:8000 examples/echoclient.ts
// deno-lint-ignore-file no-console
import {
  ClientFactory,
  type Failure,
  type IConnector,
  Protocol,
  reactor,
} from "../mod.ts";
import { parseOptions, portOption, runExample } from "./_cli.ts";

/** Once connected, send a message, then print the result. */
class EchoClient extends Protocol {
  override connectionMade(): void {
    this.transport.write("Hello, world!");
  }

  /** As soon as any data is received, print it and hang up. */
  override dataReceived(data: Uint8Array): void {
    console.log("Server said:", new TextDecoder().decode(data));
    this.transport.loseConnection();
  }
}

class EchoFactory extends ClientFactory {
  override protocol = EchoClient;

  override clientConnectionFailed(
    _connector: IConnector,
    _reason: Failure,
  ): void {
    console.log("Connection failed.");
    reactor.stop();
  }

  override clientConnectionLost(
    _connector: IConnector,
    _reason: Failure,
  ): void {
    console.log("Connection lost.");
    reactor.stop();
  }
}

function main(argv: string[]): void {
  const args = parseOptions(argv, {
    string: ["port"],
    default: { port: "8000" },
  });
  reactor.connectTCP("localhost", portOption(args.port), new EchoFactory());
  reactor.run();
}

if (import.meta.main) runExample("echoclient.ts [--port 8000]", main);
