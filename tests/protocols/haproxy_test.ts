import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertMatch,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  type HAProxyProtocolWrapper,
  HAProxyWrappingFactory,
  InvalidNetworkProtocol,
  InvalidProxyHeader,
  MissingAddressData,
  proxyEndpoint,
} from "../../src/protocols/haproxy.ts";
import {
  formatIPv6,
  ProxyHeaderParser,
} from "../../src/protocols/haproxy/_header.ts";
import { unparseEndpoint } from "../../src/protocols/haproxy/_parser.ts";
import {
  IPv4Address,
  IPv6Address,
  UNIXAddress,
} from "../../src/internet/address.ts";
import { Factory, Protocol } from "../../src/internet/protocol.ts";
import type { IAddress } from "../../src/internet/interfaces.ts";
import { Failure } from "../../src/internet/failure.ts";
import { Clock } from "../../src/internet/task.ts";
import {
  parseDescription,
  serverFromString,
  TCP4ServerEndpoint,
} from "../../src/internet/endpoints.ts";
import { Reactor } from "../../src/internet/reactor.ts";
import { log } from "../../src/logger.ts";
import { MemoryReactor, StringTransport } from "../../src/testing/mod.ts";
import { LimitConnectionsByPeer } from "../../src/protocols/policies.ts";
import { decode, DENO, encode, withTimeout } from "../_helpers.ts";

/** A protocol that records what it sees. */
class Recorder extends Protocol {
  events: string[] = [];
  peer: IAddress | undefined;
  host: IAddress | undefined;
  override connectionMade(): void {
    this.peer = this.transport.getPeer();
    this.host = this.transport.getHost();
    this.events.push("made");
  }
  override dataReceived(data: Uint8Array): void {
    this.events.push(`data:${decode(data)}`);
  }
  override connectionLost(reason: Failure): void {
    this.events.push(`lost:${(reason.value as Error).name}`);
  }
}

interface Setup {
  factory: HAProxyWrappingFactory;
  wrapper: HAProxyProtocolWrapper;
  transport: StringTransport;
  built: { addr: IAddress; protocol: Recorder }[];
  clock: Clock;
}

function setup(timeout: number | null = 30): Setup {
  const built: Setup["built"] = [];
  const inner = new Factory();
  inner.buildProtocol = (addr: IAddress) => {
    const protocol = new Recorder();
    built.push({ addr, protocol });
    return protocol;
  };
  const clock = new Clock();
  const factory = new HAProxyWrappingFactory(inner, { timeout, clock });
  const transport = new StringTransport();
  const wrapper = factory.buildProtocol(transport.getPeer());
  wrapper.makeConnection(transport);
  return { factory, wrapper, transport, built, clock };
}

/** A version 2 header. */
function v2(
  options: {
    versionCommand?: number;
    familyProtocol: number;
    addresses?: number[];
    tlvs?: number[];
  },
): Uint8Array {
  const body = [...(options.addresses ?? []), ...(options.tlvs ?? [])];
  return Uint8Array.of(
    0x0d,
    0x0a,
    0x0d,
    0x0a,
    0x00,
    0x0d,
    0x0a,
    0x51,
    0x55,
    0x49,
    0x54,
    0x0a,
    options.versionCommand ?? 0x21,
    options.familyProtocol,
    body.length >> 8,
    body.length & 0xff,
    ...body,
  );
}

const port16 = (p: number): number[] => [p >> 8, p & 0xff];
const V2_TCP4 = v2({
  familyProtocol: 0x11,
  addresses: [1, 2, 3, 4, 5, 6, 7, 8, ...port16(1111), ...port16(80)],
});
const V2_TCP6 = v2({
  familyProtocol: 0x21,
  addresses: [
    0x20,
    0x01,
    0x0d,
    0xb8,
    ...new Array(11).fill(0),
    1,
    ...new Array(15).fill(0),
    1,
    ...port16(4000),
    ...port16(443),
  ],
});

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

