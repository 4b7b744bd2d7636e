import { streamBackend } from "../../src/internet/stream/backend.ts";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  clientFromString,
  connectProtocol,
  HostnameEndpoint,
  parseDescription,
  serverFromString,
  SSL4ClientEndpoint,
  SSL4ServerEndpoint,
  TCP4ClientEndpoint,
  TCP4ServerEndpoint,
  TCP6ClientEndpoint,
  TCP6ServerEndpoint,
  UNIXClientEndpoint,
  UNIXServerEndpoint,
} from "../../src/internet/endpoints.ts";
import { Reactor } from "../../src/internet/reactor.ts";
import {
  ClientFactory,
  Factory,
  Protocol,
} from "../../src/internet/protocol.ts";
import {
  ConnectingCancelledError,
  ConnectionRefusedError,
} from "../../src/internet/error.ts";
import type { Failure } from "../../src/internet/failure.ts";
import type { IPv4Address } from "../../src/internet/address.ts";
import { decode, withTimeout } from "../_helpers.ts";

const reactor = new Reactor();

Deno.test("parseDescription: fields, key=value, values with '=', and backslash escapes", () => {
  assertEquals(parseDescription("tcp:80"), {
    type: "tcp",
    args: ["80"],
    kwargs: {},
  });
  assertEquals(parseDescription("tcp:host=a\\:b:port=1:x=y=z"), {
    type: "tcp",
    args: [],
    kwargs: { host: "a:b", port: "1", x: "y=z" },
  });
  assertEquals(parseDescription("unix:/tmp/a\\\\b"), {
    type: "unix",
    args: ["/tmp/a\\b"],
    kwargs: {},
  });
  assertThrows(() => parseDescription("tcp:80\\"), TypeError, "lone backslash");
  assertThrows(() => parseDescription(""), TypeError, "must start with a type");
  assertThrows(
    () => parseDescription("=x:80"),
    TypeError,
    "must start with a type",
  );
});

Deno.test("serverFromString: every tcp, tcp6 and unix form", () => {
  const cases: [string, unknown, Record<string, unknown>][] = [
    ["tcp:8080", TCP4ServerEndpoint, {
      port: 8080,
      options: { interface: "0.0.0.0" },
    }],
    ["tcp:port=8080", TCP4ServerEndpoint, { port: 8080 }],
    ["tcp:0:interface=127.0.0.1:backlog=5", TCP4ServerEndpoint, {
      port: 0,
      options: { interface: "127.0.0.1", backlog: 5 },
    }],
    ["tcp6:8080", TCP6ServerEndpoint, {
      port: 8080,
      options: { interface: "::" },
    }],
    ["tcp6:0:interface=\\:\\:1", TCP6ServerEndpoint, {
      port: 0,
      options: { interface: "::1" },
    }],
    ["tcp:8080:reusePort=true:backlog=1024", TCP4ServerEndpoint, {
      options: { interface: "0.0.0.0", reusePort: true, backlog: 1024 },
    }],
    ["tcp6:8080:reusePort=false", TCP6ServerEndpoint, {
      options: { interface: "::", reusePort: false },
    }],
    ["unix:/tmp/s.sock", UNIXServerEndpoint, {
      path: "/tmp/s.sock",
      options: {},
    }],
    ["unix:address=/tmp/s.sock:mode=600:lockfile=1", UNIXServerEndpoint, {
      path: "/tmp/s.sock",
      options: { mode: 0o600, wantPID: true },
    }],
  ];
  for (const [description, type, fields] of cases) {
    const endpoint = serverFromString(reactor, description);
    assertInstanceOf(endpoint, type as new (...args: never[]) => unknown);
    for (const [key, value] of Object.entries(fields)) {
      const actual = (endpoint as unknown as Record<string, unknown>)[key];
      if (typeof value === "object") {
        for (const [k, v] of Object.entries(value as object)) {
          assertEquals((actual as Record<string, unknown>)[k], v);
        }
      } else assertEquals(actual, value, description);
    }
  }
});

