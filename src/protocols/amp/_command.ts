/**
 * `Command`: the declaration of a remote call, its arguments, response and
 * errors (`twisted.protocols.amp.Command`), and the types `callRemote` and
 * responders are checked against.
 *
 * @module
 */
import { type Deferred, fail } from "../../internet/defer.ts";
import { Failure } from "../../internet/failure.ts";
import type { ErrorClass } from "../../internet/failure.ts";
import type { IProtocol, IProtocolFactory } from "../../internet/interfaces.ts";
import { AmpBox } from "./_box.ts";
import {
  type ArgumentsIn,
  type ArgumentsOut,
  type ArgumentSpec,
  boxToObjects,
  objectsToBox,
} from "./_arguments.ts";
import {
  RemoteAmpError,
  UnhandledCommand,
  UnknownRemoteError,
} from "./_errors.ts";

/** Any command class. */
export type CommandClass = typeof Command;

/** What a responder to `C` returns: the response's values (or, for a protocol switch, the new protocol). */
export type ResponseIn<C extends CommandClass> = C extends
  { readonly switchesProtocol: true } ? IProtocol
  : ArgumentsIn<C["response"]>;

/** What a responder to `C` may return: its response, or a Promise or Deferred of it. */
export type ResponderResult<C extends CommandClass> =
  | ResponseIn<C>
  | PromiseLike<ResponseIn<C>>;

/** A responder to `C`: called with the parsed arguments, `this` is the locator. */
export type ResponderFunction<C extends CommandClass> = (
  // deno-lint-ignore no-explicit-any
  this: any,
  args: ArgumentsOut<C["arguments"]>,
) => ResponderResult<C>;

/** What `callRemote(C, ...)` returns: a Deferred of the response, or nothing for a command that needs no answer. */
export type CallResult<C extends CommandClass> = C extends
  { readonly requiresAnswer: false } ? undefined
  : Deferred<ArgumentsOut<C["response"]>>;

/** The arguments after the command in `callRemote(C, ...)`. */
export type CallArguments<C extends CommandClass> = [
  ...(string extends keyof C["arguments"] ? [args?: ArgumentsIn<C["arguments"]>]
    : {
      [K in keyof C["arguments"]]: C["arguments"][K] extends
        { readonly optional: true } ? never : K;
    }[keyof C["arguments"]] extends never ? [args?: ArgumentsIn<C["arguments"]>]
    : [args: ArgumentsIn<C["arguments"]>]),
  ...(C extends { readonly switchesProtocol: true }
    ? [factory: IProtocolFactory]
    : []),
];

/** A standard (TC39) method decorator registering the method as a responder. */
export type ResponderDecorator = <C extends CommandClass>(
  this: C,
  method: ResponderFunction<C>,
  context: ClassMethodDecoratorContext,
) => void;

/** Something commands are sent through (an `AMP` connection, a `BoxDispatcher`). */
export interface ICommandSender {
  /**
   * Sends a command box (adding `_command` and, when an answer is wanted,
   * `_ask`) and returns a Deferred of the answer box.
   */
  callRemoteString(
    command: string,
    box?: AmpBox | Record<string, Uint8Array | string>,
    options?: { requiresAnswer?: boolean },
  ): Deferred<AmpBox> | undefined;
}

/** What is computed once per command class. */
interface CommandInfo {
  name: string;
  /** Every declared error class (inherited ones too), with its code. */
  allErrors: Map<ErrorClass, string>;
  /** Code to class. */
  reverseErrors: Map<string, ErrorClass>;
  fatal: Set<ErrorClass>;
}

const infos = new WeakMap<object, CommandInfo>();

/** The name, errors and fatal errors of `command`, inherited ones included. */
export function commandInfo(command: CommandClass): CommandInfo {
  let info = infos.get(command);
  if (info !== undefined) return info;
  const chain: CommandClass[] = [];
  for (
    let c: unknown = command;
    typeof c === "function" && c !== Function.prototype;
    c = Object.getPrototypeOf(c)
  ) {
    chain.unshift(c as CommandClass);
    if (c === Command) break;
  }
  const allErrors = new Map<ErrorClass, string>();
  const reverseErrors = new Map<string, ErrorClass>();
  const fatal = new Set<ErrorClass>();
  for (const c of chain) {
    for (
      const [field, isFatal] of [["errors", false], [
        "fatalErrors",
        true,
      ]] as const
    ) {
      if (!Object.hasOwn(c, field)) continue;
      const declared = c[field];
      for (const [cls, code] of declared ?? []) {
        if (typeof code !== "string") {
          throw new TypeError(
            `Invalid error code for ${cls.name} in ${c.name}: expected a string, got ${typeof code}`,
          );
        }
        allErrors.set(cls, code);
        reverseErrors.set(code, cls);
        if (isFatal) fatal.add(cls);
        else fatal.delete(cls);
      }
    }
  }
  const name = Object.hasOwn(command, "commandName") &&
      command.commandName !== undefined
    ? command.commandName
    : command.name;
  if (typeof name !== "string" || name.length === 0) {
    throw new TypeError(`Invalid AMP command name ${JSON.stringify(name)}`);
  }
  info = { name, allErrors, reverseErrors, fatal };
  infos.set(command, info);
  return info;
}