Deno.test("haproxy: a version 1 TCP4 header gives the wrapped protocol the client's addresses, and never its bytes", () => {
  using logs = log.capture();
  const { wrapper, transport, built } = setup();
  assertEquals(built.length, 0); // nothing is built before the header
  wrapper.dataReceived(
    encode("PROXY TCP4 203.0.113.7 198.51.100.1 56324 443\r\nGET / HTTP/1.0"),
  );
  assertEquals(built.length, 1);
  const { addr, protocol } = built[0];
  assertEquals(addr, new IPv4Address("TCP", "203.0.113.7", 56324));
  assertEquals(protocol.peer, new IPv4Address("TCP", "203.0.113.7", 56324));
  assertEquals(protocol.host, new IPv4Address("TCP", "198.51.100.1", 443));
  assertEquals(protocol.events, ["made", "data:GET / HTTP/1.0"]);
  assertStrictEquals(protocol.transport, wrapper);
  wrapper.dataReceived(encode("\r\n\r\n"));
  assertEquals(protocol.events.at(-1), "data:\r\n\r\n");
  assertEquals(
    decode(wrapper.proxyInfo!.header),
    "PROXY TCP4 203.0.113.7 198.51.100.1 56324 443\r\n",
  );
  // The wrapped protocol writes through to the real transport.
  protocol.transport.write("HTTP/1.0 200 OK\r\n");
  assertEquals(transport.text(), "HTTP/1.0 200 OK\r\n");
  assert(!transport.disconnecting);
  assertEquals(logs.events.filter((e) => e.level !== "info"), []);
});

Deno.test("haproxy: version 1 TCP6 and UNKNOWN headers", () => {
  const six = setup();
  six.wrapper.dataReceived(encode("PROXY TCP6 2001:db8::7 ::1 1 65535\r\n"));
  assertEquals(
    six.built[0].protocol.peer,
    new IPv6Address("TCP", "2001:db8::7", 1),
  );
  assertEquals(
    six.built[0].protocol.host,
    new IPv6Address("TCP", "::1", 65535),
  );

  // UNKNOWN: the proxy could not tell; the real addresses stand.
  for (
    const line of ["PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff::1 ::1 1 2\r\n"]
  ) {
    const unknown = setup();
    unknown.wrapper.dataReceived(encode(line + "x"));
    const p = unknown.built[0].protocol;
    assertEquals(p.peer, unknown.transport.getPeer());
    assertEquals(p.host, unknown.transport.getHost());
    assertEquals(unknown.built[0].addr, unknown.transport.getPeer());
    assertEquals(p.events, ["made", "data:x"]);
    assertEquals(unknown.wrapper.proxyInfo!.source, null);
  }
});

Deno.test("haproxy: version 2 headers for IPv4, IPv6, UNIX and datagrams; TLVs are skipped", () => {
  const four = setup();
  four.wrapper.dataReceived(concat(V2_TCP4, encode("after")));
  assertEquals(
    four.built[0].protocol.peer,
    new IPv4Address("TCP", "1.2.3.4", 1111),
  );
  assertEquals(
    four.built[0].protocol.host,
    new IPv4Address("TCP", "5.6.7.8", 80),
  );
  assertEquals(four.built[0].protocol.events, ["made", "data:after"]);
  assertEquals(four.wrapper.proxyInfo!.header, V2_TCP4);

  const six = setup();
  six.wrapper.dataReceived(V2_TCP6);
  assertEquals(
    six.built[0].protocol.peer,
    new IPv6Address("TCP", "2001:db8::1", 4000),
  );
  assertEquals(six.built[0].protocol.host, new IPv6Address("TCP", "::1", 443));
  assertEquals(six.built[0].protocol.events, ["made"]);

  const path = (s: string): number[] => {
    const bytes = new Array(108).fill(0);
    encode(s).forEach((b, i) => (bytes[i] = b));
    return bytes;
  };
  const unix = setup();
  unix.wrapper.dataReceived(
    v2({
      familyProtocol: 0x31,
      addresses: [...path("/run/a.sock"), ...path("/run/b.sock")],
    }),
  );
  assertEquals(unix.built[0].protocol.peer, new UNIXAddress("/run/a.sock"));
  assertEquals(unix.built[0].protocol.host, new UNIXAddress("/run/b.sock"));

  // A datagram source, and TLVs after the addresses (a PP2_TYPE_ALPN "h2").
  const udp = setup();
  udp.wrapper.dataReceived(
    v2({
      familyProtocol: 0x12,
      addresses: [10, 0, 0, 1, 10, 0, 0, 2, ...port16(53), ...port16(5353)],
      tlvs: [0x01, 0x00, 0x02, 0x68, 0x32],
    }),
  );
  assertEquals(
    udp.built[0].protocol.peer,
    new IPv4Address("UDP", "10.0.0.1", 53),
  );
  assertEquals(udp.built[0].protocol.events, ["made"]);
});

