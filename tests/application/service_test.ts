import {
  assert,
  assertEquals,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import { MultiService, Service } from "../../src/application/mod.ts";
import { ClientService } from "../../src/internet/client_service.ts";
import type {
  IProtocol,
  IProtocolFactory,
  IService,
} from "../../src/internet/interfaces.ts";
import type { IStreamClientEndpoint } from "../../src/internet/endpoints.ts";
import { Deferred, fail } from "../../src/internet/defer.ts";
import { Clock, deferLater } from "../../src/internet/task.ts";
import { ClientFactory, Protocol } from "../../src/internet/protocol.ts";
import { log } from "../../src/logger.ts";

/** A service that records its calls in `seen`, and stops after `stopDelay` seconds on `clock` if set. */
class Recorder extends Service {
  constructor(
    readonly seen: string[],
    name: string,
    readonly options: { clock?: Clock; stopDelay?: number } = {},
  ) {
    super();
    this.setName(name);
  }
  override privilegedStartService(): void {
    this.seen.push(`privileged ${this.name}`);
  }
  override startService(): void {
    super.startService();
    this.seen.push(`start ${this.name}`);
  }
  override stopService(): Deferred<unknown> | void {
    super.stopService();
    this.seen.push(`stop ${this.name}`);
    const { clock, stopDelay } = this.options;
    if (clock && stopDelay !== undefined) {
      return deferLater(clock, stopDelay, () => {
        this.seen.push(`stopped ${this.name}`);
      });
    }
  }
}

Deno.test("Service keeps its name, running flag and parent", () => {
  const service = new Service();
  assertEquals([service.name, service.running, service.parent], [
    null,
    false,
    null,
  ]);
  service.startService();
  assert(service.running);
  service.stopService();
  assert(!service.running);

  const a = new MultiService();
  const b = new MultiService();
  service.setName("web");
  service.setServiceParent(a);
  assertStrictEquals(service.parent, a);
  assertThrows(
    () => service.setName("other"),
    TypeError,
    'Cannot rename "web" to "other": it has a parent; call disownServiceParent() first',
  );
  // A new parent: the service leaves the old one first.
  service.setServiceParent(b);
  assertEquals([...a], []);
  assertEquals([...b], [service]);
  service.disownServiceParent();
  assertEquals([service.parent, [...b]], [null, []]);
  assertThrows(
    () => service.disownServiceParent(),
    TypeError,
    'Cannot disown the parent of "web": it has none',
  );
});

Deno.test("MultiService starts its children in order and stops them in reverse", () => {
  const seen: string[] = [];
  const app = new MultiService();
  for (const name of ["db", "cache", "web"]) {
    new Recorder(seen, name).setServiceParent(app);
  }
  app.privilegedStartService();
  app.startService();
  assert(app.running);
  let stopped = false;
  app.stopService().addCallback(() => {
    stopped = true;
  });
  assert(stopped);
  assert(!app.running);
  assertEquals(seen, [
    "privileged db",
    "privileged cache",
    "privileged web",
    "start db",
    "start cache",
    "start web",
    "stop web",
    "stop cache",
    "stop db",
  ]);
  assert([...app].every((s) => !s.running));
});

Deno.test("MultiService's stop waits for every child's Deferred, and children stop without waiting for each other (as Twisted's)", () => {
  const clock = new Clock();
  const seen: string[] = [];
  const app = new MultiService();
  new Recorder(seen, "slow", { clock, stopDelay: 5 }).setServiceParent(app);
  new Recorder(seen, "quick", { clock, stopDelay: 1 }).setServiceParent(app);
  new Recorder(seen, "sync").setServiceParent(app);
  app.startService();
  let done = false;
  app.stopService().addCallback(() => {
    done = true;
  });
  assertEquals(seen.slice(3), ["stop sync", "stop quick", "stop slow"]);
  clock.advance(1);
  assertEquals(seen.at(-1), "stopped quick");
  assert(!done);
  clock.advance(4);
  assertEquals(seen.at(-1), "stopped slow");
  assert(done);
});

Deno.test("MultiService waits for a child's promise too", async () => {
  const app = new MultiService();
  let release!: () => void;
  class AsyncStop extends Service {
    override async stopService(): Promise<void> {
      super.stopService();
      await new Promise<void>((r) => (release = r));
    }
  }
  new AsyncStop().setServiceParent(app);
  app.startService();
  let done = false;
  const stopping = app.stopService().addCallback(() => {
    done = true;
  });
  await Promise.resolve();
  assert(!done);
  release();
  await stopping;
  assert(done);
});

Deno.test("A child whose stop fails is logged, and the others still stop", async () => {
  using logs = log.capture();
  const seen: string[] = [];
  const app = new MultiService();
  new Recorder(seen, "first").setServiceParent(app);
  class Broken extends Service {
    override stopService(): Deferred<void> {
      return fail(new Error("disk on fire"));
    }
  }
  const broken = new Broken();
  broken.setName("broken");
  broken.setServiceParent(app);
  class Throws extends Service {
    override stopService(): void {
      throw new Error("thrown");
    }
  }
  new Throws().setServiceParent(app);
  app.startService();
  await app.stopService();
  assertEquals(seen.at(-1), "stop first");
  assertEquals(
    logs.flushErrors(Error).map((f) => f.getErrorMessage()),
    ["thrown", "disk on fire"],
  );
  assertEquals(
    logs.events.filter((e) => e.level === "error").map((e) => e.why),
    ["Error stopping service Throws", 'Error stopping service "broken"'],
  );
});

Deno.test("MultiService finds children by name; names are unique among siblings", () => {
  const app = new MultiService();
  app.setName("app");
  const seen: string[] = [];
  const web = new Recorder(seen, "web");
  web.setServiceParent(app);
  assertStrictEquals(app.getServiceNamed("web"), web);
  assertThrows(
    () => app.getServiceNamed("db"),
    RangeError,
    'No service named "db" in "app" (it has "web")',
  );
  const twin = new Recorder(seen, "web");
  assertThrows(
    () => twin.setServiceParent(app),
    TypeError,
    'Cannot add a second service named "web" to "app": names are unique among siblings',
  );
  assertEquals(twin.parent, null);
  assertEquals([...app], [web]);
  assertThrows(
    () => app.removeService(twin),
    TypeError,
    'Cannot remove "web" from "app": it is not one of its services',
  );
  // Anonymous services are fine, any number of them.
  new Service().setServiceParent(app);
  new Service().setServiceParent(app);
  assertEquals([...app].length, 3);
});

Deno.test("A child added to a running MultiService starts at once; one removed from it stops, and its stop is returned", () => {
  const clock = new Clock();
  const seen: string[] = [];
  const app = new MultiService();
  app.startService();
  const late = new Recorder(seen, "late", { clock, stopDelay: 2 });
  late.setServiceParent(app);
  assertEquals(seen, ["privileged late", "start late"]);
  const d = late.disownServiceParent() as Deferred<unknown>;
  assertEquals(seen.at(-1), "stop late");
  assert(!d.called);
  clock.advance(2);
  assert(d.called);
  // Removed from a stopped collection: not stopped again.
  const idle = new MultiService();
  const other = new Recorder(seen, "other");
  other.setServiceParent(idle);
  assertEquals(other.disownServiceParent(), undefined);
  assertEquals(seen.at(-1), "stopped late");
});

Deno.test("MultiServices nest: a tree starts depth first and stops in reverse", async () => {
  const seen: string[] = [];
  const root = new MultiService();
  const left = new MultiService();
  left.setServiceParent(root);
  new Recorder(seen, "a").setServiceParent(left);
  new Recorder(seen, "b").setServiceParent(left);
  new Recorder(seen, "c").setServiceParent(root);
  root.startService();
  await root.stopService();
  assertEquals(seen, [
    "start a",
    "start b",
    "start c",
    "stop c",
    "stop b",
    "stop a",
  ]);
});

/** A client endpoint that never connects, and records its attempts. */
class PendingEndpoint implements IStreamClientEndpoint {
  attempts: Deferred<IProtocol>[] = [];
  connect(_factory: IProtocolFactory): Deferred<IProtocol> {
    const d = new Deferred<IProtocol>();
    this.attempts.push(d);
    return d;
  }
}

Deno.test("ClientService is an IService: it starts and stops with its MultiService", async () => {
  const endpoint = new PendingEndpoint();
  const client = new ClientService(
    endpoint,
    ClientFactory.forProtocol(Protocol),
    { clock: new Clock() },
  );
  const service: IService = client;
  client.setName("upstream");
  const app = new MultiService();
  service.setServiceParent(app);
  assertStrictEquals(app.getServiceNamed("upstream"), client);
  app.privilegedStartService();
  app.startService();
  assert(client.running);
  assertEquals(endpoint.attempts.length, 1);
  await app.stopService();
  assert(!client.running);
  assert(endpoint.attempts[0].called); // the attempt was cancelled
  assertThrows(() => client.setName("x"), TypeError, "it has a parent");
  client.disownServiceParent();
  assertEquals([...app], []);
  assertThrows(() => client.disownServiceParent(), TypeError, "it has none");
  endpoint.attempts[0].addErrback(() => {});
});
