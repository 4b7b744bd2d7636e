/**
 * STUB — being replaced by the full implementation (helper "defer").
 * The exported signatures below are the contract other modules rely on.
 *
 * @module
 */
import { Failure } from "./failure.ts";

/** Thrown when a Deferred is fired twice. */
export class AlreadyCalledError extends Error {
  override name = "AlreadyCalledError";
}

/** The failure of a cancelled Deferred. */
export class CancelledError extends Error {
  override name = "CancelledError";
}

type Callback<T, U> = (result: T, ...args: never[]) => U | PromiseLike<U>;

/** A result that will arrive later (minimal stub). */
export class Deferred<T = unknown> implements PromiseLike<T> {
  called = false;
  result: unknown = undefined;
  #chain: Array<[Callback<unknown, unknown> | null, Callback<unknown, unknown> | null]> = [];
  #canceller?: (d: Deferred<T>) => void;

  constructor(canceller?: (d: Deferred<T>) => void) {
    this.#canceller = canceller;
  }

  callback(result: T | Failure): void {
    if (this.called) throw new AlreadyCalledError();
    this.called = true;
    this.result = result;
    this.#run();
  }

  errback(reason?: unknown): void {
    this.callback(Failure.from(reason ?? new Error("errback")) as T);
  }

  addCallbacks<U>(cb: Callback<T, U> | null, eb: Callback<Failure, U> | null): Deferred<U> {
    this.#chain.push([cb as Callback<unknown, unknown> | null, eb as Callback<unknown, unknown> | null]);
    if (this.called) this.#run();
    return this as unknown as Deferred<U>;
  }

  addCallback<U>(cb: Callback<T, U>): Deferred<U> {
    return this.addCallbacks(cb, null);
  }

  addErrback<U = T>(eb: Callback<Failure, U>): Deferred<T | U> {
    return this.addCallbacks(null, eb) as Deferred<T | U>;
  }

  addBoth<U>(f: Callback<T | Failure, U>): Deferred<U> {
    return this.addCallbacks(f as Callback<T, U>, f as Callback<Failure, U>);
  }

  cancel(): void {
    if (!this.called) {
      this.#canceller?.(this);
      if (!this.called) this.errback(new CancelledError());
    }
  }

  #run(): void {
    while (this.#chain.length) {
      const [cb, eb] = this.#chain.shift()!;
      const f = this.result instanceof Failure ? eb : cb;
      if (!f) continue;
      try {
        this.result = f(this.result as never);
      } catch (e) {
        this.result = Failure.from(e);
      }
    }
  }

  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return new Promise<T>((resolve, reject) => {
      this.addCallbacks((r) => {
        resolve(r);
        return r;
      }, (f) => {
        reject(f.value);
        return f as never;
      });
    }).then(onfulfilled, onrejected);
  }
}

/** A Deferred that has already succeeded with `result`. */
export function succeed<T>(result: T): Deferred<T> {
  const d = new Deferred<T>();
  d.callback(result);
  return d;
}

/** A Deferred that has already failed with `reason`. */
export function fail<T = never>(reason?: unknown): Deferred<T> {
  const d = new Deferred<T>();
  d.errback(reason);
  return d;
}

/** Logs every Deferred still holding an unhandled failure; returns how many (stub). */
export function reportUnhandledDeferreds(): number {
  return 0;
}
