/**
 * The reactor owns what it creates in one registry, with one shutdown
 * trigger: opening and closing resources leaves its bookkeeping (triggers,
 * registry, delayed calls) exactly where it started.
 */
import { assert, assertEquals } from "@std/assert";
import { Reactor } from "../../src/internet/reactor.ts";
import {
  ClientFactory,
  Factory,
  Protocol,
} from "../../src/internet/protocol.ts";
import type { Failure } from "../../src/internet/failure.ts";
import type { IPv4Address } from "../../src/internet/address.ts";
import { ConnectError, ConnectionDone } from "../../src/internet/error.ts";
import { DatagramProtocol } from "../../src/internet/udp.ts";
import { ProcessProtocol } from "../../src/internet/process.ts";
import type {
  IProcessTransport,
  IUDPTransport,
} from "../../src/internet/interfaces.ts";
import type { IConnector } from "../../src/internet/interfaces.ts";
import {
  reactorBookkeeping,
  registryOf,
} from "../../src/internet/common/registry.ts";
import { withTimeout } from "../_helpers.ts";

const LOOPBACK = { interface: "127.0.0.1" };
const ROUNDS = 1000;

const portOf = (port: { getHost(): unknown }): number =>
  (port.getHost() as IPv4Address).port;

/** Runs `count` jobs, `width` at a time. */
async function inBatches(
  count: number,
  width: number,
  job: (i: number) => Promise<unknown>,
): Promise<void> {
  for (let i = 0; i < count; i += width) {
    const batch: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(count, i + width); j++) batch.push(job(j));
    await withTimeout(Promise.all(batch), 20_000, `jobs ${i}-${i + width}`);
  }
}

function assertBookkept(reactor: Reactor, expected: object): void {
  assertEquals(
    reactorBookkeeping(reactor),
    expected,
    `still registered: ${registryOf(reactor)?.describe().join(", ")}`,
  );
}

/** A process protocol that closes stdin (cat then exits) and says when it ended. */
class Closer extends ProcessProtocol {
  readonly ended = Promise.withResolvers<Failure>();
  constructor(readonly closeAtOnce = true) {
    super();
  }
  override connectionMade(): void {
    if (this.closeAtOnce) this.transport.closeStdin();
  }
  override processEnded(reason: Failure): void {
    this.ended.resolve(reason);
  }
}

/** A datagram protocol that says when it stopped. */
class Stopper extends DatagramProtocol {
  stopped = false;
  readonly stop = Promise.withResolvers<void>();
  override stopProtocol(): void {
    this.stopped = true;
    this.stop.resolve();
  }
}

/** A stream protocol that says when it lost its connection. */
class Tracker extends Protocol {
  readonly made = Promise.withResolvers<void>();
  readonly lost = Promise.withResolvers<Failure>();
  override connectionMade(): void {
    this.made.resolve();
  }
  override connectionLost(reason: Failure): void {
    this.lost.resolve(reason);
  }
}

Deno.test("registry: a fresh reactor starts with its own triggers, an empty registry and no delayed calls", () => {
  const reactor = new Reactor();
  const start = reactorBookkeeping(reactor);
  assertEquals(start.resources, 0);
  assertEquals(start.delayedCalls, 0);
  // "during startup", and the two "during shutdown" triggers (Twisted's
  // crash and disconnectAll).
  assertEquals(start.triggers, 3);
});

Deno.test(`registry: opening and closing ${ROUNDS} TCP ports leaves the bookkeeping where it started`, async () => {
  const reactor = new Reactor();
  const start = reactorBookkeeping(reactor);
  const factory = Factory.forProtocol(Protocol);
  await inBatches(ROUNDS, 50, async () => {
    const port = reactor.listenTCP(0, factory, LOOPBACK);
    await port.stopListening();
  });
  assertBookkept(reactor, start);
});

