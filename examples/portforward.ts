// deno run --allow-net examples/portforward.ts [--port 8080] [--dest tcp:host=127.0.0.1:port=80]
//
// A TCP port forwarder: every connection on --port is forwarded to --dest
// (any client endpoint string), with backpressure both ways. The same is one
// command with the runner: `twist portforward --listen tcp:8080 --dest ...`.
import { parseArgs } from "@std/cli";
import { clientFromString, reactor } from "../mod.ts";
import { ProxyFactory } from "../src/protocols/portforward.ts";

if (import.meta.main) {
  const args = parseArgs(Deno.args, {
    string: ["port", "dest"],
    default: { port: "8080", dest: "tcp:host=127.0.0.1:port=80" },
  });
  reactor.listenTCP(
    Number(args.port),
    new ProxyFactory(clientFromString(reactor, args.dest)),
  );
  reactor.run();
}
