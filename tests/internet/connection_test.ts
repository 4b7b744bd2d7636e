/**
 * The transport's read loop, write pump, producers and close rule, driven
 * over a scripted `Deno.Conn` so every step is deterministic. (Real sockets:
 * tcp_test.ts.)
 */
import {
  assert,
  assertEquals,
  assertFalse,
  assertGreater,
  assertInstanceOf,
  assertLessOrEqual,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import { Connection } from "../../src/internet/stream/connection.ts";
import { Protocol } from "../../src/internet/protocol.ts";
import type { Failure } from "../../src/internet/failure.ts";
import type {
  IPullProducer,
  IPushProducer,
} from "../../src/internet/interfaces.ts";
import {
  ConnectionAborted,
  ConnectionDone,
  ConnectionLost,
} from "../../src/internet/error.ts";
import { IPv4Address } from "../../src/internet/address.ts";
import { log } from "../../src/logger.ts";
import { decode, encode } from "../_helpers.ts";

interface PendingWrite {
  buf: Uint8Array;
  resolve(n: number): void;
  reject(e: Error): void;
}

interface PendingRead {
  buf: Uint8Array;
  resolve(n: number | null): void;
  reject(e: Error): void;
}

/** A `Deno.Conn` whose reads and writes complete when the test says so. */
class ScriptedConn {
  readonly localAddr: Deno.NetAddr = {
    transport: "tcp",
    hostname: "127.0.0.1",
    port: 1111,
  };
  readonly remoteAddr: Deno.NetAddr = {
    transport: "tcp",
    hostname: "127.0.0.1",
    port: 2222,
  };
  /** The buffer of every `write` call, as given. */
  writeCalls: Uint8Array[] = [];
  /** Bytes the peer has received, in order. */
  sent: number[] = [];
  pendingWrite: PendingWrite | undefined;
  pendingRead: PendingRead | undefined;
  readSizes: number[] = [];
  closed = false;
  writeShut = false;
  noDelay: boolean | undefined;

  write(buf: Uint8Array): Promise<number> {
    if (this.pendingWrite) throw new Error("two writes in flight at once");
    this.writeCalls.push(buf);
    return new Promise((resolve, reject) => {
      this.pendingWrite = { buf, resolve, reject };
    });
  }

  /** Completes the pending write, accepting `n` bytes (all by default). */
  accept(n?: number): void {
    const w = this.pendingWrite;
    if (!w) throw new Error("no write in flight");
    this.pendingWrite = undefined;
    const k = Math.min(n ?? w.buf.length, w.buf.length);
    for (let i = 0; i < k; i++) this.sent.push(w.buf[i]);
    w.resolve(k);
  }

  read(buf: Uint8Array): Promise<number | null> {
    if (this.pendingRead) throw new Error("two reads pending at once");
    this.readSizes.push(buf.length);
    return new Promise((resolve, reject) => {
      this.pendingRead = { buf, resolve, reject };
    });
  }

  /** Completes the pending read with `data` (which must fit). */
  feed(data: Uint8Array | string): void {
    const r = this.pendingRead;
    if (!r) throw new Error("no read pending");
    const bytes = typeof data === "string" ? encode(data) : data;
    if (bytes.length > r.buf.length) throw new Error("data does not fit");
    this.pendingRead = undefined;
    r.buf.set(bytes);
    r.resolve(bytes.length);
  }

  /** Completes the pending read with the end of stream. */
  eof(): void {
    const r = this.pendingRead;
    if (!r) throw new Error("no read pending");
    this.pendingRead = undefined;
    r.resolve(null);
  }

  closeWrite(): Promise<void> {
    this.writeShut = true;
    return Promise.resolve();
  }

  close(): void {
    if (this.closed) throw new Deno.errors.BadResource("Bad resource ID");
    this.closed = true;
    const r = this.pendingRead;
    this.pendingRead = undefined;
    r?.reject(new Deno.errors.BadResource("Bad resource ID"));
    const w = this.pendingWrite;
    this.pendingWrite = undefined;
    w?.reject(new Deno.errors.BadResource("Bad resource ID"));
  }

  setNoDelay(enabled: boolean): void {
    this.noDelay = enabled;
  }

  setKeepAlive(): void {}
}

/** Records what happens to it; `lost` resolves with the reason. */
class Recorder extends Protocol {
  events: string[] = [];
  chunks: Uint8Array[] = [];
  reason: Failure | undefined;
  lost = Promise.withResolvers<Failure>();
  override connectionMade(): void {
    this.events.push("connectionMade");
  }
  override dataReceived(data: Uint8Array): void {
    this.events.push(`data:${decode(data)}`);
    this.chunks.push(data);
  }
  override connectionLost(reason: Failure): void {
    this.events.push("connectionLost");
    this.reason = reason;
    this.lost.resolve(reason);
  }
}

/** Lets pending promise reactions and microtasks run. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

function open<P extends Protocol>(
  protocol: P,
): { conn: ScriptedConn; transport: Connection; protocol: P } {
  const conn = new ScriptedConn();
  const transport = new Connection(conn as unknown as Deno.Conn, protocol);
  transport.start();
  return { conn, transport, protocol };
}

Deno.test("Connection: a write goes out at once when idle; writes made meanwhile are joined into one conn.write, in order", async () => {
  const { conn, transport, protocol } = open(new Recorder());
  transport.write("a");
  assertEquals(conn.writeCalls.length, 1, "the first write is sent at once");
  transport.write("b");
  transport.writeSequence(["c", encode("d")]);
  transport.write("");
  assertEquals(conn.writeCalls.length, 1);
  assertEquals(transport.getWriteBufferSize(), 4);
  conn.accept();
  await settle();
  assertEquals(conn.writeCalls.length, 2, "the three queued writes: one call");
  assertEquals(decode(conn.writeCalls[1]), "bcd");
  conn.accept();
  await settle();
  assertEquals(decode(new Uint8Array(conn.sent)), "abcd");
  assertEquals(transport.getWriteBufferSize(), 0);
  transport.abortConnection();
  await protocol.lost.promise;
});

Deno.test("Connection: a big queued write is sent as it is, not copied", async () => {
  const { conn, transport, protocol } = open(new Recorder());
  transport.write("x");
  const big = new Uint8Array(1024 * 1024);
  transport.write(big);
  conn.accept();
  await settle();
  assertStrictEquals(conn.writeCalls[1], big);
  transport.abortConnection();
  await protocol.lost.promise;
});

Deno.test("Connection: partial writes are continued by the one pump until everything is sent", async () => {
  const { conn, transport, protocol } = open(new Recorder());
  const data = new Uint8Array(10_000).map((_, i) => i & 0xff);
  transport.write(data);
  transport.write("tail");
  for (let i = 0; conn.pendingWrite && i < 100; i++) {
    conn.accept(3000); // the kernel takes at most 3,000 bytes at a time
    await settle();
  }
  assertEquals(conn.sent.length, 10_004);
  assertEquals(new Uint8Array(conn.sent.slice(0, 10_000)), data);
  assertEquals(decode(new Uint8Array(conn.sent.slice(10_000))), "tail");
  assertEquals(transport.getWriteBufferSize(), 0);
  // 10,000 bytes in four calls; "tail" rides along with the rest.
  assertLessOrEqual(conn.writeCalls.length, 5);
  transport.abortConnection();
  await protocol.lost.promise;
});

Deno.test("Connection: a streaming producer is paused once strictly above the high-water mark and resumed once at the low-water mark", async () => {
  const { conn, transport, protocol } = open(new Recorder());
  const calls: string[] = [];
  const producer: IPushProducer = {
    pauseProducing: () => calls.push("pause"),
    resumeProducing: () => calls.push("resume"),
    stopProducing: () => calls.push("stop"),
  };
  transport.setWriteBufferLimits({ high: 100, low: 40 });
  transport.registerProducer(producer, true);
  transport.write(new Uint8Array(60)); // in flight
  transport.write(new Uint8Array(40)); // exactly at the mark: no pause
  assertEquals(calls, []);
  transport.write(new Uint8Array(1));
  transport.write(new Uint8Array(50));
  assertEquals(calls, ["pause"], "paused once, however far above");
  for (const [n, left] of [[30, 121], [30, 91], [50, 41]]) {
    conn.accept(n);
    await settle();
    assertEquals(transport.getWriteBufferSize(), left);
  }
  assertEquals(calls, ["pause"], "41 bytes is still above the low mark");
  conn.accept(1); // 40 left: at the low mark
  await settle();
  assertEquals(calls, ["pause", "resume"]);
  conn.accept();
  await settle();
  assertEquals(transport.getWriteBufferSize(), 0);
  assertEquals(calls, ["pause", "resume"], "resumed once");
  transport.abortConnection();
  await protocol.lost.promise;
  assertEquals(calls, ["pause", "resume", "stop"], "stopped on close");
});

Deno.test("Connection: a pull producer is asked for more each time the buffer drains", async () => {
  const { conn, transport, protocol } = open(new Recorder());
  let pulls = 0;
  const producer: IPullProducer = {
    resumeProducing: () => {
      pulls++;
      transport.write(`chunk ${pulls}`);
    },
    stopProducing: () => {},
  };
  transport.registerProducer(producer, false);
  assertEquals(pulls, 1, "asked at once: the buffer is empty");
  conn.accept();
  await settle();
  assertEquals(pulls, 2);
  conn.accept();
  await settle();
  assertEquals(pulls, 3);
  transport.abortConnection();
  await protocol.lost.promise;
});

Deno.test("Connection: loseConnection flushes, then calls connectionLost once with ConnectionDone — never inside the caller", async () => {
  const { conn, transport, protocol } = open(new Recorder());
  transport.write("last words");
  transport.loseConnection();
  transport.loseConnection();
  assertFalse(conn.closed, "the buffer is sent first");
  assertEquals(protocol.events, ["connectionMade"]);
  conn.accept();
  const reason = await protocol.lost.promise;
  assert(reason.check(ConnectionDone), `got ${reason}`);
  assert(conn.closed);
  assertEquals(decode(new Uint8Array(conn.sent)), "last words");
  assertEquals(protocol.events, ["connectionMade", "connectionLost"]);
  assertEquals(protocol.connected, false);
  transport.write("after the close"); // neither throws nor sends
  transport.loseConnection();
  transport.abortConnection();
  await settle();
  assertEquals(protocol.events.filter((e) => e === "connectionLost").length, 1);
});

Deno.test("Connection: as in Twisted, writes made after loseConnection are still sent before the close", async () => {
  const { conn, transport, protocol } = open(new Recorder());
  transport.loseConnection();
  transport.write("goodbye");
  assert(transport.disconnecting);
  await settle();
  assertFalse(conn.closed);
  conn.accept();
  assert((await protocol.lost.promise).check(ConnectionDone));
  assertEquals(decode(new Uint8Array(conn.sent)), "goodbye");
});

Deno.test("Connection: loseConnection waits for a registered pull producer to unregister, as Twisted's doWrite", async () => {
  const { conn, transport, protocol } = open(new Recorder());
  const calls: string[] = [];
  const producer: IPullProducer = {
    resumeProducing: () => calls.push("resume"),
    stopProducing: () => calls.push("stop"),
  };
  transport.write("part 1;");
  transport.registerProducer(producer, false);
  transport.loseConnection();
  conn.accept();
  await settle();
  assertFalse(conn.closed, "the producer is still registered");
  assertEquals(calls, ["resume"], "asked for more, even while closing");
  transport.write("part 2");
  conn.accept();
  await settle();
  transport.unregisterProducer();
  assert((await protocol.lost.promise).check(ConnectionDone));
  assertEquals(decode(new Uint8Array(conn.sent)), "part 1;part 2");
  assertEquals(
    calls,
    ["resume", "resume"],
    "an unregistered producer is not stopped",
  );
});

Deno.test("Connection: a streaming producer that is not paused does not hold loseConnection (Twisted's doWrite); it is stopped with the connection", async () => {
  const { conn, transport, protocol } = open(new Recorder());
  const calls: string[] = [];
  const producer: IPushProducer = {
    pauseProducing: () => calls.push("pause"),
    resumeProducing: () => calls.push("resume"),
    stopProducing: () => calls.push("stop"),
  };
  transport.setWriteBufferLimits({ high: 4, low: 0 });
  transport.registerProducer(producer, true);
  transport.write("finished;"); // above high: paused
  transport.loseConnection();
  assertEquals(calls, ["pause"]);
  conn.accept(4); // still above low: paused, so the close waits
  await settle();
  assertFalse(conn.closed);
  conn.accept(); // drained: resumed, and the close goes on
  assert((await protocol.lost.promise).check(ConnectionDone));
  assertEquals(decode(new Uint8Array(conn.sent)), "finished;");
  assertEquals(calls, ["pause", "resume", "stop"]);
});

Deno.test("Connection: closeAfterFlush (the reactor's shutdown) stops the producer and closes once flushed", async () => {
  const { conn, transport, protocol } = open(new Recorder());
  const calls: string[] = [];
  transport.registerProducer({
    pauseProducing: () => calls.push("pause"),
    resumeProducing: () => calls.push("resume"),
    stopProducing: () => calls.push("stop"),
  }, true);
  transport.write("buffered");
  transport.closeAfterFlush();
  assertEquals(calls, ["stop"]);
  conn.accept();
  assert((await protocol.lost.promise).check(ConnectionDone));
  assertEquals(decode(new Uint8Array(conn.sent)), "buffered");
  assertEquals(calls, ["stop"], "stopped once");
});

Deno.test("Connection: abortConnection drops the buffer and reports ConnectionAborted once, even with a write in flight", async () => {
  const { conn, transport, protocol } = open(new Recorder());
  const stops: string[] = [];
  transport.registerProducer({
    resumeProducing: () => {},
    stopProducing: () => stops.push("stop"),
  }, false);
  transport.write(new Uint8Array(100));
  transport.write(new Uint8Array(100));
  transport.abortConnection();
  assertEquals(transport.getWriteBufferSize(), 0);
  assertEquals(protocol.events, ["connectionMade"], "not inside the call");
  const reason = await protocol.lost.promise;
  assert(reason.check(ConnectionAborted), `got ${reason}`);
  assert(conn.closed);
  assertEquals(stops, ["stop"]);
  assertEquals(protocol.events, ["connectionMade", "connectionLost"]);
});

Deno.test("Connection: a write that fails (peer reset) closes with ConnectionLost", async () => {
  const { conn, transport, protocol } = open(new Recorder());
  transport.write("doomed");
  conn.pendingWrite!.reject(
    new Deno.errors.ConnectionReset("Connection reset by peer (os error 104)"),
  );
  const reason = await protocol.lost.promise;
  assert(reason.check(ConnectionLost), `got ${reason}`);
  assertInstanceOf(
    (reason.value as Error).cause,
    Deno.errors.ConnectionReset,
  );
});

Deno.test("Connection: reads start small, grow for a connection whose reads fill them, and never reuse a delivered chunk", async () => {
  const { conn, transport, protocol } = open(new Recorder());
  const first = conn.readSizes[0];
  assertLessOrEqual(first, 1024, "an idle connection pins at most 1 KiB");
  for (let i = 0; i < 8; i++) {
    const size = conn.pendingRead!.buf.length;
    conn.feed(new Uint8Array(size).fill(i + 1)); // fill it
    await settle();
  }
  assertGreater(conn.pendingRead!.buf.length, first * 8);
  // Every chunk still holds what was read into it.
  protocol.chunks.forEach((chunk, i) => {
    assert(chunk.every((b) => b === i + 1), `chunk ${i} was overwritten`);
  });
  transport.abortConnection();
  await protocol.lost.promise;
});

Deno.test("Connection: over TLS, reads never split a 16 KiB record once data streams, and stay at most two records", async () => {
  // A Deno.TlsConn read returns at most one record. Reads smaller than a
  // record split it in two; the short second read shrank the read size and
  // the connection settled at 1.5 reads per record (issue 15).
  const conn = new ScriptedConn();
  const protocol = new Recorder();
  const transport = new Connection(
    conn as unknown as Deno.Conn,
    protocol,
    undefined,
    {
      tcp: false,
      tls: true,
    },
  );
  transport.start();
  const RECORD = 16 * 1024;
  for (let record = 0; record < 40; record++) {
    for (let left = RECORD; left > 0;) {
      const n = Math.min(left, conn.pendingRead!.buf.length);
      assertLessOrEqual(conn.pendingRead!.buf.length, 2 * RECORD);
      conn.feed(new Uint8Array(n).fill(record));
      left -= n;
      await settle();
    }
  }
  const sizes = protocol.chunks.map((c) => c.length);
  // The first record is read while the read size grows from 1 KiB.
  assertEquals(sizes.slice(-38), new Array(38).fill(RECORD), `${sizes}`);
  transport.abortConnection();
  await protocol.lost.promise;
});

Deno.test("Connection: startTLS refuses a handshakeTimeout that is not a number of seconds > 0", async () => {
  const { transport, protocol } = open(new Recorder());
  for (const handshakeTimeout of [0, -1, Infinity, NaN]) {
    assertThrows(
      () =>
        transport.startTLS({
          server: true,
          cert: "PEM",
          key: "PEM",
          handshakeTimeout,
        }),
      RangeError,
      "Invalid handshakeTimeout",
    );
  }
  transport.abortConnection();
  await protocol.lost.promise;
});

Deno.test("Connection: pauseProducing holds back data and the end of stream until resumeProducing", async () => {
  const { conn, transport, protocol } = open(new Recorder());
  transport.pauseProducing();
  conn.feed("held");
  await settle();
  assertEquals(conn.pendingRead, undefined, "no read while paused");
  assertEquals(protocol.events, ["connectionMade"]);
  transport.resumeProducing();
  assertEquals(protocol.events, ["connectionMade", "data:held"]);
  transport.pauseProducing();
  // A read issued before the pause may still see the end of stream.
  conn.eof();
  await settle();
  assertEquals(protocol.events, ["connectionMade", "data:held"]);
  transport.resumeProducing();
  const reason = await protocol.lost.promise;
  assert(reason.check(ConnectionDone));
});

Deno.test("Connection: the peer's end of stream gives a half-closeable protocol readConnectionLost; it can still write", async () => {
  class Half extends Recorder {
    readConnectionLost(): void {
      this.events.push("readConnectionLost");
      this.transport.write("reply");
      (this.transport as Connection).loseWriteConnection();
    }
    writeConnectionLost(): void {
      this.events.push("writeConnectionLost");
    }
  }
  const { conn, protocol } = open(new Half());
  conn.eof();
  await settle();
  conn.accept();
  const reason = await protocol.lost.promise;
  assert(reason.check(ConnectionDone));
  assert(conn.writeShut);
  assertEquals(decode(new Uint8Array(conn.sent)), "reply");
  assertEquals(protocol.events, [
    "connectionMade",
    "readConnectionLost",
    "writeConnectionLost",
    "connectionLost",
  ]);
});

Deno.test("Connection: an exception in dataReceived is logged and closes the connection with it as the reason", async () => {
  using logs = log.capture();
  class Fragile extends Recorder {
    override dataReceived(data: Uint8Array): void {
      super.dataReceived(data);
      throw new URIError("bad data");
    }
  }
  const { conn, protocol } = open(new Fragile());
  conn.feed("x");
  const reason = await protocol.lost.promise;
  assertInstanceOf(reason.value, URIError);
  assert(conn.closed);
  assertEquals(logs.flushErrors(URIError).length, 1);
});

Deno.test("Connection: a write buffer cap with onMax 'pause' stops reading once a dataReceived writes above it, until the buffer drains to the low mark", async () => {
  class Answering extends Recorder {
    override dataReceived(data: Uint8Array): void {
      super.dataReceived(data);
      this.transport.write(new Uint8Array(21)); // above the cap
    }
  }
  const { conn, transport, protocol } = open(new Answering());
  transport.setWriteBufferLimits({ high: 10, low: 5, max: 20 });
  conn.feed("one");
  await settle();
  assertEquals(conn.pendingRead, undefined, "no read while capped");
  transport.resumeProducing(); // the protocol cannot lift the cap
  await settle();
  assertEquals(conn.pendingRead, undefined);
  conn.accept(); // drained: reading resumes
  await settle();
  conn.feed("two");
  await settle();
  assertEquals(protocol.events, ["connectionMade", "data:one", "data:two"]);
  transport.abortConnection();
  await protocol.lost.promise;
});

Deno.test("Connection: writes above the cap not made from dataReceived do not stop reading; a dataReceived that writes more then does", async () => {
  class Quiet extends Recorder {
    answer = false;
    override dataReceived(data: Uint8Array): void {
      super.dataReceived(data);
      if (this.answer) this.transport.write("!");
    }
  }
  const { conn, transport, protocol } = open(new Quiet());
  transport.setWriteBufferLimits({ high: 10, low: 5, max: 20 });
  transport.write(new Uint8Array(21)); // an upload, above the cap
  conn.feed("reply one");
  await settle();
  conn.feed("reply two");
  await settle();
  assertEquals(protocol.events, [
    "connectionMade",
    "data:reply one",
    "data:reply two",
  ], "read on: the peer's replies drain nothing, but must still come in");
  protocol.answer = true;
  conn.feed("three");
  await settle();
  assertEquals(conn.pendingRead, undefined, "stopped after writing more");
  conn.accept(); // the upload; then the "!" goes, and the buffer is drained
  await settle();
  conn.feed("four");
  await settle();
  assertEquals(protocol.events.at(-1), "data:four");
  transport.abortConnection();
  await protocol.lost.promise;
});

Deno.test("Connection: addresses and TCP options", async () => {
  const { conn, transport, protocol } = open(new Recorder());
  assertEquals(transport.getHost(), new IPv4Address("TCP", "127.0.0.1", 1111));
  assertEquals(transport.getPeer(), new IPv4Address("TCP", "127.0.0.1", 2222));
  transport.setTcpNoDelay(true);
  assertEquals(conn.noDelay, true);
  assertEquals(transport.getTcpNoDelay(), true);
  transport.abortConnection();
  await protocol.lost.promise;
});
