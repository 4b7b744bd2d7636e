import { assert, assertEquals, assertMatch } from "@std/assert";
import {
  asctime,
  Chargen,
  Daytime,
  Discard,
  Echo,
  QOTD,
} from "../../src/protocols/wire.ts";
import {
  AccumulatingProtocol,
  connectedServerAndClient,
  StringTransport,
} from "../../src/testing/mod.ts";
import { decode, encode } from "../_helpers.ts";

Deno.test("Echo echoes and Discard discards", () => {
  const { client, pump } = connectedServerAndClient(Echo, AccumulatingProtocol);
  client.transport.write("echo me");
  pump.flush();
  assertEquals(client.text(), "echo me");
  const t = new StringTransport();
  const d = new Discard();
  d.makeConnection(t);
  d.dataReceived(encode("gone"));
  assertEquals(t.value().length, 0);
});

Deno.test("Chargen sends RFC 864's rotating 72-character lines, as a pull producer", () => {
  const t = new StringTransport();
  const p = new Chargen();
  p.makeConnection(t);
  assertEquals(t.streaming, false);
  assertEquals(t.producer, p);
  for (let i = 0; i < 3; i++) p.resumeProducing(); // 3 batches of 64 lines
  const lines = decode(t.value()).split("\r\n");
  assertEquals(lines.at(-1), "");
  lines.pop();
  assertEquals(lines.length, 192);
  for (let n = 0; n < lines.length; n++) {
    assertEquals(lines[n].length, 72);
    for (let i = 0; i < 72; i++) {
      assertEquals(lines[n].charCodeAt(i), 32 + ((n + i) % 95));
    }
  }
  p.stopProducing();
  t.clear();
  p.resumeProducing();
  assertEquals(t.value().length, 0);
});

Deno.test("Chargen over iosim is paced by the consumer and stops when the peer hangs up", () => {
  const { client, server, pump } = connectedServerAndClient(
    Chargen,
    AccumulatingProtocol,
  );
  for (let i = 0; i < 5; i++) pump.pump();
  assert(client.data.length > 0);
  client.transport.loseConnection();
  pump.flush();
  assert(client.closed);
  assertEquals(server.connected, false);
});

Deno.test("QOTD and Daytime send one line and close", () => {
  const q = new StringTransport();
  new QOTD().makeConnection(q);
  assertEquals(decode(q.value()), "An apple a day keeps the doctor away.\r\n");
  assert(q.disconnecting);
  const d = new StringTransport();
  new Daytime().makeConnection(d);
  assertMatch(
    decode(d.value()),
    /^(Sun|Mon|Tue|Wed|Thu|Fri|Sat) [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\r\n$/,
  );
  assert(d.disconnecting);
  assertEquals(
    asctime(new Date(Date.UTC(2026, 10, 25, 7, 55, 41))),
    "Wed Nov 25 07:55:41 2026",
  );
});
