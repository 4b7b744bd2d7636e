/**
 * AMP's argument types (`twisted.protocols.amp.Argument` and its
 * subclasses): how each value is written as bytes, exactly as Twisted writes
 * it, and read back.
 *
 * @module
 */
import { AmpBox, parseString } from "./_box.ts";
import { InvalidSignature, MalformedAmpBox, TooLong } from "./_errors.ts";
import { alloc, asciiBytes, utf8Bytes, view } from "./_slab.ts";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const latin1 = new TextDecoder("latin1");

/** Options every argument type takes. */
export interface ArgumentOptions<O extends boolean = false> {
  /**
   * Whether the argument may be left out: an absent value is not sent, and
   * an absent key gives an absent property.
   *
   * @default {false}
   */
  optional?: O;
}

/**
 * The base of every argument type: it turns a value into the bytes of a box
 * value and back (Twisted's `Argument`, whose `toString`/`fromString` are
 * `toBytes`/`fromBytes` here). Subclass it for a type of your own.
 *
 * @typeParam Out what a received value is parsed into
 * @typeParam In what may be sent
 * @typeParam O whether the argument is optional
 *
 * @example A custom argument type
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assertEquals } from "@std/assert";
 *
 * class Hex<O extends boolean = false> extends amp.Argument<number, number, O> {
 *   fromBytes(bytes: Uint8Array): number {
 *     return parseInt(new TextDecoder().decode(bytes), 16);
 *   }
 *   toBytes(value: number): Uint8Array {
 *     return new TextEncoder().encode(value.toString(16));
 *   }
 * }
 * const hex = new Hex();
 * assertEquals(hex.fromBytes(hex.toBytes(255)), 255);
 * ```
 */
export abstract class Argument<
  Out = unknown,
  In = Out,
  O extends boolean = false,
> {
  /** Whether the argument may be left out. */
  readonly optional: O;

  /**
   * Creates the argument type.
   *
   * @param options whether it is optional
   */
  constructor(options?: ArgumentOptions<O>) {
    options ??= {};
    this.optional = (options.optional ?? false) as O;
  }

  /**
   * Parses a received value.
   *
   * @param bytes the value's bytes (a view the argument may keep)
   * @returns the parsed value
   */
  abstract fromBytes(bytes: Uint8Array): Out;

  /**
   * Encodes a value to send.
   *
   * @param value the value
   * @returns its bytes
   */
  abstract toBytes(value: In): Uint8Array;

  /**
   * Reads argument `name` from `box` into `objects` (Twisted's `fromBox`):
   * an absent optional argument stays absent.
   *
   * @param name the key
   * @param box the received box
   * @param objects the parsed values so far
   */
  fromBox(name: string, box: AmpBox, objects: Record<string, unknown>): void {
    const bytes = box.get(name);
    if (bytes === undefined) {
      if (this.optional) return;
      throw new MalformedAmpBox(`Missing AMP argument "${name}"`);
    }
    objects[name] = this.fromBytes(bytes);
  }

  /**
   * Writes `value` into `box` as `name` (Twisted's `toBox`): an absent
   * (`undefined` or `null`) optional value is not written.
   *
   * @param name the key
   * @param value the value, or `undefined`
   * @param box the box being built
   */
  toBox(name: string, value: In | undefined | null, box: AmpBox): void {
    if (value === undefined || value === null) {
      if (this.optional) return;
      throw new InvalidSignature(`forgot ${name}`);
    }
    box.set(name, this.toBytes(value));
  }
}

/** Any argument type. */
// deno-lint-ignore no-explicit-any
export type AnyArgument = Argument<any, any, boolean>;

/** A command's argument or response declaration: names to argument types. */
export type ArgumentSpec = Readonly<Record<string, AnyArgument>>;

/** What a received value of argument type `A` is parsed into. */
// deno-lint-ignore no-explicit-any
export type OutOf<A> = A extends Argument<infer Out, any, any> ? Out : never;
/** What may be sent for argument type `A`. */
// deno-lint-ignore no-explicit-any
export type InOf<A> = A extends Argument<any, infer In, any> ? In : never;

/**
 * The values a declaration `S` parses into: required names are required
 * properties, optional ones optional.
 */
export type ArgumentsOut<S> =
  & {
    [K in keyof S as S[K] extends { readonly optional: true } ? never : K]:
      OutOf<S[K]>;
  }
  & {
    [K in keyof S as S[K] extends { readonly optional: true } ? K : never]?:
      OutOf<S[K]>;
  };

