/**
 * `Failure`: a thrown value, carried through errbacks
 * (`twisted.python.failure`). In Twist it is a thin wrapper around the thrown
 * value, usually an `Error`; the stack is the `Error`'s own.
 *
 * @module
 */

/** A class of thrown values, as `check` and `trap` take. */
// deno-lint-ignore no-explicit-any
export type ErrorClass = abstract new (...args: any[]) => unknown;

/** What `check` and `trap` accept: a class, or a class name. */
export type ErrorType = ErrorClass | string;

/**
 * A thrown value, as errbacks and `connectionLost` receive it.
 *
 * @example Trapping an expected error in an errback
 * ```ts
 * import { ConnectionRefusedError, Failure, TimeoutError } from "@twist/twist";
 * import { assertEquals, assertThrows } from "@std/assert";
 *
 * const f = new Failure(new ConnectionRefusedError());
 * assertEquals(f.trap(TimeoutError, ConnectionRefusedError), ConnectionRefusedError);
 * assertThrows(() => f.trap(TimeoutError), ConnectionRefusedError);
 * assertEquals(f.getErrorMessage(), "Connection was refused by other side");
 * ```
 */
export class Failure {
  /** The thrown value (usually an `Error`). */
  readonly value: unknown;

  /**
   * Wraps `value`. A `Failure` given here is unwrapped, so failures never nest.
   */
  constructor(value: unknown) {
    this.value = value instanceof Failure ? value.value : value;
  }

  /** `value` if it is already a `Failure`, otherwise a new `Failure` of it. */
  static from(value: unknown): Failure {
    return value instanceof Failure ? value : new Failure(value);
  }

  /** The class of the value (its constructor), or `undefined` for primitives. */
  get type(): ErrorClass | undefined {
    const v = this.value;
    return typeof v === "object" && v !== null
      ? (v.constructor as ErrorClass)
      : undefined;
  }

  /**
   * The first of `types` the value is an instance of (a string matches a class
   * name in the value's prototype chain), or `null`.
   */
  check(...types: ErrorType[]): ErrorType | null {
    for (const t of types) {
      if (typeof t === "string") {
        if (classNames(this.value).includes(t)) return t;
      } else if (this.value instanceof t) {
        return t;
      }
    }
    return null;
  }

  /**
   * Like `check`, but when nothing matches it throws the wrapped value, so the
   * next errback in a chain sees the same failure.
   */
  trap(...types: ErrorType[]): ErrorType {
    const matched = this.check(...types);
    if (matched === null) this.raiseException();
    return matched as ErrorType;
  }

  /** Throws the wrapped value. */
  raiseException(): never {
    throw this.value;
  }

  /**
   * The value's message, or its string form for values that are not `Error`s
   * (plain objects are shown with `Deno.inspect`). Never throws, even for a
   * value that cannot be turned into a string.
   */
  getErrorMessage(): string {
    return describe(this.value, false);
  }

  /**
   * The value's stack followed by its causes (each after a `Caused by:` line,
   * at most 8 deep), or its string form for values that are not `Error`s.
   */
  getTraceback(): string {
    const lines: string[] = [];
    const seen = new Set<unknown>();
    let v: unknown = this.value;
    for (let depth = 0; depth < 8; depth++) {
      if (depth > 0) lines.push("Caused by:");
      seen.add(v);
      lines.push(describe(v, true));
      if (!(v instanceof Error) || v.cause === undefined || seen.has(v.cause)) {
        break;
      }
      v = v.cause;
    }
    return lines.join("\n");
  }

  /** `[Failure instance: Name: message]`, as Twisted prints it. */
  toString(): string {
    const v = this.value;
    let name: string = typeof v;
    if (v instanceof Error) name = safely(() => v.name, name);
    else if (typeof v === "object" && v !== null) {
      name = safely(() => v.constructor?.name, undefined) ?? name;
    }
    return `[Failure instance: ${name}: ${this.getErrorMessage()}]`;
  }
}

/** Runs `f`, or returns `fallback` if it throws (a hostile getter or toString). */
function safely<T, F>(f: () => T, fallback: F): T | F {
  try {
    return f();
  } catch {
    return fallback;
  }
}

/** An error's stack or message, or another value's string form, without throwing. */
function describe(v: unknown, withStack: boolean): string {
  return safely(() => {
    if (v instanceof Error) {
      return withStack ? v.stack ?? `${v.name}: ${v.message}` : `${v.message}`;
    }
    if (
      typeof v === "object" && v !== null &&
      (v.toString === Object.prototype.toString || v.toString === undefined)
    ) {
      return Deno.inspect(v);
    }
    return String(v);
  }, "<unprintable value>");
}

function classNames(value: unknown): string[] {
  const names: string[] = [];
  if (typeof value !== "object" || value === null) return names;
  if (value instanceof Error) names.push(value.name);
  for (let p = Object.getPrototypeOf(value); p; p = Object.getPrototypeOf(p)) {
    const ctor = p.constructor as { name?: string } | undefined;
    if (ctor?.name) names.push(ctor.name);
  }
  return names;
}
