// deno run --allow-net --allow-read examples/tls_echoclient.ts [--port 8443] [--ca tests/fixtures/tls/ca.pem]
//
// The echo client over TLS: trusts the CA given with --ca (the test CA by
// default), sends "Hello, world!", prints the reply and stops.
// deno-lint-ignore-file no-console
import {
  ClientFactory,
  type Failure,
  type IConnector,
  Protocol,
  reactor,
} from "../mod.ts";
import { parseOptions, portOption, runExample } from "./_cli.ts";

class EchoClient extends Protocol {
  override connectionMade(): void {
    this.transport.write("Hello, world!");
  }

  override dataReceived(data: Uint8Array): void {
    console.log("Server said:", new TextDecoder().decode(data));
    this.transport.loseConnection();
  }
}

class EchoFactory extends ClientFactory {
  override protocol = EchoClient;

  override clientConnectionFailed(
    _connector: IConnector,
    reason: Failure,
  ): void {
    console.log(`Connection failed: ${reason.getErrorMessage()}`);
    reactor.stop();
  }

  override clientConnectionLost(): void {
    console.log("Connection lost.");
    reactor.stop();
  }
}

function main(argv: string[]): void {
  const args = parseOptions(argv, {
    string: ["port", "ca"],
    default: { port: "8443", ca: "tests/fixtures/tls/ca.pem" },
  });
  const port = portOption(args.port);
  const caCerts = [readFile(args.ca)];
  reactor.connectSSL("localhost", port, new EchoFactory(), {
    caCerts,
  });
  reactor.run();
}

function readFile(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) {
      throw new Error(
        `Cannot read "${path}": run again with --allow-read=${path}`,
      );
    }
    throw new Error(`Cannot read "${path}": ${(e as Error).message}`);
  }
}

if (import.meta.main) {
  runExample("tls_echoclient.ts [--port 8443] [--ca FILE]", main);
}
