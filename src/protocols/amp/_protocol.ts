/**
 * AMP connections: `BinaryBoxProtocol` (boxes over a stream),
 * `BoxDispatcher` (commands and answers), `CommandLocator` (responders),
 * `AMP` (all three), and the commands that change the connection itself,
 * `StartTLS` and `ProtocolSwitchCommand`.
 *
 * @module
 */
import { Deferred, fail } from "../../internet/defer.ts";
import { Failure } from "../../internet/failure.ts";
import { ConnectionDone, ConnectionLost } from "../../internet/error.ts";
import type {
  IAddress,
  IProtocol,
  IProtocolFactory,
  ITCPTransport,
  TLSStartOptions,
} from "../../internet/interfaces.ts";
import { Protocol } from "../../internet/protocol.ts";
import { log } from "../../logger.ts";
import { ByteBuffer } from "../_byte_buffer.ts";
import {
  AmpBox,
  decodeKey,
  type IBoxSender,
  MAX_KEY_LENGTH,
  pythonBytesRepr,
  QuitBox,
} from "./_box.ts";
import { Argument, type ArgumentsOut } from "./_arguments.ts";
import { asciiBytes, utf8Bytes, view } from "./_slab.ts";
import {
  type CallArguments,
  type CallResult,
  Command,
  type CommandClass,
  commandInfo,
  type ICommandSender,
  knownError,
  type ResponderFunction,
} from "./_command.ts";
import {
  BadLocalReturn,
  MalformedAmpBox,
  NoEmptyBoxes,
  OnlyOneTLS,
  ProtocolSwitched,
  RemoteAmpError,
  TooLong,
  UnhandledCommand,
} from "./_errors.ts";

const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Receives the boxes a {@linkcode BinaryBoxProtocol} parses (Twisted's
 * `IBoxReceiver`).
 */
export interface IBoxReceiver {
  /** Boxes are about to arrive; answers go through `boxSender`. */
  startReceivingBoxes(boxSender: IBoxSender): void;
  /** A box arrived. Throwing drops the connection. */
  ampBoxReceived(box: AmpBox): void;
  /** No more boxes will arrive, for `reason`. */
  stopReceivingBoxes(reason: Failure): void;
}

/**
 * A low-level responder: it takes the command box and returns the answer box
 * (without `_answer`), or a Promise or Deferred of it; it may throw.
 */
export type Responder = (box: AmpBox) => AmpBox | PromiseLike<AmpBox>;

/** Finds the responder to a command by its wire name (Twisted's `IResponderLocator`). */
export interface IResponderLocator {
  /** The responder to `name`, or `undefined` when there is none. */
  locateResponder(name: string): Responder | undefined;
}

/** A box receiver that drops every box (the default of a bare `BinaryBoxProtocol`). */
const NO_RECEIVER: IBoxReceiver = {
  startReceivingBoxes(): void {},
  ampBoxReceived(): void {},
  stopReceivingBoxes(): void {},
};

// Access to BinaryBoxProtocol's private state for the commands that change
// the connection itself (StartTLS, ProtocolSwitchCommand), without making it
// public API: set in the class's static block.
let lockForSwitch: (p: BinaryBoxProtocol) => void;
let unlockFromSwitch: (p: BinaryBoxProtocol) => void;
let switchTo: (
  p: BinaryBoxProtocol,
  inner: IProtocol,
  factory?: IProtocolFactory,
) => void;
let prepareTLS: (p: BinaryBoxProtocol) => void;
let startTLS: (p: BinaryBoxProtocol, options: TLSStartOptions) => void;
let cancelTLS: (p: BinaryBoxProtocol) => void;

/** Expecting a key (or the end of the box). */
const KEY = 0;
/** Expecting the value of `#key`. */
const VALUE = 1;

/**
 * Boxes over a byte stream (Twisted's `BinaryBoxProtocol`): each key and value
 * after its 16-bit big-endian length, a zero-length key ending the box.
 * Parsed boxes go to `boxReceiver`; {@linkcode BinaryBoxProtocol.sendBox}
 * sends one.
 *
 * Malformed input is a protocol error: a key length over 255 (`TooLong`), an
 * empty box (`NoEmptyBoxes`), a box the receiver refuses (it throws), or a
 * clean close in the middle of a box (`MalformedAmpBox`). The error is
 * logged, the connection dropped, and the receiver is stopped with it as the
 * reason; nothing escapes `dataReceived`.
 *
 * @example Parsing and sending boxes
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const got: amp.AmpBox[] = [];
 * const proto = new amp.BinaryBoxProtocol({
 *   startReceivingBoxes() {},
 *   ampBoxReceived: (box) => got.push(box),
 *   stopReceivingBoxes() {},
 * });
 * const transport = new StringTransport();
 * proto.makeConnection(transport);
 * const box = new amp.AmpBox({ hello: "world" });
 * for (const byte of box.serialize()) proto.dataReceived(new Uint8Array([byte]));
 * assertEquals(got[0].getText("hello"), "world");
 * proto.sendBox(box);
 * assertEquals(transport.value(), box.serialize());
 * ```
 */
export class BinaryBoxProtocol extends Protocol implements IBoxSender {
  /** Where parsed boxes go. */
  boxReceiver: IBoxReceiver;
  /** The protocol the connection was switched to, if any. */
  innerProtocol: IProtocol | undefined = undefined;
  /** The factory told when the switched-to protocol's connection is lost. */
  innerProtocolClientFactory: IProtocolFactory | undefined = undefined;

  #locked = false;
  /** Boxes sent between a StartTLS call and its answer. */
  #tlsBuffer: AmpBox[] | null = null;
  #tlsStarted = false;
  #lost = false;
  /** The protocol error that ended the connection, if any. */
  #protocolError: Failure | undefined = undefined;

