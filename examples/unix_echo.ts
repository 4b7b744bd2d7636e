// deno run --allow-read=/tmp/twist-echo.sock --allow-write=/tmp/twist-echo.sock --allow-net=unix:/tmp/twist-echo.sock examples/unix_echo.ts server|client [--path /tmp/twist-echo.sock]
//
// Echo over a UNIX socket: `server` listens on the path (and removes the
// socket file when it stops), `client` sends "Hello, world!" and prints the
// reply. Deno wants read, write and net permission on the exact path.
// deno-lint-ignore-file no-console
import {
  CannotListenError,
  ClientFactory,
  Factory,
  type Failure,
  type IConnector,
  Protocol,
  reactor,
} from "../mod.ts";
import { Echo } from "../src/protocols/wire.ts";
import { parseOptions, runExample, UsageError } from "./_cli.ts";

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

function main(argv: string[]): void {
  const args = parseOptions(argv, {
    string: ["path"],
    default: { path: "/tmp/twist-echo.sock" },
    positionals: 1,
  });
  if (args._[0] === "server") {
    try {
      reactor.listenUNIX(args.path, Factory.forProtocol(Echo), {
        wantPID: false,
      });
    } catch (e) {
      if (
        e instanceof CannotListenError &&
        e.cause instanceof Deno.errors.AddrInUse
      ) {
        throw new Error(
          `${args.path} is in use: if no server is running there, remove the stale socket file (rm ${args.path}) and run again`,
        );
      }
      throw e;
    }
    console.log(`listening on ${args.path}`);
  } else if (args._[0] === "client") {
    reactor.connectUNIX(args.path, new HelloFactory());
  } else {
    throw new UsageError(
      args._[0] === undefined
        ? "Missing server or client"
        : `Unknown mode "${args._[0]}": expected server or client`,
    );
  }
  reactor.run();
}

if (import.meta.main) {
  runExample("unix_echo.ts server|client [--path /tmp/twist-echo.sock]", main);
}