/** The values that may be sent for a declaration `S` (an optional one may be `null`). */
export type ArgumentsIn<S> =
  & {
    [K in keyof S as S[K] extends { readonly optional: true } ? never : K]:
      InOf<S[K]>;
  }
  & {
    [K in keyof S as S[K] extends { readonly optional: true } ? K : never]?:
      | InOf<S[K]>
      | null;
  };

const specEntries = new WeakMap<object, [string, AnyArgument][]>();

/** The `[name, type]` pairs of `spec` (computed once per declaration). */
export function entriesOf(spec: ArgumentSpec): [string, AnyArgument][] {
  let entries = specEntries.get(spec);
  if (entries === undefined) {
    entries = Object.entries(spec);
    specEntries.set(spec, entries);
  }
  return entries;
}

/**
 * Encodes `objects` into `box` through `spec` (Twisted's `_objectsToStrings`,
 * with `makeArguments`' checks): every required name must be present, and no
 * name outside `spec` may be.
 *
 * @throws {InvalidSignature} for a missing or unknown name
 */
export function objectsToBox(
  objects: Readonly<Record<string, unknown>>,
  spec: ArgumentSpec,
  box: AmpBox,
  what: string,
): AmpBox {
  if (typeof objects !== "object" || objects === null) {
    throw new InvalidSignature(
      `Invalid arguments for ${what}: expected an object, got ${objects}`,
    );
  }
  for (const name in objects) {
    if (!Object.hasOwn(spec, name)) {
      throw new InvalidSignature(`${name} is not a valid argument`);
    }
  }
  let forgotten: string[] | undefined;
  for (const [name, arg] of entriesOf(spec)) {
    const value = objects[name];
    if ((value === undefined || value === null) && !arg.optional) {
      (forgotten ??= []).push(name);
      continue;
    }
    arg.toBox(name, value, box);
  }
  if (forgotten) {
    throw new InvalidSignature(`forgot ${forgotten.join(", ")} for ${what}`);
  }
  return box;
}

/** Parses `box` through `spec` (Twisted's `_stringsToObjects`); other keys are ignored. */
export function boxToObjects(
  box: AmpBox,
  spec: ArgumentSpec,
): Record<string, unknown> {
  const objects: Record<string, unknown> = {};
  for (const [name, arg] of entriesOf(spec)) arg.fromBox(name, box, objects);
  return objects;
}

const ascii = asciiBytes;

/** Python's whitespace, as `int()` and `float()` strip it. */
// deno-lint-ignore no-control-regex
const PY_SPACE = /^[\s\x1c-\x1f]+|[\s\x1c-\x1f]+$/g;
const PY_INT = /^[+-]?\d(?:_?\d)*$/;

/** Python's `int(bytes)`, as a bigint; `null` if it is not an integer. */
function parsePythonInt(bytes: Uint8Array): bigint | null {
  const text = latin1.decode(bytes).replace(PY_SPACE, "");
  if (!PY_INT.test(text)) return null;
  return BigInt(text.replaceAll("_", ""));
}

function badValue(type: string, bytes: Uint8Array): TypeError {
  const shown = latin1.decode(bytes.subarray(0, 64));
  return new TypeError(
    `Invalid AMP ${type} value ${JSON.stringify(shown)}${
      bytes.length > 64 ? "..." : ""
    }`,
  );
}

/**
 * An integer as its decimal text (`123`), as a JS `number`: a value that is
 * not a safe integer is refused on both sides (use {@linkcode BigInteger}).
 *
 * @example Using `Integer`
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * const int = new amp.Integer();
 * assertEquals(new TextDecoder().decode(int.toBytes(-42)), "-42");
 * assertEquals(int.fromBytes(new TextEncoder().encode("1_000")), 1000);
 * assertThrows(() => int.toBytes(2 ** 53), RangeError);
 * ```
 */
