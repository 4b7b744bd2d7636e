/**
 * AMP, the Asynchronous Messaging Protocol (`twisted.protocols.amp`),
 * byte-compatible with Python Twisted: typed remote calls over any stream
 * transport, to and from Twisted services and the other AMP implementations.
 *
 * Declare a {@linkcode Command} with its typed `arguments`, `response` and
 * `errors`; answer it with a `@Cmd.responder` method on an {@linkcode AMP}
 * subclass (or `registerResponder`); call it with `callRemote`, whose
 * argument and result types come from the declaration.
 *
 * Argument types: {@linkcode Integer} (a safe-integer `number`),
 * {@linkcode BigInteger} (a `bigint`), {@linkcode Float}, {@linkcode Boolean},
 * {@linkcode Unicode}, {@linkcode Bytes} (also exported as `String`, Twisted's
 * name), {@linkcode ListOf}, {@linkcode AmpList}, {@linkcode DateTime} (a
 * `Temporal.ZonedDateTime`), {@linkcode Decimal} (its text), {@linkcode Path};
 * any takes `{ optional: true }`. Twisted's `Descriptor` (passing file
 * descriptors over a UNIX socket) has no Deno equivalent and is not provided.
 *
 * @example A server and a client in memory
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { connectedServerAndClient } from "@twist/twist/testing";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * class ZeroDivision extends Error {}
 * class Divide extends amp.Command {
 *   static override arguments = { numerator: new amp.Integer(), denominator: new amp.Integer() };
 *   static override response = { result: new amp.Float() };
 *   static override errors = new Map([[ZeroDivision, "ZERO_DIVISION"]]);
 * }
 * class Calculator extends amp.AMP {
 *   @Divide.responder
 *   divide({ numerator, denominator }: { numerator: number; denominator: number }) {
 *     if (denominator === 0) throw new ZeroDivision("division by zero");
 *     return { result: numerator / denominator };
 *   }
 * }
 * const { client, pump } = connectedServerAndClient(Calculator, amp.AMP);
 * const half = client.callRemote(Divide, { numerator: 1, denominator: 2 });
 * const boom = client.callRemote(Divide, { numerator: 1, denominator: 0 });
 * pump.flush();
 * assertEquals((await half).result, 0.5);
 * await assertRejects(() => boom.asPromise(), ZeroDivision, "division by zero");
 * ```
 *
 * @module
 */
export * from "./amp/_errors.ts";
export {
  AmpBox,
  type IBoxSender,
  MAX_KEY_LENGTH,
  MAX_VALUE_LENGTH,
  parseString,
  QuitBox,
} from "./amp/_box.ts";
export {
  AmpList,
  type AnyArgument,
  Argument,
  type ArgumentOptions,
  type ArgumentsIn,
  type ArgumentsOut,
  type ArgumentSpec,
  BigInteger,
  Boolean,
  Bytes,
  Bytes as String,
  DateTime,
  Decimal,
  Float,
  type InOf,
  Integer,
  ListOf,
  type OutOf,
  Path,
  pythonFloatRepr,
  Unicode,
} from "./amp/_arguments.ts";
export {
  type CallArguments,
  type CallResult,
  Command,
  type CommandClass,
  commandNameOf,
  type ICommandSender,
  type ResponderDecorator,
  type ResponderFunction,
  type ResponderResult,
  type ResponseIn,
} from "./amp/_command.ts";
export {
  AMP,
  type AMPOptions,
  BinaryBoxProtocol,
  BoxDispatcher,
  CommandLocator,
  type IBoxReceiver,
  type IResponderLocator,
  LocalArgument,
  ProtocolSwitchCommand,
  type Responder,
  StartTLS,
  type TLSCertificate,
} from "./amp/_protocol.ts";

// The core types this entry point's signatures mention, re-exported as types
// only (the values live in the root module), so that it is documented on its
// own.
export type * from "../internet/common/entry_types.ts";
