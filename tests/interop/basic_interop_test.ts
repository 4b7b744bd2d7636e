import { assert, assertEquals } from "@std/assert";
import { hasPythonTwisted, withTimeout } from "../_helpers.ts";
import { spawn } from "../_processes.ts";
import { Reactor } from "../../src/internet/reactor.ts";
import { ClientFactory, Factory } from "../../src/internet/protocol.ts";
import type { Failure } from "../../src/internet/failure.ts";
import {
  Int32StringReceiver,
  LineReceiver,
  NetstringReceiver,
} from "../../src/protocols/basic.ts";

const PYTHON = "/usr/bin/python3";
const twisted = await hasPythonTwisted();
if (!twisted) {
  // deno-lint-ignore no-console
  console.log(
    "skipped: framing interop tests need /usr/bin/python3 with Twisted (apt-get install python3-twisted)",
  );
}

type Mode = "line" | "netstring" | "int32";

/** The messages the Twist side sends: empty, short, at the limit, and binary. */
function messages(mode: Mode): Uint8Array[] {
  let seed = 99;
  const random = (): number =>
    (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const alphabet = [0x61, 0x62, 0x20, 0x09, 0x00, 0xff];
  if (mode === "line") {
    return [
      new Uint8Array(0),
      new TextEncoder().encode("hello"),
      new Uint8Array(16384).fill(0x78),
      Uint8Array.from(
        { length: 1000 },
        () => alphabet[Math.floor(random() * alphabet.length)],
      ),
    ];
  }
  return [
    new Uint8Array(0),
    new TextEncoder().encode("hello"),
    new Uint8Array(99999).fill(0x79),
    Uint8Array.from({ length: 5000 }, () => Math.floor(random() * 256)),
  ];
}

const BASES = {
  line: LineReceiver,
  netstring: NetstringReceiver,
  int32: Int32StringReceiver,
} as const;

/** A Twist peer of the given mode: echoes as a server; sends and checks as a client. */
function peerClass(
  mode: Mode,
  role: "server" | "client",
  done?: PromiseWithResolvers<Uint8Array[]>,
) {
  const Base = BASES[mode] as
    & typeof LineReceiver
    & typeof NetstringReceiver
    & typeof Int32StringReceiver;
  return class extends (Base as unknown as typeof LineReceiver) {
    got: Uint8Array[] = [];
    sent: Uint8Array[] = [];
    send(m: Uint8Array): void {
      if (mode === "line") this.sendLine(m);
      else (this as unknown as NetstringReceiver).sendString(m);
    }
    received(m: Uint8Array): void {
      if (role === "server") return this.send(m);
      this.got.push(m.slice());
      if (this.got.length === this.sent.length) {
        done!.resolve(this.got);
        this.transport.loseConnection();
      }
    }
    override lineReceived(line: Uint8Array): void {
      this.received(line);
    }
    stringReceived(s: Uint8Array): void {
      this.received(s);
    }
    override connectionMade(): void {
      if (role === "client") {
        this.sent = messages(mode);
        for (const m of this.sent) this.send(m);
      }
    }
  };
}

for (const mode of ["line", "netstring", "int32"] as const) {
  Deno.test({
    name:
      `interop: Twist's ${mode} receiver talks to Python Twisted's, Twist as the client`,
    ignore: !twisted,
    async fn() {
      await using server = spawn(PYTHON, [
        "tests/interop/basic_peer.py",
        mode,
        "server",
      ]);
      const out = await server.waitForOutput(/port (\d+)\n/, 30_000);
      const port = Number(out.match(/port (\d+)/)![1]);
      const reactor = new Reactor();
      const done = Promise.withResolvers<Uint8Array[]>();
      const factory = ClientFactory.forProtocol(
        peerClass(mode, "client", done),
      );
      factory.noisy = false;
      const lost = Promise.withResolvers<void>();
      factory.clientConnectionLost = () => lost.resolve();
      factory.clientConnectionFailed = (_c, reason: Failure) =>
        done.reject(reason.value);
      reactor.connectTCP("127.0.0.1", port, factory);
      const got = await withTimeout(done.promise, 30_000, `the ${mode} echoes`);
      assertEquals(got, messages(mode));
      await lost.promise;
      assertEquals((await server.wait()).code, 0);
    },
  });

  Deno.test({
    name:
      `interop: Python Twisted's ${mode} receiver talks to Twist's, Twist as the server`,
    ignore: !twisted,
    async fn() {
      const reactor = new Reactor();
      const factory = Factory.forProtocol(peerClass(mode, "server"));
      factory.noisy = false;
      const port = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
      try {
        await using client = spawn(PYTHON, [
          "tests/interop/basic_peer.py",
          mode,
          "client",
          `${port.getHost().port}`,
        ]);
        const status = await client.wait(30_000);
        assert(
          client.stdout().startsWith("OK"),
          `Python said: ${client.stdout()} ${client.stderr()}`,
        );
        assertEquals(status.code, 0);
      } finally {
        await port.stopListening();
      }
    },
  });
}