export class Integer<O extends boolean = false>
  extends Argument<number, number, O> {
  /** Parses Python's `int()` forms. */
  fromBytes(bytes: Uint8Array): number {
    const n = bytes.length;
    // The common case: a short run of digits, read without making a string.
    if (n > 0 && n <= 15) {
      let i = bytes[0] === 0x2d ? 1 : 0;
      let value = 0;
      for (; i < n; i++) {
        const d = bytes[i] - 0x30;
        if (d < 0 || d > 9) break;
        value = value * 10 + d;
      }
      if (i === n && n > (bytes[0] === 0x2d ? 1 : 0)) {
        return bytes[0] === 0x2d ? -value : value;
      }
    }
    const big = parsePythonInt(bytes);
    if (big === null) throw badValue("Integer", bytes);
    const value = Number(big);
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(
        `Invalid AMP Integer ${big}: not a safe integer (use amp.BigInteger)`,
      );
    }
    return value;
  }

  /** Writes the decimal text. */
  toBytes(value: number): Uint8Array {
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(
        `Invalid AMP Integer ${
          typeof value === "number" ? value : JSON.stringify(String(value))
        }: not a safe integer (use amp.BigInteger)`,
      );
    }
    return ascii(String(value));
  }
}

/**
 * An integer of any size, as a `bigint`; the same wire form as
 * {@linkcode Integer} (Twisted's `Integer` with Python's unbounded ints).
 *
 * @example Using `BigInteger`
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assertEquals } from "@std/assert";
 *
 * const big = new amp.BigInteger();
 * assertEquals(big.fromBytes(big.toBytes(-(10n ** 40n))), -(10n ** 40n));
 * ```
 */
export class BigInteger<O extends boolean = false>
  extends Argument<bigint, bigint, O> {
  /** Parses Python's `int()` forms. */
  fromBytes(bytes: Uint8Array): bigint {
    const big = parsePythonInt(bytes);
    if (big === null) throw badValue("BigInteger", bytes);
    return big;
  }

  /** Writes the decimal text. */
  toBytes(value: bigint): Uint8Array {
    if (typeof value !== "bigint") {
      if (Number.isInteger(value)) return ascii(BigInt(value).toString());
      throw new TypeError(
        `Invalid AMP BigInteger ${String(value)}: expected a bigint`,
      );
    }
    return ascii(value.toString());
  }
}

/**
 * A number written as Python prints a float: `617.0`, `1e-05`, `1e+16`,
 * `-0.0`, `inf`, `-inf`, `nan`.
 *
 * @param x the number
 * @returns Python's `repr(x)`
 *
 * @example Calling `pythonFloatRepr`
 * ```ts
 * import { pythonFloatRepr } from "@twist/twist/protocols/amp";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals([617, 1e-5, 1e16, 0.1].map(pythonFloatRepr), ["617.0", "1e-05", "1e+16", "0.1"]);
 * ```
 */
export function pythonFloatRepr(x: number): string {
  if (x !== x) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const abs = x < 0 ? -x : x;
  if (abs >= 1e-4 && abs < 1e16) {
    // Inside this range JS and Python print the same shortest digits, in
    // fixed notation; Python adds ".0" to a whole number.
    const s = String(x);
    return s.includes(".") ? s : s + ".0";
  }
  const e = x.toExponential();
  const at = e.indexOf("e");
  const exponent = Number(e.slice(at + 1));
  const digits = String(Math.abs(exponent)).padStart(2, "0");
  return `${e.slice(0, at)}e${exponent < 0 ? "-" : "+"}${digits}`;
}

const PY_FLOAT =
  /^[+-]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?$/;
const PY_FLOAT_SPECIAL = /^([+-]?)(inf|infinity|nan)$/i;

/**
 * A floating-point number, written as Python's `repr` writes it
 * (see {@linkcode pythonFloatRepr}); Python's `float()` forms are read.
 *
 * @example Using `Float`
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assert, assertEquals } from "@std/assert";
 *
 * const float = new amp.Float();
 * assertEquals(new TextDecoder().decode(float.toBytes(617)), "617.0");
 * assert(Number.isNaN(float.fromBytes(new TextEncoder().encode("nan"))));
 * ```
 */
export class Float<O extends boolean = false>
  extends Argument<number, number, O> {
  /** Parses Python's `float()` forms. */
  fromBytes(bytes: Uint8Array): number {
    const text = latin1.decode(bytes).replace(PY_SPACE, "");
    if (PY_FLOAT.test(text)) return Number(text.replaceAll("_", ""));
    const special = PY_FLOAT_SPECIAL.exec(text);
    if (special === null) throw badValue("Float", bytes);
    if (special[2].toLowerCase() === "nan") return NaN;
    return special[1] === "-" ? -Infinity : Infinity;
  }

  /** Writes Python's `repr` of the number. */
  toBytes(value: number): Uint8Array {
    if (typeof value !== "number") {
      throw new TypeError(
        `Invalid AMP Float ${String(value)}: expected a number`,
      );
    }
    return ascii(pythonFloatRepr(value));
  }
}

