/**
 * The errors of AMP (`twisted.protocols.amp`'s exception classes).
 *
 * @module
 */
import type { Failure } from "../../internet/failure.ts";

/**
 * The base class of AMP's own errors.
 *
 * @example Every AMP error is an AmpError
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assert } from "@std/assert";
 *
 * assert(new amp.NoEmptyBoxes() instanceof amp.AmpError);
 * ```
 */
export class AmpError extends Error {
  /** The error's name. */
  override name = "AmpError";
}

/**
 * A box was sent on a connection that has switched to another protocol
 * (`ProtocolSwitchCommand`): no AMP traffic is allowed any more.
 *
 * @example Using `ProtocolSwitched`
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new amp.ProtocolSwitched().name, "ProtocolSwitched");
 * ```
 */
export class ProtocolSwitched extends Error {
  /** The error's name. */
  override name = "ProtocolSwitched";
}

/**
 * TLS may be started only once per connection.
 *
 * @example Using `OnlyOneTLS`
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new amp.OnlyOneTLS().name, "OnlyOneTLS");
 * ```
 */
export class OnlyOneTLS extends AmpError {
  /** The error's name. */
  override name = "OnlyOneTLS";
}

/**
 * An empty box (or one that is neither a command nor an answer) was received,
 * or `sendBox` was asked to send an empty one.
 *
 * @example Using `NoEmptyBoxes`
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new amp.NoEmptyBoxes().name, "NoEmptyBoxes");
 * ```
 */
export class NoEmptyBoxes extends AmpError {
  /** The error's name. */
  override name = "NoEmptyBoxes";
}

/**
 * `callRemote` was given a missing or unknown argument.
 *
 * @example Using `InvalidSignature`
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new amp.InvalidSignature("forgot a for Sum").message, "forgot a for Sum");
 * ```
 */
export class InvalidSignature extends AmpError {
  /** The error's name. */
  override name = "InvalidSignature";
}

/**
 * A key or a value is longer than AMP allows: keys are 1–255 bytes, values
 * at most 65,535.
 *
 * @example A key that is too long to send
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * const box = new amp.AmpBox({ ["k".repeat(256)]: "v" });
 * const e = assertThrows(() => box.serialize(), amp.TooLong);
 * assertEquals(e.isKey, true);
 * ```
 */
export class TooLong extends AmpError {
  /** The error's name. */
  override name = "TooLong";
  /** Whether the string was a key (or else a value). */
  readonly isKey: boolean;
  /** Whether it was encoded here (or else received). */
  readonly isLocal: boolean;
  /** The string that was too long, when it is known. */
  readonly value: Uint8Array | undefined;
  /** For a value, the key it was encoded for. */
  readonly keyName: string | undefined;

  /**
   * Creates the error.
   *
   * @param isKey whether the string was a key
   * @param isLocal whether it was encoded here
   * @param value the string, when known
   * @param keyName for a value, its key
   */
  constructor(
    isKey: boolean,
    isLocal: boolean,
    value?: Uint8Array,
    keyName?: string,
  ) {
    const what = isKey ? "key" : `value ${JSON.stringify(keyName)}`;
    super(
      `${isLocal ? "Local" : "Remote"} ${what} too long${
        value === undefined ? "" : `: ${value.length} bytes`
      }`,
    );
    this.isKey = isKey;
    this.isLocal = isLocal;
    this.value = value;
    this.keyName = keyName;
  }
}

/**
 * A responder returned a value its command's response cannot encode.
 *
 * @example Using `BadLocalReturn`
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new amp.BadLocalReturn("oops").name, "BadLocalReturn");
 * ```
 */
export class BadLocalReturn extends AmpError {
  /** The error's name. */
  override name = "BadLocalReturn";
}

/** Options of {@linkcode RemoteAmpError}. */
export interface RemoteAmpErrorOptions extends ErrorOptions {
  /** Whether the connection is closed after the error is sent. @default {false} */
  fatal?: boolean;
  /** The local failure this error stands for, if any. */
  local?: Failure;
}

/**
 * An error the peer reported (an `_error` box), or one about to be reported
 * to it: an error code and a description.
 *
 * @example Using `RemoteAmpError`
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assertEquals } from "@std/assert";
 *
 * const e = new amp.RemoteAmpError("NOPE", "not today");
 * assertEquals([e.errorCode, e.description, e.message], ["NOPE", "not today", "Code<NOPE>: not today"]);
 * ```
 */
export class RemoteAmpError extends AmpError {
  /** The error's name. */
  override name = "RemoteAmpError";
  /** The AMP error code (`_error_code`). */
  readonly errorCode: string;
  /** The text sent with it (`_error_description`). */
  readonly description: string;
  /** Whether the connection is closed after it is sent. */
  readonly fatal: boolean;
  /** The local failure it stands for, if any. */
  readonly local: Failure | undefined;

  /**
   * Creates the error.
   *
   * @param errorCode the AMP error code
   * @param description the text shown to the user
   * @param options whether it is fatal, and the local failure
   */
  constructor(
    errorCode: string,
    description: string,
    options?: RemoteAmpErrorOptions,
  ) {
    options ??= {};
    super(
      `Code<${errorCode}>${options.local ? " (local)" : ""}: ${description}`,
      options,
    );
    this.errorCode = errorCode;
    this.description = description;
    this.fatal = options.fatal ?? false;
    this.local = options.local;
  }
}

/**
 * The peer reported an error whose code the command does not declare
 * (Twisted's `UNKNOWN` errors, and any other undeclared code).
 *
 * @example Using `UnknownRemoteError`
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assertEquals } from "@std/assert";
 *
 * const e = new amp.UnknownRemoteError("Unknown Error");
 * assertEquals(e.errorCode, "UNKNOWN");
 * ```
 */
export class UnknownRemoteError extends RemoteAmpError {
  /** The error's name. */
  override name = "UnknownRemoteError";

  /**
   * Creates the error.
   *
   * @param description the peer's description
   * @param errorCode the code the peer sent
   */
  constructor(description: string, errorCode?: string) {
    errorCode ??= "UNKNOWN";
    super(errorCode, description);
  }
}

/**
 * The peer has no responder for the command (Twisted's `UNHANDLED` code).
 *
 * @example Using `UnhandledCommand`
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assertEquals } from "@std/assert";
 *
 * const e = new amp.UnhandledCommand("Unhandled Command: b'Nope'");
 * assertEquals(e.errorCode, "UNHANDLED");
 * ```
 */
export class UnhandledCommand extends RemoteAmpError {
  /** The error's name. */
  override name = "UnhandledCommand";

  /**
   * Creates the error.
   *
   * @param description the peer's description
   */
  constructor(description?: string) {
    description ??= "Unhandled Command";
    super("UNHANDLED", description);
  }
}

/**
 * The bytes received are not a well-formed AMP box (for example the
 * connection ended in the middle of one, or an answer names no request).
 *
 * @example Using `MalformedAmpBox`
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assertThrows } from "@std/assert";
 *
 * assertThrows(() => amp.parseString(new Uint8Array([0, 1, 97])), amp.MalformedAmpBox);
 * ```
 */
export class MalformedAmpBox extends AmpError {
  /** The error's name. */
  override name = "MalformedAmpBox";
}

/**
 * No version of the protocol both ends speak could be agreed on.
 *
 * @example Using `IncompatibleVersions`
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new amp.IncompatibleVersions().name, "IncompatibleVersions");
 * ```
 */
export class IncompatibleVersions extends AmpError {
  /** The error's name. */
  override name = "IncompatibleVersions";
}
