// deno run --allow-net=127.0.0.1:8080 examples/haproxy_whoami.ts [--listen haproxy:tcp:8080:interface=127.0.0.1]
//
// An HTTP/1.0 server for behind a proxy: it answers every request with the
// client's address, as the proxy's PROXY protocol header gives it. Try it
// with curl, which can send the header itself:
//   curl --haproxy-protocol http://127.0.0.1:8080/
// or put HAProxy in front of it (`server whoami 127.0.0.1:8080 send-proxy-v2`
// in a backend). A client that connects without a header is dropped, and the
// reason is logged.
import { parseArgs } from "@std/cli";
import {
  Factory,
  type IPv4Address,
  Protocol,
  reactor,
  serverFromString,
} from "../mod.ts";
// Registers the haproxy: endpoint type.
import "../src/protocols/haproxy.ts";

/** Answers the first request with who the client is, then closes. */
export class WhoAmI extends Protocol {
  #request = "";

  override dataReceived(data: Uint8Array): void {
    this.#request += new TextDecoder().decode(data);
    if (!this.#request.includes("\r\n\r\n")) return;
    // The client's address from the PROXY header, not the proxy's.
    const peer = this.transport.getPeer() as IPv4Address;
    this.transport.write(
      "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" +
        `You are ${peer.host}, port ${peer.port}\n`,
    );
    this.transport.loseConnection();
  }
}

if (import.meta.main) {
  const args = parseArgs(Deno.args, {
    string: ["listen"],
    default: { listen: "haproxy:tcp:8080:interface=127.0.0.1" },
  });
  const port = await serverFromString(reactor, args.listen).listen(
    Factory.forProtocol(WhoAmI),
  );
  // deno-lint-ignore no-console
  console.log(`whoami listening on ${port.getHost()}`);
  await reactor.run();
}