  // Parsing.
  #buffer = new ByteBuffer();
  #state = KEY;
  #box: AmpBox | null = null;
  #key = "";
  #parsing = false;

  static {
    lockForSwitch = (p) => {
      p.#locked = true;
    };
    unlockFromSwitch = (p) => {
      if (p.innerProtocol !== undefined) {
        throw new ProtocolSwitched("Protocol already switched: cannot unlock");
      }
      p.#locked = false;
    };
    switchTo = (p, inner, factory) => p.#switchTo(inner, factory);
    prepareTLS = (p) => {
      if (p.#tlsStarted) {
        throw new OnlyOneTLS("TLS was already started on this connection");
      }
      p.#tlsBuffer = [];
    };
    startTLS = (p, options) => p.#startTLS(options);
    cancelTLS = (p) => p.#flushTLSBuffer();
  }

  /**
   * Creates the protocol.
   *
   * @param boxReceiver where parsed boxes go (by default they are dropped)
   */
  constructor(boxReceiver?: IBoxReceiver) {
    super();
    this.boxReceiver = boxReceiver ?? NO_RECEIVER;
  }

  /** Attaches the transport and tells the receiver boxes are coming. */
  override makeConnection(transport: ITCPTransport): void {
    this.connected = true;
    this.transport = transport;
    this.boxReceiver.startReceivingBoxes(this);
    this.connectionMade();
  }

  /**
   * Sends `box` to the peer.
   *
   * @param box the box
   * @throws {NoEmptyBoxes} for an empty box (stricter than Twisted, whose peer would fail)
   * @throws {ProtocolSwitched} once the connection has switched protocols
   * @throws {ConnectionLost} once the connection is gone
   * @throws {TooLong} for a key or value over the limits
   */
  sendBox(box: AmpBox): void {
    if (box.size === 0) {
      throw new NoEmptyBoxes("Cannot send an empty AMP box");
    }
    if (this.#locked) {
      throw new ProtocolSwitched(
        "This connection has switched: no AMP traffic allowed",
      );
    }
    if (this.#lost || this.transport === undefined) {
      throw new ConnectionLost(
        "Cannot send an AMP box: the connection is gone",
      );
    }
    if (this.#tlsBuffer !== null) {
      box.serialize(); // fail now, not when TLS is up
      this.#tlsBuffer.push(box);
      return;
    }
    this.transport.write(box.serialize());
  }

  /**
   * Parses `data` into boxes (or hands it to the switched-to protocol).
   *
   * @param data bytes received; the protocol keeps views of them as values
   */
  override dataReceived(data: Uint8Array): void {
    if (this.innerProtocol !== undefined) {
      this.innerProtocol.dataReceived(data);
      return;
    }
    if (this.#protocolError !== undefined || this.#lost) return;
    this.#parsing = true;
    try {
      this.#parse(data);
    } catch (e) {
      this.#fail(e);
    } finally {
      this.#parsing = false;
    }
    if (this.innerProtocol !== undefined && this.#buffer.length > 0) {
      this.#handOver();
    }
  }

  #parse(data: Uint8Array): void {
    const buffer = this.#buffer;
    let p = 0;
    if (buffer.length === 0) {
      // Fast path: parse the chunk in place; buffer only what is left over.
      const n = data.length;
      while (n - p >= 2) {
        const length = (data[p] << 8) | data[p + 1];
        if (this.#state === KEY) {
          if (length > MAX_KEY_LENGTH) throw new TooLong(true, false);
          if (n - p - 2 < length) break;
          p += 2;
          if (length === 0) {
            this.#deliver();
            if (this.innerProtocol !== undefined || this.#protocolError) break;
            continue;
          }
          this.#key = decodeKey(data, p, p + length);
          this.#state = VALUE;
        } else {
          if (n - p - 2 < length) break;
          p += 2;
          (this.#box ??= new AmpBox()).set(
            this.#key,
            view(data, p, p + length),
          );
          this.#state = KEY;
        }
        p += length;
      }
      if (p < n) buffer.append(data.subarray(p));
      buffer.compact();
      return;
    }
    buffer.append(data);
    try {
      while (buffer.length >= 2) {
        const length = buffer.uintAt(0, 2);
        if (this.#state === KEY) {
          if (length > MAX_KEY_LENGTH) throw new TooLong(true, false);
          if (buffer.length - 2 < length) break;
          buffer.skip(2);
          if (length === 0) {
            this.#deliver();
            if (this.innerProtocol !== undefined || this.#protocolError) break;
            continue;
          }
          const key = buffer.take(length);
          this.#key = decodeKey(key, 0, length);
          this.#state = VALUE;
        } else {
          if (buffer.length - 2 < length) break;
          buffer.skip(2);
          (this.#box ??= new AmpBox()).set(this.#key, buffer.take(length));
          this.#state = KEY;
        }
      }
    } finally {
      buffer.compact();
    }
  }

  /** A whole box arrived. */
  #deliver(): void {
    const box = this.#box;
    this.#box = null;
    if (box === null) throw new NoEmptyBoxes("Received an empty AMP box");
    this.boxReceiver.ampBoxReceived(box);
  }

  /** A protocol error: log it, stop parsing, drop the connection with it as the reason. */
  #fail(error: unknown): void {
    const failure = Failure.from(error);
    this.#protocolError = failure;
    this.#buffer.clear();
    log.err(
      failure,
      `AMP protocol error from ${describePeer(this)}; dropping the connection`,
    );
    this.transport?.loseConnection();
  }

  /** Gives the bytes not parsed yet to the protocol switched to. */
  #handOver(): void {
    const rest = this.#buffer.takeAll();
    this.#buffer.clear();
    if (rest.length > 0) this.innerProtocol?.dataReceived(rest);
  }

