// deno run --allow-net=127.0.0.1:8010 --allow-run=date,uptime,whoami examples/process_runner.ts [--port 8010]
//
// A line protocol that runs a command per line, as in Twisted's process
// howto: the client sends the name of an allowed command and gets its output
// back (through a ProcessProtocol and getProcessOutput). Only the commands in
// ALLOWED run — and Deno's --allow-run enforces the same list. It listens on
// 127.0.0.1 only: a command server is not for the whole network. Try
// `nc -C localhost 8010` and type `date`.
import { Factory, getProcessOutput, reactor } from "../mod.ts";
import { LineReceiver } from "../src/protocols/basic.ts";
import { parseOptions, portOption, runExample } from "./_cli.ts";

const ALLOWED = new Set(["date", "uptime", "whoami"]);

class CommandRunner extends LineReceiver {
  override connectionMade(): void {
    this.sendLine(`Commands: ${[...ALLOWED].join(", ")}`);
  }

  override lineReceived(line: Uint8Array): void {
    const command = new TextDecoder().decode(line).trim();
    if (!ALLOWED.has(command)) {
      this.sendLine(`Unknown command "${command}"`);
      return;
    }
    getProcessOutput(command, [], { env: { PATH: "/usr/bin:/bin" } })
      .addCallbacks(
        (output: Uint8Array) => this.transport.write(output),
        (failure) => this.sendLine(`Failed: ${failure.getErrorMessage()}`),
      );
  }
}

function main(argv: string[]): void {
  const args = parseOptions(argv, {
    string: ["port"],
    default: { port: "8010" },
  });
  reactor.listenTCP(portOption(args.port), Factory.forProtocol(CommandRunner), {
    interface: "127.0.0.1",
  });
  reactor.run();
}

if (import.meta.main) runExample("process_runner.ts [--port 8010]", main);
