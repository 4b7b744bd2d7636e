/**
 * `twist`: serve a protocol with one command, as Twisted's `twist` does.
 *
 * ```sh
 * deno run --allow-net jsr:@twist/twist/cli echo --listen tcp:8000
 * deno run --allow-net jsr:@twist/twist/cli portforward --listen tcp:8080 --dest tcp:host=127.0.0.1:port=80
 * deno run --allow-net --allow-read jsr:@twist/twist/cli serve ./my_factory.ts --listen tcp:9000
 * ```
 *
 * Logs go to stderr with timestamps, as with Twisted's `twist`:
 * `--log-level debug|info|warn|error` (default `info`; `--quiet` is
 * `--log-level=error`), `--log-file PATH` (`-` for stdout; needs
 * `--allow-write=PATH`) and `--log-format text|json` (JSON lines). SIGINT and SIGTERM stop the server gracefully:
 * it stops listening, lets connections finish their writes, and exits 0.
 * Bad arguments print one line and exit with code 2.
 *
 * @example Running the runner from code
 * ```ts ignore
 * import { main } from "@twist/twist/cli";
 *
 * Deno.exit(await main(["echo", "--listen", "tcp:8000"]));
 * ```
 *
 * @module
 */
import { parseArgs } from "@std/cli";
import { Factory, type ProtocolClass } from "./internet/protocol.ts";
import type {
  IProtocolFactory,
  IReactorCore,
  IService,
} from "./internet/interfaces.ts";
import { reactor as defaultReactor } from "./internet/reactor.ts";
import {
  clientFromString,
  type IReactorEndpoints,
  type IStreamServerEndpoint,
  serverFromString,
} from "./internet/endpoints.ts";
import { formatEvent, log, type LogEvent, type LogLevel } from "./logger.ts";
import { Chargen, Daytime, Discard, Echo, QOTD } from "./protocols/wire.ts";
import { ProxyFactory } from "./protocols/portforward.ts";
// Registers the haproxy: endpoint type, for --listen haproxy:tcp:8000.
import "./protocols/haproxy.ts";
import {
  isGranted,
  isNotCapable,
  requireNet,
  requireUnixSocket,
} from "./internet/common/permissions.ts";
// The version lives in deno.json only (JSR publishes it with the package).
import denoJson from "../deno.json" with { type: "json" };
import { serveWorkers, workersOption } from "./cli_workers.ts";

/** The runner's version: the package's, from `deno.json`. */
export const VERSION: string = denoJson.version;

const WIRE: Record<string, [ProtocolClass, string]> = {
  echo: [Echo, "sends back what it receives (RFC 862)"],
  discard: [Discard, "throws away what it receives (RFC 863)"],
  chargen: [
    Chargen,
    "sends a character pattern until the peer hangs up (RFC 864)",
  ],
  daytime: [Daytime, "sends the date and time, then closes (RFC 867)"],
  qotd: [QOTD, "sends a quote, then closes (RFC 865)"],
};

const RUNNER_HELP =
  `twist ${VERSION}: serve a Twisted-style protocol with one command.

Usage: twist [--log-level LEVEL] [--log-file PATH] [--log-format text|json] COMMAND [options]

Commands:
${
    Object.entries(WIRE).map(([name, [, what]]) =>
      `  ${name.padEnd(12)} ${what}`
    ).join("\n")
  }
  portforward  forwards connections to --dest, with backpressure both ways
  serve        serves the Factory, Protocol class or service a module exports by default

Options:
  --log-level LEVEL        log events at LEVEL or above: debug, info, warn,
                           error (default: info)
  --log-file PATH          log to PATH (appending; - for stdout) instead of
                           stderr: run with --allow-write=PATH
  --log-format text|json   log format (default: text)
  --quiet                  log errors only (--log-level=error)
  -h, --help               show help (also: twist COMMAND --help)
  --version                show the version

Examples:
  deno run --allow-net jsr:@twist/twist/cli echo --listen tcp:8000
  deno run --allow-net jsr:@twist/twist/cli portforward --listen tcp:8080 --dest tcp:host=127.0.0.1:port=80
  deno run --allow-net --allow-read jsr:@twist/twist/cli serve ./my_factory.ts --listen tcp:9000`;

const LISTEN_HELP =
  `  --listen ENDPOINT   where to listen (may repeat): tcp:PORT[:interface=IP],
                      tcp6:PORT, unix:PATH[:mode=600], ssl:PORT:privateKey=KEY.pem:certKey=CERT.pem,
                      haproxy:ENDPOINT (behind a proxy that sends the PROXY protocol)`;

