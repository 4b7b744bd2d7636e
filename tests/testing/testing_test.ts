import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertThrows,
} from "@std/assert";
import {
  AccumulatingProtocol,
  Clock,
  connect,
  connectedServerAndClient,
  FakeTransport,
  IOPump,
  makeFakeClient,
  makeFakeServer,
  MemoryReactor,
  MemoryReactorClock,
  RaisingMemoryReactor,
  StringTransport,
  StringTransportWithDisconnection,
} from "../../src/testing/mod.ts";
import {
  ClientFactory,
  Factory,
  Protocol,
} from "../../src/internet/protocol.ts";
import { IPv4Address, UNIXAddress } from "../../src/internet/address.ts";
import {
  CannotListenError,
  ConnectError,
  ConnectionAborted,
  ConnectionDone,
  ConnectionLost,
  ReactorNotRunning,
} from "../../src/internet/error.ts";
import { Deferred } from "../../src/internet/defer.ts";
import type { Failure } from "../../src/internet/failure.ts";
import type {
  IConnector,
  IDelayedCall,
  IPushProducer,
  IReactorCore,
  IReactorTCP,
  IReactorTime,
} from "../../src/internet/interfaces.ts";
import { log } from "../../src/logger.ts";
import { decode, encode } from "../_helpers.ts";

class Echo extends Protocol {
  override dataReceived(data: Uint8Array): void {
    this.transport.write(data);
  }
}

Deno.test("StringTransport records writes, clear, close and abort", () => {
  const t = new StringTransport();
  t.write("ab");
  t.writeSequence([encode("c"), "d"]);
  t.write("");
  assertEquals(decode(t.value()), "abcd");
  t.clear();
  assertEquals(t.value().length, 0);
  const reused = encode("x");
  t.write(reused);
  reused[0] = 0; // the transport kept a copy
  assertEquals(decode(t.value()), "x");
  t.loseConnection();
  assert(t.disconnecting && !t.aborted);
  const u = new StringTransport();
  u.abortConnection();
  assert(u.aborted && u.disconnecting);
  u.loseWriteConnection();
  assert(u.writeDisconnected);
});

Deno.test("StringTransport addresses default as Twisted's and can be set", () => {
  const t = new StringTransport();
  assertEquals(t.getPeer(), new IPv4Address("TCP", "192.168.1.1", 54321));
  assertEquals(t.getHost(), new IPv4Address("TCP", "10.0.0.1", 12345));
  const u = new StringTransport({
    peerAddress: new UNIXAddress("/p"),
    hostAddress: new UNIXAddress("/h"),
  });
  assertEquals(u.getPeer(), new UNIXAddress("/p"));
  assertEquals(u.getHost(), new UNIXAddress("/h"));
});

Deno.test("StringTransport records producers and its own producer state", () => {
  const t = new StringTransport();
  const producer = {
    pauseProducing() {},
    resumeProducing() {},
    stopProducing() {},
  };
  t.registerProducer(producer, true);
  assertEquals(t.producer, producer);
  assertEquals(t.streaming, true);
  assertThrows(
    () => t.registerProducer(producer, true),
    Error,
    "two producers",
  );
  t.unregisterProducer();
  assertThrows(() => t.unregisterProducer(), Error);
  t.pauseProducing();
  assertEquals(t.producerState, "paused");
  t.resumeProducing();
  assertEquals(t.producerState, "producing");
  t.stopProducing();
  assertThrows(() => t.resumeProducing(), Error, "stopped");
  const closed = new StringTransport();
  closed.loseConnection();
  assertThrows(() => closed.pauseProducing(), Error, "after loseConnection");
  const lenient = new StringTransport({ lenient: true });
  lenient.loseConnection();
  lenient.pauseProducing();
  t.setTcpNoDelay(true);
  t.setTcpKeepAlive(true);
  t.setWriteBufferLimits({ high: 10 });
  assert(t.getTcpNoDelay() && t.getTcpKeepAlive());
  assertEquals(t.writeBufferLimits, { high: 10 });
});