Deno.test("haproxy: a version 2 LOCAL command or unspecified family keeps the real addresses", () => {
  for (
    const header of [
      v2({ versionCommand: 0x20, familyProtocol: 0x00 }), // LOCAL (a health check)
      v2({
        versionCommand: 0x20,
        familyProtocol: 0x11,
        addresses: new Array(12).fill(9),
      }),
      v2({ familyProtocol: 0x00 }), // PROXY, UNSPEC
      v2({ familyProtocol: 0x10, addresses: new Array(12).fill(9) }), // INET, UNSPEC protocol
    ]
  ) {
    const { wrapper, transport, built } = setup();
    wrapper.dataReceived(header);
    assertEquals(built[0].protocol.peer, transport.getPeer());
    assertEquals(built[0].protocol.host, transport.getHost());
    assertEquals(wrapper.proxyInfo!.source, null);
    assert(!transport.disconnecting);
  }
});

Deno.test("haproxy: the header is read the same whatever the chunk boundaries, down to one byte", () => {
  const streams = [
    encode("PROXY TCP4 203.0.113.7 198.51.100.1 56324 443\r\nhello"),
    concat(V2_TCP6, encode("hello")),
    encode("PROXY UNKNOWN\r\nhello"),
  ];
  for (const stream of streams) {
    const whole = setup();
    whole.wrapper.dataReceived(stream);
    const expected = whole.built[0].protocol;
    // Every split into two chunks, and one byte at a time.
    const splits: Uint8Array[][] = [];
    for (let i = 1; i < stream.length; i++) {
      splits.push([stream.subarray(0, i), stream.subarray(i)]);
    }
    splits.push([...stream].map((b) => Uint8Array.of(b)));
    for (const chunks of splits) {
      const s = setup();
      for (const c of chunks) s.wrapper.dataReceived(c);
      assertEquals(s.built.length, 1);
      const p = s.built[0].protocol;
      assertEquals(p.peer, expected.peer);
      assertEquals(p.host, expected.host);
      assertEquals(
        p.events.filter((e) => e.startsWith("data:")).map((e) => e.slice(5))
          .join(""),
        "hello",
      );
      assert(!s.transport.disconnecting);
    }
  }
});

Deno.test("haproxy: a connection without a PROXY header is dropped, with the reason logged, and the wrapped factory never hears of it", () => {
  using logs = log.capture();
  const { wrapper, transport, built } = setup();
  wrapper.dataReceived(encode("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"));
  assert(transport.disconnecting);
  assertEquals(built.length, 0);
  const warnings = logs.events.filter((e) => e.level === "warn");
  assertEquals(warnings.length, 1);
  assertEquals(
    warnings[0].message,
    'PROXY protocol: dropping the connection from 192.168.1.1:54321: the connection did not start with a PROXY protocol header (received "GET / HTTP/1.1\\r\\nHost: ex...")',
  );
  // What keeps arriving is ignored, and the loss reaches nobody.
  wrapper.dataReceived(encode("more"));
  wrapper.connectionLost(
    new Failure(new Error("gone")),
  );
  assertEquals(built.length, 0);
  assertEquals(logs.events.filter((e) => e.level === "warn").length, 1);
});