function commandHelp(command: string): string {
  if (command in WIRE) {
    return `Usage: twist ${command} [--listen ENDPOINT]...

${WIRE[command][1][0].toUpperCase()}${WIRE[command][1].slice(1)}.

Options:
${LISTEN_HELP}
                      (default: tcp:8000)

Example:
  deno run --allow-net jsr:@twist/twist/cli ${command} --listen tcp:8000`;
  }
  if (command === "portforward") {
    return `Usage: twist portforward --listen ENDPOINT... --dest ENDPOINT

Forwards every connection to the destination, both ways; a slow side pauses
the other, so memory stays bounded.

Options:
${LISTEN_HELP}
  --dest ENDPOINT     where to forward: tcp:host=HOST:port=PORT, unix:PATH, ssl:HOST:PORT

Example:
  deno run --allow-net jsr:@twist/twist/cli portforward --listen tcp:8080 --dest tcp:host=127.0.0.1:port=80`;
  }
  return `Usage: twist serve MODULE [--listen ENDPOINT]...

Imports MODULE and serves its default export: a Factory, or a Protocol class,
or a service (an IService, such as a MultiService composed as a Twisted .tac
file composes one), which is started, and stopped on SIGINT or SIGTERM; a
service says where it listens, so it takes no --listen.

Options:
${LISTEN_HELP}
                      (default: tcp:8000)
  --workers N         serve on N Workers, one reactor each, sharing the port
                      (reusePort: needs --unstable-net); a crashed worker is
                      restarted

Example:
  deno run --allow-net --allow-read jsr:@twist/twist/cli serve ./my_factory.ts --listen tcp:9000`;
}

/** A bad command line: printed as one line, exit code 2. */
class UsageError extends Error {
  override name = "UsageError";
}

/** Where the runner writes (injectable for tests). */
export interface CLIOptions {
  /**
   * The reactor to run: anything that runs and listens and connects as
   * endpoints do (a `Reactor`, or a `MemoryReactor` in tests).
   *
   * @default {the shared reactor}
   * @internal
   */
  reactor?:
    & IReactorEndpoints
    & Pick<IReactorCore, "run" | "addSystemEventTrigger" | "callWhenRunning">;
  /** Writes a line to stdout. @default {a line to Deno.stdout} */
  stdout?: (line: string) => void;
  /** Writes a line to stderr. @default {a line to Deno.stderr} */
  stderr?: (line: string) => void;
}

const encoder = new TextEncoder();
const writeLine =
  (stream: { writeSync(p: Uint8Array): number }) => (line: string): void => {
    stream.writeSync(encoder.encode(line + "\n"));
  };

function stringOption(
  args: Record<string, unknown>,
  name: string,
): string | undefined {
  const v = args[name];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v === "") {
    throw new UsageError(`--${name} needs a value`);
  }
  return v;
}

/**
 * Why the runner may not reach `destination` (an endpoint with a `host` and
 * `port`, or a `path`), or `undefined` if it may: the message names the flag.
 */
function destinationDenied(destination: unknown): string | undefined {
  const d = destination as { host?: unknown; port?: unknown; path?: unknown };
  try {
    if (typeof d.path === "string") requireUnixSocket(d.path);
    else if (typeof d.host === "string" && typeof d.port === "number") {
      requireNet(d.host, d.port);
    }
  } catch (e) {
    if (!isNotCapable(e)) throw e;
    return (e as Error).message.replace(/^Requires/, "requires");
  }
  return undefined;
}

/** Whether `value` is a service: it can be started and stopped. */
function isService(value: unknown): value is IService {
  const s = value as Partial<IService> | null;
  return typeof s === "object" && s !== null &&
    typeof s.startService === "function" &&
    typeof s.stopService === "function";
}