  #switchTo(inner: IProtocol, factory?: IProtocolFactory): void {
    this.innerProtocol = inner;
    this.innerProtocolClientFactory = factory;
    inner.makeConnection(this.transport);
    // Inside dataReceived the parser hands over what follows the box that
    // switched; otherwise what is buffered goes over now.
    if (!this.#parsing && this.#buffer.length > 0) this.#handOver();
  }

  #startTLS(options: TLSStartOptions): void {
    this.#tlsStarted = true;
    const transport = this.transport as ITCPTransport;
    if (typeof transport.startTLS !== "function") {
      throw new TypeError(
        "Cannot start TLS: this transport has no startTLS",
      );
    }
    transport.startTLS(options);
    this.#flushTLSBuffer();
  }

  /** Sends the boxes held back while TLS was being negotiated. */
  #flushTLSBuffer(): void {
    const held = this.#tlsBuffer;
    this.#tlsBuffer = null;
    if (held === null) return;
    for (const box of held) this.sendBox(box);
  }

  /**
   * The connection is gone: tells the switched-to protocol (and its factory),
   * then stops the receiver with the reason (or the protocol error that
   * dropped the connection).
   */
  override connectionLost(reason: Failure): void {
    this.connected = false;
    this.#lost = true;
    const inner = this.innerProtocol;
    if (inner !== undefined) {
      inner.connectionLost(reason);
      const factory = this.innerProtocolClientFactory as
        | { clientConnectionLost?: (c: unknown, r: Failure) => void }
        | undefined;
      factory?.clientConnectionLost?.(null, reason);
    }
    let why = reason;
    if (this.#protocolError !== undefined) {
      why = this.#protocolError;
    } else if (
      inner === undefined && reason.check(ConnectionDone) &&
      (this.#buffer.length > 0 || this.#box !== null || this.#state === VALUE)
    ) {
      why = new Failure(
        new MalformedAmpBox(
          "The connection closed in the middle of an AMP box",
          { cause: reason.value },
        ),
      );
      log.err(why, `AMP protocol error from ${describePeer(this)}`);
    }
    this.#buffer.clear();
    this.boxReceiver.stopReceivingBoxes(why);
  }

  /**
   * The last resort for an error nobody handled: it is logged and the
   * connection dropped (Twisted's `unhandledError`).
   *
   * @param failure the error
   */
  unhandledError(failure: Failure): void {
    log.err(
      failure,
      "Amp server or network failure unhandled by client application. Dropping connection! To avoid, add errbacks to ALL remote commands!",
    );
    if (!this.#lost) this.transport?.loseConnection();
  }
}

function describePeer(p: { transport?: ITCPTransport }): string {
  try {
    const peer: IAddress | undefined = p.transport?.getPeer();
    return peer === undefined ? "the peer" : String(peer);
  } catch {
    return "the peer";
  }
}

/** Whether `value` is a Promise-like (a Deferred included). */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null &&
    typeof (value as { then?: unknown }).then === "function";
}

/** Runs `ok` or `err` with the settled result of `value`: at once for a plain value or a fired Deferred. */
function whenSettled<T>(
  value: T | PromiseLike<T>,
  ok: (v: T) => void,
  err: (e: unknown) => void,
): void {
  if (value instanceof Deferred) {
    value.addCallbacks((v: T) => {
      ok(v);
    }, (f: Failure) => {
      err(f.value);
    });
  } else if (isThenable(value)) {
    value.then(ok, err);
  } else {
    ok(value);
  }
}

/**
 * Sends commands and routes answers and errors to their callers; routes
 * received commands to a locator's responders and sends their answers
 * (Twisted's `BoxDispatcher`). `AMP` is one; use it directly to put the
 * request/response logic over a {@linkcode BinaryBoxProtocol} of your own.
 *
 * @example A dispatcher over a box protocol
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { StringTransport } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * class Ping extends amp.Command {}
 * const dispatcher = new amp.BoxDispatcher(new amp.CommandLocator());
 * const proto = new amp.BinaryBoxProtocol(dispatcher);
 * const transport = new StringTransport();
 * proto.makeConnection(transport);
 * dispatcher.callRemote(Ping);
 * assertEquals(amp.parseString(transport.value())[0].getText("_command"), "Ping");
 * ```
 */
export class BoxDispatcher implements IBoxReceiver, ICommandSender {
  /** Finds responders to received commands. */
  locator: IResponderLocator;
  /** Where boxes are sent (set by `startReceivingBoxes`). */
  boxSender: IBoxSender | undefined = undefined;
  #outstanding = new Map<number, Deferred<AmpBox>>();
  #counter = 0;
  #failAllReason: Failure | undefined = undefined;

  /**
   * Creates the dispatcher.
   *
   * @param locator finds responders to received commands
   */
  constructor(locator: IResponderLocator) {
    this.locator = locator;
  }

  /** Boxes will arrive from `boxSender`; answers go back through it. */
  startReceivingBoxes(boxSender: IBoxSender): void {
    this.boxSender = boxSender;
  }

  /** No more boxes will arrive: every call waiting for an answer fails with `reason`. */
  stopReceivingBoxes(reason: Failure): void {
    this.failAllOutgoing(reason);
  }

