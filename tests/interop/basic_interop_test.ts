/**
 * Twist's framing receivers against Python Twisted's, over loopback, both
 * ways: `LineReceiver`, `NetstringReceiver` and `Int32StringReceiver` trade
 * empty messages, messages at and just under the default limits, and binary
 * ones; and each side refuses the other's message over the limit by closing
 * the connection. The Python peer is tests/interop/basic_peer.py.
 */
import { assert, assertEquals } from "@std/assert";
import { hasPythonTwisted, withTimeout } from "../_helpers.ts";
import { spawn } from "../_processes.ts";
import { Reactor } from "../../src/internet/reactor.ts";
import { ClientFactory, Factory } from "../../src/internet/protocol.ts";
import type { Failure } from "../../src/internet/failure.ts";
import { ConnectionClosed } from "../../src/internet/error.ts";
import type { IProtocol } from "../../src/internet/interfaces.ts";
import {
  Int32StringReceiver,
  LineReceiver,
  NetstringParseError,
  NetstringReceiver,
} from "../../src/protocols/basic.ts";
import { log } from "../../src/logger.ts";

const PYTHON = "/usr/bin/python3";
const PEER = "tests/interop/basic_peer.py";
const twisted = await hasPythonTwisted();
if (!twisted) {
  // deno-lint-ignore no-console
  console.log(
    "skipped: framing interop tests need /usr/bin/python3 with Twisted (apt-get install python3-twisted)",
  );
}

type Mode = "line" | "netstring" | "int32";
const MODES: readonly Mode[] = ["line", "netstring", "int32"];

/** The default limit of each mode's receiver, in Twisted and in Twist. */
const LIMIT: Record<Mode, number> = {
  line: new LineReceiver().MAX_LENGTH,
  netstring: new NetstringReceiver().MAX_LENGTH,
  int32: new Int32StringReceiver().MAX_LENGTH,
};

/** What Twist sends: empty, short, at and just under the limit, and binary. */
function messages(mode: Mode): Uint8Array[] {
  let seed = 99;
  const random = (): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 0x1_0000_0000;
  };
  const limit = LIMIT[mode];
  const binary = Uint8Array.from({ length: 5000 }, () => {
    const b = Math.floor(random() * 256);
    // A line cannot hold CR or LF.
    return mode === "line" && (b === 10 || b === 13) ? 0x20 : b;
  });
  return [
    new Uint8Array(0),
    new TextEncoder().encode("hello, \u00e9\u4e16"),
    new Uint8Array(limit).fill(0x78),
    new Uint8Array(limit - 1).fill(0x79),
    binary,
    new Uint8Array(0),
  ];
}

/** Every message a Twist peer receives, and a way to send one. */
interface Peer extends IProtocol {
  got: Uint8Array[];
  send(message: Uint8Array): void;
}

/** A Twist peer of `mode`: `onMessage` is called with each message it receives. */
function peerClass(
  mode: Mode,
  onMessage: (peer: Peer, message: Uint8Array) => void,
  onConnect: (peer: Peer) => void = () => {},
): new () => Peer {
  switch (mode) {
    case "line":
      return class extends LineReceiver implements Peer {
        got: Uint8Array[] = [];
        send(m: Uint8Array): void {
          this.sendLine(m);
        }
        override lineReceived(line: Uint8Array): void {
          onMessage(this, line);
        }
        override connectionMade(): void {
          onConnect(this);
        }
      };
    case "netstring":
      return class extends NetstringReceiver implements Peer {
        got: Uint8Array[] = [];
        send(m: Uint8Array): void {
          this.sendString(m);
        }
        override stringReceived(s: Uint8Array): void {
          onMessage(this, s);
        }
        override connectionMade(): void {
          onConnect(this);
        }
      };
    case "int32":
      return class extends Int32StringReceiver implements Peer {
        got: Uint8Array[] = [];
        send(m: Uint8Array): void {
          this.sendString(m);
        }
        override stringReceived(s: Uint8Array): void {
          onMessage(this, s);
        }
        override connectionMade(): void {
          onConnect(this);
        }
      };
  }
}

/** An echoing Twist peer, for Python clients. */
const echo = (mode: Mode) => peerClass(mode, (peer, m) => peer.send(m));