Deno.test("StringTransportWithDisconnection calls connectionLost once, with ConnectionDone", () => {
  const p = new AccumulatingProtocol();
  const t = new StringTransportWithDisconnection();
  t.protocol = p;
  p.makeConnection(t);
  t.loseConnection();
  t.loseConnection();
  assert(p.closed);
  assert(p.closedReason?.check(ConnectionDone));
  assertEquals(p.connected, false);
});

Deno.test("MemoryReactor records TCP, TLS and UNIX calls and tells client factories they started", () => {
  const reactor = new MemoryReactor();
  const factory = Factory.forProtocol(Echo);
  const port = reactor.listenTCP(8080, factory, {
    interface: "127.0.0.1",
    backlog: 5,
  });
  assertEquals(reactor.tcpServers[0], {
    port: 8080,
    factory,
    backlog: 5,
    interface: "127.0.0.1",
  });
  assertEquals(port.getHost(), new IPv4Address("TCP", "127.0.0.1", 8080));
  port.stopListening();
  assert(port.stopped);
  const started: IConnector[] = [];
  class Client extends ClientFactory {
    override startedConnecting(c: IConnector): void {
      started.push(c);
    }
  }
  const client = new Client();
  const c = reactor.connectTCP("example.com", 80, client, { timeout: 5 });
  assertEquals(reactor.tcpClients[0].host, "example.com");
  assertEquals(reactor.tcpClients[0].timeout, 5);
  assertEquals(started, [c]);
  assertEquals(reactor.connectors, [c]);
  reactor.listenSSL(443, factory, { cert: "c", key: "k" });
  reactor.connectSSL("example.com", 443, client, { caCerts: [] });
  reactor.listenUNIX("/tmp/s.sock", factory, { mode: 0o600 });
  reactor.connectUNIX("/tmp/s.sock", client);
  assertEquals(reactor.sslServers[0].tlsOptions, { cert: "c", key: "k" });
  assertEquals(reactor.sslClients[0].port, 443);
  assertEquals(reactor.unixServers[0], {
    path: "/tmp/s.sock",
    factory,
    backlog: 50,
    mode: 0o600,
    wantPID: false,
  });
  assertEquals(reactor.unixClients[0], {
    path: "/tmp/s.sock",
    factory: client,
    timeout: 30,
  });
  assertEquals(started.length, 3, "connectSSL and connectUNIX tell it too");
  // A recorded factory can build the protocol a test then drives.
  const proto = reactor.tcpServers[0].factory.buildProtocol(
    new IPv4Address("TCP", "1.2.3.4", 5),
  );
  assertInstanceOf(proto, Echo);
  c.stopConnecting();
  assert(c.stoppedConnecting);
});

Deno.test("MemoryReactor.run calls the callWhenRunning hooks, then stops, as Twisted's does", async () => {
  const reactor = new MemoryReactor();
  const seen: string[] = [];
  reactor.callWhenRunning(() => {
    seen.push(`running=${reactor.running}`);
    reactor.callWhenRunning(() => seen.push("at once"));
  });
  reactor.addSystemEventTrigger(
    "before",
    "shutdown",
    () => seen.push("trigger"),
  );
  await reactor.run();
  assert(reactor.hasRun && reactor.hasStopped && !reactor.running);
  assertThrows(() => reactor.stop(), ReactorNotRunning);
  assertEquals(seen, ["running=true", "at once"], "triggers wait to be fired");
  reactor.fireSystemEvent("shutdown");
  assertEquals(seen, ["running=true", "at once", "trigger"]);
  reactor.fireSystemEvent("shutdown");
  assertEquals(seen.length, 3, "a fired trigger is forgotten");
});

Deno.test("MemoryReactor.run leaves the stop to a hook that stops", async () => {
  const reactor = new MemoryReactor();
  reactor.callWhenRunning(() => reactor.stop());
  await reactor.run();
  assert(reactor.hasStopped);
});

Deno.test("MemoryReactor keeps triggers as Twisted does, by phase then event, and removes them", () => {
  const reactor = new MemoryReactor();
  const seen: string[] = [];
  const kept = reactor.addSystemEventTrigger(
    "during",
    "shutdown",
    (x: string) => seen.push(x),
    "kept",
  );
  const removed = reactor.addSystemEventTrigger(
    "during",
    "shutdown",
    () => seen.push("removed"),
  );
  assertEquals(reactor.triggers.during?.shutdown.length, 2);
  reactor.removeSystemEventTrigger(removed);
  assertEquals(reactor.triggers.during?.shutdown.length, 1);
  assertThrows(
    () => reactor.removeSystemEventTrigger(removed),
    TypeError,
    "not registered",
  );
  reactor.fireSystemEvent("shutdown");
  assertEquals(seen, ["kept"]);
  assertThrows(() => reactor.removeSystemEventTrigger(kept), TypeError);
});

