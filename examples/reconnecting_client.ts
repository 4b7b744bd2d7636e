// deno run --allow-net=localhost:8000 examples/reconnecting_client.ts [--port 8000]
//
// A client that stays connected to a server that comes and goes: it says hello
// on every connection and reconnects with Twisted's backoff when the
// connection fails or is lost, until you press Ctrl-C. Try it with
// `deno task echo` started and stopped a few times.
// deno-lint-ignore-file no-console
import {
  type Failure,
  type IConnector,
  Protocol,
  reactor,
  ReconnectingClientFactory,
} from "../mod.ts";
import { parseOptions, portOption, runExample, secondsOption } from "./_cli.ts";

class Hello extends Protocol {
  override connectionMade(): void {
    console.log("Connected.");
    this.transport.write("hello");
  }

  override dataReceived(data: Uint8Array): void {
    console.log("Server said:", new TextDecoder().decode(data));
  }
}

class Reconnecting extends ReconnectingClientFactory {
  override protocol = Hello;

  override buildProtocol(
    addr: Parameters<ReconnectingClientFactory["buildProtocol"]>[0],
  ) {
    this.resetDelay(); // connected: start the backoff afresh next time
    return super.buildProtocol(addr);
  }

  override clientConnectionFailed(
    connector: IConnector,
    reason: Failure,
  ): void {
    super.clientConnectionFailed(connector, reason);
    console.log(
      `Connection failed (${reason.getErrorMessage()}); retrying in ${
        this.delay.toFixed(1)
      } s`,
    );
  }

  override clientConnectionLost(connector: IConnector, reason: Failure): void {
    super.clientConnectionLost(connector, reason);
    // Stopping (Ctrl-C): the connection is closed on purpose, no retry.
    if (!this.continueTrying) console.log("Connection closed.");
    else console.log(`Connection lost; retrying in ${this.delay.toFixed(1)} s`);
  }
}

function main(argv: string[]): void {
  const args = parseOptions(argv, {
    string: ["port", "max-delay"],
    default: { port: "8000", "max-delay": "10" },
  });
  const port = portOption(args.port);
  const factory = new Reconnecting();
  factory.maxDelay = secondsOption(args["max-delay"], "max-delay");
  factory.noisy = false;
  reactor.connectTCP("localhost", port, factory);
  reactor.addSystemEventTrigger(
    "before",
    "shutdown",
    () => factory.stopTrying(),
  );
  reactor.run();
}

if (import.meta.main) {
  runExample("reconnecting_client.ts [--port 8000] [--max-delay 10]", main);
}
