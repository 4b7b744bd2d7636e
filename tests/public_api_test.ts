// The shape of the public API: the root is `twisted.internet`, the protocol
// families live only at their subpaths, and the machinery stays inside.
import { assert, assertEquals } from "@std/assert";
import * as root from "../mod.ts";
import * as basic from "../src/protocols/basic.ts";
import * as policies from "../src/protocols/policies.ts";
import * as wire from "../src/protocols/wire.ts";
import * as portforward from "../src/protocols/portforward.ts";
import * as haproxy from "../src/protocols/haproxy.ts";
import * as application from "../src/application/mod.ts";
import denoJson from "../deno.json" with { type: "json" };
import { main, VERSION } from "../src/cli.ts";
import { MemoryReactor } from "../src/testing/mod.ts";
import { log } from "../src/logger.ts";
import { withTimeout } from "./_helpers.ts";

Deno.test("the root entry point exports none of the machinery", () => {
  for (
    const name of [
      "Connection",
      "Port",
      "Connector",
      "TimerHeap",
      "checkDelay",
      "fromDenoAddr",
      "ReactorBase",
      "DelayedCall",
      "UDPPort",
      "MulticastPort",
      "ProcessTransport",
      "listenUDP",
      "listenMulticast",
      "spawnProcess",
      "unixFlags",
    ]
  ) {
    assert(!(name in root), `${name} is exported from the root`);
  }
});

Deno.test("the protocol families are exported at their subpaths only", () => {
  for (const family of [basic, policies, wire, portforward, haproxy]) {
    for (const name of Object.keys(family)) {
      assert(!(name in root), `${name} is exported from the root too`);
    }
  }
  // twisted.application: the services live at their subpath; ClientService
  // (and its backoffPolicy) stays in the root too, where it was first.
  for (const name of Object.keys(application)) {
    const shared = name === "ClientService" || name === "backoffPolicy";
    assert((name in root) === shared, `${name} in the root: ${name in root}`);
  }
  // Imported by name, Proxy shadows the global Proxy: it stays in its family.
  assert(!("Proxy" in root));
  assert("Proxy" in portforward);
});

Deno.test("the root has what a Twisted user looks for in twisted.internet", () => {
  for (
    const name of [
      "reactor",
      "Reactor",
      "Protocol",
      "Factory",
      "ClientFactory",
      "Deferred",
      "Clock",
      "LoopingCall",
      "serverFromString",
      "ConnectionDone",
      "ProcessDone",
      "MessageLengthError",
      "ConnectingCancelledError",
      "IPv4Address",
      "Failure",
      "log",
    ]
  ) {
    assert(name in root, `${name} is missing from the root`);
  }
});

Deno.test("every entry point in deno.json's exports is a module that loads", async () => {
  const entries = Object.entries(denoJson.exports);
  assertEquals(entries[0], [".", "./mod.ts"]);
  for (const [, path] of entries) {
    const mod = await import(new URL(`../${path}`, import.meta.url).href);
    assert(Object.keys(mod).length > 0, `${path} exports nothing`);
  }
});

Deno.test("the runner's version is the one in deno.json", async () => {
  assertEquals(VERSION, denoJson.version);
  const lines: string[] = [];
  assertEquals(await main(["--version"], { stdout: (l) => lines.push(l) }), 0);
  assertEquals(lines, [`twist ${denoJson.version}`]);
});

Deno.test("the runner takes any reactor that provides the endpoints' interfaces", async () => {
  // main replaces the log observers; the capture puts them back.
  using _capture = log.capture();
  const reactor = new MemoryReactor();
  const running = Promise.withResolvers<void>();
  reactor.callWhenRunning(() => running.resolve());
  const exited = main(["echo", "--listen", "tcp:8123:interface=127.0.0.1"], {
    reactor,
    stderr: () => {},
  });
  await withTimeout(running.promise, 5_000, "the reactor to run");
  assertEquals(reactor.tcpServers[0].port, 8123);
  assertEquals(reactor.tcpServers[0].interface, "127.0.0.1");
  assertEquals(await exited, 0);
});