const TRUE = ascii("True");
const FALSE = ascii("False");

/**
 * `True` or `False`.
 *
 * @example Using `Boolean`
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new TextDecoder().decode(new amp.Boolean().toBytes(true)), "True");
 * ```
 */
export class Boolean<O extends boolean = false>
  extends Argument<boolean, boolean, O> {
  /** Reads `True` or `False`; anything else is an error. */
  fromBytes(bytes: Uint8Array): boolean {
    const text = latin1.decode(bytes);
    if (text === "True") return true;
    if (text === "False") return false;
    throw badValue("Boolean", bytes);
  }

  /** Writes `True` for a truthy value, `False` otherwise. */
  toBytes(value: boolean): Uint8Array {
    return value ? TRUE : FALSE;
  }
}

/**
 * Bytes as they are (Twisted's `amp.String`, exported as `String` too).
 *
 * @example Using `Bytes`
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new amp.Bytes().toBytes(new Uint8Array([0, 255])), new Uint8Array([0, 255]));
 * ```
 */
export class Bytes<O extends boolean = false>
  extends Argument<Uint8Array, Uint8Array, O> {
  /** The bytes themselves. */
  fromBytes(bytes: Uint8Array): Uint8Array {
    return bytes;
  }

  /** The bytes themselves. */
  toBytes(value: Uint8Array): Uint8Array {
    if (!(value instanceof Uint8Array)) {
      throw new TypeError(
        `Invalid AMP Bytes value: expected a Uint8Array, got ${typeof value}`,
      );
    }
    return value;
  }
}

/**
 * Text, as UTF-8. Invalid UTF-8 received is an error, as in Python.
 *
 * @example Using `Unicode`
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assertEquals } from "@std/assert";
 *
 * const text = new amp.Unicode();
 * assertEquals(text.fromBytes(text.toBytes("héllo 世界")), "héllo 世界");
 * ```
 */
export class Unicode<O extends boolean = false>
  extends Argument<string, string, O> {
  /** Decodes UTF-8 strictly. */
  fromBytes(bytes: Uint8Array): string {
    try {
      return strictUtf8.decode(bytes);
    } catch (e) {
      throw new TypeError("Invalid AMP Unicode value: not UTF-8", { cause: e });
    }
  }

  /** Encodes UTF-8. */
  toBytes(value: string): Uint8Array {
    if (typeof value !== "string") {
      throw new TypeError(
        `Invalid AMP Unicode value: expected a string, got ${typeof value}`,
      );
    }
    return utf8Bytes(value);
  }
}

/**
 * A file path, as UTF-8 text (Twisted's `amp.Path` carries a `FilePath`;
 * here it is a string).
 *
 * @example Using `Path`
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assertEquals } from "@std/assert";
 *
 * const path = new amp.Path();
 * assertEquals(path.fromBytes(path.toBytes("/tmp/x")), "/tmp/x");
 * ```
 */
export class Path<O extends boolean = false> extends Unicode<O> {}

/**
 * A list of values of one type, each after its 16-bit length (Twisted's
 * `ListOf`); the whole list must fit in one value (65,535 bytes).
 *
 * @example Using `ListOf`
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assertEquals } from "@std/assert";
 *
 * const list = new amp.ListOf(new amp.Integer());
 * assertEquals(list.toBytes([1, 22]), new Uint8Array([0, 1, 49, 0, 2, 50, 50]));
 * assertEquals(list.fromBytes(list.toBytes([1, 22])), [1, 22]);
 * ```
 */
