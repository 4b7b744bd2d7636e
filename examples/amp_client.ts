// deno run --allow-net=127.0.0.1:1234 examples/amp_client.ts [--port 1234]
//
// The AMP math client of Twisted's documentation (ampclient.py): asks the
// math server (examples/amp_server.ts, or Twisted's ampserver.py) for
// Sum(13, 81) and Divide(1234, 0), each on its own connection, prints the
// results and exits.
// deno-lint-ignore-file no-console
import {
  clientFromString,
  connectProtocol,
  type Failure,
  gatherResults,
  reactor,
} from "../mod.ts";
import * as amp from "../src/protocols/amp.ts";
import { Divide, Sum, ZeroDivision } from "./amp_server.ts";
import { parseOptions, portOption, runExample } from "./_cli.ts";

async function doMath(port: number): Promise<void> {
  const endpoint = clientFromString(reactor, `tcp:127.0.0.1:${port}`);
  const sum = connectProtocol(endpoint, new amp.AMP())
    .addCallback((proto) => proto.callRemote(Sum, { a: 13, b: 81 }))
    .addCallback(({ total }) => total);
  const quotient = connectProtocol(endpoint, new amp.AMP())
    .addCallback((proto) =>
      proto.callRemote(Divide, { numerator: 1234, denominator: 0 })
    )
    .addCallbacks(({ result }) => result, (failure: Failure) => {
      failure.trap(ZeroDivision);
      console.log("Divided by zero: returning INF");
      return Infinity;
    });
  const results = await gatherResults([sum, quotient]);
  console.log("Done with math:", results);
}

function main(argv: string[]): void {
  const args = parseOptions(argv, {
    string: ["port"],
    default: { port: "1234" },
  });
  const port = portOption(args.port);
  reactor.callWhenRunning(() => {
    doMath(port).catch((e) => {
      console.error(`Math failed: ${e?.message ?? e}`);
      Deno.exitCode = 1;
    }).finally(() => reactor.stop());
  });
  reactor.run();
}

if (import.meta.main) runExample("amp_client.ts [--port 1234]", main);
