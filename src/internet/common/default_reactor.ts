/**
 * Where code that schedules finds the default reactor when it was given no
 * clock, without importing it.
 *
 * Importing `reactor.ts` loads every transport (TCP, TLS, UNIX, UDP,
 * processes), so a module that only needs a default clock must not import it:
 * `reactor.ts` installs its `reactor` here when it is loaded, and the lookup
 * happens when a clock is first needed (Twisted imports its reactor inside
 * functions for the same reason). A program that uses the default reactor has
 * imported it, so it is installed before any of its code runs; a program that
 * never imports it (a protocol tested with a `Clock`) passes a clock.
 *
 * @module
 */
import type { IReactorTime } from "../interfaces.ts";
import type { Reactor } from "../reactor.ts";

let installed: Reactor | undefined;

/** Makes `reactor` the default; `reactor.ts` calls it once, when loaded. */
export function installDefaultReactor(reactor: Reactor): void {
  installed = reactor;
}

/**
 * The default reactor.
 *
 * @throws {Error} if `reactor.ts` was never loaded
 */
export function defaultReactor(): Reactor {
  if (installed === undefined) {
    throw new Error(
      'No default reactor: pass a clock, or import the reactor from "@twist/twist"',
    );
  }
  return installed;
}

/**
 * The clock used when none was given: the default reactor.
 *
 * @throws {Error} if `reactor.ts` was never loaded
 */
export function defaultClock(): IReactorTime {
  return defaultReactor();
}