Deno.test("clientFromString: every tcp, tcp6 and unix form", () => {
  const a = clientFromString(
    reactor,
    "tcp:host=example.com:port=80:timeout=5",
  ) as TCP4ClientEndpoint;
  assertInstanceOf(a, TCP4ClientEndpoint);
  assertEquals([a.host, a.port, a.options.timeout], ["example.com", 80, 5]);
  const b = clientFromString(
    reactor,
    "tcp:example.com:8080",
  ) as TCP4ClientEndpoint;
  assertEquals([b.host, b.port], ["example.com", 8080]);
  const c = clientFromString(
    reactor,
    "tcp:example.com:port=81",
  ) as TCP4ClientEndpoint;
  assertEquals([c.host, c.port], ["example.com", 81]);
  const d = clientFromString(
    reactor,
    "tcp:host=example.com:82",
  ) as TCP4ClientEndpoint;
  assertEquals([d.host, d.port], ["example.com", 82]);
  const e = clientFromString(
    reactor,
    "tcp6:host=\\:\\:1:port=80",
  ) as TCP6ClientEndpoint;
  assertInstanceOf(e, TCP6ClientEndpoint);
  assertEquals(e.host, "::1");
  const f = clientFromString(
    reactor,
    "unix:path=/tmp/s.sock:timeout=2",
  ) as UNIXClientEndpoint;
  assertInstanceOf(f, UNIXClientEndpoint);
  assertEquals([f.path, f.options.timeout], ["/tmp/s.sock", 2]);
  assertEquals(
    (clientFromString(reactor, "unix:/tmp/t.sock") as UNIXClientEndpoint).path,
    "/tmp/t.sock",
  );
  assertInstanceOf(
    new HostnameEndpoint(reactor, "localhost", 1),
    TCP4ClientEndpoint,
  );
});

Deno.test("Malformed descriptions are TypeErrors that name the problem", () => {
  const server: [string, string][] = [
    ["tcp", "missing port"],
    ["tcp:abc", 'port "abc" is not an integer from 0 to 65535'],
    ["tcp:70000", 'port "70000" is not an integer'],
    ["tcp:80:bogus=1", 'unknown parameter "bogus"'],
    ["tcp:80:90", "unexpected arguments after the port"],
    ["tcp:80:backlog=x", 'backlog "x"'],
    ["tcp:80:reusePort=yes", 'reusePort "yes" is not true or false'],
    ["foo:80", 'unknown endpoint type "foo"'],
    ["ssl:443", "missing privateKey"],
    ["ssl:443:privateKey=/nonexistent.pem", 'Cannot read "/nonexistent.pem"'],
    ["unix:", "missing the socket path"],
    ["unix:/x:mode=9z", 'mode "9z" is not an octal number'],
    ["unix:/x:lockfile=2", 'lockfile "2"'],
  ];
  for (const [description, message] of server) {
    const err = assertThrows(
      () => serverFromString(reactor, description),
      TypeError,
    );
    assertStringIncludes(
      err.message,
      `Invalid endpoint description "${description}": ${message}`,
    );
  }
  const client: [string, string][] = [
    ["tcp:host=x", "missing port"],
    ["tcp:port=80", "missing host"],
    ["tcp:a:b:c", "too many arguments"],
    ["tcp:host=h:port=0", 'port "0" is not an integer from 1 to 65535'],
    ["tcp:host=h:port=1:bindAddress=x", "bindAddress is not supported"],
    ["tcp:host=h:port=1:timeout=-1", 'timeout "-1"'],
    [
      "ssl:example.com:443:caCerts=/nonexistent.pem",
      'cannot read "/nonexistent.pem"',
    ],
    ["unix:timeout=3", "missing the socket path"],
    ["bogus:x", 'unknown endpoint type "bogus"'],
  ];
  for (const [description, message] of client) {
    const err = assertThrows(
      () => clientFromString(reactor, description),
      TypeError,
    );
    assertStringIncludes(err.message, message);
  }
});

