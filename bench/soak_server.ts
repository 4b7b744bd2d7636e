/**
 * The server side of the soak (`bench/soak.ts` runs it as a child process, so
 * its RSS is the server's alone). Three ports on 127.0.0.1:
 * - echo: the echo protocol (and what slow readers and churn hit);
 * - line: a `LineReceiver` that answers each line "ping N" with "pong N";
 * - careless: a protocol whose `dataReceived` throws on "throw", returns a
 *   rejected promise on "reject", leaves a rejected promise nobody awaits on
 *   "stray" (then answers "ok"), and echoes anything else.
 *
 * Prints `ports ECHO LINE CARELESS` once listening, then a JSON line of
 * figures every second (`Deno.memoryUsage()`, the reactor's bookkeeping,
 * open connections, errors logged by kind), and a last one after SIGINT.
 *
 * @module
 */
// deno-lint-ignore-file no-console
import { Factory, type Failure, Protocol, Reactor } from "../mod.ts";
import { LineReceiver } from "../src/protocols/basic.ts";
import { log, type LogEvent } from "../src/logger.ts";
import { reactorBookkeeping } from "../src/internet/common/registry.ts";

const reactor = new Reactor();
let open = 0;
let made = 0;
const errors: Record<string, number> = {};

// Errors by kind: the expected ones (the careless protocol's) and the rest.
for (const observer of [...log.observers]) log.removeObserver(observer);
log.addObserver((event: LogEvent) => {
  if (event.level !== "error") return;
  const text = `${event.why ?? ""}: ${event.failure?.getErrorMessage() ?? ""}`;
  const kind = /careless (throw|reject)/.test(text)
    ? "expected: dataReceived threw or rejected"
    : /careless stray/.test(text)
    ? "expected: a stray rejection"
    : `unexpected: ${event.message}`;
  errors[kind] = (errors[kind] ?? 0) + 1;
});

/** Counts connections, for the figures. */
function counted<P extends Protocol>(make: () => P): Factory {
  const factory = new Factory();
  factory.noisy = false;
  factory.buildProtocol = () => {
    const p = make();
    const lost = p.connectionLost.bind(p);
    made++;
    open++;
    p.connectionLost = (reason: Failure) => {
      open--;
      return lost(reason);
    };
    return p;
  };
  return factory;
}

class Echo extends Protocol {
  override dataReceived(data: Uint8Array): void {
    this.transport.write(data);
  }
}

class PingPong extends LineReceiver {
  override lineReceived(line: Uint8Array): void {
    const text = new TextDecoder().decode(line);
    this.sendLine(text.replace(/^ping/, "pong"));
  }
}

class Careless extends Protocol {
  override dataReceived(data: Uint8Array): Promise<void> | void {
    const text = new TextDecoder().decode(data).trim();
    if (text === "throw") throw new Error("careless throw");
    if (text === "reject") {
      return Promise.reject(new Error("careless reject"));
    }
    if (text === "stray") {
      Promise.reject(new Error("careless stray"));
      this.transport.write("ok\n");
      return;
    }
    this.transport.write(data);
  }
}

const iface = { interface: "127.0.0.1" };
const ports = [
  reactor.listenTCP(0, counted(() => new Echo()), iface),
  reactor.listenTCP(0, counted(() => new PingPong()), iface),
  reactor.listenTCP(0, counted(() => new Careless()), iface),
];

function figures(): string {
  const m = Deno.memoryUsage();
  return JSON.stringify({
    t: performance.now() / 1000,
    rss: m.rss,
    heapUsed: m.heapUsed,
    external: m.external,
    open,
    made,
    ...reactorBookkeeping(reactor),
    errors,
  });
}

reactor.callWhenRunning(() => {
  console.log(`ports ${ports.map((p) => p.getHost().port).join(" ")}`);
  const report = (): void => {
    console.log(figures());
    reactor.callLater(1, report);
  };
  report();
});
await reactor.run();
console.log(figures());
