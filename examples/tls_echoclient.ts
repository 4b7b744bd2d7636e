// deno run --allow-net --allow-read examples/tls_echoclient.ts [--port 8443] [--ca tests/fixtures/tls/ca.pem]
//
// The echo client over TLS: trusts the CA given with --ca (the test CA by
// default), sends "Hello, world!", prints the reply and stops.
// deno-lint-ignore-file no-console
import { parseArgs } from "@std/cli";
import {
  ClientFactory,
  type Failure,
  type IConnector,
  Protocol,
  reactor,
} from "../mod.ts";

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

if (import.meta.main) {
  const args = parseArgs(Deno.args, {
    string: ["port", "ca"],
    default: { port: "8443", ca: "tests/fixtures/tls/ca.pem" },
  });
  const caCerts = [Deno.readTextFileSync(args.ca)];
  reactor.connectSSL("localhost", Number(args.port), new EchoFactory(), {
    caCerts,
  });
  reactor.run();
}
