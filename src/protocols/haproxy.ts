/**
 * The PROXY protocol (`twisted.protocols.haproxy`): a server behind HAProxy,
 * a load balancer or any proxy that speaks the PROXY protocol learns the
 * real client's address from a header the proxy sends first. Versions 1
 * (text, `send-proxy`, `curl --haproxy-protocol`) and 2 (binary,
 * `send-proxy-v2`) are read, in chunks of any size; the protocol you serve
 * never sees the header, and its `transport.getPeer()` and `getHost()` are
 * the addresses the proxy reported. A connection whose header is missing or
 * malformed is dropped with the reason logged, and one whose header does not
 * arrive in time (30 seconds by default) is dropped too.
 *
 * Three ways in, as in Twisted:
 * - the description `haproxy:tcp:8080` (any server description after
 *   `haproxy:`), for `serverFromString` and `twist --listen`: importing this
 *   module registers the `haproxy` type;
 * - {@linkcode proxyEndpoint}, which wraps any server endpoint;
 * - {@linkcode HAProxyWrappingFactory}, which wraps a factory.
 *
 * Listen only where your proxies can connect: a client that reaches the
 * port directly can claim any address.
 *
 * @example Echoing the client's address behind a proxy
 * ```ts ignore
 * import { Factory, Protocol, reactor, serverFromString } from "@twist/twist";
 * import "@twist/twist/protocols/haproxy";
 *
 * class WhoAmI extends Protocol {
 *   override connectionMade(): void {
 *     const peer = this.transport.getPeer() as { host: string; port: number };
 *     this.transport.write(`you are ${peer.host}:${peer.port}\r\n`);
 *     this.transport.loseConnection();
 *   }
 * }
 *
 * await serverFromString(reactor, "haproxy:tcp:8080:interface=127.0.0.1")
 *   .listen(Factory.forProtocol(WhoAmI));
 * reactor.run();
 * ```
 *
 * @module
 */
import { registerServerEndpointParser } from "../internet/common/endpoint_parsers.ts";
import { haproxyServerParser } from "./haproxy/_parser.ts";

export {
  InvalidNetworkProtocol,
  InvalidProxyHeader,
  MissingAddressData,
  type ProxyInfo,
} from "./haproxy/_header.ts";
export {
  type HAProxyOptions,
  HAProxyProtocolWrapper,
  HAProxyWrappingFactory,
  proxyEndpoint,
} from "./haproxy/_wrapper.ts";

registerServerEndpointParser(haproxyServerParser);

// The types this entry point's signatures mention, re-exported as types only
// (the values live in the root module and in policies), so that it is
// documented on its own.
export type {
  ProtocolWrapper,
  WrapperClass,
  WrapperFactory,
  WrappingFactory,
} from "./protocol_wrapper.ts";
export type * from "../internet/common/entry_types.ts";
