/**
 * The runtime each Worker of `serveOnWorkers` loads (internal): its own
 * reactor, the module's factory, listening with `reusePort` on every
 * endpoint; it stops gracefully when the supervisor says so.
 *
 * @module
 */
import { reactor } from "../reactor.ts";
import { serverFromString } from "../endpoints.ts";
import { Factory, type ProtocolClass } from "../protocol.ts";
import type { IProtocolFactory } from "../interfaces.ts";
import { log } from "../../logger.ts";
import {
  isOurs,
  reportEnd,
  sendError,
  TAG,
  type ToServeWorker,
  withReusePort,
} from "./messages.ts";

// deno-lint-ignore no-explicit-any
const scope = self as any;
reportEnd(scope);

// The worker logs through the supervisor's observers (the runner's format).
for (const observer of [...log.observers]) log.removeObserver(observer);
log.addObserver((event) => {
  scope.postMessage({
    tag: TAG,
    kind: "log",
    event: {
      time: event.time,
      level: event.level,
      message: event.failure
        ? `${event.message}\n${event.failure.getTraceback()}`
        : event.message,
    },
  });
});

async function factoryOf(url: string): Promise<IProtocolFactory> {
  const loaded: { default?: unknown } = await import(url);
  const d = loaded.default;
  if (d && typeof (d as IProtocolFactory).buildProtocol === "function") {
    return d as IProtocolFactory;
  }
  if (typeof d === "function") return Factory.forProtocol(d as ProtocolClass);
  throw new TypeError(
    `"${url}" must export a Factory or a Protocol class by default`,
  );
}

async function serve(
  message: ToServeWorker & { kind: "serve" },
): Promise<void> {
  reactor.shutdownTimeout = message.shutdownTimeout;
  let factory: IProtocolFactory;
  const hosts: string[] = [];
  try {
    factory = await factoryOf(message.module);
    for (const description of message.listen) {
      const port = await serverFromString(reactor, withReusePort(description))
        .listen(factory);
      const host = port.getHost() as { host?: string; port?: number };
      hosts.push(
        host.port !== undefined ? `${host.host}:${host.port}` : String(host),
      );
    }
  } catch (e) {
    scope.postMessage({ tag: TAG, kind: "fatal", error: sendError(e) });
    scope.close();
    return;
  }
  scope.postMessage({ tag: TAG, kind: "listening", hosts });
  await reactor.run({ installSignalHandlers: false });
  scope.postMessage({ tag: TAG, kind: "stopped" });
  scope.close();
}

scope.addEventListener("message", (e: MessageEvent) => {
  const message = e.data as ToServeWorker;
  if (!isOurs(message)) return;
  if (message.kind === "serve") {
    serve(message).catch((e) => log.err(e, "Error serving in a worker"));
  } else if (message.kind === "stop") {
    if (reactor.running) reactor.stop();
    else {
      reactor.callWhenRunning(() => reactor.stop());
    }
  }
});