  /** Fails every call waiting for an answer with `reason`; later calls fail with it at once. */
  failAllOutgoing(reason: Failure): void {
    this.#failAllReason = reason;
    const waiting = [...this.#outstanding.values()];
    this.#outstanding.clear();
    for (const d of waiting) d.errback(reason);
  }

  /** How many calls are waiting for an answer. */
  get outstandingCalls(): number {
    return this.#outstanding.size;
  }

  /**
   * Calls `command` on the peer with typed arguments; the Deferred fires with
   * the typed response, or fails with the error class the command declares
   * for the peer's error code, with `UnknownRemoteError` or
   * `UnhandledCommand` for others, or with the connection's reason if it is
   * lost first. A command with `requiresAnswer = false` returns `undefined`.
   *
   * @param command the command class
   * @param rest the arguments (and, for a `ProtocolSwitchCommand`, the factory of the new protocol)
   * @returns a Deferred of the response
   */
  callRemote<C extends CommandClass>(
    command: C,
    ...rest: CallArguments<C>
  ): CallResult<C> {
    return callRemoteOn(this, command, rest);
  }

  /**
   * Sends a command box as it is (Twisted's `callRemoteString`): `_command`
   * and, when an answer is wanted, `_ask` are added.
   *
   * @param command the command's wire name
   * @param box the arguments as a box (or an object of byte or text values)
   * @param options whether an answer is wanted (default: yes)
   * @returns a Deferred of the answer box, or `undefined` when no answer is wanted
   */
  callRemoteString(
    command: string,
    box?: AmpBox | Record<string, Uint8Array | string>,
    options?: { requiresAnswer?: boolean },
  ): Deferred<AmpBox> | undefined {
    box ??= new AmpBox();
    options ??= {};
    const requiresAnswer = options.requiresAnswer ?? true;
    if (this.#failAllReason !== undefined) {
      return requiresAnswer ? fail<AmpBox>(this.#failAllReason) : undefined;
    }
    const out = box instanceof AmpBox ? box : new AmpBox(box);
    out.set("_command", commandBytes(command));
    // A call that wants no answer still uses up a tag, as in Twisted.
    const tag = ++this.#counter;
    let d: Deferred<AmpBox> | undefined;
    if (requiresAnswer) {
      out.set("_ask", asciiBytes(tag.toString(16)));
      d = new Deferred<AmpBox>();
      this.#outstanding.set(tag, d);
    }
    const sender = this.boxSender;
    try {
      if (sender === undefined) {
        throw new ConnectionLost("Cannot call: the connection is not made yet");
      }
      out.sendTo(sender);
    } catch (e) {
      if (d === undefined) throw e;
      this.#outstanding.delete(tag);
      d.errback(e);
    }
    return d;
  }

  /** Routes a received box: an answer, an error, or a command. */
  ampBoxReceived(box: AmpBox): void {
    const answer = box.get("_answer");
    if (answer !== undefined) {
      this.#question(answer).callback(box);
      return;
    }
    const error = box.get("_error");
    if (error !== undefined) {
      const d = this.#question(error);
      const code = utf8.decode(box.get("_error_code") ?? new Uint8Array());
      const description = utf8.decode(
        box.get("_error_description") ?? new Uint8Array(),
      );
      d.errback(
        code === "UNHANDLED"
          ? new UnhandledCommand(description)
          : new RemoteAmpError(code, description),
      );
      return;
    }
    if (box.has("_command")) {
      this.#commandReceived(box);
      return;
    }
    throw new NoEmptyBoxes(
      "Received an AMP box that is neither a command nor an answer",
    );
  }

  /** The call a received `_answer` or `_error` tag answers. */
  #question(tag: Uint8Array): Deferred<AmpBox> {
    const key = parseTag(tag);
    const d = this.#outstanding.get(key);
    if (d === undefined) {
      throw new MalformedAmpBox(
        `Received an answer to ${
          JSON.stringify(decodeKey(tag, 0, tag.length))
        }, which was never asked`,
      );
    }
    this.#outstanding.delete(key);
    return d;
  }

  /**
   * Finds and calls the responder to a command box (Twisted's
   * `dispatchCommand`): the result is the answer box, or a Promise or
   * Deferred of it; an unknown command throws `RemoteAmpError` with code
   * `UNHANDLED`.
   *
   * @param box the command box
   * @returns the answer box (or a Promise or Deferred of it)
   */
  dispatchCommand(box: AmpBox): AmpBox | PromiseLike<AmpBox> {
    const nameBytes = box.get("_command")!;
    const name = decodeKey(nameBytes, 0, nameBytes.length);
    const responder = this.locator.locateResponder(name);
    if (responder === undefined) {
      throw new RemoteAmpError(
        "UNHANDLED",
        `Unhandled Command: ${pythonBytesRepr(nameBytes)}`,
        { local: new Failure(new UnhandledCommand()) },
      );
    }
    return responder(box);
  }

  #commandReceived(box: AmpBox): void {
    const ask = box.get("_ask");
    let result: AmpBox | PromiseLike<AmpBox>;
    try {
      result = this.dispatchCommand(box);
    } catch (e) {
      this.#sendError(ask, e);
      return;
    }
    whenSettled(
      result,
      (answer) => this.#sendAnswer(ask, answer),
      (e) => this.#sendError(ask, e),
    );
  }

