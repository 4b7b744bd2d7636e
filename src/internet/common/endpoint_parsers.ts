/**
 * The endpoint types that `serverFromString` learns at run time, as Twisted
 * finds `IStreamServerEndpointStringParser` plugins: a module above the core
 * (the PROXY protocol's, say) registers a parser for its prefix when it is
 * imported, and `serverFromString(reactor, "haproxy:tcp:8080")` hands the
 * fields after the prefix to it. The core never imports the modules that
 * register.
 *
 * This file loads no transport, so a protocol module can register without
 * loading `endpoints.ts` and the transports behind it; `endpoints.ts`
 * installs `serverFromString` here when it is loaded, for parsers that wrap
 * another endpoint (`haproxy:` parses the `tcp:8080` after it).
 *
 * @module
 */
import type { IReactorEndpoints, IStreamServerEndpoint } from "../endpoints.ts";

/**
 * A parser for one type of server endpoint description, found by its
 * `prefix` (Twisted's `IStreamServerEndpointStringParser`). Register it with
 * `registerServerEndpointParser`; `serverFromString` calls it for
 * descriptions that start with `prefix:` and are not one of its own types
 * (`tcp`, `unix`... cannot be replaced).
 *
 * @example A "loopback:PORT" type
 * ```ts
 * import {
 *   type IStreamServerEndpointStringParser,
 *   Reactor,
 *   registerServerEndpointParser,
 *   serverFromString,
 *   TCP4ServerEndpoint,
 * } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * const loopback: IStreamServerEndpointStringParser = {
 *   prefix: "loopback",
 *   parseStreamServer: (reactor, args) =>
 *     new TCP4ServerEndpoint(reactor, Number(args[0]), { interface: "127.0.0.1" }),
 * };
 * registerServerEndpointParser(loopback);
 * assert(serverFromString(new Reactor(), "loopback:8080") instanceof TCP4ServerEndpoint);
 * ```
 */
export interface IStreamServerEndpointStringParser {
  /** The endpoint type this parser makes, as it starts a description (`"haproxy"`). */
  readonly prefix: string;
  /**
   * Makes the endpoint from the description's fields after the prefix.
   *
   * @param reactor The reactor `serverFromString` was given.
   * @param args The positional fields (`["tcp", "8080"]` for `haproxy:tcp:8080`).
   * @param kwargs The `key=value` fields.
   * @throws {TypeError} for fields it cannot use, naming the problem
   */
  parseStreamServer(
    reactor: IReactorEndpoints,
    args: string[],
    kwargs: Record<string, string>,
  ): IStreamServerEndpoint;
}

const parsers = new Map<string, IStreamServerEndpointStringParser>();

/**
 * Teaches `serverFromString` the endpoint type `parser.prefix` (Twisted finds
 * such parsers as plugins; here the module that defines one registers it).
 * Registering a prefix again replaces its parser. Twist's own types (`tcp`,
 * `tcp6`, `unix`, `ssl`...) are always parsed by `serverFromString` itself.
 *
 * @throws {TypeError} if the prefix is empty or contains `:` or `\`
 *
 * @example
 * ```ts
 * import { Reactor, registerServerEndpointParser, serverFromString, TCP4ServerEndpoint } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * registerServerEndpointParser({
 *   prefix: "local",
 *   parseStreamServer: (reactor, args) =>
 *     new TCP4ServerEndpoint(reactor, Number(args[0]), { interface: "127.0.0.1" }),
 * });
 * const endpoint = serverFromString(new Reactor(), "local:8080") as TCP4ServerEndpoint;
 * assertEquals(endpoint.options.interface, "127.0.0.1");
 * ```
 */
export function registerServerEndpointParser(
  parser: IStreamServerEndpointStringParser,
): void {
  const prefix = parser?.prefix;
  if (typeof prefix !== "string" || prefix === "" || /[:\\]/.test(prefix)) {
    throw new TypeError(
      `Invalid endpoint parser prefix "${prefix}": expected a name such as "haproxy", without ":" or "\\"`,
    );
  }
  parsers.set(prefix, parser);
}

/** The parser registered for `prefix`, if any. */
export function serverEndpointParser(
  prefix: string,
): IStreamServerEndpointStringParser | undefined {
  return parsers.get(prefix);
}

/** The prefixes registered so far, in the order they were first registered. */
export function serverEndpointPrefixes(): string[] {
  return [...parsers.keys()];
}

type ServerFromString = (
  reactor: IReactorEndpoints,
  description: string,
) => IStreamServerEndpoint;

let installed: ServerFromString | undefined;

/** Makes `f` the `serverFromString` of `nestedServerFromString`; `endpoints.ts` calls it once, when loaded. */
export function installServerFromString(f: ServerFromString): void {
  installed = f;
}

/**
 * `serverFromString`, for a parser that wraps another endpoint. Parsers run
 * only inside `serverFromString`, so `endpoints.ts` is loaded by then.
 *
 * @throws {Error} if `endpoints.ts` was never loaded
 */
export function nestedServerFromString(
  reactor: IReactorEndpoints,
  description: string,
): IStreamServerEndpoint {
  if (installed === undefined) {
    throw new Error(
      'No serverFromString: import it from "@twist/twist" to parse endpoint descriptions',
    );
  }
  return installed(reactor, description);
}
