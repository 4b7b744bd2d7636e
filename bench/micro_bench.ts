/**
 * Micro benchmarks: `deno task bench`. Throughput figures (MB/s, messages/s)
 * follow from the time per iteration and the sizes in each benchmark's name.
 *
 * @module
 */
import { Int32StringReceiver, LineReceiver } from "../src/protocols/basic.ts";
import { StringTransport } from "../src/testing/mod.ts";
import { Deferred } from "../src/internet/defer.ts";
import { Reactor } from "../src/internet/reactor.ts";
import { Clock } from "../src/internet/task/clock.ts";

const CHUNK = 64 * 1024;

/** 64 KiB chunks of `count` lines of `size` bytes each (plus CRLF). */
function lineChunks(size: number, total = 4 * 1024 * 1024): Uint8Array[] {
  const line = new Uint8Array(size + 2).fill(0x61);
  line[size] = 13;
  line[size + 1] = 10;
  const data = new Uint8Array(total - (total % line.length));
  for (let i = 0; i < data.length; i += line.length) data.set(line, i);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < data.length; i += CHUNK) {
    chunks.push(data.subarray(i, i + CHUNK));
  }
  return chunks;
}

function int32Chunks(size: number, total = 4 * 1024 * 1024): Uint8Array[] {
  const sender = new Int32StringReceiver();
  const wire = new StringTransport();
  sender.makeConnection(wire);
  const payload = new Uint8Array(size).fill(0x62);
  for (let sent = 0; sent + size + 4 <= total; sent += size + 4) {
    sender.sendString(payload);
  }
  const data = wire.value();
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < data.length; i += CHUNK) {
    chunks.push(data.subarray(i, i + CHUNK));
  }
  return chunks;
}

class CountLines extends LineReceiver {
  count = 0;
  override lineReceived(): void {
    this.count++;
  }
}

class CountStrings extends Int32StringReceiver {
  count = 0;
  override stringReceived(): void {
    this.count++;
  }
}

for (const size of [64, 4096]) {
  const chunks = lineChunks(size);
  Deno.bench(`LineReceiver: 4 MiB of ${size}-byte lines in 64 KiB chunks`, {
    group: "parse",
  }, () => {
    const p = new CountLines();
    p.MAX_LENGTH = 1 << 20;
    p.makeConnection(new StringTransport());
    for (const c of chunks) p.dataReceived(c);
  });
  const frames = int32Chunks(size);
  Deno.bench(
    `Int32StringReceiver: 4 MiB of ${size}-byte strings in 64 KiB chunks`,
    { group: "parse" },
    () => {
      const p = new CountStrings();
      p.makeConnection(new StringTransport());
      for (const c of frames) p.dataReceived(c);
    },
  );
}

Deno.bench("sendLine: 1,000 64-byte lines to a StringTransport", {
  group: "write",
}, () => {
  const p = new CountLines();
  const t = new StringTransport();
  p.makeConnection(t);
  const line = new Uint8Array(64).fill(0x61);
  for (let i = 0; i < 1000; i++) p.sendLine(line);
});

Deno.bench("StringTransport: 1,000 64-byte writes", { group: "write" }, () => {
  const t = new StringTransport();
  const data = new Uint8Array(64);
  for (let i = 0; i < 1000; i++) t.write(data);
});

Deno.bench("Deferred: create, 3 callbacks, fire", { group: "deferred" }, () => {
  const d = new Deferred<number>();
  d.addCallback((x) => x + 1).addCallback((x) => x * 2).addCallback((x) =>
    x - 3
  );
  d.callback(1);
});

{
  // 100,000 pending calls, as a busy server would have.
  const reactor = new Reactor();
  const pending = Array.from(
    { length: 100_000 },
    (_, i) => reactor.callLater(1000 + i / 1000, () => {}),
  );
  Deno.bench("Reactor: callLater + cancel with 100,000 pending calls", {
    group: "timers",
  }, () => {
    reactor.callLater(500, () => {}).cancel();
  });
  const moving = reactor.callLater(1500, () => {});
  let flip = false;
  Deno.bench(
    "Reactor: reset with 100,000 pending calls",
    { group: "timers" },
    () => {
      flip = !flip;
      moving.reset(flip ? 1200 : 1800);
    },
  );
  const clock = new Clock();
  Deno.bench("Clock: callLater + cancel", { group: "timers" }, () => {
    clock.callLater(5, () => {}).cancel();
  });
  globalThis.addEventListener("unload", () => {
    for (const call of pending) call.cancel();
    moving.cancel();
  });
}
