/**
 * AMP micro benchmarks (`deno task bench`): encoding and parsing a 4-key box
 * (a `Sum` call as it goes on the wire), and a whole call answered in memory.
 * Boxes per second are 1,000 / (time per iteration in ms) × the batch size in
 * each name. The pipelined-call comparison with Python Twisted over loopback
 * is `bench/amp_pipeline.ts`.
 *
 * @module
 */
import * as amp from "../src/protocols/amp.ts";
import { StringTransport } from "../src/testing/mod.ts";

const BATCH = 1000;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The 4-key box of a Sum call: `_ask`, `_command`, `a`, `b`. */
function sumBox(n: number): amp.AmpBox {
  return new amp.AmpBox([
    ["_ask", enc(n.toString(16))],
    ["_command", enc("Sum")],
    ["a", enc(String(n))],
    ["b", enc("81")],
  ]);
}

const boxes = Array.from({ length: BATCH }, (_, i) => sumBox(i + 1));
const wire = new Uint8Array(
  boxes.reduce((n, b) => n + b.serialize().length, 0),
);
{
  let at = 0;
  for (const b of boxes) {
    const bytes = b.serialize();
    wire.set(bytes, at);
    at += bytes.length;
  }
}

Deno.bench(`amp: encode ${BATCH} 4-key boxes`, { group: "amp-box" }, () => {
  for (let i = 0; i < BATCH; i++) boxes[i].serialize();
});

class Count implements amp.IBoxReceiver {
  count = 0;
  startReceivingBoxes(): void {}
  ampBoxReceived(): void {
    this.count++;
  }
  stopReceivingBoxes(): void {}
}

const receiver = new Count();
const parser = new amp.BinaryBoxProtocol(receiver);
parser.makeConnection(new StringTransport());

Deno.bench(
  `amp: parse ${BATCH} 4-key boxes (one chunk)`,
  { group: "amp-box" },
  () => {
    parser.dataReceived(wire);
  },
);

Deno.bench(
  `amp: parse ${BATCH} 4-key boxes (1,400-byte chunks)`,
  { group: "amp-box" },
  () => {
    for (let i = 0; i < wire.length; i += 1400) {
      parser.dataReceived(wire.subarray(i, i + 1400));
    }
  },
);

Deno.bench(
  `amp: parseString of ${BATCH} 4-key boxes`,
  { group: "amp-box" },
  () => {
    amp.parseString(wire);
  },
);

class Sum extends amp.Command {
  static override arguments = { a: new amp.Integer(), b: new amp.Integer() };
  static override response = { total: new amp.Integer() };
}

class Adder extends amp.AMP {
  @Sum.responder
  sum({ a, b }: { a: number; b: number }): { total: number } {
    return { total: a + b };
  }
}

// A client and a server joined by two StringTransports, pumped by hand: the
// whole per-call cost (encode, parse, dispatch, answer, parse, Deferred)
// without a socket.
const server = new Adder();
const serverWire = new StringTransport();
server.makeConnection(serverWire);
const client = new amp.AMP();
const clientWire = new StringTransport();
client.makeConnection(clientWire);

Deno.bench(`amp: ${BATCH} Sum calls in memory (both sides)`, async () => {
  let done = 0;
  for (let i = 0; i < BATCH; i++) {
    client.callRemote(Sum, { a: i, b: 81 }).addCallback((r) => {
      done++;
      return r;
    });
  }
  server.dataReceived(clientWire.value());
  clientWire.clear();
  client.dataReceived(serverWire.value());
  serverWire.clear();
  if (done !== BATCH) throw new Error(`only ${done} answers`);
  await undefined;
});
