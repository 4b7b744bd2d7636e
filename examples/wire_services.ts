// deno run --allow-net=0.0.0.0:7007,0.0.0.0:9009,0.0.0.0:1919,0.0.0.0:1717,0.0.0.0:1313 examples/wire_services.ts
//
// The simple TCP services of twisted.protocols.wire, each on its own port:
//   echo (RFC 862), discard (863), chargen (864), qotd (865), daytime (867).
// Their RFC ports (7, 9, 19, 17, 13) are below 1024 and need privileges, so
// the defaults are unprivileged look-alikes; choose others with the flags:
//   deno run --allow-net=127.0.0.1 examples/wire_services.ts --interface 127.0.0.1 \
//     [--echo 7007] [--discard 9009] [--chargen 1919] [--qotd 1717] [--daytime 1313]
// Port 0 lets the system pick; the ports in use are printed either way
// ("echo on port 7007"). Try `nc localhost 1717` for a quote, `nc localhost
// 1313` for the time, `nc localhost 1919 | head` for chargen. Ctrl-C stops it.
// deno-lint-ignore-file no-console
import { Factory, type ProtocolClass, reactor } from "../mod.ts";
import {
  Chargen,
  Daytime,
  Discard,
  Echo,
  QOTD,
} from "../src/protocols/wire.ts";
import { parseOptions, runExample, UsageError } from "./_cli.ts";

/** Each service: its protocol and default port. */
const services: Record<string, { protocol: ProtocolClass; port: number }> = {
  echo: { protocol: Echo, port: 7007 },
  discard: { protocol: Discard, port: 9009 },
  chargen: { protocol: Chargen, port: 1919 },
  qotd: { protocol: QOTD, port: 1717 },
  daytime: { protocol: Daytime, port: 1313 },
};

const USAGE = `wire_services.ts [--interface HOST] ${
  Object.entries(services).map(([name, s]) => `[--${name} ${s.port}]`).join(
    " ",
  )
}`;

/** Parses a port flag. */
function portOf(name: string, value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) {
    throw new UsageError(
      `Invalid port "${value}" for --${name}: expected 0-65535`,
    );
  }
  return port;
}

function main(argv: string[]): void {
  const names = Object.keys(services);
  const args = parseOptions(argv, {
    string: [...names, "interface"],
    default: {
      interface: "0.0.0.0",
      ...Object.fromEntries(names.map((n) => [n, String(services[n].port)])),
    },
  });
  for (const name of names) {
    const port = reactor.listenTCP(
      portOf(name, String(args[name])),
      Factory.forProtocol(services[name].protocol),
      { interface: args.interface },
    );
    console.log(`${name} on port ${port.getHost().port}`);
  }
  reactor.run();
}

if (import.meta.main) runExample(USAGE, main);