export class ListOf<E extends AnyArgument, O extends boolean = false>
  extends Argument<OutOf<E>[], Iterable<InOf<E>>, O> {
  /** The type of each element. */
  readonly elementType: E;

  /**
   * Creates the list type.
   *
   * @param elementType the type of each element
   * @param options whether it is optional
   */
  constructor(elementType: E, options?: ArgumentOptions<O>) {
    options ??= {};
    super(options);
    this.elementType = elementType;
  }

  /** Parses each length-prefixed element. */
  fromBytes(bytes: Uint8Array): OutOf<E>[] {
    const out: OutOf<E>[] = [];
    const n = bytes.length;
    let p = 0;
    while (p < n) {
      if (p + 2 > n) break;
      const length = (bytes[p] << 8) | bytes[p + 1];
      p += 2;
      if (p + length > n) {
        p = n + 1;
        break;
      }
      out.push(this.elementType.fromBytes(view(bytes, p, p + length)));
      p += length;
    }
    if (p !== n) {
      throw new MalformedAmpBox(
        "Malformed AMP ListOf value: it ends in the middle of an element",
      );
    }
    return out;
  }

  /** Writes each element after its length. */
  toBytes(value: Iterable<InOf<E>>): Uint8Array {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (const item of value) {
      const bytes = this.elementType.toBytes(item);
      if (bytes.length > 0xffff) throw new TooLong(false, true, bytes);
      parts.push(bytes);
      total += 2 + bytes.length;
    }
    const out = alloc(total);
    let p = 0;
    for (const bytes of parts) {
      out[p] = bytes.length >>> 8;
      out[p + 1] = bytes.length & 0xff;
      out.set(bytes, p + 2);
      p += 2 + bytes.length;
    }
    return out;
  }
}

/**
 * A list of objects, each written as a box through its own declaration
 * (Twisted's `AmpList`).
 *
 * @example Round-tripping a list of boxes with `AmpList`
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assertEquals } from "@std/assert";
 *
 * const list = new amp.AmpList({ a: new amp.Integer(), b: new amp.Unicode({ optional: true }) });
 * const rows = [{ a: 7, b: "hello" }, { a: 9 }];
 * assertEquals(list.fromBytes(list.toBytes(rows)), rows);
 * ```
 */
// The declaration is constrained loosely (`object`), not by `ArgumentSpec`:
// a contextual type would make `new Unicode({ optional: true })` infer
// `optional: boolean` instead of `true`.
export class AmpList<S extends object, O extends boolean = false>
  extends Argument<ArgumentsOut<S>[], Iterable<ArgumentsIn<S>>, O> {
  /** The declaration of each object. */
  readonly subargs: S;

  /**
   * Creates the list type.
   *
   * @param subargs the declaration of each object
   * @param options whether it is optional
   */
  constructor(subargs: S, options?: ArgumentOptions<O>) {
    options ??= {};
    super(options);
    this.subargs = subargs;
  }

  /** Parses each box. */
  fromBytes(bytes: Uint8Array): ArgumentsOut<S>[] {
    return parseString(bytes).map((box) =>
      boxToObjects(box, this.subargs as ArgumentSpec) as ArgumentsOut<S>
    );
  }

  /** Writes each object as a box. */
  toBytes(value: Iterable<ArgumentsIn<S>>): Uint8Array {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (const objects of value) {
      const bytes = objectsToBox(
        objects as Record<string, unknown>,
        this.subargs as ArgumentSpec,
        new AmpBox(),
        "AmpList",
      ).serialize();
      parts.push(bytes);
      total += bytes.length;
    }
    const out = new Uint8Array(total);
    let p = 0;
    for (const bytes of parts) {
      out.set(bytes, p);
      p += bytes.length;
    }
    return out;
  }
}