Deno.test("MemoryReactor removes a callWhenRunning hook by its ID, as the reactor does", async () => {
  const reactor = new MemoryReactor();
  const seen: string[] = [];
  const id = reactor.callWhenRunning(() => seen.push("removed"));
  reactor.callWhenRunning(() => seen.push("kept"));
  assert(id);
  reactor.removeSystemEventTrigger(id);
  assertEquals(reactor.whenRunningHooks.length, 1);
  await reactor.run();
  assertEquals(seen, ["kept"]);
});

Deno.test("MemoryReactor and MemoryReactorClock are accepted where the reactor interfaces are expected", () => {
  // A compile-time check as much as a run-time one: these assignments must type-check.
  const reactor = new MemoryReactorClock();
  const core: IReactorCore = reactor;
  const tcp: IReactorTCP = reactor;
  const time: IReactorTime = reactor;
  const call: IDelayedCall = time.callLater(1, () => {});
  const clockCall: IDelayedCall = new Clock().callLater(1, () => {});
  assert(call.active() && clockCall.active());
  tcp.connectTCP("127.0.0.1", 1, new ClientFactory());
  assertEquals(reactor.calls, [call]);
  assertEquals(core.running, false);
  assertEquals(reactor.tcpClients.length, 1);
});

Deno.test("MemoryReactorClock drives time", () => {
  const reactor = new MemoryReactorClock();
  const seen: number[] = [];
  reactor.callLater(2, () => seen.push(reactor.seconds()));
  assertEquals(reactor.getDelayedCalls().length, 1);
  reactor.pump([1, 1]);
  assertEquals(seen, [2]);
  reactor.advance(1);
  assertEquals(reactor.seconds(), 3);
  const later = reactor.callLater(5, () => {});
  assertEquals(reactor.calls, [later]);
  assertEquals(later.getTime(), 8);
});

Deno.test("StringTransport and AccumulatingProtocol read back bytes with the same value()/text()/clear()", () => {
  const transport = new StringTransport();
  const protocol = new AccumulatingProtocol();
  protocol.makeConnection(transport);
  for (const chunk of ["h", "é", "llo"]) {
    transport.write(chunk);
    protocol.dataReceived(encode(chunk));
  }
  for (const recorder of [transport, protocol]) {
    assertEquals(recorder.text(), "héllo");
    assertEquals(recorder.value(), encode("héllo"));
    assertEquals(recorder.value(), recorder.value(), "reading twice is stable");
    recorder.clear();
    assertEquals(recorder.value().length, 0);
    assertEquals(recorder.text(), "");
  }
});

Deno.test("AccumulatingProtocol is a protocol without Protocol: transport, connected, factory, logPrefix", () => {
  const factory = Factory.forProtocol(AccumulatingProtocol);
  const p = factory.buildProtocol(
    new IPv4Address("TCP", "1.1.1.1", 1),
  ) as AccumulatingProtocol;
  assertEquals(p.factory, factory);
  assertEquals(p.connected, false);
  const t = new StringTransport();
  p.makeConnection(t);
  assert(p.connected && p.made);
  assertEquals(p.transport, t);
  assertEquals(p.logPrefix(), "AccumulatingProtocol");
});

Deno.test("AccumulatingProtocol fires its factory's protocolConnectionMade once", () => {
  const factory = Factory.forProtocol(AccumulatingProtocol) as Factory & {
    protocolConnectionMade?: Deferred<AccumulatingProtocol>;
  };
  const made = new Deferred<AccumulatingProtocol>();
  factory.protocolConnectionMade = made;
  const p = factory.buildProtocol(
    new IPv4Address("TCP", "1.1.1.1", 1),
  ) as AccumulatingProtocol;
  p.makeConnection(new StringTransport());
  assertEquals(made.result, p);
  assertEquals(factory.protocolConnectionMade, undefined);
});