Deno.test(`registry: ${ROUNDS} TCP connections made and lost leave the bookkeeping where it started`, async () => {
  const reactor = new Reactor();
  const start = reactorBookkeeping(reactor);
  const serverFactory = new Factory();
  const servers: Tracker[] = [];
  serverFactory.buildProtocol = () => {
    const server = new Tracker();
    servers.push(server);
    return server;
  };
  const port = reactor.listenTCP(0, serverFactory, LOOPBACK);
  let lost = 0;
  await inBatches(ROUNDS, 25, async () => {
    const client = new Tracker();
    const done = Promise.withResolvers<void>();
    const factory = new ClientFactory();
    factory.buildProtocol = () => client;
    factory.clientConnectionLost = () => done.resolve();
    reactor.connectTCP("127.0.0.1", portOf(port), factory);
    await client.made.promise;
    client.transport.loseConnection();
    assert((await client.lost.promise).check(ConnectionDone));
    await done.promise;
    lost++;
  });
  await Promise.all(servers.map((s) => s.lost.promise));
  assertEquals([lost, servers.length], [ROUNDS, ROUNDS]);
  await port.stopListening();
  assertBookkept(reactor, start);
});

Deno.test(`registry: opening and closing ${ROUNDS} UDP ports leaves the bookkeeping where it started`, async () => {
  const reactor = new Reactor();
  const start = reactorBookkeeping(reactor);
  await inBatches(ROUNDS, 50, async () => {
    const protocol = new Stopper();
    const port = reactor.listenUDP(0, protocol, LOOPBACK);
    await port.listening;
    await port.stopListening();
    assert(protocol.stopped);
  });
  assertBookkept(reactor, start);
});

// 1,000 `cat`s take about 4 s here (2 cores), 25 at a time.
Deno.test(`registry: running ${ROUNDS} child processes to their end leaves the bookkeeping where it started`, async () => {
  const reactor = new Reactor();
  const start = reactorBookkeeping(reactor);
  await inBatches(ROUNDS, 25, async () => {
    const protocol = new Closer();
    reactor.spawnProcess(protocol, "cat", ["cat"]);
    await protocol.ended.promise;
  });
  assertBookkept(reactor, start);
});

/** Opens one of everything on `reactor` (running): what stays open until shutdown. */
async function openEverything(reactor: Reactor) {
  const serverFactory = new Factory();
  const servers: Tracker[] = [];
  const serverBuilt = Promise.withResolvers<Tracker>();
  serverFactory.buildProtocol = () => {
    const p = new Tracker();
    servers.push(p);
    serverBuilt.resolve(p);
    return p;
  };
  let portStopped = false;
  serverFactory.doStop = () => {
    portStopped = true;
  };
  const port = reactor.listenTCP(0, serverFactory, LOOPBACK);
  const client = new Tracker();
  const clientFactory = new ClientFactory();
  clientFactory.buildProtocol = () => client;
  reactor.connectTCP("127.0.0.1", portOf(port), clientFactory);
  await client.made.promise;
  await (await serverBuilt.promise).made.promise;
  const udpProtocol = new Stopper();
  const udp: IUDPTransport = reactor.listenUDP(0, udpProtocol, LOOPBACK);
  await udp.listening;
  const cat = new Closer(false);
  const process: IProcessTransport = reactor.spawnProcess(cat, "cat", ["cat"]);
  return {
    port,
    portStopped: () => portStopped,
    client,
    servers,
    udpProtocol,
    cat,
    process,
  };
}

