// deno run --allow-net=0.0.0.0:8020 --allow-read=FILE examples/file_server.ts FILE [--port 8020] [--interface 0.0.0.0]
//
// Sends FILE to every client that connects, then closes the connection
// (try: nc localhost 8020 > copy). FileSender streams it as a pull producer:
// one 16 KiB chunk is written each time the connection has sent the last
// (the next is read meanwhile), so a slow client never makes the server hold
// more than a chunk or two of the file, however big the file is.
// deno-lint-ignore-file no-console
import { parseArgs } from "@std/cli";
import { Factory, type Failure, Protocol, reactor } from "../mod.ts";
import { FileSender } from "../src/protocols/basic.ts";

function serve(path: string): typeof Protocol {
  return class SendFile extends Protocol {
    override connectionMade(): void {
      new FileSender().beginFileTransfer(path, this.transport).addCallbacks(
        () => this.transport.loseConnection(),
        (failure: Failure) => {
          // The client left early, or the file could not be read.
          console.error(`Not sent: ${failure.getErrorMessage()}`);
          this.transport.loseConnection();
        },
      );
    }
  };
}

if (import.meta.main) {
  const args = parseArgs(Deno.args, {
    string: ["port", "interface"],
    default: { port: "8020", interface: "0.0.0.0" },
  });
  const path = String(args._[0] ?? "");
  if (!path) {
    console.error(
      "Usage: file_server.ts FILE [--port 8020] [--interface 0.0.0.0]",
    );
    Deno.exit(2);
  }
  const port = reactor.listenTCP(
    Number(args.port),
    Factory.forProtocol(serve(path)),
    { interface: args.interface },
  );
  console.log(`Serving ${path} on port ${port.getHost().port}`);
  reactor.run();
}
