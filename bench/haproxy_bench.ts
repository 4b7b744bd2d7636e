/**
 * PROXY protocol micro benchmarks (`deno task bench`): what a proxied
 * connection costs beyond a plain one. Per connection: reading a version 1
 * or 2 header and connecting the wrapped protocol (a batch of 1,000
 * connections per iteration); per chunk afterwards: one 16 KiB chunk through
 * the wrapper against the same chunk straight to the protocol.
 *
 * @module
 */
import { HAProxyWrappingFactory } from "../src/protocols/haproxy.ts";
import { Factory, Protocol } from "../src/internet/protocol.ts";
import { StringTransport } from "../src/testing/mod.ts";

const BATCH = 1000;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

class Sink extends Protocol {
  bytes = 0;
  override dataReceived(data: Uint8Array): void {
    this.bytes += data.length;
  }
}

const factory = new HAProxyWrappingFactory(Factory.forProtocol(Sink), {
  timeout: null,
});
const transport = new StringTransport();
const V1 = enc("PROXY TCP4 203.0.113.7 198.51.100.1 56324 443\r\n");
// The v2 header of the same connection: signature, PROXY/TCP over IPv4, 12
// bytes of addresses.
// deno-fmt-ignore
const V2 = Uint8Array.of(
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
  0x21, 0x11, 0x00, 0x0c,
  203, 0, 113, 7, 198, 51, 100, 1, 0xdc, 0x04, 0x01, 0xbb,
);

function connections(header: Uint8Array): void {
  for (let i = 0; i < BATCH; i++) {
    const wrapper = factory.buildProtocol(transport.getPeer());
    wrapper.makeConnection(transport);
    wrapper.dataReceived(header);
  }
  factory.protocols.clear();
}

Deno.bench("haproxy: 1,000 connections with a v1 header", {
  group: "haproxy header",
}, () => {
  connections(V1);
});

Deno.bench("haproxy: 1,000 connections with a v2 header", {
  group: "haproxy header",
}, () => {
  connections(V2);
});

const chunk = new Uint8Array(16 * 1024);
const plain = new Sink();
plain.makeConnection(transport);
const wrapped = factory.buildProtocol(transport.getPeer());
wrapped.makeConnection(transport);
wrapped.dataReceived(V2);

Deno.bench("haproxy: 1,000 chunks straight to the protocol", {
  group: "haproxy chunk",
  baseline: true,
}, () => {
  for (let i = 0; i < BATCH; i++) plain.dataReceived(chunk);
});

Deno.bench("haproxy: 1,000 chunks through the wrapper", {
  group: "haproxy chunk",
}, () => {
  for (let i = 0; i < BATCH; i++) wrapped.dataReceived(chunk);
});
