// deno run --allow-net --allow-read examples/tls_echoserver.ts [--port 8443] [--cert FILE --key FILE]
//
// The echo server over TLS. The default certificate is the test one in
// tests/fixtures/tls (for localhost and 127.0.0.1, signed by a test CA):
// bring your own for anything real.
import { Factory, reactor, tlsServerOptionsFromFiles } from "../mod.ts";
import { Echo } from "../src/protocols/wire.ts";
import { parseOptions, portOption, runExample } from "./_cli.ts";

function main(argv: string[]): void {
  const args = parseOptions(argv, {
    string: ["port", "cert", "key"],
    default: {
      port: "8443",
      cert: "tests/fixtures/tls/server.pem",
      key: "tests/fixtures/tls/server.key",
    },
  });
  const port = portOption(args.port);
  const tls = tlsServerOptionsFromFiles(args.cert, args.key);
  reactor.listenSSL(port, Factory.forProtocol(Echo), tls);
  reactor.run();
}

if (import.meta.main) {
  runExample("tls_echoserver.ts [--port 8443] [--cert FILE --key FILE]", main);
}