Deno.test("registry: reactor shutdown closes every port, connection and UDP port still registered, lets processes run on, and leaves the registry empty", async () => {
  const reactor = new Reactor();
  const running = reactor.run({ installSignalHandlers: false });
  const open = await openEverything(reactor);
  // The port, the connector, both ends of the connection, the UDP port and
  // the process.
  assertEquals(reactorBookkeeping(reactor).resources, 6);
  reactor.stop();
  await withTimeout(running, 10_000, "the reactor to stop");
  assert(open.portStopped(), "the TCP port stopped listening");
  assert((await open.client.lost.promise).check(ConnectionDone));
  assert((await open.servers[0].lost.promise).check(ConnectionDone));
  assert(open.udpProtocol.stopped, "the UDP port was closed");
  // The child is not killed (as in Twisted): it is the only thing left.
  assertEquals(registryOf(reactor)?.describe().length, 1);
  open.process.closeStdin();
  await withTimeout(open.cat.ended.promise, 10_000, "cat to end");
  assertEquals(reactorBookkeeping(reactor).resources, 0);
  assertEquals(reactorBookkeeping(reactor).delayedCalls, 0);
});

Deno.test("registry: live ports, connections, UDP ports and processes add no trigger; the reactor's one shutdown trigger closes them", async () => {
  const reactor = new Reactor();
  const start = reactorBookkeeping(reactor);
  const running = reactor.run({ installSignalHandlers: false });
  const afterRun = reactorBookkeeping(reactor);
  const opened = [];
  for (let i = 0; i < 10; i++) opened.push(await openEverything(reactor));
  const live = reactorBookkeeping(reactor);
  assertEquals(live.triggers, afterRun.triggers);
  assertEquals(live.resources, start.resources + 10 * 6);
  reactor.stop();
  await withTimeout(running, 10_000, "the reactor to stop");
  for (const open of opened) {
    assert(open.portStopped());
    assert(open.udpProtocol.stopped);
    assert((await open.client.lost.promise).check(ConnectionDone));
  }
  assertEquals(reactorBookkeeping(reactor).resources, 10);
  for (const open of opened) open.process.closeStdin();
  // Unref'd, the children no longer keep the event loop turning: a timer does.
  await withTimeout(
    Promise.all(opened.map((open) => open.cat.ended.promise)),
    10_000,
    "the cats to end",
  );
  assertEquals(reactorBookkeeping(reactor).resources, 0);
});

Deno.test("registry: a connection attempt still in progress at shutdown fails with ConnectError", async () => {
  const reactor = new Reactor();
  const running = reactor.run({ installSignalHandlers: false });
  const { Connector } = await import("../../src/internet/stream/connector.ts");
  const failed = Promise.withResolvers<Failure>();
  const factory = new ClientFactory();
  factory.clientConnectionFailed = (_c: IConnector, reason: Failure) =>
    failed.resolve(reason);
  const never = new Promise<Deno.Conn>(() => {});
  const connector = new Connector(reactor, factory, {
    tcp: true,
    destination: { type: "TCP" } as unknown as IPv4Address,
    dial: () => never,
    errorFor: (e) => e as Error,
    peerOf: () => ({ type: "TCP" }) as unknown as IPv4Address,
    describe: () => "nowhere:9",
  });
  connector.connect();
  assertEquals(reactorBookkeeping(reactor).resources, 1);
  reactor.stop();
  await withTimeout(running, 10_000, "the reactor to stop");
  assertEquals((await failed.promise).value?.constructor, ConnectError);
  const { resources, delayedCalls } = reactorBookkeeping(reactor);
  assertEquals({ resources, delayedCalls }, { resources: 0, delayedCalls: 0 });
});

Deno.test("registry: a UDP port opened once shutdown has begun (by a shutdown trigger) is closed at once", async () => {
  const reactor = new Reactor();
  const running = reactor.run({ installSignalHandlers: false });
  const protocol = new Stopper();
  let port: IUDPTransport | undefined;
  reactor.addSystemEventTrigger("after", "shutdown", () => {
    port = reactor.listenUDP(0, protocol, LOOPBACK);
  });
  reactor.stop();
  await withTimeout(running, 10_000, "the reactor to stop");
  assert(port);
  // Nobody else closes it.
  await withTimeout(protocol.stop.promise, 10_000, "the UDP port to close");
  assertEquals(reactorBookkeeping(reactor).resources, 0);
});
