/**
 * FileSender: deterministically against a StringTransport driven by hand,
 * and over a real TCP connection whose reader is slow.
 */
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertMatch,
  assertThrows,
} from "@std/assert";
import {
  Factory,
  type Failure,
  type IPullProducer,
  Protocol,
  Reactor,
} from "../../mod.ts";
import { FileSender } from "../../src/protocols/basic.ts";
import { StringTransport } from "../../src/testing/mod.ts";
import { decode, DENO, denoFlags, encode, withTimeout } from "../_helpers.ts";
import { spawn } from "../_processes.ts";

const DIR = "/tmp/twist-tests";

/** A source that yields `chunks`, one per read, recording the reads. */
function source(chunks: Uint8Array[]): {
  read(p: Uint8Array): Promise<number | null>;
  reads: number;
} {
  const s = {
    reads: 0,
    read(p: Uint8Array): Promise<number | null> {
      s.reads++;
      const chunk = chunks.shift();
      if (!chunk) return Promise.resolve(null);
      p.set(chunk);
      return Promise.resolve(chunk.length);
    },
  };
  return s;
}

/** Lets the settled reads' callbacks run. */
const settle = (): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("FileSender: one chunk per resumeProducing, one more read ahead; the Deferred fires with the last byte once the producer is unregistered", async () => {
  const file = source([encode("abc"), encode("def")]);
  const transport = new StringTransport();
  let last: Uint8Array | undefined;
  new FileSender().beginFileTransfer(file, transport).addCallback((b) => {
    last = b;
  });
  const producer = transport.producer as IPullProducer;
  assertEquals(transport.streaming, false);
  assertEquals(file.reads, 0); // Nothing is read until the consumer asks.
  producer.resumeProducing();
  await settle();
  // "abc" is written and "def" read ahead, but not written until asked.
  assertEquals([transport.text(), file.reads], ["abc", 2]);
  await settle();
  assertEquals([transport.text(), file.reads], ["abc", 2]);
  producer.resumeProducing(); // At once, from what was read ahead.
  assertEquals(transport.text(), "abcdef");
  await settle();
  assertEquals(file.reads, 3); // The end, read ahead.
  assertEquals(last, undefined);
  producer.resumeProducing();
  assertEquals(transport.producer, undefined);
  assertEquals(decode(last!), "f");
});

Deno.test("FileSender: asking again while a read is under way writes that chunk once", async () => {
  const file = source([encode("a"), encode("b"), encode("c")]);
  const transport = new StringTransport();
  new FileSender().beginFileTransfer(file, transport);
  const producer = transport.producer as IPullProducer;
  producer.resumeProducing();
  producer.resumeProducing();
  producer.resumeProducing();
  assertEquals(file.reads, 1);
  await settle();
  assertEquals([transport.text(), file.reads], ["a", 2]);
});

Deno.test("FileSender: an empty file fires with an empty last byte; transform is applied to each chunk", async () => {
  const transport = new StringTransport();
  const empty = new FileSender().beginFileTransfer(source([]), transport);
  (transport.producer as IPullProducer).resumeProducing();
  assertEquals((await empty).length, 0);

  const upper = new StringTransport();
  const sent = new FileSender().beginFileTransfer(
    source([encode("shout")]),
    upper,
    (chunk) => encode(decode(chunk).toUpperCase() + "!"),
  );
  while (upper.producer) {
    (upper.producer as IPullProducer).resumeProducing();
    await settle();
  }
  assertEquals(upper.text(), "SHOUT!");
  assertEquals(decode(await sent), "!");
});

