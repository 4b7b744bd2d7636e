/**
 * The errors of Twist's core, named and arranged as in `twisted.internet.error`,
 * so `reason.check(ConnectionDone)` and `failure.trap(ConnectionRefusedError)`
 * read as they do in Twisted.
 *
 * @example Telling a clean close from a lost connection
 * ```ts
 * import { ConnectionDone, ConnectionLost, Failure } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * const reason = new Failure(new ConnectionDone());
 * assert(reason.check(ConnectionDone));
 * assert(!reason.check(ConnectionLost));
 * ```
 *
 * @module
 */
import type { IAddress } from "./interfaces.ts";

/**
 * A connection attempt failed. The base of every `clientConnectionFailed`
 * reason.
 *
 * @example Using `ConnectError`
 * ```ts
 * import { ConnectError, ConnectionRefusedError } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * assert(new ConnectionRefusedError() instanceof ConnectError);
 * ```
 */
export class ConnectError extends Error {
  /** The error's name. */
  override name = "ConnectError";
  /** Creates the error; `message` says what happened. */
  constructor(
    message = "An error occurred while connecting",
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The local address could not be bound while connecting.
 *
 * @example Using `ConnectBindError`
 * ```ts
 * import { ConnectBindError } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new ConnectBindError().name, "ConnectBindError");
 * ```
 */
export class ConnectBindError extends ConnectError {
  /** The error's name. */
  override name = "ConnectBindError";
  /** Creates the error. */
  constructor(
    message = "Could not bind the local address",
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The host name could not be resolved. (In Twisted this is an `IOError`; here it
 * is a `ConnectError`, since it reaches `clientConnectionFailed`.)
 *
 * @example Using `DNSLookupError`
 * ```ts
 * import { DNSLookupError } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new DNSLookupError('"nowhere.invalid"').name, "DNSLookupError");
 * ```
 */
export class DNSLookupError extends ConnectError {
  /** The error's name. */
  override name = "DNSLookupError";
  /** Creates the error. */
  constructor(message?: string, options?: ErrorOptions) {
    message ??= "DNS lookup failed";
    super(message, options);
  }
}

/**
 * No route to the host.
 *
 * @example Using `NoRouteError`
 * ```ts
 * import { NoRouteError } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new NoRouteError().name, "NoRouteError");
 * ```
 */
export class NoRouteError extends ConnectError {
  /** The error's name. */
  override name = "NoRouteError";
  /** Creates the error. */
  constructor(message?: string, options?: ErrorOptions) {
    message ??= "No route to host";
    super(message, options);
  }
}

/**
 * The other side refused the connection.
 *
 * @example Using `ConnectionRefusedError`
 * ```ts
 * import { ConnectionRefusedError } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new ConnectionRefusedError().name, "ConnectionRefusedError");
 * ```
 */
export class ConnectionRefusedError extends ConnectError {
  /** The error's name. */
  override name = "ConnectionRefusedError";
  /** Creates the error. */
  constructor(
    message = "Connection was refused by other side",
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The operating system's TCP connection attempt timed out.
 *
 * @example Using `TCPTimedOutError`
 * ```ts
 * import { TCPTimedOutError } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new TCPTimedOutError().name, "TCPTimedOutError");
 * ```
 */
export class TCPTimedOutError extends ConnectError {
  /** The error's name. */
  override name = "TCPTimedOutError";
  /** Creates the error. */
  constructor(message?: string, options?: ErrorOptions) {
    message ??= "TCP connection timed out";
    super(message, options);
  }
}

/**
 * An operation took longer than its timeout: a connect's `timeout` option, or
 * `Deferred.addTimeout`.
 *
 * @example Using `TimeoutError`
 * ```ts
 * import { ConnectError, TimeoutError } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * assert(new TimeoutError() instanceof ConnectError);
 * ```
 */
export class TimeoutError extends ConnectError {
  /** The error's name. */
  override name = "TimeoutError";
  /** Creates the error. */
  constructor(
    message = "User timeout caused connection failure",
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The user cancelled a connection attempt (`stopConnecting`).
 *
 * @example Using `UserError`
 * ```ts
 * import { UserError } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new UserError().name, "UserError");
 * ```
 */
export class UserError extends ConnectError {
  /** The error's name. */
  override name = "UserError";
  /** Creates the error. */
  constructor(message?: string, options?: ErrorOptions) {
    message ??= "User aborted connection";
    super(message, options);
  }
}

/**
 * The base of the reasons a connection ends with.
 *
 * @example Using `ConnectionClosed`
 * ```ts
 * import { ConnectionClosed, ConnectionDone } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * assert(new ConnectionDone() instanceof ConnectionClosed);
 * ```
 */
export class ConnectionClosed extends Error {
  /** The error's name. */
  override name = "ConnectionClosed";
  /** Creates the error. */
  constructor(message?: string, options?: ErrorOptions) {
    message ??= "Connection was closed";
    super(message, options);
  }
}

/**
 * The connection was closed cleanly.
 *
 * @example Using `ConnectionDone`
 * ```ts
 * import { ConnectionDone } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new ConnectionDone().message, "Connection was closed cleanly");
 * ```
 */
export class ConnectionDone extends ConnectionClosed {
  /** The error's name. */
  override name = "ConnectionDone";
  /** Creates the error. */
  constructor(
    message = "Connection was closed cleanly",
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The connection was lost in a non-clean way (a reset, a broken pipe...).
 *
 * @example Using `ConnectionLost`
 * ```ts
 * import { ConnectionLost } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new ConnectionLost().name, "ConnectionLost");
 * ```
 */
export class ConnectionLost extends ConnectionClosed {
  /** The error's name. */
  override name = "ConnectionLost";
  /** Creates the error. */
  constructor(
    message = "Connection to the other side was lost in a non-clean fashion",
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The connection was closed with `abortConnection`.
 *
 * @example Using `ConnectionAborted`
 * ```ts
 * import { ConnectionAborted, ConnectionLost } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * assert(new ConnectionAborted() instanceof ConnectionLost);
 * ```
 */
export class ConnectionAborted extends ConnectionLost {
  /** The error's name. */
  override name = "ConnectionAborted";
  /** Creates the error. */
  constructor(
    message = "Connection was aborted locally using abortConnection",
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * A port could not be listened on.
 *
 * @example Using `CannotListenError`
 * ```ts
 * import { CannotListenError } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const err = new CannotListenError("0.0.0.0", 8000, "address in use");
 * assertEquals(err.message, 'Cannot listen on "0.0.0.0:8000": address in use');
 * assertEquals(err.port, 8000);
 * ```
 */
export class CannotListenError extends Error {
  /** The error's name. */
  override name = "CannotListenError";
  /** The interface that was asked for. */
  readonly interface: string;
  /** The port that was asked for. */
  readonly port: number | string;
  /** Creates the error for `iface:port`, with `detail` saying why. */
  constructor(
    iface: string,
    port: number | string,
    detail: string,
    options?: ErrorOptions,
  ) {
    const where = iface.includes(":")
      ? `[${iface}]:${port}`
      : `${iface}:${port}`;
    super(`Cannot listen on "${where}": ${detail}`, options);
    this.interface = iface;
    this.port = port;
  }
}

/**
 * `reactor.stop()` was called on a reactor that is not running.
 *
 * @example Using `ReactorNotRunning`
 * ```ts
 * import { Reactor, ReactorNotRunning } from "@twist/twist";
 * import { assertThrows } from "@std/assert";
 *
 * assertThrows(() => new Reactor().stop(), ReactorNotRunning);
 * ```
 */
export class ReactorNotRunning extends Error {
  /** The error's name. */
  override name = "ReactorNotRunning";
  /** Creates the error. */
  constructor(
    message = "Can't stop reactor that isn't running",
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * `reactor.run()` was called on a reactor that is already running.
 *
 * @example Using `ReactorAlreadyRunning`
 * ```ts
 * import { ReactorAlreadyRunning } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new ReactorAlreadyRunning().name, "ReactorAlreadyRunning");
 * ```
 */
export class ReactorAlreadyRunning extends Error {
  /** The error's name. */
  override name = "ReactorAlreadyRunning";
  /** Creates the error. */
  constructor(message?: string, options?: ErrorOptions) {
    message ??= "Reactor already running";
    super(message, options);
  }
}

/**
 * A delayed call was cancelled, reset or delayed after it had run.
 *
 * @example Using `AlreadyCalled`
 * ```ts
 * import { AlreadyCalled, Clock } from "@twist/twist";
 * import { assertThrows } from "@std/assert";
 *
 * const clock = new Clock();
 * const call = clock.callLater(1, () => {});
 * clock.advance(1);
 * assertThrows(() => call.cancel(), AlreadyCalled);
 * ```
 */
export class AlreadyCalled extends Error {
  /** The error's name. */
  override name = "AlreadyCalled";
  /** Creates the error. */
  constructor(
    message = "Tried to cancel an already-called event",
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * A delayed call was cancelled, reset or delayed after it had been cancelled.
 *
 * @example Using `AlreadyCancelled`
 * ```ts
 * import { AlreadyCancelled, Clock } from "@twist/twist";
 * import { assertThrows } from "@std/assert";
 *
 * const clock = new Clock();
 * const call = clock.callLater(1, () => {});
 * call.cancel();
 * assertThrows(() => call.cancel(), AlreadyCancelled);
 * ```
 */
export class AlreadyCancelled extends Error {
  /** The error's name. */
  override name = "AlreadyCancelled";
  /** Creates the error. */
  constructor(
    message = "Tried to cancel an already-cancelled event",
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * `reactor.run()` was called on a reactor that has already run and stopped.
 *
 * @example Using `ReactorNotRestartable`
 * ```ts
 * import { ReactorNotRestartable } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new ReactorNotRestartable().name, "ReactorNotRestartable");
 * ```
 */
export class ReactorNotRestartable extends Error {
  /** The error's name. */
  override name = "ReactorNotRestartable";
  /** Creates the error. */
  constructor(
    message = "Can't restart a reactor that has stopped",
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * A TLS handshake failed (an untrusted or mismatched certificate, no common
 * protocol...).
 *
 * @example Using `SSLError`
 * ```ts
 * import { ConnectError, SSLError } from "@twist/twist";
 * import { assert } from "@std/assert";
 *
 * assert(new SSLError("invalid peer certificate") instanceof ConnectError);
 * ```
 */
export class SSLError extends ConnectError {
  /** The error's name. */
  override name = "SSLError";
  /** Creates the error. */
  constructor(message?: string, options?: ErrorOptions) {
    message ??= "TLS handshake failed";
    super(message, options);
  }
}

/**
 * A process ended normally, with exit code 0.
 *
 * @example Using `ProcessDone`
 * ```ts
 * import { ProcessDone } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new ProcessDone().exitCode, 0);
 * ```
 */
export class ProcessDone extends Error {
  /** The error's name. */
  override name = "ProcessDone";
  /** Always 0. */
  readonly exitCode = 0;
  /** Always `null`. */
  readonly signal = null;
  /** Creates the reason. */
  constructor(
    message =
      "A process has ended without apparent errors: process finished with exit code 0",
  ) {
    super(message);
  }
}

/**
 * A process ended with a non-zero exit code, or was killed by a signal.
 *
 * @example Using `ProcessTerminated`
 * ```ts
 * import { ProcessTerminated } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new ProcessTerminated(null, "SIGKILL").message, "A process has ended with a probable error condition: process ended by signal SIGKILL");
 * ```
 */
export class ProcessTerminated extends Error {
  /** The error's name. */
  override name = "ProcessTerminated";
  /** The exit code, or `null` when a signal ended it. */
  readonly exitCode: number | null;
  /** The signal that ended it (`"SIGTERM"`...), or `null`. */
  readonly signal: string | null;
  /** Creates the reason. */
  constructor(exitCode: number | null, signal: string | null, detail?: string) {
    super(
      `A process has ended with a probable error condition: ${
        detail ?? (signal
          ? `process ended by signal ${signal}`
          : `process ended with exit code ${exitCode}`)
      }`,
    );
    this.exitCode = exitCode;
    this.signal = signal;
  }
}

/**
 * `signalProcess` was called on a process that has exited.
 *
 * @example Using `ProcessExitedAlready`
 * ```ts
 * import { ProcessExitedAlready } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new ProcessExitedAlready().name, "ProcessExitedAlready");
 * ```
 */
export class ProcessExitedAlready extends Error {
  /** The error's name. */
  override name = "ProcessExitedAlready";
  /** Creates the error. */
  constructor(message?: string) {
    message ??= "The process has already exited";
    super(message);
  }
}

/**
 * A datagram was larger than the port's `maxPacketSize`.
 *
 * @example Using `MessageLengthError`
 * ```ts
 * import { MessageLengthError } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new MessageLengthError("too long").name, "MessageLengthError");
 * ```
 */
export class MessageLengthError extends RangeError {
  /** The error's name. */
  override name = "MessageLengthError";
}

/**
 * A client endpoint's connection attempt was cancelled.
 *
 * @example Using `ConnectingCancelledError`
 * ```ts
 * import { ConnectingCancelledError, IPv4Address } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const err = new ConnectingCancelledError(new IPv4Address("TCP", "example.com", 80));
 * assertEquals(err.address.toString(), 'IPv4Address(type="TCP", host="example.com", port=80)');
 * ```
 */
export class ConnectingCancelledError extends ConnectError {
  /** The error's name. */
  override name = "ConnectingCancelledError";
  /** Where it was connecting to. */
  readonly address: IAddress;
  /** Creates the error for an attempt to `address`. */
  constructor(address: IAddress) {
    super(`Connecting to ${address} was cancelled`);
    this.address = address;
  }
}
