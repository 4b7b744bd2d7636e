/**
 * IBorrowingProtocol: a protocol that is done with each chunk when
 * `dataReceived` returns lets the transport read into the same memory again,
 * and nothing it wrote from a chunk is overwritten before it is sent.
 */
import { assert, assertEquals, assertLess } from "@std/assert";
import { Reactor } from "../../src/internet/reactor.ts";
import {
  ClientFactory,
  Factory,
  Protocol,
} from "../../src/internet/protocol.ts";
import type { Failure } from "../../src/internet/failure.ts";
import type { IBorrowingProtocol } from "../../src/internet/interfaces.ts";
import type { IPv4Address } from "../../src/internet/address.ts";
import { tlsServerOptionsFromFiles } from "../../src/internet/tls.ts";
import { streamBackend } from "../../src/internet/stream/backend.ts";
import { firstBuilt, withTimeout } from "../_helpers.ts";

const DIR = "tests/fixtures/tls";
const ca = Deno.readTextFileSync(`${DIR}/ca.pem`);
/** Reuse is a Deno.Conn read path feature; the node backend pushes fresh chunks. */
const reuses = streamBackend() === "deno";

/** `size` bytes that show where each one belongs (a byte's index mod 251). */
function pattern(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = i % 251;
  return bytes;
}

/** Connects to `to`, sends `total` pattern bytes and closes. */
async function sendPattern(to: IPv4Address, total: number): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: to.port });
  const bytes = pattern(total);
  for (let at = 0; at < total;) {
    at += await conn.write(bytes.subarray(at, at + 65536));
  }
  conn.close();
}

/** The index of the first byte of `got` that is not where `pattern` puts it. */
function firstWrong(got: Uint8Array, from: number): number {
  for (let i = 0; i < got.length; i++) {
    if (got[i] !== (from + i) % 251) return from + i;
  }
  return -1;
}

/** Resolved once an echo has 1 MiB of unsent writes (reads go on meanwhile). */
let backlog = Promise.withResolvers<void>();

class BorrowingEcho extends Protocol implements IBorrowingProtocol {
  readonly borrowsData = true;
  override dataReceived(data: Uint8Array): void {
    this.transport.write(data);
    if (this.transport.getWriteBufferSize() > 1024 * 1024) backlog.resolve();
  }
}

/** Counts and checks what it is sent; notes the memory each chunk was in. */
class BorrowingSink extends Protocol implements IBorrowingProtocol {
  readonly borrowsData = true;
  received = 0;
  chunks = 0;
  wrongAt = -1;
  readonly buffers: ArrayBufferLike[] = [];
  readonly lost = Promise.withResolvers<Failure>();
  override dataReceived(data: Uint8Array): void {
    if (this.wrongAt < 0) this.wrongAt = firstWrong(data, this.received);
    this.received += data.length;
    this.chunks++;
    this.buffers.push(data.buffer);
  }
  override connectionLost(reason: Failure): void {
    this.lost.resolve(reason);
  }
}

/** Writes `total` pattern bytes at once and checks the echo as it comes. */
class Sender extends Protocol {
  received = 0;
  wrongAt = -1;
  readonly done = Promise.withResolvers<void>();
  readonly lost = Promise.withResolvers<Failure>();
  constructor(readonly total: number) {
    super();
  }
  override connectionMade(): void {
    // Not reading until the echo has a backlog: its writes wait while it
    // reads on, into memory that a pending write may still hold unless the
    // transport waits for it.
    this.transport.pauseProducing();
    // In pieces of odd sizes, so the echo's chunks do not line up with them.
    const all = pattern(this.total);
    for (let at = 0; at < all.length; at += 7919) {
      this.transport.write(all.subarray(at, at + 7919));
    }
  }
  override dataReceived(data: Uint8Array): void {
    if (this.wrongAt < 0) this.wrongAt = firstWrong(data, this.received);
    this.received += data.length;
    if (this.received >= this.total) this.done.resolve();
  }
  override connectionLost(reason: Failure): void {
    this.lost.resolve(reason);
    this.done.resolve();
  }
}

function quiet<F extends Factory>(f: F): F {
  f.noisy = false;
  return f;
}