/**
 * The wire name of `command`: its own `commandName`, or else its class name
 * (so a subclass of a named command gets its own class name, as in Twisted).
 *
 * @param command the command class
 * @returns the name sent as `_command`
 *
 * @example Calling `commandNameOf`
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assertEquals } from "@std/assert";
 *
 * class Sum extends amp.Command {}
 * class Named extends amp.Command {
 *   static override commandName = "named-one";
 * }
 * assertEquals([amp.commandNameOf(Sum), amp.commandNameOf(Named)], ["Sum", "named-one"]);
 * ```
 */
export function commandNameOf(command: CommandClass): string {
  return commandInfo(command).name;
}

/**
 * Maps an error a responder threw to the `RemoteAmpError` its command
 * declares for it, or returns it unchanged (Twisted's `checkKnownErrors`).
 */
export function knownError(command: CommandClass, error: unknown): unknown {
  if (error instanceof RemoteAmpError) return error;
  const info = commandInfo(command);
  for (const [cls, code] of info.allErrors) {
    if (error instanceof cls) {
      const description = error instanceof Error
        ? error.message
        : String(error);
      return new RemoteAmpError(code, description, {
        fatal: info.fatal.has(cls),
        local: new Failure(error),
      });
    }
  }
  return error;
}

/**
 * Turns a remote error into what the caller of `command` sees: the class the
 * command declares for its code, or `UnknownRemoteError` (Twisted's
 * `_massageError`). Other failures pass through.
 */
function massageError(command: CommandClass, failure: Failure): Failure {
  const e = failure.value;
  if (!(e instanceof RemoteAmpError) || e instanceof UnhandledCommand) {
    return failure;
  }
  const cls = commandInfo(command).reverseErrors.get(e.errorCode);
  if (cls !== undefined) {
    const made = new (cls as new (message: string) => unknown)(e.description);
    return new Failure(made);
  }
  if (e instanceof UnknownRemoteError) return failure;
  return new Failure(new UnknownRemoteError(e.description, e.errorCode));
}

/**
 * The declaration of a remote call (Twisted's `Command`). Subclass it and
 * declare, as static fields:
 * - `arguments`: names to argument types (`{ a: new amp.Integer() }`);
 * - `response`: the same for the answer;
 * - `errors`: a `Map` from error classes to codes (the caller gets an
 *   instance of the class, with the remote description as its message);
 * - `fatalErrors`: the same, but the connection is closed after the answer;
 * - `requiresAnswer`: `false` sends no `_ask` and gives nothing to wait for
 *   (declare it `static override readonly requiresAnswer = false;` so the
 *   type of `callRemote` knows);
 * - `commandName`: the wire name, by default the class name.
 *
 * Errors and fatal errors are inherited by subclasses. Register responders
 * with the `@Cmd.responder` method decorator or `registerResponder`.
 *
 * @example Declaring commands
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assertEquals } from "@std/assert";
 *
 * class ZeroDivision extends Error {}
 * class Divide extends amp.Command {
 *   static override arguments = { numerator: new amp.Integer(), denominator: new amp.Integer() };
 *   static override response = { result: new amp.Float() };
 *   static override errors = new Map([[ZeroDivision, "ZERO_DIVISION"]]);
 * }
 * const box = Divide.makeArguments({ numerator: 1, denominator: 2 });
 * assertEquals(box.getText("denominator"), "2");
 * assertEquals(Divide.parseArguments(box), { numerator: 1, denominator: 2 });
 * ```
 */
export class Command {
  /** The arguments: names to argument types. */
  static arguments: ArgumentSpec = {};
  /** The response: names to argument types. */
  static response: ArgumentSpec = {};
  /** Error classes a responder may throw, with the code each is sent as. */
  static errors: ReadonlyMap<ErrorClass, string> | undefined = undefined;
  /** Like `errors`, but the connection is closed after the error is sent. */
  static fatalErrors: ReadonlyMap<ErrorClass, string> | undefined = undefined;
  /** Whether the caller waits for an answer. @default {true} */
  static readonly requiresAnswer: boolean = true;
  /** Whether the command switches the connection to another protocol. */
  static readonly switchesProtocol: boolean = false;
  /** The wire name (by default the class name). */
  static commandName: string | undefined = undefined;