  #sendAnswer(ask: Uint8Array | undefined, answer: AmpBox): void {
    if (ask === undefined) return;
    answer.set("_answer", ask);
    this.#emit(answer);
  }

  /** Answers a failed command (Twisted's `formatError`). */
  #sendError(ask: Uint8Array | undefined, error: unknown): void {
    const failure = Failure.from(error);
    if (ask === undefined) {
      this.unhandledError(failure);
      return;
    }
    let box: AmpBox;
    let code: string;
    let description: string;
    const e = failure.value;
    if (e instanceof RemoteAmpError) {
      code = e.errorCode;
      description = e.description;
      box = e.fatal ? new QuitBox() : new AmpBox();
    } else {
      // An error the command does not declare: logged here, and the
      // connection is closed after the answer, as in Twisted.
      box = new QuitBox();
      log.err(failure, "Unhandled error in an AMP responder");
      code = "UNKNOWN";
      description = "Unknown Error";
    }
    box.set("_error", ask);
    box.set("_error_code", utf8Bytes(code));
    box.set("_error_description", utf8Bytes(description));
    this.#emit(box);
  }

  /** Sends a box, ignoring a connection that is gone or switched (Twisted's `_safeEmit`). */
  #emit(box: AmpBox): void {
    const sender = this.boxSender;
    if (sender === undefined) return;
    try {
      box.sendTo(sender);
    } catch (e) {
      if (e instanceof ProtocolSwitched || e instanceof ConnectionLost) return;
      this.unhandledError(new Failure(e));
    }
  }

  /** The last resort for an error nobody handled: the box sender's `unhandledError`. */
  unhandledError(failure: Failure): void {
    if (this.boxSender !== undefined) this.boxSender.unhandledError(failure);
    else log.err(failure, "Unhandled AMP error");
  }
}

/**
 * The number a tag we sent stands for (lowercase hex, no leading zero), or
 * -1 for anything we would not have sent.
 */
function parseTag(tag: Uint8Array): number {
  const n = tag.length;
  if (n === 0 || n > 13 || tag[0] === 0x30) return -1;
  let value = 0;
  for (let i = 0; i < n; i++) {
    const c = tag[i];
    let digit: number;
    if (c >= 0x30 && c <= 0x39) digit = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) digit = c - 0x57;
    else return -1;
    value = value * 16 + digit;
  }
  return value;
}

/** The bytes of each command name sent, encoded once. */
const commandNames = new Map<string, Uint8Array>();

function commandBytes(name: string): Uint8Array {
  let bytes = commandNames.get(name);
  if (bytes === undefined) {
    bytes = utf8Bytes(name);
    if (commandNames.size < 4096) commandNames.set(name, bytes);
  }
  return bytes;
}

/**
 * Wraps a typed responder into a low-level one (Twisted's
 * `_wrapWithSerialization`): parse the arguments, call, map declared errors
 * to `RemoteAmpError`, encode the response.
 */
function wrapResponder(
  locator: unknown,
  command: CommandClass,
  fn: ResponderFunction<CommandClass>,
): Responder {
  const respond = (objects: unknown): AmpBox => {
    try {
      return command.makeResponse(objects, locator);
    } catch (e) {
      if (e instanceof RemoteAmpError) throw e;
      throw new BadLocalReturn(
        `The responder to ${
          commandInfo(command).name
        } returned a value its response cannot encode: ${
          e instanceof Error ? e.message : String(e)
        }`,
        { cause: e },
      );
    }
  };
  return (box) => {
    let result: unknown;
    try {
      const args = command.parseArguments(box, locator);
      result = fn.call(
        locator,
        args as ArgumentsOut<CommandClass["arguments"]>,
      );
    } catch (e) {
      throw knownError(command, e);
    }
    if (!isThenable(result)) return respond(result);
    const d = new Deferred<AmpBox>();
    whenSettled(result, (value) => {
      let answer: AmpBox;
      try {
        answer = respond(value);
      } catch (e) {
        d.errback(e);
        return;
      }
      d.callback(answer);
    }, (e) => d.errback(knownError(command, e)));
    return d;
  };
}

/** The responders registered on a locator, by command name. */
class ResponderTable {
  #entries = new Map<string, [CommandClass, ResponderFunction<CommandClass>]>();
  #wrapped = new Map<string, Responder>();

  register(command: CommandClass, fn: ResponderFunction<CommandClass>): void {
    const name = commandInfo(command).name;
    this.#entries.set(name, [command, fn]);
    this.#wrapped.delete(name);
  }

  locate(locator: unknown, name: string): Responder | undefined {
    let wrapped = this.#wrapped.get(name);
    if (wrapped !== undefined) return wrapped;
    const entry = this.#entries.get(name);
    if (entry === undefined) return undefined;
    wrapped = wrapResponder(locator, entry[0], entry[1]);
    this.#wrapped.set(name, wrapped);
    return wrapped;
  }
}

/**
 * A set of responders to commands (Twisted's `CommandLocator`): declare them
 * with the `@Cmd.responder` method decorator in a subclass, or add them with
 * {@linkcode CommandLocator.registerResponder}. Pass one as `locator` to
 * `AMP` or `BoxDispatcher`.
 *
 * @example Using `CommandLocator`
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assertEquals } from "@std/assert";
 *
 * class Sum extends amp.Command {
 *   static override arguments = { a: new amp.Integer(), b: new amp.Integer() };
 *   static override response = { total: new amp.Integer() };
 * }
 * const locator = new amp.CommandLocator();
 * locator.registerResponder(Sum, ({ a, b }) => ({ total: a + b }));
 * const answer = locator.locateResponder("Sum")!(Sum.makeArguments({ a: 1, b: 2 }));
 * assertEquals((answer as amp.AmpBox).getText("total"), "3");
 * ```
 */
export class CommandLocator implements IResponderLocator {
  #table = new ResponderTable();

  /**
   * Makes `fn` the responder to `command` (replacing any earlier one).
   *
   * @param command the command class
   * @param fn called with the parsed arguments, `this` being the locator
   */
  registerResponder<C extends CommandClass>(
    command: C,
    fn: ResponderFunction<C>,
  ): void {
    this.#table.register(command, fn as ResponderFunction<CommandClass>);
  }

  /**
   * The responder to the command named `name`, or `undefined`.
   *
   * @param name the command's wire name
   * @returns a function from the command box to the answer box
   */
  locateResponder(name: string): Responder | undefined {
    return this.#table.locate(this, name);
  }
}