/** Echoes `total` bytes through a borrowing echo over TCP or TLS. */
async function echoThroughBorrower(
  tls: boolean,
  total: number,
  engine: "deno" | "node" = "deno",
) {
  backlog = Promise.withResolvers<void>();
  const reactor = new Reactor();
  const server = quiet(Factory.forProtocol(BorrowingEcho));
  const port = tls
    ? reactor.listenSSL(
      0,
      server,
      {
        ...tlsServerOptionsFromFiles(`${DIR}/server.pem`, `${DIR}/server.key`),
        engine,
      },
      { interface: "127.0.0.1" },
    )
    : reactor.listenTCP(0, server, { interface: "127.0.0.1" });
  const factory = quiet(new ClientFactory());
  const built = firstBuilt(factory, () => new Sender(total));
  const at = (port.getHost() as IPv4Address).port;
  if (tls) reactor.connectSSL("127.0.0.1", at, factory, { caCerts: [ca] });
  else reactor.connectTCP("127.0.0.1", at, factory);
  const sender = await withTimeout(built, 10_000, "the connection");
  await withTimeout(backlog.promise, 10_000, "the echo's backlog");
  sender.transport.resumeProducing();
  await withTimeout(sender.done.promise, 30_000, "the echo");
  assertEquals(
    sender.wrongAt,
    -1,
    `the echo is wrong from byte ${sender.wrongAt}`,
  );
  assertEquals(sender.received, total);
  sender.transport.loseConnection();
  await sender.lost.promise;
  await port.stopListening();
}

Deno.test("borrowing: an echo that borrows its chunks echoes 16 MB over TCP intact while its writes queue", async () => {
  await echoThroughBorrower(false, 16 * 1024 * 1024);
});

for (const engine of ["deno", "node"] as const) {
  Deno.test(`borrowing: an echo that borrows its chunks echoes 8 MB over TLS intact (engine ${engine})`, async () => {
    await echoThroughBorrower(true, 8 * 1024 * 1024, engine);
  });
}

Deno.test("borrowing: a protocol that borrows is read into the same memory again; one that does not never is", async () => {
  const reactor = new Reactor();
  const sinks: Protocol[] = [];
  class Keeper extends Protocol {
    readonly kept: [Uint8Array, Uint8Array][] = [];
    received = 0;
    readonly lost = Promise.withResolvers<Failure>();
    override dataReceived(data: Uint8Array): void {
      // Keeps every chunk and a copy of it, to check nothing overwrote it.
      this.kept.push([data, data.slice()]);
      this.received += data.length;
    }
    override connectionLost(reason: Failure): void {
      this.lost.resolve(reason);
    }
  }
  let borrow = true;
  const factory = quiet(new Factory());
  factory.buildProtocol = () => {
    const p = borrow ? new BorrowingSink() : new Keeper();
    sinks.push(p);
    return p;
  };
  const port = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
  const total = 24 * 1024 * 1024;
  for (const mode of [true, false]) {
    borrow = mode;
    await sendPattern(port.getHost() as IPv4Address, total);
    const sink = sinks.at(-1) as BorrowingSink | Keeper;
    await withTimeout(sink.lost.promise, 10_000, "the sink's close");
    assertEquals(sink.received, total);
    if (sink instanceof BorrowingSink) {
      assertEquals(sink.wrongAt, -1);
      assert(sink.chunks > 60, `only ${sink.chunks} chunks`);
      if (reuses) {
        // One target per read size it grew through (1 KiB to 256 KiB): it
        // never writes, so nothing holds a target back, and once grown every
        // read goes into the same memory.
        assertLess(new Set(sink.buffers).size, 12);
        assertEquals(new Set(sink.buffers.slice(-30)).size, 1);
      }
    } else {
      for (const [i, [chunk, copy]] of sink.kept.entries()) {
        assertEquals(chunk, copy, `kept chunk ${i} was overwritten`);
      }
    }
  }
  await port.stopListening();
});

Deno.test("borrowing: a chunk an async dataReceived still holds is never read into again", async () => {
  const reactor = new Reactor();
  const held: [Uint8Array, Uint8Array][] = [];
  const waits: Promise<void>[] = [];
  let seen = 0;
  const lost = Promise.withResolvers<void>();
  class AsyncBorrower extends Protocol implements IBorrowingProtocol {
    readonly borrowsData = true;
    override async dataReceived(data: Uint8Array): Promise<void> {
      const copy = data.slice();
      held.push([data, copy]);
      const done = Promise.withResolvers<void>();
      waits.push(done.promise);
      // Still using `data` after this await, when more has been read.
      await new Promise((r) => setTimeout(r, 0));
      seen += data.length;
      done.resolve();
    }
    override connectionLost(): void {
      lost.resolve();
    }
  }
  const port = reactor.listenTCP(
    0,
    quiet(Factory.forProtocol(AsyncBorrower)),
    { interface: "127.0.0.1" },
  );
  const total = 2 * 1024 * 1024;
  await sendPattern(port.getHost() as IPv4Address, total);
  await withTimeout(lost.promise, 10_000, "the close");
  await Promise.all(waits);
  assertEquals(seen, total);
  assert(held.length > 10);
  for (const [i, [chunk, copy]] of held.entries()) {
    assertEquals(chunk, copy, `chunk ${i} was overwritten`);
  }
  await port.stopListening();
});
