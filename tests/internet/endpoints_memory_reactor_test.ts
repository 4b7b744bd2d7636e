// The endpoint functions take the reactor interfaces, not the Deno reactor:
// this file only compiles if the testing reactors fit where a reactor is
// expected, and its tests check what those reactors record. It imports the
// public entry points, as a user's test would.
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertStrictEquals,
} from "@std/assert";
import {
  ClientFactory,
  clientFromString,
  ConnectingCancelledError,
  Factory,
  type Failure,
  type IListeningPort,
  type IPv4Address,
  type IPv6Address,
  type IReactorCore,
  type IReactorEndpoints,
  type IReactorMulticast,
  type IReactorProcess,
  type IReactorSSL,
  type IReactorTCP,
  type IReactorTime,
  type IReactorUDP,
  type IReactorUNIX,
  Protocol,
  Reactor,
  serverFromString,
  SSL4ClientEndpoint,
  TCP4ClientEndpoint,
  TCP4ServerEndpoint,
  UNIXServerEndpoint,
} from "../../mod.ts";
import {
  FakeConnector,
  FakePort,
  type MemoryReactor,
  MemoryReactorClock,
} from "../../src/testing/mod.ts";

// Compile-time checks: each line fails `deno check` if the types drift apart.
type Assert<T extends true> = T;
type Extends<A, B> = [A] extends [B] ? true : false;
export type ReactorProvidesEverything = Assert<
  Extends<
    Reactor,
    & IReactorCore
    & IReactorTime
    & IReactorTCP
    & IReactorSSL
    & IReactorUNIX
    & IReactorUDP
    & IReactorMulticast
    & IReactorProcess
  >
>;
export type MemoryReactorClockFitsEndpoints = Assert<
  Extends<MemoryReactorClock, IReactorEndpoints & IReactorTime>
>;
export type MemoryReactorFitsEndpoints = Assert<
  Extends<MemoryReactor, IReactorEndpoints>
>;
export type TCPPortsKnowTheirAddress = Assert<
  Extends<
    ReturnType<Reactor["listenTCP"]>,
    IListeningPort<IPv4Address | IPv6Address>
  >
>;

Deno.test("clientFromString with a MemoryReactorClock records the TCP connection it asks for", () => {
  const reactor = new MemoryReactorClock();
  const endpoint = clientFromString(
    reactor,
    "tcp:host=example.com:port=80:timeout=7",
  );
  assertInstanceOf(endpoint, TCP4ClientEndpoint);
  const factory = ClientFactory.forProtocol(Protocol);
  const d = endpoint.connect(factory);
  assertEquals(reactor.tcpClients.length, 1);
  const [client] = reactor.tcpClients;
  assertEquals([client.host, client.port, client.timeout], [
    "example.com",
    80,
    7,
  ]);
  // The endpoint wraps the factory; the wrapper builds the user's protocol.
  assert(client.factory !== factory);
  assertInstanceOf(
    client.factory.buildProtocol(reactor.connectors[0].getDestination()),
    Protocol,
  );

  // Cancelling stops the recorded connector and fails with ConnectingCancelledError.
  let reason: Failure | undefined;
  d.addErrback((f) => {
    reason = f;
  });
  d.cancel();
  assert(reactor.connectors[0].stoppedConnecting);
  assertInstanceOf(reason?.value, ConnectingCancelledError);
  assertEquals(
    (reason.value as ConnectingCancelledError).address.toString(),
    'IPv4Address(type="TCP", host="example.com", port=80)',
  );
});

Deno.test("clientFromString with a MemoryReactorClock records TLS options", () => {
  const reactor = new MemoryReactorClock();
  const endpoint = clientFromString(
    reactor,
    "tls:example.com:443:hostname=internal.example:alpn=h2,http/1.1",
  );
  assertInstanceOf(endpoint, SSL4ClientEndpoint);
  endpoint.connect(new ClientFactory());
  const [client] = reactor.sslClients;
  assertEquals([client.host, client.port], ["example.com", 443]);
  assertEquals(client.tlsOptions, {
    caCerts: undefined,
    hostname: "internal.example",
    alpnProtocols: ["h2", "http/1.1"],
  });
  assertInstanceOf(reactor.connectors[0], FakeConnector);
});

Deno.test("serverFromString with a MemoryReactorClock records the port it listens on", async () => {
  const reactor = new MemoryReactorClock();
  const endpoint = serverFromString(
    reactor,
    "tcp:8080:interface=127.0.0.1:backlog=7",
  );
  assertInstanceOf(endpoint, TCP4ServerEndpoint);
  const factory = Factory.forProtocol(Protocol);
  const port = await endpoint.listen(factory);
  assertInstanceOf(port, FakePort);
  assertStrictEquals(port, reactor.ports[0]);
  const [server] = reactor.tcpServers;
  assertEquals([server.port, server.interface, server.backlog], [
    8080,
    "127.0.0.1",
    7,
  ]);
  assertStrictEquals(server.factory, factory);

  const unix = serverFromString(reactor, "unix:/tmp/app.sock:mode=600");
  assertInstanceOf(unix, UNIXServerEndpoint);
  assertEquals(unix.options, { mode: 0o600 });
  await unix.listen(factory);
  assertEquals(reactor.unixServers[0].path, "/tmp/app.sock");
});

Deno.test("a TCP port from the reactor is typed with its IP address", async () => {
  const reactor = new Reactor();
  const port = reactor.listenTCP(0, Factory.forProtocol(Protocol), {
    interface: "127.0.0.1",
  });
  // No cast: getHost() is an IPv4Address | IPv6Address.
  const portNumber: number = port.getHost().port;
  assert(portNumber > 0);
  assertEquals(port.getHost().host, "127.0.0.1");
  await port.stopListening();
});