/** Options of {@linkcode AMP}. */
export interface AMPOptions {
  /** Where parsed boxes go. @default {the AMP connection itself} */
  boxReceiver?: IBoxReceiver;
  /** Where responders are found. @default {the AMP connection itself} */
  locator?: IResponderLocator;
}

/**
 * An AMP connection (Twisted's `AMP`): a {@linkcode BinaryBoxProtocol}, a
 * {@linkcode BoxDispatcher} and a {@linkcode CommandLocator} in one. Call the
 * peer with {@linkcode AMP.callRemote}; answer it with responders declared
 * with `@Cmd.responder` on a subclass or added with
 * {@linkcode AMP.registerResponder}. A method named `amp_` followed by the
 * command name in capitals, taking and returning a box, answers too
 * (Twisted's `SimpleStringLocator`).
 *
 * State machine: `makeConnection → connectionMade → dataReceived* →
 * connectionLost`; calls still waiting when the connection goes fail with
 * its reason.
 *
 * @example A server and a client in memory
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { connectedServerAndClient } from "@twist/twist/testing";
 * import { assertEquals } from "@std/assert";
 *
 * class Sum extends amp.Command {
 *   static override arguments = { a: new amp.Integer(), b: new amp.Integer() };
 *   static override response = { total: new amp.Integer() };
 * }
 * class Adder extends amp.AMP {
 *   @Sum.responder
 *   sum({ a, b }: { a: number; b: number }) {
 *     return { total: a + b };
 *   }
 * }
 * const { client, pump } = connectedServerAndClient(Adder, amp.AMP);
 * const result = client.callRemote(Sum, { a: 13, b: 81 });
 * pump.flush();
 * assertEquals((await result).total, 94);
 * ```
 */
export class AMP extends BinaryBoxProtocol
  implements IBoxReceiver, IResponderLocator, ICommandSender {
  #dispatcher: BoxDispatcher;
  #table = new ResponderTable();

  /**
   * Creates the connection.
   *
   * @param options a box receiver and a locator to use instead of this object
   */
  constructor(options?: AMPOptions) {
    options ??= {};
    super();
    this.boxReceiver = options.boxReceiver ?? this;
    this.#dispatcher = new BoxDispatcher(options.locator ?? this);
  }

  /** Where responders are found. */
  get locator(): IResponderLocator {
    return this.#dispatcher.locator;
  }

  /** How many calls are waiting for an answer. */
  get outstandingCalls(): number {
    return this.#dispatcher.outstandingCalls;
  }

  /** Logs the connection, then starts receiving boxes. */
  override makeConnection(transport: ITCPTransport): void {
    log.msg(
      `${this.constructor.name} connection established (HOST:${
        safeAddress(() => transport.getHost())
      } PEER:${safeAddress(() => transport.getPeer())})`,
    );
    return super.makeConnection(transport);
  }

  /** Logs the loss, then fails the calls still waiting. */
  override connectionLost(reason: Failure): void {
    log.msg(`${this.constructor.name} connection lost`);
    return super.connectionLost(reason);
  }

  /**
   * Calls `command` on the peer; see {@linkcode BoxDispatcher.callRemote}.
   *
   * @param command the command class
   * @param rest the arguments (and, for a `ProtocolSwitchCommand`, the factory of the new protocol)
   * @returns a Deferred of the typed response (`undefined` for a command that needs no answer)
   */
  callRemote<C extends CommandClass>(
    command: C,
    ...rest: CallArguments<C>
  ): CallResult<C> {
    return callRemoteOn(this, command, rest);
  }

  /** Sends a command box as it is; see {@linkcode BoxDispatcher.callRemoteString}. */
  callRemoteString(
    command: string,
    box?: AmpBox | Record<string, Uint8Array | string>,
    options?: { requiresAnswer?: boolean },
  ): Deferred<AmpBox> | undefined {
    return this.#dispatcher.callRemoteString(command, box, options);
  }

  /** Makes `fn` the responder to `command` on this connection. */
  registerResponder<C extends CommandClass>(
    command: C,
    fn: ResponderFunction<C>,
  ): void {
    this.#table.register(command, fn as ResponderFunction<CommandClass>);
  }

  /** The responder to `name`: a registered one, else an `amp_NAME` method. */
  locateResponder(name: string): Responder | undefined {
    const found = this.#table.locate(this, name);
    if (found !== undefined) return found;
    const method = (this as unknown as Record<string, unknown>)[
      "amp_" + name.toUpperCase()
    ];
    return typeof method === "function"
      ? (box) => method.call(this, box)
      : undefined;
  }

  /** Boxes will arrive from `boxSender`. */
  startReceivingBoxes(boxSender: IBoxSender): void {
    this.#dispatcher.startReceivingBoxes(boxSender);
  }

  /** Routes a received box; see {@linkcode BoxDispatcher.ampBoxReceived}. */
  ampBoxReceived(box: AmpBox): void {
    this.#dispatcher.ampBoxReceived(box);
  }

  /** Fails the calls still waiting with `reason`. */
  stopReceivingBoxes(reason: Failure): void {
    this.#dispatcher.stopReceivingBoxes(reason);
  }

  /** Fails every call waiting for an answer with `reason`. */
  failAllOutgoing(reason: Failure): void {
    this.#dispatcher.failAllOutgoing(reason);
  }

  /** Finds and calls the responder to a command box; see {@linkcode BoxDispatcher.dispatchCommand}. */
  dispatchCommand(box: AmpBox): AmpBox | PromiseLike<AmpBox> {
    return this.#dispatcher.dispatchCommand(box);
  }
}

