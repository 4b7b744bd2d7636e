// deno run --allow-net=127.0.0.1 examples/udp_echo.ts server|client [--port 8008] [--message TEXT]
//
// UDP echo (RFC 862 over datagrams) with DatagramProtocol: `server` sends
// every datagram back to where it came from; `client` sends one message,
// prints the reply and stops.
// deno-lint-ignore-file no-console
import { parseArgs } from "@std/cli";
import { DatagramProtocol, type IPv4Address, reactor } from "../mod.ts";

class Echo extends DatagramProtocol {
  override datagramReceived(data: Uint8Array, addr: IPv4Address): void {
    this.transport.write(data, addr);
  }
}

class Client extends DatagramProtocol {
  constructor(readonly port: number, readonly message: string) {
    super();
  }

  override startProtocol(): void {
    this.transport.connect("127.0.0.1", this.port);
    this.transport.write(this.message);
  }

  override datagramReceived(data: Uint8Array): void {
    console.log("Server said:", new TextDecoder().decode(data));
    reactor.stop();
  }
}

if (import.meta.main) {
  const args = parseArgs(Deno.args, {
    string: ["port", "message"],
    default: { port: "8008", message: "Hello, world!" },
  });
  const port = Number(args.port);
  if (args._[0] === "server") {
    const listening = reactor.listenUDP(port, new Echo(), {
      interface: "127.0.0.1",
    });
    listening.listening.then(() =>
      console.log(`UDP echo on port ${listening.getHost().port}`)
    );
  } else if (args._[0] === "client") {
    reactor.listenUDP(0, new Client(port, args.message), {
      interface: "127.0.0.1",
    });
  } else {
    console.error(
      "usage: udp_echo.ts server|client [--port N] [--message TEXT]",
    );
    Deno.exit(2);
  }
  reactor.run();
}
