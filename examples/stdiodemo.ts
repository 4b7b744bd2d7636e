// deno run --allow-net examples/stdiodemo.ts
//
// A line-based command shell on stdin and stdout, in the spirit of Twisted's
// stdiodemo.py: a LineReceiver whose transport is this process's standard
// I/O (StandardIO), so the protocol is written exactly as it would be for a
// TCP connection. Type "help". The end of input (Ctrl-D) or "quit" ends it.
//
// "resolve NAME" looks a name up with reactor.resolve: grant --allow-net for
// the names you try (e.g. --allow-net=localhost).
import { type Failure, reactor, StandardIO } from "../mod.ts";
import { LineReceiver } from "../src/protocols/basic.ts";

class CommandShell extends LineReceiver {
  override delimiter = "\n";
  /** Lookups not answered yet. */
  #pending = 0;
  /** Whether stdin has ended (we may still answer what is pending). */
  #inputEnded = false;

  override connectionMade(): void {
    this.sendLine('Twist stdio demo. Type "help" for help.');
    this.transport.write(">>> ");
  }

  override lineReceived(bytes: Uint8Array): void {
    const line = new TextDecoder().decode(bytes).trim();
    if (line === "") return void this.transport.write(">>> ");
    const [command, ...args] = line.split(/\s+/);
    switch (command) {
      case "help":
        this.sendLine("Commands: help, echo TEXT, resolve NAME, quit");
        break;
      case "echo":
        this.sendLine(args.join(" "));
        break;
      case "resolve": {
        const [name] = args;
        if (!name) {
          this.sendLine("Usage: resolve NAME");
          break;
        }
        this.#pending++;
        reactor.resolve(name).addCallbacks(
          (address) => this.#answer(`${name} is ${address}`),
          (failure) => this.#answer(`Error: ${failure.getErrorMessage()}`),
        );
        return;
      }
      case "quit":
        this.sendLine("Goodbye.");
        this.transport.loseConnection();
        return;
      default:
        this.sendLine(`No such command "${command}": try "help".`);
    }
    this.transport.write(">>> ");
  }

  #answer(text: string): void {
    this.#pending--;
    this.sendLine(text);
    this.transport.write(">>> ");
    this.#finishIfDone();
  }

  /** stdin ended (Ctrl-D): answer the lookups still pending, then stop. */
  readConnectionLost(): void {
    this.#inputEnded = true;
    this.#finishIfDone();
  }

  #finishIfDone(): void {
    if (this.#inputEnded && this.#pending === 0) {
      this.transport.loseConnection();
    }
  }

  override connectionLost(_reason: Failure): void {
    // stdin ended or "quit" (or the reactor is already stopping: Ctrl-C).
    if (reactor.running) reactor.stop();
  }
}

if (import.meta.main) {
  new StandardIO(new CommandShell());
  reactor.run();
}