function safeAddress(get: () => IAddress): string {
  try {
    return String(get());
  } catch {
    return "?";
  }
}

/** A certificate chain and its private key, PEM text. */
export interface TLSCertificate {
  /** The certificate chain, PEM. */
  cert: string;
  /** The private key, PEM. */
  key: string;
}

/**
 * An argument that never goes on the wire: `StartTLS`'s special arguments
 * (Twisted's `_LocalArgument`).
 *
 * @example Using `LocalArgument`
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assertEquals } from "@std/assert";
 *
 * const box = new amp.AmpBox();
 * new amp.LocalArgument<string>().toBox("x", "kept here", box);
 * assertEquals(box.size, 0);
 * ```
 */
export class LocalArgument<T> extends Argument<T, T, true> {
  /** Creates the argument (always optional). */
  constructor() {
    super({ optional: true });
  }
  /** Never called: local arguments are not sent. */
  fromBytes(_bytes: Uint8Array): T {
    throw new TypeError("A local AMP argument is never received");
  }
  /** Never called: local arguments are not sent. */
  toBytes(_value: T): Uint8Array {
    throw new TypeError("A local AMP argument is never sent");
  }
  /** Reads nothing. */
  override fromBox(
    _name: string,
    _box: AmpBox,
    _objects: Record<string, unknown>,
  ): void {}
  /** Writes nothing. */
  override toBox(_name: string, _value: unknown, _box: AmpBox): void {}
}

/**
 * The answer to a `StartTLS`: it is sent, and TLS starts right after it
 * (Twisted's `_TLSBox`).
 */
class TLSBox extends AmpBox {
  readonly #certificate: TLSCertificate;
  readonly #verifyAuthorities: string[] | undefined;
  constructor(certificate: TLSCertificate, verifyAuthorities?: string[]) {
    super();
    this.#certificate = certificate;
    this.#verifyAuthorities = verifyAuthorities;
  }
  override sendTo(sender: IBoxSender): void {
    sender.sendBox(this);
    if (!(sender instanceof BinaryBoxProtocol)) {
      throw new TypeError("StartTLS needs a BinaryBoxProtocol connection");
    }
    const verify = this.#verifyAuthorities;
    startTLS(sender, {
      server: true,
      cert: this.#certificate.cert,
      key: this.#certificate.key,
      // Twisted's certificate.options(*authorities): a client certificate
      // signed by one of them is required.
      ...(verify === undefined ? {} : { verify: true, caCerts: verify }),
    });
  }
}

/**
 * Upgrades the connection to TLS (Twisted's `StartTLS`), with Twisted's
 * special arguments, which never go on the wire:
 * - the caller passes `tls_verifyAuthorities` (PEM CA certificates the
 *   peer's certificate must chain to) and may pass `tls_hostname` (the name
 *   the certificate must carry; Deno always checks it: by default the address
 *   connected to);
 *   the caller may present a certificate with `tls_localCertificate`;
 * - the responder answers `{ tls_localCertificate: { cert, key } }`, and
 *   may add `tls_verifyAuthorities` (then the caller must present a
 *   certificate one of them signed), synchronously (TLS starts inside
 *   `dataReceived`, right after the answer is written).
 *
 * The responder's side is the TLS server, the caller's the TLS client (in
 * Twisted the TCP roles decide; they agree when the TCP client calls
 * `StartTLS`, the usual case). Not supported: Twisted's anonymous default (a
 * throw-away certificate: a responder must give one).
 *
 * @example Declaring the responder
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assertExists } from "@std/assert";
 *
 * const certificate = { cert: "-----BEGIN CERTIFICATE-----...", key: "-----BEGIN PRIVATE KEY-----..." };
 * class Secure extends amp.AMP {
 *   @amp.StartTLS.responder
 *   startTLS() {
 *     return { tls_localCertificate: certificate };
 *   }
 * }
 * assertExists(new Secure().locateResponder("StartTLS"));
 * ```
 */
export class StartTLS extends Command {
  /** The special arguments (never sent). */
  static override arguments: {
    tls_localCertificate: LocalArgument<TLSCertificate>;
    tls_verifyAuthorities: LocalArgument<string[]>;
    tls_hostname: LocalArgument<string>;
  } = {
    tls_localCertificate: new LocalArgument<TLSCertificate>(),
    tls_verifyAuthorities: new LocalArgument<string[]>(),
    tls_hostname: new LocalArgument<string>(),
  };
  /** The special response (never sent). */
  static override response: {
    tls_localCertificate: LocalArgument<TLSCertificate>;
    tls_verifyAuthorities: LocalArgument<string[]>;
  } = {
    tls_localCertificate: new LocalArgument<TLSCertificate>(),
    tls_verifyAuthorities: new LocalArgument<string[]>(),
  };

  /** Builds the answer that starts TLS once it is sent. */
  static override makeResponse(objects: unknown, _proto?: unknown): AmpBox {
    const o = (objects ?? {}) as {
      tls_localCertificate?: TLSCertificate;
      tls_verifyAuthorities?: string[];
    };
    const authorities = o.tls_verifyAuthorities;
    if (
      authorities !== undefined &&
      (!Array.isArray(authorities) || authorities.length === 0 ||
        authorities.some((a) => typeof a !== "string"))
    ) {
      throw new RemoteAmpError(
        "TLS_ERROR",
        "tls_verifyAuthorities must be PEM CA certificates",
      );
    }
    const certificate = o.tls_localCertificate;
    if (
      certificate === undefined || typeof certificate.cert !== "string" ||
      typeof certificate.key !== "string"
    ) {
      throw new RemoteAmpError(
        "TLS_ERROR",
        "StartTLS needs a certificate: Twist cannot make a temporary one",
      );
    }
    return new TLSBox(certificate, authorities);
  }