Deno.test("iosim: an echo conversation, delivered one byte at a time", () => {
  const { client, server, pump } = connectedServerAndClient(
    Echo,
    AccumulatingProtocol,
    { chunkSize: 1 },
  );
  const chunks: number[] = [];
  const original = server.dataReceived.bind(server);
  server.dataReceived = (d: Uint8Array) => {
    chunks.push(d.length);
    original(d);
  };
  client.transport.write("hello");
  assert(pump.pump());
  assertEquals(chunks, [1, 1, 1, 1, 1]);
  pump.flush();
  assertEquals(client.text(), "hello");
  assertEquals(pump.pump(), false);
});

Deno.test("iosim: delivers in the given chunk sizes, in turn, and rejects sizes below 1", () => {
  const { client, server, pump } = connectedServerAndClient(
    AccumulatingProtocol,
    AccumulatingProtocol,
    { chunkSize: [2, 3] },
  );
  const chunks: string[] = [];
  const original = client.dataReceived.bind(client);
  client.dataReceived = (d: Uint8Array) => {
    chunks.push(new TextDecoder().decode(d));
    original(d);
  };
  server.transport.write("abcdefghijk");
  pump.flush();
  assertEquals(chunks, ["ab", "cde", "fg", "hij", "k"]);
  assertEquals(client.text(), "abcdefghijk");
  assertThrows(
    () => connectedServerAndClient(Protocol, Protocol, { chunkSize: [4, 0] }),
    RangeError,
    'Invalid chunk size "0"',
  );
});

Deno.test("iosim: loseConnection reaches both sides after the data, with ConnectionDone", () => {
  const { client, server, pump } = connectedServerAndClient(
    AccumulatingProtocol,
    AccumulatingProtocol,
  );
  server.transport.write("bye");
  server.transport.loseConnection();
  server.transport.write("dropped");
  pump.flush();
  assertEquals(client.text(), "bye");
  assert(client.closed && server.closed);
  assert(client.closedReason?.check(ConnectionDone));
  assert(server.closedReason?.check(ConnectionDone));
});

Deno.test("iosim: abortConnection drops pending data; ConnectionAborted here, ConnectionLost there", () => {
  const { client, server, pump } = connectedServerAndClient(
    AccumulatingProtocol,
    AccumulatingProtocol,
  );
  server.transport.write("never delivered");
  server.transport.abortConnection();
  pump.flush();
  assertEquals(client.text(), "");
  assert(server.closedReason?.check(ConnectionAborted));
  assert(client.closedReason?.check(ConnectionLost));
});

Deno.test("iosim: pauseProducing holds data back until resumeProducing", () => {
  const { client, server, pump } = connectedServerAndClient(
    AccumulatingProtocol,
    AccumulatingProtocol,
  );
  client.transport.pauseProducing();
  server.transport.write("held");
  pump.flush();
  assertEquals(client.text(), "");
  client.transport.resumeProducing();
  pump.flush();
  assertEquals(client.text(), "held");
});

Deno.test("iosim: a streaming producer is paused above the high-water mark and resumed when drained", () => {
  const { server, pump } = connectedServerAndClient(
    AccumulatingProtocol,
    AccumulatingProtocol,
  );
  const events: string[] = [];
  const producer: IPushProducer = {
    pauseProducing: () => events.push("pause"),
    resumeProducing: () => events.push("resume"),
    stopProducing: () => events.push("stop"),
  };
  server.transport.registerProducer(producer, true);
  server.transport.write(new Uint8Array(70_000));
  assertEquals(events, ["pause"]);
  pump.pump();
  assertEquals(events, ["pause", "resume"]);
  server.transport.loseConnection();
  pump.flush();
  assertEquals(events, ["pause", "resume", "stop"]);
});

