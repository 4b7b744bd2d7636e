// The shape of the public API: the root is `twisted.internet`, the protocol
// families live only at their subpaths, and the machinery stays inside.
import { assert, assertEquals } from "@std/assert";
import * as root from "../mod.ts";
import * as basic from "../src/protocols/basic.ts";
import * as policies from "../src/protocols/policies.ts";
import * as wire from "../src/protocols/wire.ts";
import * as portforward from "../src/protocols/portforward.ts";
import denoJson from "../deno.json" with { type: "json" };

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
  for (const family of [basic, policies, wire, portforward]) {
    for (const name of Object.keys(family)) {
      assert(!(name in root), `${name} is exported from the root too`);
    }
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