  /**
   * A standard method decorator: `@Sum.responder` makes the method the
   * responder to `Sum` on instances of its class (an `AMP` or
   * `CommandLocator` subclass) and of their subclasses. The method is called
   * with the parsed arguments and `this` set to the instance.
   *
   * @example Declaring a responder with `Command.responder`
   * ```ts
   * import * as amp from "@twist/twist/protocols/amp";
   * import { assertExists } from "@std/assert";
   *
   * class Sum extends amp.Command {
   *   static override arguments = { a: new amp.Integer(), b: new amp.Integer() };
   *   static override response = { total: new amp.Integer() };
   * }
   * class Adder extends amp.CommandLocator {
   *   @Sum.responder
   *   sum({ a, b }: { a: number; b: number }) {
   *     return { total: a + b };
   *   }
   * }
   * assertExists(new Adder().locateResponder("Sum"));
   * ```
   */
  declare static readonly responder: ResponderDecorator;

  static {
    Object.defineProperty(Command, "responder", {
      get(
        this: CommandClass,
      ): (
        method: ResponderFunction<CommandClass>,
        context: ClassMethodDecoratorContext,
      ) => void {
        // deno-lint-ignore no-this-alias
        const command = this;
        return (method, context) => {
          if (context.kind !== "method" || context.static) {
            throw new TypeError(
              `@${command.name}.responder decorates instance methods only`,
            );
          }
          context.addInitializer(function (this: unknown) {
            const locator = this as {
              registerResponder?: (c: CommandClass, f: typeof method) => void;
            };
            if (typeof locator.registerResponder !== "function") {
              throw new TypeError(
                `@${command.name}.responder is on a method of ${
                  (this as object).constructor.name
                }, which is not an AMP or a CommandLocator`,
              );
            }
            locator.registerResponder(command, method);
          });
        };
      },
    });
  }

  /**
   * Encodes the arguments of a call (Twisted's `makeArguments`).
   *
   * @param objects the arguments
   * @param _proto the connection it is for
   * @returns the box, without `_command` and `_ask`
   * @throws {InvalidSignature} for a missing or unknown argument
   */
  static makeArguments(
    objects: Readonly<Record<string, unknown>>,
    _proto?: unknown,
  ): AmpBox {
    return objectsToBox(
      objects,
      this.arguments,
      new AmpBox(),
      commandInfo(this).name,
    );
  }

  /**
   * Parses the arguments of a received call (Twisted's `parseArguments`).
   *
   * @param box the command box
   * @param _proto the connection it came from
   * @returns the arguments
   */
  static parseArguments(
    box: AmpBox,
    _proto?: unknown,
  ): Record<string, unknown> {
    return boxToObjects(box, this.arguments);
  }

  /**
   * Encodes a responder's result (Twisted's `makeResponse`).
   *
   * @param objects the response values
   * @param _proto the connection it is for
   * @returns the answer box, without `_answer`
   */
  static makeResponse(objects: unknown, _proto?: unknown): AmpBox {
    return objectsToBox(
      objects as Record<string, unknown>,
      this.response,
      new AmpBox(),
      commandInfo(this).name,
    );
  }

  /**
   * Parses an answer (Twisted's `parseResponse`).
   *
   * @param box the answer box
   * @param _proto the connection it came from
   * @returns the response values
   */
  static parseResponse(
    box: AmpBox,
    _proto?: unknown,
  ): Record<string, unknown> {
    return boxToObjects(box, this.response);
  }

  /**
   * Sends a call of this command through `sender` (Twisted's `_doCommand`;
   * `callRemote` calls it). `StartTLS` and `ProtocolSwitchCommand` override
   * it.
   *
   * @param sender the connection
   * @param objects the arguments
   * @param _extra what follows the arguments in `callRemote`
   * @returns a Deferred of the response, or `undefined` for a command that needs no answer
   */
  static doCommand(
    sender: ICommandSender,
    objects?: Readonly<Record<string, unknown>>,
    ..._extra: unknown[]
  ): Deferred<Record<string, unknown>> | undefined {
    objects ??= {};
    // deno-lint-ignore no-this-alias
    const command = this;
    let box: AmpBox;
    try {
      box = command.makeArguments(objects, sender);
    } catch (e) {
      if (!command.requiresAnswer) throw e;
      return fail(e);
    }
    const d = sender.callRemoteString(commandInfo(command).name, box, {
      requiresAnswer: command.requiresAnswer,
    });
    if (d === undefined) return undefined;
    return d.addCallbacks(
      (answer: AmpBox) => command.parseResponse(answer, sender),
      (failure: Failure) => massageError(command, failure),
    ) as Deferred<Record<string, unknown>>;
  }
}
