// deno run --allow-net=0.0.0.0:8009 examples/heartbeat.ts [--port 8009] [--interval 1]
//
// One LoopingCall sends "heartbeat N" to every connected client every
// --interval seconds. Try `nc localhost 8009`.
import { Factory, LoopingCall, Protocol, reactor } from "../mod.ts";
import { parseOptions, portOption, runExample, secondsOption } from "./_cli.ts";

const clients = new Set<Protocol>();

class Listener extends Protocol {
  override connectionMade(): void {
    clients.add(this);
  }

  override connectionLost(): void {
    clients.delete(this);
  }
}

function main(argv: string[]): void {
  const args = parseOptions(argv, {
    string: ["port", "interval"],
    default: { port: "8009", interval: "1" },
  });
  const port = portOption(args.port);
  const interval = secondsOption(args.interval, "interval");
  let beat = 0;
  const heartbeat = new LoopingCall(() => {
    beat++;
    for (const client of clients) {
      client.transport.write(`heartbeat ${beat}\r\n`);
    }
  });
  reactor.listenTCP(port, Factory.forProtocol(Listener));
  heartbeat.start(interval);
  reactor.addSystemEventTrigger("before", "shutdown", () => heartbeat.stop());
  reactor.run();
}

if (import.meta.main) {
  runExample("heartbeat.ts [--port 8009] [--interval 1]", main);
}