/** Starts the Python echo server and returns its port. */
async function pythonServer(mode: Mode) {
  const server = spawn(PYTHON, [PEER, mode, "server"]);
  const out = await server.waitForOutput(/port (\d+)\n/, 30_000);
  return { server, port: Number(out.match(/port (\d+)/)![1]) };
}

/** Connects a Twist client of `peer` to `port`; resolves when the connection is lost. */
function connect(
  reactor: Reactor,
  port: number,
  peer: new () => Peer,
): Promise<Failure> {
  const lost = Promise.withResolvers<Failure>();
  const factory = ClientFactory.forProtocol(peer);
  factory.noisy = false;
  factory.clientConnectionLost = (_connector, reason) => lost.resolve(reason);
  factory.clientConnectionFailed = (_connector, reason) =>
    lost.reject(reason.value);
  reactor.connectTCP("127.0.0.1", port, factory);
  return lost.promise;
}

for (const mode of MODES) {
  Deno.test({
    name:
      `interop: Twist's ${mode} receiver trades messages with Python Twisted's, Twist as the client`,
    ignore: !twisted,
    async fn() {
      const { server, port } = await pythonServer(mode);
      await using _server = server;
      const reactor = new Reactor();
      const sent = messages(mode);
      const done = Promise.withResolvers<Uint8Array[]>();
      const client = peerClass(mode, (peer, m) => {
        peer.got.push(m);
        if (peer.got.length === sent.length) {
          done.resolve(peer.got);
          (peer as unknown as LineReceiver).transport.loseConnection();
        }
      }, (peer) => sent.forEach((m) => peer.send(m)));
      const lost = connect(reactor, port, client);
      const got = await withTimeout(done.promise, 30_000, `the ${mode} echoes`);
      assertEquals(got, sent);
      await withTimeout(lost, 10_000, "the connection to close");
      assertEquals((await server.wait()).code, 0);
    },
  });

  Deno.test({
    name:
      `interop: Python Twisted's ${mode} receiver trades messages with Twist's, Twist as the server`,
    ignore: !twisted,
    async fn() {
      const reactor = new Reactor();
      const factory = Factory.forProtocol(echo(mode));
      factory.noisy = false;
      const port = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
      try {
        await using client = spawn(PYTHON, [
          PEER,
          mode,
          "client",
          `${port.getHost().port}`,
        ]);
        const status = await client.wait(30_000);
        assertEquals(
          client.stdout(),
          "OK\n",
          `Python said: ${client.stdout()} ${client.stderr()}`,
        );
        assertEquals(status.code, 0);
      } finally {
        await port.stopListening();
      }
    },
  });

  Deno.test({
    name:
      `interop: Twist's ${mode} receiver closes the connection on Python Twisted's message over the limit`,
    ignore: !twisted,
    async fn() {
      using logs = log.capture();
      const reactor = new Reactor();
      const factory = Factory.forProtocol(echo(mode));
      factory.noisy = false;
      const port = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
      try {
        await using client = spawn(PYTHON, [
          PEER,
          mode,
          "toolong",
          `${port.getHost().port}`,
        ]);
        const status = await client.wait(30_000);
        // Closed without echoing anything, not even the message after it.
        assertEquals(client.stdout(), "CLOSED 0\n", client.stderr());
        assertEquals(status.code, 0);
      } finally {
        await port.stopListening();
      }
      const parseErrors = logs.flushErrors(NetstringParseError);
      assertEquals(parseErrors.length, mode === "netstring" ? 1 : 0);
    },
  });

  Deno.test({
    name:
      `interop: Python Twisted's ${mode} receiver closes the connection on Twist's message over the limit`,
    ignore: !twisted,
    async fn() {
      const { server, port } = await pythonServer(mode);
      await using _server = server;
      const reactor = new Reactor();
      let peer: Peer | undefined;
      const client = peerClass(mode, (p, m) => p.got.push(m), (p) => {
        peer = p;
        p.send(new Uint8Array(LIMIT[mode] + 1).fill(0x61));
        p.send(new TextEncoder().encode("after"));
      });
      const reason = await withTimeout(
        connect(reactor, port, client),
        30_000,
        "Python to close the connection",
      );
      // Closed by the peer: cleanly, or reset while Twist was still sending.
      assert(reason.check(ConnectionClosed), reason.getErrorMessage());
      assertEquals(peer?.got, []);
      assertEquals((await server.wait()).code, 0);
    },
  });
}
