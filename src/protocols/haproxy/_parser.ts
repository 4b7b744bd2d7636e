/**
 * The `haproxy:` endpoint type of `serverFromString` (Twisted's
 * `HAProxyServerParser` plugin).
 *
 * @module
 */
import {
  type IStreamServerEndpointStringParser,
  nestedServerFromString,
} from "../../internet/common/endpoint_parsers.ts";
import type {
  IReactorEndpoints,
  IStreamServerEndpoint,
} from "../../internet/endpoints.ts";
import { proxyEndpoint } from "./_wrapper.ts";

/** A field of an endpoint description, with `\`, `:` and `=` escaped. */
function quote(field: string): string {
  return field.replace(/[\\:=]/g, (c) => `\\${c}`);
}

/**
 * Writes fields back as a description, positional fields first, then the
 * `key=value` ones sorted by key (as Twisted's `unparseEndpoint`).
 */
export function unparseEndpoint(
  args: string[],
  kwargs: Record<string, string>,
): string {
  return [
    ...args.map(quote),
    ...Object.keys(kwargs).sort().map((k) => `${quote(k)}=${quote(kwargs[k])}`),
  ].join(":");
}

/** `haproxy:ENDPOINT`: the endpoint that `ENDPOINT` describes, wrapped by `proxyEndpoint`. */
export const haproxyServerParser: IStreamServerEndpointStringParser = {
  prefix: "haproxy",
  parseStreamServer(
    reactor: IReactorEndpoints,
    args: string[],
    kwargs: Record<string, string>,
  ): IStreamServerEndpoint {
    const inner = unparseEndpoint(args, kwargs);
    const outer = `haproxy:${inner}`;
    if (args.length === 0 || args[0] === "") {
      throw new TypeError(
        `Invalid endpoint description "${outer}": missing the endpoint to wrap, as in "haproxy:tcp:8080"`,
      );
    }
    let endpoint: IStreamServerEndpoint;
    try {
      endpoint = nestedServerFromString(reactor, inner);
    } catch (e) {
      if (e instanceof TypeError) {
        // Name the description the user wrote, not the part after "haproxy:".
        const prefix = `Invalid endpoint description "${inner}"`;
        if (e.message.startsWith(prefix)) {
          throw new TypeError(
            `Invalid endpoint description "${outer}"${
              e.message.slice(prefix.length)
            }`,
            { cause: e },
          );
        }
      }
      throw e;
    }
    return proxyEndpoint(endpoint);
  },
};
