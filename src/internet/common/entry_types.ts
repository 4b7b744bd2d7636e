/**
 * The core's types that the signatures of the other entry points mention
 * (`@twist/twist/protocols/*`, `/testing`, `/application`): each of those
 * re-exports them with `export type *`, so that it documents itself when
 * linted or read alone. Types only: nothing here is loaded at run time, and
 * the values live in the root module.
 *
 * @module
 */
export type {
  AddCallbacksOptions,
  CallbackReturn,
  Deferred,
} from "../defer.ts";
export type { ErrorClass, ErrorType, Failure } from "../failure.ts";
export type {
  ClientFactory,
  Factory,
  Protocol,
  ProtocolClass,
  ServerFactory,
} from "../protocol.ts";
export type {
  IStreamClientEndpoint,
  IStreamServerEndpoint,
} from "../endpoints.ts";
export type {
  ConnectTCPOptions,
  Data,
  IAddress,
  IClientFactory,
  IConnector,
  IConsumer,
  IDelayedCall,
  IListeningPort,
  IProtocol,
  IProtocolFactory,
  IPullProducer,
  IPushProducer,
  IReactorCore,
  IReactorTCP,
  IReactorTime,
  IService,
  IServiceCollection,
  ITCPTransport,
  ITransport,
  ListenTCPOptions,
  PeerCertificate,
  SystemEventType,
  TLSClientOptions,
  TLSServerOptions,
  TLSStartOptions,
  TriggerID,
  TriggerPhase,
  WriteBufferLimits,
} from "../interfaces.ts";