Deno.test("iosim: FakeTransport follows a real transport's flow-control rule: exact marks, checked limits, producer errors logged", () => {
  using logs = log.capture();
  const { server, pump } = connectedServerAndClient(
    AccumulatingProtocol,
    AccumulatingProtocol,
  );
  const t = server.transport;
  assertThrows(() => t.setWriteBufferLimits({ high: 5, low: 10 }), RangeError);
  t.setWriteBufferLimits({ high: 10, low: 4 });
  const events: string[] = [];
  t.registerProducer({
    pauseProducing: () => {
      events.push("pause");
      throw new URIError("pause");
    },
    resumeProducing: () => events.push("resume"),
    stopProducing: () => {},
  }, true);
  t.write(new Uint8Array(10)); // at the mark
  assertEquals(events, []);
  t.write(new Uint8Array(1)); // strictly above: paused, and the throw is logged
  t.write(new Uint8Array(1));
  assertEquals(events, ["pause"]);
  assertEquals(logs.flushErrors(URIError).length, 1);
  pump.pump();
  assertEquals(events, ["pause", "resume"]);
  t.unregisterProducer();
});

Deno.test("iosim: half-close reaches a half-closeable peer as readConnectionLost", () => {
  class Half extends AccumulatingProtocol {
    events: string[] = [];
    readConnectionLost(): void {
      this.events.push("readConnectionLost");
      this.transport.write("reply");
      this.transport.loseConnection();
    }
    writeConnectionLost(): void {
      this.events.push("writeConnectionLost");
    }
  }
  const server = new Half();
  const client = new Half();
  const pump = connect(server, client);
  client.transport.write("request");
  client.transport.loseWriteConnection();
  pump.flush();
  assertEquals(server.text(), "request");
  assertEquals(client.text(), "reply");
  assertEquals(server.events, ["readConnectionLost"]);
  assertEquals(client.events, ["writeConnectionLost"]);
  assert(client.closed && server.closed);
});

Deno.test("iosim: factories work as sources, and flush refuses to spin forever", () => {
  class Chatty extends Protocol {
    override dataReceived(data: Uint8Array): void {
      this.transport.write(data);
    }
    override connectionMade(): void {
      this.transport.write("x");
    }
  }
  const { pump } = connectedServerAndClient<Chatty, Chatty>(
    Factory.forProtocol(Chatty),
    Chatty,
    { greet: false },
  );
  assertThrows(() => pump.flush(50), Error, "still busy");
  let reason: Failure | undefined;
  class Recorder extends Protocol {
    override connectionLost(r: Failure): void {
      reason = r;
    }
  }
  const { server, pump: p2 } = connectedServerAndClient(Recorder, Recorder);
  server.transport.loseConnection();
  p2.flush();
  assert(reason?.check(ConnectionDone));
});

Deno.test("iosim helpers all take the server side first: connect, IOPump and connectedServerAndClient", () => {
  const server = new AccumulatingProtocol();
  const client = new AccumulatingProtocol();
  const serverTransport = makeFakeServer(server);
  const clientTransport = makeFakeClient(client);
  const pump = connect(server, client, {
    serverTransport,
    clientTransport,
    greet: false,
  });
  assertEquals(pump.serverIO, serverTransport);
  assertEquals(pump.clientIO, clientTransport);
  assertEquals(pump.server, server);
  assertEquals(pump.client, client);
  assert(serverTransport.isServer && !clientTransport.isServer);
  server.transport.write("to client");
  assertEquals(pump.flush(), true, "flush tells whether anything moved");
  assertEquals(pump.flush(), false);
  assertEquals(client.text(), "to client");

  const s2 = new AccumulatingProtocol();
  const c2 = new AccumulatingProtocol();
  const sio = new FakeTransport(s2, true);
  const cio = new FakeTransport(c2, false);
  s2.makeConnection(sio);
  c2.makeConnection(cio);
  const pump2 = new IOPump(sio, cio);
  assertEquals(pump2.server, s2);
  c2.transport.write("to server");
  pump2.flush();
  assertEquals(s2.text(), "to server");

  const built = connectedServerAndClient(
    AccumulatingProtocol,
    AccumulatingProtocol,
  );
  assertEquals(built.pump.server, built.server);
  assertEquals(built.pump.client, built.client);
  assert((built.server.transport as FakeTransport).isServer);
});

Deno.test("iosim: connect refuses a transport that serves another protocol", () => {
  const server = new AccumulatingProtocol();
  const client = new AccumulatingProtocol();
  assertThrows(
    () =>
      connect(server, client, {
        serverTransport: makeFakeServer(new AccumulatingProtocol()),
      }),
    TypeError,
    "serves another protocol",
  );
  assertEquals(server.made, false, "nothing was connected");
});