async function loadFactory(
  module: string,
): Promise<IProtocolFactory | IService> {
  const url = /^[a-z][a-z0-9+.-]*:/i.test(module)
    ? module
    : new URL(module, `file://${Deno.cwd()}/`).href;
  if (url.startsWith("file:")) {
    const path = decodeURIComponent(new URL(url).pathname);
    if (!isGranted({ name: "read", path })) { // Never Deno's prompt.
      throw new UsageError(
        `Cannot import "${module}": run again with --allow-read=${path}`,
      );
    }
  }
  let loaded: { default?: unknown };
  try {
    loaded = await import(url);
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) {
      throw new UsageError(
        `Cannot import "${module}": ${
          (e as Error).message.replace(/, run again.*$/, "")
        }: add --allow-read`,
      );
    }
    throw new UsageError(
      `Cannot import "${module}": ${(e as Error).message.split("\n")[0]}`,
    );
  }
  const d = loaded.default;
  if (isService(d)) return d;
  const factory = servable(d);
  if (factory) return factory;
  throw new UsageError(
    `"${module}" must export by default a Factory (with buildProtocol), a Protocol class (with makeConnection) or a service (with startService), not ${
      describeExport(d)
    }`,
  );
}

/**
 * The factory `twist serve` serves, checked at start-up rather than at the
 * first connection: a Factory, or a Protocol class (a service is recognised
 * before, by `isService`).
 */
function servable(d: unknown): IProtocolFactory | undefined {
  if (
    d !== null && typeof d === "object" &&
    typeof (d as IProtocolFactory).buildProtocol === "function"
  ) {
    return d as IProtocolFactory;
  }
  if (
    typeof d === "function" &&
    typeof (d as { prototype?: { makeConnection?: unknown } }).prototype
        ?.makeConnection === "function"
  ) {
    return Factory.forProtocol(d as ProtocolClass);
  }
  return undefined;
}

function describeExport(d: unknown): string {
  if (d === undefined) return "nothing (no default export)";
  if (typeof d === "function") return `the function ${d.name || "(anonymous)"}`;
  if (d === null) return "null";
  return typeof d === "object" ? "an object without buildProtocol" : typeof d;
}

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/**
 * Runs the `twist` command line `argv`; resolves with the exit code once the
 * server has stopped (0 after SIGINT/SIGTERM, 1 if it could not start, 2 for
 * a bad command line).
 *
 * @example Calling `main`
 * ```ts
 * import { main } from "@twist/twist/cli";
 * import { assertEquals } from "@std/assert";
 *
 * const lines: string[] = [];
 * assertEquals(await main(["--version"], { stdout: (l) => lines.push(l) }), 0);
 * assertEquals(lines, ["twist 0.1.0"]);
 * ```
 */