  /** Sends the command, holds back later boxes, and starts TLS when the answer comes. */
  static override doCommand(
    sender: ICommandSender,
    objects?: Readonly<Record<string, unknown>>,
  ): Deferred<Record<string, unknown>> | undefined {
    objects ??= {};
    const {
      tls_localCertificate,
      tls_verifyAuthorities,
      tls_hostname,
      ...rest
    } = objects as {
      tls_localCertificate?: TLSCertificate;
      tls_verifyAuthorities?: string[];
      tls_hostname?: string;
    };
    if (!(sender instanceof BinaryBoxProtocol)) {
      return fail(new TypeError("StartTLS needs an AMP connection"));
    }
    if (
      tls_localCertificate !== undefined &&
      (typeof tls_localCertificate?.cert !== "string" ||
        typeof tls_localCertificate?.key !== "string")
    ) {
      return fail(
        new TypeError(
          "tls_localCertificate needs { cert, key } as PEM strings",
        ),
      );
    }
    const d = super.doCommand(sender, rest);
    if (d === undefined) return d;
    try {
      prepareTLS(sender);
    } catch (e) {
      return fail(e);
    }
    return d.addCallbacks((response) => {
      startTLS(sender, {
        server: false,
        hostname: tls_hostname,
        caCerts: tls_verifyAuthorities,
        ...(tls_localCertificate === undefined ? {} : {
          cert: tls_localCertificate.cert,
          key: tls_localCertificate.key,
        }),
      });
      return response;
    }, (failure: Failure) => {
      cancelTLS(sender);
      return failure;
    }) as Deferred<Record<string, unknown>>;
  }
}

/** The answer to a `ProtocolSwitchCommand`: once sent, the connection switches. */
class SwitchBox extends AmpBox {
  readonly #inner: IProtocol;
  constructor(inner: IProtocol) {
    super();
    this.#inner = inner;
  }
  override sendTo(sender: IBoxSender): void {
    sender.sendBox(this);
    if (!(sender instanceof BinaryBoxProtocol)) {
      throw new TypeError(
        "A protocol switch needs a BinaryBoxProtocol connection",
      );
    }
    lockForSwitch(sender);
    switchTo(sender, this.#inner);
  }
}

/**
 * Switches the connection from AMP to another protocol (Twisted's
 * `ProtocolSwitchCommand`): the responder returns the protocol instance to
 * switch to; the caller passes the factory of its new protocol after the
 * arguments: `callRemote(MySwitch, args, factory)`. After the answer, every
 * byte goes to the new protocols; a box sent meanwhile is refused with
 * `ProtocolSwitched`. If the call fails, the caller's AMP is unlocked and the
 * factory's `clientConnectionFailed` is called.
 *
 * @example Using `ProtocolSwitchCommand`
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { Protocol } from "@twist/twist";
 * import { assertExists } from "@std/assert";
 *
 * class SwitchToRaw extends amp.ProtocolSwitchCommand {}
 * class Server extends amp.AMP {
 *   @SwitchToRaw.responder
 *   switchToRaw() {
 *     return new Protocol();
 *   }
 * }
 * assertExists(new Server().locateResponder("SwitchToRaw"));
 * ```
 */
export class ProtocolSwitchCommand extends Command {
  /** Marks the command as a protocol switch (for `callRemote`'s type). */
  static override readonly switchesProtocol: true = true;

  /** Builds the answer that switches the connection once it is sent. */
  static override makeResponse(inner: unknown, _proto?: unknown): AmpBox {
    const p = inner as IProtocol;
    if (
      typeof p !== "object" || p === null ||
      typeof p.makeConnection !== "function"
    ) {
      throw new TypeError(
        "A ProtocolSwitchCommand responder must return the protocol to switch to",
      );
    }
    return new SwitchBox(p);
  }

  /** Sends the command, locks the connection, and switches when the answer comes. */
  static override doCommand(
    sender: ICommandSender,
    objects?: Readonly<Record<string, unknown>>,
    ...extra: unknown[]
  ): Deferred<Record<string, unknown>> | undefined {
    objects ??= {};
    const factory = extra[0] as IProtocolFactory | undefined;
    if (
      factory === undefined || typeof factory.buildProtocol !== "function"
    ) {
      return fail(
        new TypeError(
          `${this.name} needs the factory of the new protocol after its arguments`,
        ),
      );
    }
    if (!(sender instanceof BinaryBoxProtocol)) {
      return fail(new TypeError("A protocol switch needs an AMP connection"));
    }
    const d = super.doCommand(sender, objects);
    if (d === undefined) return d;
    lockForSwitch(sender);
    return d.addCallbacks((response) => {
      const inner = factory.buildProtocol(sender.transport.getPeer());
      if (inner === null) {
        throw new TypeError("The factory refused to build the new protocol");
      }
      switchTo(sender, inner, factory);
      return response;
    }, (failure: Failure) => {
      unlockFromSwitch(sender);
      const f = factory as {
        clientConnectionFailed?: (c: unknown, r: Failure) => void;
      };
      f.clientConnectionFailed?.(
        null,
        new Failure(new ConnectionLost("The protocol switch failed")),
      );
      return failure;
    }) as Deferred<Record<string, unknown>>;
  }
}

/** `callRemote` for any sender: the command encodes, sends and parses. */
function callRemoteOn<C extends CommandClass>(
  sender: Parameters<C["doCommand"]>[0],
  command: C,
  rest: CallArguments<C>,
): CallResult<C> {
  const [args, ...extra] = rest as unknown[];
  return command.doCommand(
    sender,
    (args ?? {}) as Record<string, unknown>,
    ...extra,
  ) as CallResult<C>;
}