const DECIMAL =
  /^[+-]?(?:(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?|inf|infinity|s?nan\d*)$/i;

/**
 * A decimal number as its exact text (Twisted's `amp.Decimal`, for Python's
 * `decimal.Decimal`): `"1.50"`, `"-0"`, `"1E+2"`, `"Infinity"`, `"NaN"`.
 * The text is checked against Python's syntax and carried as it is, so no
 * digit is lost; use a decimal library to compute with it.
 *
 * @example Using `Decimal`
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * const decimal = new amp.Decimal();
 * assertEquals(decimal.fromBytes(decimal.toBytes("1.50")), "1.50");
 * assertThrows(() => decimal.toBytes("1,5"), TypeError);
 * ```
 */
export class Decimal<O extends boolean = false>
  extends Argument<string, string, O> {
  /** Reads the text, checking Python's decimal syntax. */
  fromBytes(bytes: Uint8Array): string {
    const text = latin1.decode(bytes).replace(PY_SPACE, "");
    if (!DECIMAL.test(text)) throw badValue("Decimal", bytes);
    return text;
  }

  /** Writes the text, checking Python's decimal syntax. */
  toBytes(value: string): Uint8Array {
    if (typeof value !== "string" || !DECIMAL.test(value)) {
      throw new TypeError(
        `Invalid AMP Decimal ${
          JSON.stringify(String(value))
        }: expected decimal text`,
      );
    }
    return ascii(value);
  }
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/** A fixed-offset time zone id (`+05:30`, `-00:00` reads as `+00:00`). */
function offsetZone(sign: string, hours: number, minutes: number): string {
  const negative = sign === "-" && hours * 60 + minutes !== 0;
  return `${negative ? "-" : "+"}${pad(hours, 2)}:${pad(minutes, 2)}`;
}

const DATETIME =
  /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{6})([+-])(\d\d):(\d\d)$/;

/**
 * A date and time with a fixed UTC offset, in Twisted's 32-character form
 * `2012-01-23T12:34:56.054321-05:00` (UTC is written `-00:00`, as Twisted
 * does). Received values are `Temporal.ZonedDateTime`s in a fixed-offset
 * zone, so the offset and the microseconds survive a round trip; a `Date`
 * may also be sent (as UTC). Years are 1 to 9999, as in Python.
 *
 * @example Using `DateTime`
 * ```ts
 * import * as amp from "@twist/twist/protocols/amp";
 * import { assertEquals } from "@std/assert";
 *
 * const dt = new amp.DateTime();
 * const wire = "2012-01-23T12:34:56.054321-05:00";
 * const value = dt.fromBytes(new TextEncoder().encode(wire));
 * assertEquals(value.offset, "-05:00");
 * assertEquals(new TextDecoder().decode(dt.toBytes(value)), wire);
 * assertEquals(new TextDecoder().decode(dt.toBytes(new Date(0))), "1970-01-01T00:00:00.000000-00:00");
 * ```
 */
export class DateTime<O extends boolean = false> extends Argument<
  Temporal.ZonedDateTime,
  Temporal.ZonedDateTime | Date,
  O
> {
  /** Parses the 32-character form. */
  fromBytes(bytes: Uint8Array): Temporal.ZonedDateTime {
    const text = latin1.decode(bytes);
    const m = DATETIME.exec(text);
    if (m === null) throw badValue("DateTime", bytes);
    const micro = Number(m[7]);
    try {
      return Temporal.ZonedDateTime.from({
        year: Number(m[1]),
        month: Number(m[2]),
        day: Number(m[3]),
        hour: Number(m[4]),
        minute: Number(m[5]),
        second: Number(m[6]),
        millisecond: Math.floor(micro / 1000),
        microsecond: micro % 1000,
        timeZone: offsetZone(m[8], Number(m[9]), Number(m[10])),
      }, { overflow: "reject" });
    } catch (e) {
      throw new TypeError(
        `Invalid AMP DateTime value ${JSON.stringify(text)}`,
        { cause: e },
      );
    }
  }

  /** Writes the 32-character form. */
  toBytes(value: Temporal.ZonedDateTime | Date): Uint8Array {
    let zdt: Temporal.ZonedDateTime;
    if (value instanceof Date) {
      const ms = value.getTime();
      if (Number.isNaN(ms)) {
        throw new RangeError("Invalid AMP DateTime: an invalid Date");
      }
      zdt = Temporal.Instant.fromEpochMilliseconds(ms).toZonedDateTimeISO(
        "UTC",
      );
    } else if (value instanceof Temporal.ZonedDateTime) {
      zdt = value;
    } else {
      throw new TypeError(
        "Invalid AMP DateTime: expected a Temporal.ZonedDateTime or a Date",
      );
    }
    if (zdt.year < 1 || zdt.year > 9999) {
      throw new RangeError(
        `Invalid AMP DateTime: year ${zdt.year} is outside 1 to 9999`,
      );
    }
    const minutes = Math.floor(zdt.offsetNanoseconds / 60e9);
    const abs = Math.abs(minutes);
    const text = `${pad(zdt.year, 4)}-${pad(zdt.month, 2)}-${pad(zdt.day, 2)}T${
      pad(zdt.hour, 2)
    }:${pad(zdt.minute, 2)}:${pad(zdt.second, 2)}.${
      pad(zdt.millisecond * 1000 + zdt.microsecond, 6)
    }${minutes > 0 ? "+" : "-"}${pad(Math.floor(abs / 60), 2)}:${
      pad(abs % 60, 2)
    }`;
    return ascii(text);
  }
}