export async function main(
  argv: string[],
  options?: CLIOptions,
): Promise<number> {
  options ??= {};
  const out = options.stdout ?? writeLine(Deno.stdout);
  const err = options.stderr ?? writeLine(Deno.stderr);
  const reactor = options.reactor ?? defaultReactor;
  let closeLog: (() => void) | undefined;
  let unknown: string | undefined;
  const args = parseArgs(argv, {
    boolean: ["help", "version", "quiet"],
    string: [
      "listen",
      "dest",
      "log-format",
      "log-level",
      "log-file",
      "workers",
    ],
    collect: ["listen"],
    alias: { h: "help" },
    unknown: (arg: string) => {
      if (arg.startsWith("-")) {
        unknown ??= arg;
        return false;
      }
      return true;
    },
  });
  try {
    if (unknown) {
      throw new UsageError(`Unknown option "${unknown}" (see --help)`);
    }
    const [command, ...rest] = args._.map(String);
    if (args.version) {
      out(`twist ${VERSION}`);
      return 0;
    }
    if (!command) {
      if (args.help) {
        out(RUNNER_HELP);
        return 0;
      }
      throw new UsageError("Missing the command (see --help)");
    }
    if (
      !(command in WIRE) && command !== "portforward" && command !== "serve"
    ) {
      throw new UsageError(`Unknown command "${command}" (see --help)`);
    }
    if (args.help) {
      out(commandHelp(command));
      return 0;
    }
    const format = stringOption(args, "log-format") ?? "text";
    if (format !== "text" && format !== "json") {
      throw new UsageError(
        `Invalid --log-format "${format}": expected "text" or "json"`,
      );
    }
    const levelOption = stringOption(args, "log-level");
    if (levelOption !== undefined && args.quiet) {
      throw new UsageError("Use --quiet or --log-level, not both");
    }
    const level = (levelOption ?? (args.quiet ? "error" : "info")) as LogLevel;
    if (!LOG_LEVELS.includes(level)) {
      throw new UsageError(
        `Invalid --log-level "${level}": expected ${LOG_LEVELS.join(", ")}`,
      );
    }
    const logFile = stringOption(args, "log-file");
    if ((args.listen as string[]).includes("")) {
      throw new UsageError(
        "--listen needs a value: an endpoint such as tcp:8000",
      );
    }
    const workers = workersOption(args.workers, command);
    const listens = (args.listen as string[]).length > 0
      ? (args.listen as string[])
      : ["tcp:8000"];
    const endpoints: IStreamServerEndpoint[] = listens.map((d) =>
      serverFromString(reactor, d)
    );
    let factory: IProtocolFactory | undefined;
    let service: IService | undefined;
    if (command in WIRE) {
      if (rest.length > 0) {
        throw new UsageError(`Unexpected argument "${rest[0]}"`);
      }
      factory = Factory.forProtocol(WIRE[command][0]);
    } else if (command === "portforward") {
      if (rest.length > 0) {
        throw new UsageError(`Unexpected argument "${rest[0]}"`);
      }
      const dest = stringOption(args, "dest");
      if (!dest) throw new UsageError("portforward needs --dest ENDPOINT");
      const destination = clientFromString(reactor, dest);
      // Checked now, not at the first connection: never Deno's prompt.
      const denied = destinationDenied(destination);
      if (denied) {
        err(`twist: Cannot forward to "${dest}": ${denied}`);
        return 1;
      }
      factory = new ProxyFactory(destination);
    } else {
      if (rest.length !== 1) {
        throw new UsageError("serve needs exactly one MODULE");
      }
      const served = await loadFactory(rest[0]);
      if (isService(served)) {
        if ((args.listen as string[]).length > 0) {
          throw new UsageError(
            `"${
              rest[0]
            }" exports a service, which says where it listens: drop --listen`,
          );
        }
        service = served;
      } else factory = served;
    }
    // Logging: replace the default observer.
    const logTo = logFile === undefined ? { write: err } : openLog(logFile);
    if (typeof logTo === "string") {
      err(`twist: ${logTo}`);
      return 1;
    }
    closeLog = logTo.close;
    for (const observer of [...log.observers]) log.removeObserver(observer);
    const min = LOG_LEVELS.indexOf(level);
    log.addObserver((event: LogEvent) => {
      if (LOG_LEVELS.indexOf(event.level) < min) return;
      if (format === "json") {
        const { failure, ...rest } = event;
        logTo.write(
          JSON.stringify({
            ...rest,
            time: new Date(event.time).toISOString(),
            ...(failure ? { traceback: failure.getTraceback() } : {}),
          }),
        );
      } else {
        logTo.write(formatEvent(event));
      }
    });
    if (workers !== undefined) {
      return await serveWorkers(rest[0], {
        workers,
        listen: listens,
        reactor,
        err,
      });
    }
    if (service) {
      // As Twisted's twist runs an application: start it now, stop it (and
      // wait for it) before the reactor shuts down.
      try {
        service.privilegedStartService();
        service.startService();
      } catch (e) {
        err(`twist: ${(e as Error).message}`);
        return 1;
      }
      reactor.addSystemEventTrigger(
        "before",
        "shutdown",
        () => service.stopService(),
      );
      reactor.callWhenRunning(() => log.msg(`serve started ${rest[0]}`));
    }
    for (const [i, endpoint] of factory ? endpoints.entries() : []) {
      try {
        const port = await endpoint.listen(factory!);
        // Said once the reactor runs, so that its SIGINT/SIGTERM handlers
        // are in place when a script that waits for this line signals it.
        reactor.callWhenRunning(() =>
          log.msg(`${command} listening on ${listens[i]} (${port.getHost()})`)
        );
      } catch (e) {
        err(`twist: ${(e as Error).message}`);
        return 1;
      }
    }
    await reactor.run();
    return 0;
  } catch (e) {
    if (e instanceof UsageError || e instanceof TypeError) {
      err(`twist: ${e.message}`);
      return 2;
    }
    throw e;
  } finally {
    closeLog?.();
  }
}

/** Opens `path` for the log (appending; `-` is stdout), or says why not. */
function openLog(
  path: string,
): { write(line: string): void; close?(): void } | string {
  if (path === "-") return { write: writeLine(Deno.stdout) };
  const denied =
    `Cannot open the log file "${path}": run again with --allow-write=${path}`;
  // Queried first: the runner never makes Deno prompt.
  if (Deno.permissions.querySync({ name: "write", path }).state !== "granted") {
    return denied;
  }
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { append: true, create: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) return denied;
    return `Cannot open the log file "${path}": ${(e as Error).message}`;
  }
  return { write: writeLine(file), close: () => file.close() };
}

if (import.meta.main) Deno.exit(await main(Deno.args));
