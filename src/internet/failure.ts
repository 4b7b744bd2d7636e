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

  /** The value's message (or its string form). */
  getErrorMessage(): string {
    const v = this.value;
    if (v instanceof Error) return v.message;
    return String(v);
  }

  /** The value's stack, including its causes; or its string form. */
  getTraceback(): string {
    const lines: string[] = [];
    let v: unknown = this.value;
    for (let depth = 0; v !== undefined && depth < 8; depth++) {
      if (depth > 0) lines.push("Caused by:");
      if (v instanceof Error) {
        lines.push(v.stack ?? `${v.name}: ${v.message}`);
        v = v.cause;
      } else {
        lines.push(String(v));
        v = undefined;
      }
    }
    return lines.join("\n");
  }

  /** `[Failure instance: Name: message]`, as Twisted prints it. */
  toString(): string {
    const v = this.value;
    const name = v instanceof Error ? v.name : typeof v;
    return `[Failure instance: ${name}: ${this.getErrorMessage()}]`;
  }
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
