// deno run --allow-net=0.0.0.0:8009 examples/heartbeat.ts [--port 8009] [--interval 1]
//
// One LoopingCall sends "heartbeat N" to every connected client every
// --interval seconds. Try `nc localhost 8009`.
import { parseArgs } from "@std/cli";
import { Factory, LoopingCall, Protocol, reactor } from "../mod.ts";

const clients = new Set<Protocol>();

class Listener extends Protocol {
  override connectionMade(): void {
    clients.add(this);
  }

  override connectionLost(): void {
    clients.delete(this);
  }
}

if (import.meta.main) {
  const args = parseArgs(Deno.args, {
    string: ["port", "interval"],
    default: { port: "8009", interval: "1" },
  });
  let beat = 0;
  const heartbeat = new LoopingCall(() => {
    beat++;
    for (const client of clients) {
      client.transport.write(`heartbeat ${beat}\r\n`);
    }
  });
  heartbeat.start(Number(args.interval));
  reactor.listenTCP(Number(args.port), Factory.forProtocol(Listener));
  reactor.addSystemEventTrigger("before", "shutdown", () => heartbeat.stop());
  reactor.run();
}
