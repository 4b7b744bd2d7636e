// deno run --allow-read=/tmp/twist-echo.sock --allow-write=/tmp/twist-echo.sock --allow-net=unix:/tmp/twist-echo.sock examples/unix_echo.ts server|client [--path /tmp/twist-echo.sock]
//
// Echo over a UNIX socket: `server` listens on the path (and removes the
// socket file when it stops), `client` sends "Hello, world!" and prints the
// reply. Deno wants read, write and net permission on the exact path.
// deno-lint-ignore-file no-console
import { parseArgs } from "@std/cli";
import {
  ClientFactory,
  Factory,
  type Failure,
  type IConnector,
  Protocol,
  reactor,
} from "../mod.ts";
import { Echo } from "../src/protocols/wire.ts";

class Hello extends Protocol {
  override connectionMade(): void {
    this.transport.write("Hello, world!");
  }

  override dataReceived(data: Uint8Array): void {
    console.log("Server said:", new TextDecoder().decode(data));
    this.transport.loseConnection();
  }
}

class HelloFactory extends ClientFactory {
  override protocol = Hello;

  override clientConnectionFailed(_c: IConnector, reason: Failure): void {
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
    string: ["path"],
    default: { path: "/tmp/twist-echo.sock" },
  });
  if (args._[0] === "server") {
    reactor.listenUNIX(args.path, Factory.forProtocol(Echo), {
      wantPID: false,
    });
    console.log(`listening on ${args.path}`);
  } else if (args._[0] === "client") {
    reactor.connectUNIX(args.path, new HelloFactory());
  } else {
    console.error("usage: unix_echo.ts server|client [--path PATH]");
    Deno.exit(2);
  }
  reactor.run();
}
