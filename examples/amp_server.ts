// deno run --allow-net=0.0.0.0:1234 examples/amp_server.ts [--port 1234]
//
// The AMP math server of Twisted's documentation (ampserver.py), wire
// compatible with it: Sum adds two integers, Divide divides them and answers
// ZERO_DIVISION for a zero denominator. Try it with examples/amp_client.ts,
// or with Twisted's ampclient.py.
// deno-lint-ignore-file no-console
import { Factory, reactor } from "../mod.ts";
import * as amp from "../src/protocols/amp.ts";
import { parseOptions, portOption, runExample } from "./_cli.ts";

export class ZeroDivision extends Error {
  override name = "ZeroDivision";
}

export class Sum extends amp.Command {
  static override arguments = { a: new amp.Integer(), b: new amp.Integer() };
  static override response = { total: new amp.Integer() };
}

export class Divide extends amp.Command {
  static override arguments = {
    numerator: new amp.Integer(),
    denominator: new amp.Integer(),
  };
  static override response = { result: new amp.Float() };
  static override errors = new Map([[ZeroDivision, "ZERO_DIVISION"]]);
}

class Math extends amp.AMP {
  @Sum.responder
  sum({ a, b }: { a: number; b: number }): { total: number } {
    const total = a + b;
    console.log(`Did a sum: ${a} + ${b} = ${total}`);
    return { total };
  }

  @Divide.responder
  divide(
    { numerator, denominator }: { numerator: number; denominator: number },
  ): { result: number } {
    if (denominator === 0) throw new ZeroDivision("division by zero");
    const result = numerator / denominator;
    console.log(`Divided: ${numerator} / ${denominator} = ${result}`);
    return { result };
  }
}

function main(argv: string[]): void {
  const args = parseOptions(argv, {
    string: ["port"],
    default: { port: "1234" },
  });
  const factory = Factory.forProtocol(Math);
  factory.noisy = false;
  const port = reactor.listenTCP(portOption(args.port), factory);
  console.log(`AMP math server on port ${port.getHost().port}`);
  reactor.run();
}

if (import.meta.main) runExample("amp_server.ts [--port 1234]", main);
