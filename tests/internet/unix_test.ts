import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { Reactor } from "../../src/internet/reactor.ts";
import {
  ClientFactory,
  Factory,
  Protocol,
} from "../../src/internet/protocol.ts";
import { UNIXAddress } from "../../src/internet/address.ts";
import {
  CannotListenError,
  ConnectError,
  ConnectionDone,
} from "../../src/internet/error.ts";
import type { Failure } from "../../src/internet/failure.ts";
import {
  decode,
  DENO,
  denoFlags,
  firstBuilt,
  withTimeout,
} from "../_helpers.ts";

// The test task grants exactly these paths (Deno wants absolute paths in --allow-net=unix:).
const DIR = "/tmp/twist-tests";
const A = `${DIR}/a.sock`;
const B = `${DIR}/b.sock`;
const C = `${DIR}/c.sock`;

function fresh(...paths: string[]): void {
  Deno.mkdirSync(DIR, { recursive: true });
  for (const p of paths.flatMap((p) => [p, `${p}.lock`])) {
    try {
      Deno.removeSync(p);
    } catch {
      // Not there.
    }
  }
}

const exists = (p: string): boolean => {
  try {
    Deno.lstatSync(p);
    return true;
  } catch {
    return false;
  }
};

class Echo extends Protocol {
  override dataReceived(d: Uint8Array): void {
    this.transport.write(d);
  }
}

class Client extends Protocol {
  text = "";
  readonly lost = Promise.withResolvers<Failure>();
  override connectionMade(): void {
    this.transport.write("over a UNIX socket");
  }
  override dataReceived(d: Uint8Array): void {
    this.text += decode(d);
    if (this.text === "over a UNIX socket") this.transport.loseConnection();
  }
  override connectionLost(reason: Failure): void {
    this.lost.resolve(reason);
  }
}

Deno.test("UNIX: echo over a socket, addresses, and the file removed on stopListening", async () => {
  fresh(A);
  const reactor = new Reactor();
  const serverFactory = Factory.forProtocol(Echo);
  serverFactory.noisy = false;
  const port = reactor.listenUNIX(A, serverFactory, { mode: 0o600 });
  assertEquals(port.getHost(), new UNIXAddress(A));
  assertEquals(Deno.statSync(A).mode! & 0o777, 0o600);
  const factory = new ClientFactory();
  factory.noisy = false;
  const built = firstBuilt(factory, () => new Client());
  const connector = reactor.connectUNIX(A, factory);
  assertEquals(connector.getDestination(), new UNIXAddress(A));
  const client = await withTimeout(built, 5000, "the UNIX connection");
  const reason = await withTimeout(client.lost.promise, 5000, "the UNIX echo");
  assert(reason.check(ConnectionDone));
  assertEquals(client.text, "over a UNIX socket");
  assertInstanceOf(client.transport.getPeer(), UNIXAddress);
  assertEquals(client.transport.getTcpNoDelay(), false);
  await port.stopListening();
  assertEquals(exists(A), false);
});

Deno.test("UNIX: a path in use is refused; wantPID cleans up a stale socket file", async () => {
  fresh(B);
  const reactor = new Reactor();
  const factory = Factory.forProtocol(Echo);
  factory.noisy = false;
  // Make a stale socket file: listen, move the file away from Deno's cleanup, close.
  const raw = Deno.listen({ transport: "unix", path: A });
  Deno.renameSync(A, B);
  raw.close();
  assert(exists(B), "the stale socket file exists");
  const err = assertThrows(
    () => reactor.listenUNIX(B, factory),
    CannotListenError,
  );
  assertStringIncludes(err.message, "address in use");
  const port = reactor.listenUNIX(B, factory, { wantPID: true });
  assertEquals(Deno.readTextFileSync(`${B}.lock`).trim(), `${Deno.pid}`);
  // While it listens, a second listener on the same path is refused.
  assertThrows(
    () => reactor.listenUNIX(B, factory),
    CannotListenError,
    "address in use",
  );
  await port.stopListening();
  assertEquals(exists(B), false);
  assertEquals(exists(`${B}.lock`), false);
});

Deno.test("UNIX: a lock held by another process is refused with a clear message", () => {
  fresh(C);
  Deno.writeTextFileSync(`${C}.lock`, "1\n"); // pid 1 is always running
  const reactor = new Reactor();
  const err = assertThrows(
    () => reactor.listenUNIX(C, Factory.forProtocol(Echo), { wantPID: true }),
    CannotListenError,
  );
  assertStringIncludes(err.message, "held by");
  assertEquals(exists(`${C}.lock`), true, "someone else's lock is left alone");
  fresh(C);
});

Deno.test("UNIX: connecting to a missing socket fails through clientConnectionFailed", async () => {
  fresh(C);
  const reactor = new Reactor();
  const failed = Promise.withResolvers<Failure>();
  const factory = new ClientFactory();
  factory.noisy = false;
  factory.clientConnectionFailed = (_c, r) => failed.resolve(r);
  reactor.connectUNIX(C, factory);
  const reason = await withTimeout(failed.promise, 5000, "the failure");
  assert(reason.check(ConnectError));
  assertStringIncludes(reason.getErrorMessage(), C);
});

Deno.test("UNIX: without permissions, the errors name the three flags", async () => {
  const out = await new Deno.Command(DENO, {
    args: ["run", ...denoFlags(), "tests/fixtures/unix_noperm.ts"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = decode(out.stdout);
  const flags = `--allow-read=${A} --allow-write=${A} --allow-net=unix:${A}`;
  assertStringIncludes(
    text,
    `listen: Cannot listen on "unix:${A}": permission denied: run again with ${flags}`,
  );
  assertStringIncludes(
    text,
    `connect: Permission denied connecting to "unix:${A}": run again with ${flags}`,
  );
});