Deno.test("haproxy: malformed headers are dropped with a reason that says what is wrong", () => {
  const cases: [Uint8Array, RegExp][] = [
    [encode("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n"), /unknown protocol "TCP5"/],
    [
      encode("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"),
      /expected "PROXY TCP4 SOURCE DESTINATION SPORT DPORT"/,
    ],
    [
      encode("PROXY TCP4 1.2.3.400 5.6.7.8 1 2\r\n"),
      /"1\.2\.3\.400" is not an IPv4 address/,
    ],
    [
      encode("PROXY TCP6 1.2.3.4 ::1 1 2\r\n"),
      /"1\.2\.3\.4" is not an IPv6 address/,
    ],
    [
      encode("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"),
      /port "65536" is not an integer from 0 to 65535/,
    ],
    [encode("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), /no CRLF within 107 bytes/],
    [encode("PROXY " + "x".repeat(101)), /no CRLF within 107 bytes/],
    [
      encode("PROXX TCP4"),
      /did not start with a PROXY protocol header \(received "PROXX TCP4"\)/,
    ],
    [
      v2({ versionCommand: 0x11, familyProtocol: 0x11 }),
      /unsupported PROXY protocol version 1/,
    ],
    [v2({ versionCommand: 0x22, familyProtocol: 0x11 }), /unknown command 2/],
    [v2({ familyProtocol: 0x41 }), /unknown address family and protocol 0x41/],
    [
      v2({ familyProtocol: 0x21, addresses: new Array(12).fill(1) }),
      /the address block is 12 bytes, too short for its family \(36\)/,
    ],
  ];
  for (const [header, reason] of cases) {
    using logs = log.capture();
    const { wrapper, transport, built } = setup();
    wrapper.dataReceived(header);
    assert(transport.disconnecting, `not dropped: ${reason}`);
    assertEquals(built.length, 0);
    const warnings = logs.events.filter((e) => e.level === "warn");
    assertEquals(warnings.length, 1, String(reason));
    assertMatch(
      warnings[0].message,
      /^PROXY protocol: dropping the connection from 192\.168\.1\.1:54321: /,
    );
    assertMatch(warnings[0].message, reason);
  }
});

Deno.test("haproxy: the parser's errors are Twisted's classes", () => {
  const parse = (s: string | Uint8Array) => () =>
    new ProxyHeaderParser().feed(typeof s === "string" ? encode(s) : s);
  assertThrows(parse("PROXY TCP9 a b 1 2\r\n"), InvalidNetworkProtocol);
  assertThrows(parse("PROXY TCP4 a b 1 2\r\n"), MissingAddressData);
  assertThrows(parse(v2({ familyProtocol: 0x51 })), InvalidNetworkProtocol);
  assertThrows(parse(v2({ familyProtocol: 0x11 })), MissingAddressData);
  assertThrows(parse("HELLO"), InvalidProxyHeader);
  assert(new MissingAddressData("x") instanceof InvalidProxyHeader);
  // Nothing yet: an incomplete header is not an error.
  assertEquals(new ProxyHeaderParser().feed(encode("PRO")), null);
  assertEquals(new ProxyHeaderParser().feed(V2_TCP4.subarray(0, 20)), null);
});

Deno.test("haproxy: a header that never completes times out, and a complete one cancels the countdown", () => {
  {
    using logs = log.capture();
    const { wrapper, transport, built, clock } = setup(5);
    wrapper.dataReceived(encode("PROXY TCP4 1.2.3.4"));
    clock.advance(4.9);
    assert(!transport.disconnecting);
    clock.advance(0.1);
    assert(transport.disconnecting);
    assertEquals(built.length, 0);
    assertEquals(
      logs.events.filter((e) => e.level === "warn").map((e) => e.message),
      [
        "PROXY protocol: dropping the connection from 192.168.1.1:54321: no complete PROXY protocol header within 5 seconds",
      ],
    );
    // The rest of the header, too late, is ignored.
    wrapper.dataReceived(encode(" 5.6.7.8 1 2\r\n"));
    assertEquals(built.length, 0);
  }
  {
    const { wrapper, transport, built, clock } = setup(5);
    wrapper.dataReceived(encode("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"));
    assertEquals(clock.getDelayedCalls().length, 0);
    clock.advance(60);
    assert(!transport.disconnecting);
    assertEquals(built.length, 1);
  }
  {
    // A silent connection times out too; one lost first leaves nothing scheduled.
    const silent = setup(5);
    silent.clock.advance(5);
    assert(silent.transport.disconnecting);
    const lost = setup(5);
    lost.wrapper.connectionLost(new Failure(new Error()));
    assertEquals(lost.clock.getDelayedCalls().length, 0);
    assertEquals(lost.factory.protocols.size, 0);
  }
  {
    // timeout: null waits for ever, as Twisted does.
    const { transport, clock } = setup(null);
    assertEquals(clock.getDelayedCalls().length, 0);
    clock.advance(1e6);
    assert(!transport.disconnecting);
  }
  assertThrows(
    () => new HAProxyWrappingFactory(new Factory(), { timeout: -1 }),
    RangeError,
    'Invalid PROXY header timeout "-1"',
  );
  assertThrows(
    () =>
      proxyEndpoint(new TCP4ServerEndpoint(new MemoryReactor(), 0), {
        timeout: NaN,
      }),
    RangeError,
  );
});

Deno.test("haproxy: the wrapped factory builds for the client's address, so per-peer limits count clients, not the proxy", () => {
  const inner = Factory.forProtocol(Recorder);
  const limited = new LimitConnectionsByPeer(inner, {
    maxConnectionsPerPeer: 1,
  });
  const factory = new HAProxyWrappingFactory(limited, { timeout: null });
  const connect = (client: string): StringTransport => {
    const transport = new StringTransport(); // every connection comes from the proxy
    const wrapper = factory.buildProtocol(transport.getPeer());
    wrapper.makeConnection(transport);
    wrapper.dataReceived(encode(`PROXY TCP4 ${client} 10.0.0.1 1000 80\r\n`));
    return transport;
  };
  assert(!connect("1.1.1.1").disconnecting);
  assert(!connect("2.2.2.2").disconnecting);
  // The second connection of one client is refused by the wrapped factory.
  assert(connect("1.1.1.1").disconnecting);
});

Deno.test("haproxy: the connection's loss reaches the wrapped protocol once it is connected; the factory keeps the live wrappers", () => {
  const { factory, wrapper, built } = setup();
  assertEquals(factory.protocols.size, 1);
  wrapper.dataReceived(encode("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"));
  wrapper.connectionLost(new Failure(new Error("bye")));
  assertEquals(built[0].protocol.events, ["made", "lost:Error"]);
  assertEquals(factory.protocols.size, 0);
  assertEquals(factory.logPrefix(), "Factory (PROXY)");
  assertEquals(wrapper.logPrefix(), "Recorder (HAProxyProtocolWrapper)");
});

Deno.test("haproxy: version 2 IPv6 addresses read as inet_ntop writes them", () => {
  const bytes = (...groups: number[]): Uint8Array => {
    const out = new Uint8Array(16);
    groups.forEach((g, i) => {
      out[2 * i] = g >> 8;
      out[2 * i + 1] = g & 0xff;
    });
    return out;
  };
  assertEquals(formatIPv6(bytes(0, 0, 0, 0, 0, 0, 0, 1)), "::1");
  assertEquals(formatIPv6(bytes()), "::");
  assertEquals(
    formatIPv6(bytes(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1)),
    "2001:db8::1:0:0:1",
  );
  assertEquals(
    formatIPv6(bytes(0x2001, 0xdb8, 0, 1, 1, 1, 1, 1)),
    "2001:db8:0:1:1:1:1:1",
  );
  assertEquals(formatIPv6(bytes(0xfe80, 0, 0, 0, 0, 0, 0, 0)), "fe80::");
  assertEquals(
    formatIPv6(bytes(0, 0, 0, 0, 0, 0xffff, 0x7f00, 1)),
    "::ffff:127.0.0.1",
  );
});

Deno.test("haproxy: serverFromString knows haproxy:ENDPOINT once the module is imported", () => {
  const reactor = new MemoryReactor();
  const endpoint = serverFromString(
    reactor,
    "haproxy:tcp:8080:interface=127.0.0.1",
  );
  const inner = Factory.forProtocol(Protocol);
  endpoint.listen(inner);
  const [server] = reactor.tcpServers;
  assertEquals([server.port, server.interface], [8080, "127.0.0.1"]);
  assertInstanceOf(server.factory, HAProxyWrappingFactory);
  assertStrictEquals(
    (server.factory as HAProxyWrappingFactory).wrappedFactory,
    inner,
  );

  serverFromString(reactor, "haproxy:tcp6:port=9090").listen(inner);
  assertEquals(reactor.tcpServers[1].port, 9090);
  assertEquals(reactor.tcpServers[1].interface, "::");

  serverFromString(reactor, "haproxy:unix:/tmp/with\\:colon.sock:mode=600")
    .listen(inner);
  assertEquals(reactor.unixServers[0].path, "/tmp/with:colon.sock");

  assertThrows(
    () => serverFromString(reactor, "haproxy:tcp:http"),
    TypeError,
    'Invalid endpoint description "haproxy:tcp:http": port "http" is not an integer from 0 to 65535',
  );
  assertThrows(
    () => serverFromString(reactor, "haproxy:"),
    TypeError,
    'missing the endpoint to wrap, as in "haproxy:tcp:8080"',
  );
  assertThrows(
    () => serverFromString(reactor, "haproxy:nope:1"),
    TypeError,
    'unknown endpoint type "nope"',
  );
});

Deno.test("haproxy: descriptions are written back with their escapes, as Twisted's unparseEndpoint", () => {
  for (
    const d of [
      "tcp:8080:interface=127.0.0.1",
      "unix:/a\\:b=c.sock:mode=600",
      "tcp:80:backlog=5:interface=\\:\\:1",
    ]
  ) {
    const { type, args, kwargs } = parseDescription(d);
    const again = parseDescription(unparseEndpoint([type, ...args], kwargs));
    assertEquals(again, { type, args, kwargs });
  }
  assertEquals(
    unparseEndpoint(["tcp", "80"], { z: "1", a: "x:y" }),
    "tcp:80:a=x\\:y:z=1",
  );
});

Deno.test("haproxy: without the module, serverFromString says which import registers the type", async () => {
  const root = new URL("../../", import.meta.url);
  const { stdout, stderr } = await new Deno.Command(DENO, {
    args: [
      "eval",
      "--quiet",
      `import { serverFromString } from "${new URL(
        "src/internet/endpoints.ts",
        root,
      )}";
       import { MemoryReactor } from "${new URL("src/testing/mod.ts", root)}";
       try { serverFromString(new MemoryReactor(), "haproxy:tcp:80"); } catch (e) { console.log(e.message); }`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(
    decode(stdout).trim(),
    'Invalid endpoint description "haproxy:tcp:80": the "haproxy" type is registered by the PROXY protocol module: import "@twist/twist/protocols/haproxy" first',
    decode(stderr),
  );
});

/** Reads from `conn` until it closes. */
async function readAll(conn: Deno.Conn): Promise<string> {
  let text = "";
  const buf = new Uint8Array(4096);
  for (;;) {
    const n = await withTimeout(conn.read(buf), 10_000, "the server's reply");
    if (n === null) return text;
    text += decode(buf.subarray(0, n));
  }
}

/** Says, once a line is in, who the client is and where it connected, as the server sees them. */
class WhoAmI extends Protocol {
  #line = "";
  override dataReceived(data: Uint8Array): void {
    this.#line += decode(data);
    if (!this.#line.endsWith("\n")) return;
    const peer = this.transport.getPeer() as IPv4Address;
    const host = this.transport.getHost() as IPv4Address;
    this.transport.write(
      `${peer.host} ${peer.port} ${host.host} ${host.port} ${this.#line}`,
    );
    this.transport.loseConnection();
  }
}

Deno.test("haproxy: over real sockets, a proxied connection's protocol sees the addresses from its header (v1, v2, IPv6)", async () => {
  const reactor = new Reactor();
  const factory = Factory.forProtocol(WhoAmI);
  factory.noisy = false;
  const port4 = await proxyEndpoint(
    new TCP4ServerEndpoint(reactor, 0, { interface: "127.0.0.1" }),
  ).listen(factory);
  const port6 = await serverFromString(
    reactor,
    "haproxy:tcp6:0:interface=\\:\\:1",
  )
    .listen(factory);
  try {
    const cases: [number, string, Uint8Array, string][] = [
      [
        (port4.getHost() as IPv4Address).port,
        "127.0.0.1",
        encode("PROXY TCP4 203.0.113.7 198.51.100.1 56324 443\r\n"),
        "203.0.113.7 56324 198.51.100.1 443 ping",
      ],
      [
        (port4.getHost() as IPv4Address).port,
        "127.0.0.1",
        V2_TCP4,
        "1.2.3.4 1111 5.6.7.8 80 ping",
      ],
      [
        (port6.getHost() as IPv4Address).port,
        "::1",
        V2_TCP6,
        "2001:db8::1 4000 ::1 443 ping",
      ],
    ];
    for (const [port, hostname, header, expected] of cases) {
      // The header and the first bytes in one write, then split mid-header.
      for (const at of [header.length, 10]) {
        const conn = await Deno.connect({ hostname, port });
        try {
          const stream = concat(header, encode("ping\n"));
          await conn.write(stream.subarray(0, at));
          await new Promise((r) => setTimeout(r, 5));
          await conn.write(stream.subarray(at));
          assertEquals(await readAll(conn), expected + "\n");
        } finally {
          conn.close();
        }
      }
    }
    // No header: dropped, and the protocol never answers.
    using logs = log.capture();
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: (port4.getHost() as IPv4Address).port,
    });
    try {
      await conn.write(encode("ping\r\n"));
      assertEquals(await readAll(conn), "");
    } finally {
      conn.close();
    }
    assertStringIncludes(
      logs.events.map((e) => e.message).join("\n"),
      'did not start with a PROXY protocol header (received "ping\\r\\n")',
    );
  } finally {
    await port4.stopListening();
    await port6.stopListening();
  }
});
