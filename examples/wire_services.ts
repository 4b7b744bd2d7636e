// deno run --allow-net examples/wire_services.ts [--echo 7007] [--discard 9009] [--chargen 1919] [--qotd 1717] [--daytime 1313]
//
// The simple TCP services of twisted.protocols.wire, each on its own port
// (the RFC ports are below 1024, so unprivileged defaults are used):
//   echo (RFC 862), discard (863), chargen (864), qotd (865), daytime (867).
// Try `nc localhost 1717` for a quote, `nc localhost 1313` for the time.
// deno-lint-ignore-file no-console
import { parseArgs } from "@std/cli";
import {
  Chargen,
  Daytime,
  Discard,
  Echo,
  Factory,
  type ProtocolClass,
  QOTD,
  reactor,
} from "../mod.ts";

const services: Record<string, [ProtocolClass, string]> = {
  echo: [Echo, "7007"],
  discard: [Discard, "9009"],
  chargen: [Chargen, "1919"],
  qotd: [QOTD, "1717"],
  daytime: [Daytime, "1313"],
};

if (import.meta.main) {
  const names = Object.keys(services);
  const args = parseArgs(Deno.args, {
    string: names,
    default: Object.fromEntries(names.map((n) => [n, services[n][1]])),
  });
  for (const name of names) {
    const port = reactor.listenTCP(
      Number(args[name]),
      Factory.forProtocol(services[name][0]),
    );
    console.log(`${name} on port ${port.getHost().port}`);
  }
  reactor.run();
}