Deno.test("iosim: FakeTransport takes its addresses as options, and connectedServerAndClient its transport factories", () => {
  const p = new AccumulatingProtocol();
  const defaults = new FakeTransport(p, false);
  assertEquals(defaults.getHost(), new IPv4Address("TCP", "127.0.0.1", 54321));
  assertEquals(defaults.getPeer(), new IPv4Address("TCP", "127.0.0.1", 80));
  const unix = new FakeTransport(p, true, {
    hostAddress: new UNIXAddress("/h"),
    peerAddress: new UNIXAddress("/p"),
  });
  assertEquals(unix.getHost(), new UNIXAddress("/h"));
  assertEquals(unix.getPeer(), new UNIXAddress("/p"));
  const { server, client } = connectedServerAndClient(
    AccumulatingProtocol,
    AccumulatingProtocol,
    {
      serverTransportFactory: (s) =>
        makeFakeServer(s, { hostAddress: new UNIXAddress("/srv") }),
      clientTransportFactory: (c) =>
        makeFakeClient(c, { peerAddress: new UNIXAddress("/srv") }),
    },
  );
  assertEquals(server.transport.getHost(), new UNIXAddress("/srv"));
  assertEquals(client.transport.getPeer(), new UNIXAddress("/srv"));
});

Deno.test("iosim: FakeTransport's state flags have StringTransport's names", () => {
  const { client, server, pump } = connectedServerAndClient(
    AccumulatingProtocol,
    AccumulatingProtocol,
  );
  const clientIO = client.transport as FakeTransport;
  const serverIO = server.transport as FakeTransport;
  clientIO.pauseProducing();
  assertEquals(clientIO.producerState, "paused");
  clientIO.resumeProducing();
  assertEquals(clientIO.producerState, "producing");
  clientIO.loseWriteConnection();
  assert(clientIO.writeDisconnecting && !clientIO.writeDisconnected);
  pump.flush();
  assert(clientIO.writeDisconnected, "the half-close was delivered");
  assert(clientIO.disconnected && serverIO.disconnected);
  const producer = {
    resumeProducing() {},
    stopProducing() {},
  };
  const t = new FakeTransport(new AccumulatingProtocol(), true);
  t.registerProducer(producer, false);
  assertEquals(t.streaming, false);
  t.unregisterProducer();
  assertEquals(t.streaming, undefined);
  t.stopProducing();
  assert(t.producerState === "stopped" && t.disconnecting);
});

// That the helpers reach no transport, reactor or Deno network API is
// checked with the other layering rules in tests/layers_test.ts.

Deno.test("RaisingMemoryReactor throws from every listen and connect, naming the address or as told", () => {
  const factory = Factory.forProtocol(Echo);
  const client = new ClientFactory();
  const reactor: IReactorTCP & RaisingMemoryReactor =
    new RaisingMemoryReactor();
  assertThrows(
    () => reactor.listenTCP(80, factory, { interface: "::1" }),
    CannotListenError,
    'Cannot listen on "[::1]:80": refused by RaisingMemoryReactor',
  );
  assertThrows(
    () => reactor.listenSSL(443, factory, {}),
    CannotListenError,
    '"0.0.0.0:443"',
  );
  assertThrows(
    () => reactor.listenUNIX("/tmp/x.sock", factory),
    CannotListenError,
    '"unix:/tmp/x.sock"',
  );
  assertThrows(
    () => reactor.connectTCP("example.com", 80, client),
    ConnectError,
    '"example.com:80"',
  );
  assertThrows(
    () => reactor.connectSSL("example.com", 443, client),
    ConnectError,
    '"example.com:443"',
  );
  assertThrows(
    () => reactor.connectUNIX("/tmp/x.sock", client),
    ConnectError,
    '"unix:/tmp/x.sock"',
  );
  const listenException = new Error("listen");
  const connectException = new Error("connect");
  const told = new RaisingMemoryReactor({ listenException, connectException });
  assertThrows(() => told.listenTCP(1, factory), Error, "listen");
  assertThrows(() => told.connectUNIX("/p", client), Error, "connect");
});