class Echo extends Protocol {
  override dataReceived(d: Uint8Array): void {
    this.transport.write(d);
  }
}

class Collect extends Protocol {
  text = "";
  readonly got = Promise.withResolvers<string>();
  readonly lost = Promise.withResolvers<void>();
  override dataReceived(d: Uint8Array): void {
    this.text += decode(d);
    this.got.resolve(this.text);
  }
  override connectionLost(): void {
    this.lost.resolve();
  }
}

Deno.test("Endpoints from strings listen and connect: tcp, and connectProtocol", async () => {
  const serverFactory = Factory.forProtocol(Echo);
  serverFactory.noisy = false;
  const port = await serverFromString(reactor, "tcp:0:interface=127.0.0.1")
    .listen(serverFactory);
  const number = (port.getHost() as IPv4Address).port;
  const client = await connectProtocol(
    clientFromString(reactor, `tcp:host=127.0.0.1:port=${number}`),
    new Collect(),
  );
  assert(client.connected, "fires once connected");
  client.transport.write("via endpoints");
  assertEquals(
    await withTimeout(client.got.promise, 5000, "the echo"),
    "via endpoints",
  );
  client.transport.loseConnection();
  await port.stopListening();
});

Deno.test("Endpoints from strings listen and connect: unix", async () => {
  const path = "/tmp/twist-tests/a.sock";
  Deno.mkdirSync("/tmp/twist-tests", { recursive: true });
  try {
    Deno.removeSync(path);
  } catch {
    // Not there.
  }
  const serverFactory = Factory.forProtocol(Echo);
  serverFactory.noisy = false;
  const port = await serverFromString(reactor, `unix:${path}:mode=600`).listen(
    serverFactory,
  );
  const clientFactory = ClientFactory.forProtocol(Collect);
  clientFactory.noisy = false;
  const client = await clientFromString(reactor, `unix:path=${path}`).connect(
    clientFactory,
  ) as Collect;
  client.transport.write("over unix");
  assertEquals(
    await withTimeout(client.got.promise, 5000, "the echo"),
    "over unix",
  );
  client.transport.loseConnection();
  await port.stopListening();
});

Deno.test("A client endpoint's Deferred fails with the connection error, and cancelling stops the attempt", async () => {
  const probe = reactor.listenTCP(0, Factory.forProtocol(Protocol), {
    interface: "127.0.0.1",
  });
  const free = probe.getHost().port;
  await probe.stopListening();
  let reason: Failure | undefined;
  const factory = ClientFactory.forProtocol(Protocol);
  factory.noisy = false;
  await new TCP4ClientEndpoint(reactor, "127.0.0.1", free).connect(factory)
    .addErrback((f) => {
      reason = f;
    });
  assert(reason?.check(ConnectionRefusedError));
  // Cancel while connecting: ConnectingCancelledError; the late connection is closed.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const d = new TCP4ClientEndpoint(
    reactor,
    "127.0.0.1",
    (listener.addr as Deno.NetAddr).port,
  ).connect(factory);
  let cancelled: Failure | undefined;
  d.addErrback((f) => {
    cancelled = f;
  });
  d.cancel();
  assertInstanceOf(cancelled?.value, ConnectingCancelledError);
  if (streamBackend() === "deno") {
    const raw = await listener.accept();
    assertEquals(await raw.read(new Uint8Array(1)), null);
    raw.close();
  } else {
    // node:net gives the connect up before it is made: the first connection
    // the listener sees is a later one.
    const marker = await Deno.connect({
      hostname: "127.0.0.1",
      port: (listener.addr as Deno.NetAddr).port,
    });
    const raw = await listener.accept();
    assertEquals(
      (raw.remoteAddr as Deno.NetAddr).port,
      (marker.localAddr as Deno.NetAddr).port,
    );
    raw.close();
    marker.close();
  }
  listener.close();
  // A listening failure is a failed Deferred, not a throw.
  let listenFailure: Failure | undefined;
  await new TCP4ServerEndpoint(reactor, 0, { interface: "192.0.2.1" }).listen(
    factory,
  ).addErrback((f) => {
    listenFailure = f;
  });
  assert(listenFailure?.check("CannotListenError"));
});

