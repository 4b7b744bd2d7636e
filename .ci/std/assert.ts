/**
 * Offline stand-in for `jsr:@std/assert`, used by `.ci/run` only when JSR cannot
 * be reached. It keeps the signatures and the pass/fail behaviour of the real
 * functions the project uses; messages are shorter. Built on `node:assert` and
 * `node:util`.
 *
 * @module
 */
import { inspect, isDeepStrictEqual } from "node:util";

/** Thrown when an assertion fails, as in `@std/assert`. */
export class AssertionError extends Error {
  /** Creates an assertion error with the given message. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AssertionError";
  }
}

const show = (v: unknown): string => inspect(v, { depth: 6, breakLength: 100 });
const suffix = (msg?: string): string => (msg ? `: ${msg}` : "");

/** Asserts that `expr` is truthy. */
export function assert(expr: unknown, msg = ""): asserts expr {
  if (!expr) throw new AssertionError(msg || "Expected expression to be true");
}

/** Asserts that `expr` is falsy. */
export function assertFalse(expr: unknown, msg = ""): void {
  if (expr) throw new AssertionError(msg || "Expected expression to be false");
}

function equal(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (a instanceof Error && b instanceof Error) {
    return a.constructor === b.constructor && a.message === b.message;
  }
  return isDeepStrictEqual(a, b);
}

/** Asserts deep equality of `actual` and `expected`. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  if (!equal(actual, expected)) {
    throw new AssertionError(
      `Values are not equal${suffix(msg)}\n  actual: ${
        show(actual)
      }\n  expected: ${show(expected)}`,
    );
  }
}

/** Asserts that `actual` and `expected` are not deeply equal. */
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  if (equal(actual, expected)) {
    throw new AssertionError(
      `Expected actual: ${show(actual)} not to be: ${show(expected)}${
        suffix(msg)
      }`,
    );
  }
}

/** Asserts `Object.is(actual, expected)`. */
export function assertStrictEquals<T>(
  actual: unknown,
  expected: T,
  msg?: string,
): asserts actual is T {
  if (!Object.is(actual, expected)) {
    throw new AssertionError(
      `Values are not strictly equal${suffix(msg)}\n  actual: ${
        show(actual)
      }\n  expected: ${show(expected)}`,
    );
  }
}

/** Asserts `!Object.is(actual, expected)`. */
export function assertNotStrictEquals<T>(
  actual: T,
  expected: T,
  msg?: string,
): void {
  if (Object.is(actual, expected)) {
    throw new AssertionError(
      `Expected "actual" to not be strictly equal to: ${show(expected)}${
        suffix(msg)
      }`,
    );
  }
}

/** Asserts that `actual` is neither `null` nor `undefined`. */
export function assertExists<T>(
  actual: T,
  msg?: string,
): asserts actual is NonNullable<T> {
  if (actual === undefined || actual === null) {
    throw new AssertionError(
      msg || `Expected actual: "${actual}" to not be null or undefined`,
    );
  }
}

/** Asserts that two numbers are within `tolerance` of each other. */
export function assertAlmostEquals(
  actual: number,
  expected: number,
  tolerance?: number,
  msg?: string,
): void {
  if (Object.is(actual, expected)) return;
  const delta = Math.abs(expected - actual);
  const tol = tolerance ?? Math.abs(expected) * 1e-7;
  if (!(delta <= tol)) {
    throw new AssertionError(
      `Expected actual: "${actual}" to be close to "${expected}": delta "${delta}" is greater than "${tol}"${
        suffix(msg)
      }`,
    );
  }
}

/** Asserts `actual > expected`. */
export function assertGreater<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual > expected)) {
    throw new AssertionError(
      msg || `Expect ${show(actual)} > ${show(expected)}`,
    );
  }
}
/** Asserts `actual >= expected`. */
export function assertGreaterOrEqual<T>(
  actual: T,
  expected: T,
  msg?: string,
): void {
  if (!(actual >= expected)) {
    throw new AssertionError(
      msg || `Expect ${show(actual)} >= ${show(expected)}`,
    );
  }
}
/** Asserts `actual < expected`. */
export function assertLess<T>(actual: T, expected: T, msg?: string): void {
  if (!(actual < expected)) {
    throw new AssertionError(
      msg || `Expect ${show(actual)} < ${show(expected)}`,
    );
  }
}
/** Asserts `actual <= expected`. */
export function assertLessOrEqual<T>(
  actual: T,
  expected: T,
  msg?: string,
): void {
  if (!(actual <= expected)) {
    throw new AssertionError(
      msg || `Expect ${show(actual)} <= ${show(expected)}`,
    );
  }
}

/** Asserts that `actual` includes `expected` as a substring. */
export function assertStringIncludes(
  actual: string,
  expected: string,
  msg?: string,
): void {
  if (!actual.includes(expected)) {
    throw new AssertionError(
      msg || `Expected actual: "${actual}" to contain: "${expected}"`,
    );
  }
}

/** Asserts that `actual` matches `expected`. */
export function assertMatch(
  actual: string,
  expected: RegExp,
  msg?: string,
): void {
  if (!expected.test(actual)) {
    throw new AssertionError(
      msg || `Expected actual: "${actual}" to match: "${expected}"`,
    );
  }
}

/** Asserts that `actual` does not match `expected`. */
export function assertNotMatch(
  actual: string,
  expected: RegExp,
  msg?: string,
): void {
  if (expected.test(actual)) {
    throw new AssertionError(
      msg || `Expected actual: "${actual}" to not match: "${expected}"`,
    );
  }
}

