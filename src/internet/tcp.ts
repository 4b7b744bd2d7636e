/**
 * TCP: listening ports and connectors over `Deno.listen` / `Deno.connect`.
 *
 * STUB — being implemented (helper "tcp").
 *
 * @module
 */
import type {
  ConnectTCPOptions,
  IConnector,
  IListeningPort,
  IProtocolFactory,
  ListenTCPOptions,
} from "./interfaces.ts";
import type { ReactorBase } from "./base.ts";

/** Listens on `port` for `reactor`; what `reactor.listenTCP` calls. */
export function listenTCP(
  _reactor: ReactorBase,
  _port: number,
  _factory: IProtocolFactory,
  _options: ListenTCPOptions = {},
): IListeningPort {
  throw new Error("listenTCP is not implemented yet");
}

/** Connects to `host:port` for `reactor`; what `reactor.connectTCP` calls. */
export function connectTCP(
  _reactor: ReactorBase,
  _host: string,
  _port: number,
  _factory: IProtocolFactory,
  _options: ConnectTCPOptions = {},
): IConnector {
  throw new Error("connectTCP is not implemented yet");
}
