// deno run --allow-net=127.0.0.1 examples/udp_echo.ts server|client [--port 8008] [--message TEXT] [--timeout 5]
//
// UDP echo (RFC 862 over datagrams) with DatagramProtocol: `server` sends
// every datagram back to where it came from; `client` sends one message,
// prints the reply and stops (or, with no reply within --timeout seconds,
// says so and exits 1: UDP has no connection to tell it nobody listens).
// deno-lint-ignore-file no-console
import { DatagramProtocol, type IPv4Address, reactor } from "../mod.ts";
import {
  parseOptions,
  portOption,
  runExample,
  secondsOption,
  UsageError,
} from "./_cli.ts";

class Echo extends DatagramProtocol {
  override datagramReceived(data: Uint8Array, addr: IPv4Address): void {
    this.transport.write(data, addr);
  }
}

class Client extends DatagramProtocol {
  constructor(
    readonly port: number,
    readonly message: string,
    readonly timeout: number,
  ) {
    super();
  }

  #timer?: ReturnType<typeof reactor.callLater>;

  override startProtocol(): void {
    this.transport.connect("127.0.0.1", this.port);
    this.transport.write(this.message);
    this.#timer = reactor.callLater(this.timeout, () => {
      console.error(
        `No reply from 127.0.0.1:${this.port} within ${this.timeout} s: is the server running?`,
      );
      Deno.exitCode = 1;
      reactor.stop();
    });
  }

  override datagramReceived(data: Uint8Array): void {
    this.#timer?.cancel();
    console.log("Server said:", new TextDecoder().decode(data));
    reactor.stop();
  }
}

function main(argv: string[]): void {
  const args = parseOptions(argv, {
    string: ["port", "message", "timeout"],
    default: { port: "8008", message: "Hello, world!", timeout: "5" },
    positionals: 1,
  });
  const port = portOption(args.port);
  const timeout = secondsOption(args.timeout, "timeout");
  if (args._[0] === "server") {
    const listening = reactor.listenUDP(port, new Echo(), {
      interface: "127.0.0.1",
    });
    listening.listening.then(() =>
      console.log(`UDP echo on port ${listening.getHost().port}`)
    );
  } else if (args._[0] === "client") {
    reactor.listenUDP(0, new Client(port, args.message, timeout), {
      interface: "127.0.0.1",
    });
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
  runExample(
    "udp_echo.ts server|client [--port 8008] [--message TEXT] [--timeout 5]",
    main,
  );
}
