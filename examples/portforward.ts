// deno run --allow-net examples/portforward.ts [--port 8080] [--dest tcp:host=127.0.0.1:port=80]
//
// A TCP port forwarder: every connection on --port is forwarded to --dest
// (any client endpoint string), with backpressure both ways. The same is one
// command with the runner: `twist portforward --listen tcp:8080 --dest ...`.
import { clientFromString, reactor } from "../mod.ts";
import { ProxyFactory } from "../src/protocols/portforward.ts";
import { parseOptions, portOption, runExample, UsageError } from "./_cli.ts";

function main(argv: string[]): void {
  const args = parseOptions(argv, {
    string: ["port", "dest"],
    default: { port: "8080", dest: "tcp:host=127.0.0.1:port=80" },
  });
  const port = portOption(args.port);
  let dest;
  try {
    dest = clientFromString(reactor, args.dest);
  } catch (e) {
    throw new UsageError(`Invalid --dest: ${(e as Error).message}`);
  }
  reactor.listenTCP(port, new ProxyFactory(dest));
  reactor.run();
}

if (import.meta.main) {
  runExample("portforward.ts [--port 8080] [--dest ENDPOINT]", main);
}
