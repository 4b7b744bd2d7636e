import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { Reactor } from "../../src/internet/reactor.ts";
import { DatagramProtocol } from "../../src/internet/udp.ts";
import {
  CannotListenError,
  MessageLengthError,
} from "../../src/internet/error.ts";
import { type IPv4Address, IPv6Address } from "../../src/internet/address.ts";
import { decode, DENO, denoFlags, withTimeout } from "../_helpers.ts";
import { log } from "../../src/logger.ts";

const reactor = new Reactor();

class Echo extends DatagramProtocol {
  events: string[] = [];
  override startProtocol(): void {
    this.events.push("start");
  }
  override stopProtocol(): void {
    this.events.push("stop");
  }
  override datagramReceived(data: Uint8Array, addr: IPv4Address): void {
    this.transport.write(data, addr);
  }
}

class Collect extends DatagramProtocol {
  got: string[] = [];
  from: (IPv4Address | IPv6Address)[] = [];
  #wanted = Promise.withResolvers<void>();
  #want = 1;
  override datagramReceived(data: Uint8Array, addr: IPv4Address): void {
    this.got.push(decode(data));
    this.from.push(addr);
    if (this.got.length >= this.#want) this.#wanted.resolve();
  }
  until(n: number): Promise<void> {
    this.#want = n;
    if (this.got.length >= n) this.#wanted.resolve();
    return withTimeout(this.#wanted.promise, 5000, `${n} datagrams`);
  }
}

Deno.test("UDP: echo over 127.0.0.1 with DatagramProtocol; startProtocol and stopProtocol", async () => {
  const echo = new Echo();
  const server = reactor.listenUDP(0, echo, { interface: "127.0.0.1" });
  await server.listening;
  const client = new Collect();
  const port = reactor.listenUDP(0, client, { interface: "127.0.0.1" });
  await port.listening;
  port.write("one", ["127.0.0.1", server.getHost().port]);
  port.write(new TextEncoder().encode("two"), server.getHost());
  await client.until(2);
  assertEquals(client.got.sort(), ["one", "two"]);
  assertEquals(client.from[0].port, server.getHost().port);
  await port.stopListening();
  await server.stopListening();
  assertEquals(echo.events, ["start", "stop"]);
});

Deno.test("UDP: echo over ::1", async () => {
  const server = reactor.listenUDP(0, new Echo(), { interface: "::1" });
  try {
    await server.listening;
  } catch (e) {
    // deno-lint-ignore no-console
    console.log(
      `skipped: IPv6 loopback unavailable here (${(e as Error).message})`,
    );
    return;
  }
  assertInstanceOf(server.getHost(), IPv6Address);
  const client = new Collect();
  const port = reactor.listenUDP(0, client, { interface: "::1" });
  await port.listening;
  port.write("over v6", ["::1", server.getHost().port]);
  await client.until(1);
  assertEquals(client.got, ["over v6"]);
  await port.stopListening();
  await server.stopListening();
});

Deno.test("UDP: a connected port writes without an address and ignores other senders", async () => {
  const server = reactor.listenUDP(0, new Echo(), { interface: "127.0.0.1" });
  await server.listening;
  const client = new Collect();
  const port = reactor.listenUDP(0, client, { interface: "127.0.0.1" });
  await port.listening;
  port.connect("127.0.0.1", server.getHost().port);
  assertThrows(() => port.connect("127.0.0.1", 9), Error, "already connected");
  assertThrows(
    () => port.write("x", ["127.0.0.1", 9]),
    TypeError,
    "only write to its peer",
  );
  // A stranger's datagram is ignored; the peer's echo arrives.
  const stranger = reactor.listenUDP(0, new DatagramProtocol(), {
    interface: "127.0.0.1",
  });
  await stranger.listening;
  stranger.write("from a stranger", port.getHost());
  port.write("to the peer");
  await client.until(1);
  assertEquals(client.got, ["to the peer"]);
  await stranger.stopListening();
  await port.stopListening();
  await server.stopListening();
});

Deno.test("UDP: oversized datagrams, malformed addresses and a busy port give clear errors", async () => {
  using logs = log.capture();
  const port = reactor.listenUDP(0, new DatagramProtocol(), {
    interface: "127.0.0.1",
    maxPacketSize: 16,
  });
  await port.listening;
  assertThrows(
    () => port.write(new Uint8Array(17), ["127.0.0.1", 9]),
    MessageLengthError,
    "larger than maxPacketSize 16",
  );
  assertThrows(
    () => port.write("x", ["127.0.0.1", 0]),
    TypeError,
    "Invalid datagram address",
  );
  assertThrows(
    () => port.write("x", ["", 9]),
    TypeError,
    "Invalid datagram address",
  );
  assertThrows(() => port.write("x"), TypeError, "needs an address");
  port.setBroadcastAllowed(true);
  assert(port.getBroadcastAllowed());
  const busy = reactor.listenUDP(port.getHost().port, new DatagramProtocol(), {
    interface: "127.0.0.1",
  });
  const err = await assertRejects(() => busy.listening, CannotListenError);
  assertStringIncludes(err.message, "address in use");
  assertEquals(logs.flushErrors(CannotListenError).length, 1);
  assertThrows(() => busy.getHost(), Error, "not bound");
  await busy.stopListening();
  await port.stopListening();
  assertThrows(
    () => reactor.listenUDP(70000, new DatagramProtocol()),
    RangeError,
  );
});

Deno.test("UDP: without --allow-net, listenUDP names the flag", async () => {
  const out = await new Deno.Command(DENO, {
    args: ["run", ...denoFlags(), "tests/fixtures/udp_noperm.ts"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertStringIncludes(decode(out.stdout), "CannotListenError");
  assertStringIncludes(
    decode(out.stdout),
    "run again with --allow-net=127.0.0.1",
  );
});

Deno.test("UDP: multicast on loopback (skipped if the kernel does not route it here)", async () => {
  const GROUP = "239.255.42.99";
  const receiver = new Collect();
  const port = reactor.listenMulticast(0, receiver, {
    interface: GROUP,
    listenMultiple: true,
  });
  try {
    await port.listening;
    await port.joinGroup(GROUP, "127.0.0.1");
  } catch (e) {
    // deno-lint-ignore no-console
    console.log(
      `skipped: multicast unavailable here (${(e as Error).message})`,
    );
    await port.stopListening();
    return;
  }
  port.setTTL(1);
  port.setLoopbackMode(true);
  assertEquals([port.getTTL(), port.getLoopbackMode()], [1, true]);
  const sender = reactor.listenMulticast(0, new DatagramProtocol(), {
    interface: "127.0.0.1",
  });
  await sender.listening;
  await sender.setOutgoingInterface("127.0.0.1");
  sender.setLoopbackMode(true);
  sender.write("to the group", [GROUP, port.getHost().port]);
  try {
    await receiver.until(1);
    assertEquals(receiver.got, ["to the group"]);
    await port.leaveGroup(GROUP, "127.0.0.1");
  } catch (e) {
    // deno-lint-ignore no-console
    console.log(
      `skipped: no multicast delivery on loopback here (${
        (e as Error).message
      })`,
    );
  } finally {
    await sender.stopListening();
    await port.stopListening();
  }
});