Deno.test("ssl: endpoints from strings: Twisted's privateKey/certKey files, caCerts, and a TLS echo", async () => {
  const dir = "tests/fixtures/tls";
  const server = serverFromString(
    reactor,
    `ssl:0:privateKey=${dir}/server.key:certKey=${dir}/server.pem:interface=127.0.0.1:alpn=x-twist`,
  ) as SSL4ServerEndpoint;
  assertInstanceOf(server, SSL4ServerEndpoint);
  assertEquals(server.tls.alpnProtocols, ["x-twist"]);
  assertStringIncludes(server.tls.cert, "BEGIN CERTIFICATE");
  const serverFactory = Factory.forProtocol(Echo);
  serverFactory.noisy = false;
  const port = await server.listen(serverFactory);
  const number = (port.getHost() as IPv4Address).port;
  for (const type of ["ssl", "tls"]) {
    const endpoint = clientFromString(
      reactor,
      `${type}:host=127.0.0.1:port=${number}:caCertsDir=${dir}:alpn=x-twist`,
    ) as SSL4ClientEndpoint;
    assertInstanceOf(endpoint, SSL4ClientEndpoint);
    const client = await connectProtocol(endpoint, new Collect());
    assertEquals(client.transport.negotiatedProtocol, "x-twist");
    client.transport.write(`over ${type}`);
    assertEquals(
      await withTimeout(client.got.promise, 10_000, "the echo"),
      `over ${type}`,
    );
    client.transport.loseConnection();
    await withTimeout(client.lost.promise, 10_000, "the client to close");
  }
  await port.stopListening();
});

Deno.test("Endpoints from strings listen and connect: tcp6 on ::1", async () => {
  const serverFactory = Factory.forProtocol(Echo);
  serverFactory.noisy = false;
  let port;
  try {
    port = await serverFromString(reactor, "tcp6:0:interface=\\:\\:1").listen(
      serverFactory,
    );
  } catch (e) {
    // deno-lint-ignore no-console
    console.log(
      `skipped: IPv6 loopback unavailable here (${(e as Error).message})`,
    );
    return;
  }
  const number = (port.getHost() as IPv4Address).port;
  const client = await connectProtocol(
    clientFromString(reactor, `tcp6:host=\\:\\:1:port=${number}`),
    new Collect(),
  );
  client.transport.write("over tcp6");
  assertEquals(
    await withTimeout(client.got.promise, 5000, "the echo"),
    "over tcp6",
  );
  client.transport.loseConnection();
  await port.stopListening();
});

Deno.test("ssl: client endpoints verify the hostname= keyword, not the host dialled", async () => {
  const dir = "tests/fixtures/tls";
  const server = serverFromString(
    reactor,
    `ssl:0:privateKey=${dir}/example.key:certKey=${dir}/example.pem:interface=127.0.0.1`,
  );
  const serverFactory = Factory.forProtocol(Echo);
  serverFactory.noisy = false;
  const port = await server.listen(serverFactory);
  const number = (port.getHost() as IPv4Address).port;
  const client = await withTimeout(
    connectProtocol(
      clientFromString(
        reactor,
        `ssl:host=127.0.0.1:port=${number}:caCerts=${dir}/named_ca.pem:hostname=example.com`,
      ),
      new Collect(),
    ),
    10_000,
    "the TLS connection",
  );
  client.transport.write("verified example.com");
  assertEquals(
    await withTimeout(client.got.promise, 10_000, "the echo"),
    "verified example.com",
  );
  const lost = Promise.withResolvers<void>();
  client.connectionLost = () => lost.resolve();
  client.transport.loseConnection();
  await lost.promise;
  await port.stopListening();
});
