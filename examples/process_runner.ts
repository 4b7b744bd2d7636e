// deno run --allow-net=0.0.0.0:8010 --allow-run=date,uptime,whoami examples/process_runner.ts [--port 8010]
//
// A line protocol that runs a command per line, as in Twisted's process
// howto: the client sends the name of an allowed command and gets its output
// back (through a ProcessProtocol and getProcessOutput). Only the commands in
// ALLOWED run — and Deno's --allow-run enforces the same list.
import { parseArgs } from "@std/cli";
import { Factory, getProcessOutput, reactor } from "../mod.ts";
import { LineReceiver } from "../src/protocols/basic.ts";

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

if (import.meta.main) {
  const args = parseArgs(Deno.args, {
    string: ["port"],
    default: { port: "8010" },
  });
  reactor.listenTCP(Number(args.port), Factory.forProtocol(CommandRunner));
  reactor.run();
}