/** Asserts that every item of `expected` is deeply equal to some item of `actual`. */
export function assertArrayIncludes<T>(
  actual: ArrayLike<T>,
  expected: ArrayLike<T>,
  msg?: string,
): void {
  const a = Array.from(actual);
  const missing = Array.from(expected).filter((e) =>
    !a.some((x) => equal(x, e))
  );
  if (missing.length) {
    throw new AssertionError(
      msg ||
        `Expected actual: ${show(actual)} to include: ${
          show(expected)
        }\nmissing: ${show(missing)}`,
    );
  }
}

function matches(actual: unknown, expected: unknown): boolean {
  if (typeof expected !== "object" || expected === null) {
    return equal(actual, expected);
  }
  if (typeof actual !== "object" || actual === null) return false;
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length &&
      expected.every((e, i) => matches(actual[i], e));
  }
  return Object.entries(expected).every(([k, v]) =>
    matches((actual as Record<string, unknown>)[k], v)
  );
}

/** Asserts that `actual` has (at least) the properties of `expected`. */
export function assertObjectMatch(
  actual: Record<PropertyKey, unknown>,
  expected: Record<PropertyKey, unknown>,
  msg?: string,
): void {
  if (!matches(actual, expected)) {
    throw new AssertionError(
      msg ||
        `Values do not match\n  actual: ${show(actual)}\n  expected: ${
          show(expected)
        }`,
    );
  }
}

// deno-lint-ignore no-explicit-any
type AnyConstructor = abstract new (...args: any[]) => any;

/** Asserts that `actual` is an instance of `expectedType`. */
export function assertInstanceOf<T extends AnyConstructor>(
  actual: unknown,
  expectedType: T,
  msg?: string,
): asserts actual is InstanceType<T> {
  if (!(actual instanceof expectedType)) {
    throw new AssertionError(
      msg ||
        `Expected object to be an instance of "${expectedType.name}" but was ${
          show(actual)
        }`,
    );
  }
}

/** Asserts that `actual` is not an instance of `unexpectedType`. */
export function assertNotInstanceOf<A, T>(
  actual: A,
  unexpectedType: new (...args: unknown[]) => T,
  msg?: string,
): void {
  if (actual instanceof unexpectedType) {
    throw new AssertionError(
      msg ||
        `Expected object to not be an instance of "${unexpectedType.name}"`,
    );
  }
}

function checkError(
  e: unknown,
  ErrorClass?: AnyConstructor,
  msgIncludes?: string,
  msg?: string,
): void {
  if (ErrorClass && !(e instanceof ErrorClass)) {
    throw new AssertionError(
      `Expected error to be instance of "${ErrorClass.name}", but was "${
        (e as Error)?.constructor?.name
      }"${suffix(msg)}`,
      { cause: e },
    );
  }
  if (msgIncludes !== undefined) {
    const text = e instanceof Error ? e.message : String(e);
    if (!text.includes(msgIncludes)) {
      throw new AssertionError(
        `Expected error message to include "${msgIncludes}", but got "${text}"${
          suffix(msg)
        }`,
        { cause: e },
      );
    }
  }
}

/** Asserts that `fn` throws; returns what it threw. */
export function assertThrows(fn: () => unknown, msg?: string): unknown;
/** Asserts that `fn` throws an instance of `ErrorClass`; returns it. */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  ErrorClass: abstract new (...args: any[]) => E,
  msgIncludes?: string,
  msg?: string,
): E;
export function assertThrows(
  fn: () => unknown,
  errorClassOrMsg?: AnyConstructor | string,
  msgIncludes?: string,
  msg?: string,
): unknown {
  let ErrorClass: AnyConstructor | undefined;
  if (typeof errorClassOrMsg === "string") msg = errorClassOrMsg;
  else ErrorClass = errorClassOrMsg;
  try {
    fn();
  } catch (e) {
    checkError(e, ErrorClass, msgIncludes, msg);
    return e;
  }
  throw new AssertionError(`Expected function to throw${suffix(msg)}`);
}

/** Asserts that the promise returned by `fn` rejects; resolves to the reason. */
export function assertRejects(
  fn: () => PromiseLike<unknown>,
  msg?: string,
): Promise<unknown>;
/** Asserts that `fn`'s promise rejects with an instance of `ErrorClass`. */
export function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  // deno-lint-ignore no-explicit-any
  ErrorClass: abstract new (...args: any[]) => E,
  msgIncludes?: string,
  msg?: string,
): Promise<E>;
export async function assertRejects(
  fn: () => PromiseLike<unknown>,
  errorClassOrMsg?: AnyConstructor | string,
  msgIncludes?: string,
  msg?: string,
): Promise<unknown> {
  let ErrorClass: AnyConstructor | undefined;
  if (typeof errorClassOrMsg === "string") msg = errorClassOrMsg;
  else ErrorClass = errorClassOrMsg;
  try {
    await fn();
  } catch (e) {
    checkError(e, ErrorClass, msgIncludes, msg);
    return e;
  }
  throw new AssertionError(`Expected function to reject${suffix(msg)}`);
}

/** Always throws: marks a place a test must not reach. */
export function fail(msg?: string): never {
  throw new AssertionError(`Failed assertion${suffix(msg)}`);
}

/** Always throws: marks unreachable code. */
export function unreachable(msg?: string): never {
  throw new AssertionError(msg ?? "Unreachable");
}