Deno.test("FileSender: stopProducing fails the Deferred and closes the file it opened", async () => {
  Deno.mkdirSync(DIR, { recursive: true });
  const path = `${DIR}/file_sender_stop.bin`;
  Deno.writeFileSync(path, new Uint8Array(100_000));
  try {
    const transport = new StringTransport();
    const sent = new FileSender().beginFileTransfer(path, transport);
    const producer = transport.producer as IPullProducer;
    producer.resumeProducing(); // A read is under way...
    producer.stopProducing(); // ...when the consumer goes away.
    let failure: Failure | undefined;
    await sent.addErrback((f) => {
      failure = f;
    });
    assertEquals(
      failure?.getErrorMessage(),
      "Consumer asked us to stop producing",
    );
    await settle(); // The interrupted read settles; the resource sanitizer checks the close.
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("FileSender: a failed read or transform fails the Deferred and unregisters", async () => {
  const transport = new StringTransport();
  const sent = new FileSender().beginFileTransfer(
    { read: () => Promise.reject(new Error("disk on fire")) },
    transport,
  );
  (transport.producer as IPullProducer).resumeProducing();
  let failure: Failure | undefined;
  await sent.addErrback((f) => {
    failure = f;
  });
  assertEquals(failure?.getErrorMessage(), "disk on fire");
  assertEquals(transport.producer, undefined);

  const other = new StringTransport();
  const bad = new FileSender().beginFileTransfer(
    source([encode("x")]),
    other,
    () => {
      throw new RangeError("bad transform");
    },
  );
  (other.producer as IPullProducer).resumeProducing();
  await bad.addErrback((f) => {
    failure = f;
  });
  assertInstanceOf(failure?.value, RangeError);
  assertEquals(other.producer, undefined);
});

Deno.test("FileSender: a path outside --allow-read fails, naming the flag; a second transfer at once is a misuse", async () => {
  let failure: Failure | undefined;
  await new FileSender().beginFileTransfer(
    "/etc/hostname",
    new StringTransport(),
  )
    .addErrback((f) => {
      failure = f;
    });
  assertEquals(
    failure?.getErrorMessage(),
    'Cannot read "/etc/hostname": run again with --allow-read=/etc/hostname',
  );
  const sender = new FileSender();
  const transport = new StringTransport();
  sender.beginFileTransfer(source([]), transport);
  assertThrows(
    () => sender.beginFileTransfer(source([]), new StringTransport()),
    Error,
    "already sending",
  );
  (transport.producer as IPullProducer).resumeProducing();
  await settle();
});

Deno.test("FileSender: a slow reader never makes the server's write buffer grow with the file's size", async () => {
  Deno.mkdirSync(DIR, { recursive: true });
  const path = `${DIR}/file_sender_big.bin`;
  const size = 8 * 1024 * 1024;
  const content = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) content[i] = (i / 4096) & 0xff;
  Deno.writeFileSync(path, content);
  const reactor = new Reactor();
  let peak = 0;
  const done = Promise.withResolvers<Uint8Array>();
  class SendFile extends Protocol {
    override connectionMade(): void {
      const transport = this.transport;
      // Watch the transport's buffer after each chunk FileSender writes.
      const consumer = {
        registerProducer: transport.registerProducer.bind(transport),
        unregisterProducer: transport.unregisterProducer.bind(transport),
        write: (data: Uint8Array | string): void => {
          transport.write(data);
          peak = Math.max(peak, transport.getWriteBufferSize());
        },
      };
      new FileSender().beginFileTransfer(path, consumer).addCallbacks(
        (last) => {
          done.resolve(last);
          transport.loseConnection();
        },
        (f) => done.reject(f.value),
      );
    }
  }
  const port = reactor.listenTCP(0, Factory.forProtocol(SendFile), {
    interface: "127.0.0.1",
  });
  try {
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: port.getHost().port,
    });
    const received = new Uint8Array(size);
    let at = 0;
    const buf = new Uint8Array(64 * 1024);
    // A slow reader: a macrotask's pause between reads of at most 64 KiB.
    for (let reads = 0; reads < 100_000; reads++) {
      const n = await withTimeout(conn.read(buf), 20_000, "the file");
      if (n === null) break;
      received.set(buf.subarray(0, n), at);
      at += n;
      await settle();
    }
    conn.close();
    assertEquals(at, size);
    assert(
      received.every((b, i) => b === content[i]),
      "the file arrives intact",
    );
    assertEquals((await done.promise).length, 1);
    assert(
      peak > 0 && peak <= 2 * FileSender.CHUNK_SIZE,
      `peak buffer ${peak}`,
    );
  } finally {
    await port.stopListening();
    Deno.removeSync(path);
  }
});

Deno.test("examples: file_server sends the file to each client and closes", async () => {
  Deno.mkdirSync(DIR, { recursive: true });
  const path = `${DIR}/file_server_example.txt`;
  const text = "twist ".repeat(50_000);
  Deno.writeTextFileSync(path, text);
  try {
    await using server = spawn(DENO, [
      "run",
      ...denoFlags(),
      "--allow-net=127.0.0.1",
      `--allow-read=${path}`,
      "examples/file_server.ts",
      path,
      "--port",
      "0",
      "--interface",
      "127.0.0.1",
    ]);
    const out = await server.waitForOutput(/on port (\d+)\n/);
    const port = Number(out.match(/on port (\d+)/)![1]);
    for (let i = 0; i < 2; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      let got = "";
      for await (const chunk of conn.readable) got += decode(chunk);
      assertEquals(got.length, text.length);
      assert(got === text);
    }
    assertMatch(out, /^Serving /);
  } finally {
    Deno.removeSync(path);
  }
});
