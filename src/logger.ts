/**
 * A small structured logger with pluggable observers, in the spirit of
 * `twisted.python.log`: `log.msg(...)`, `log.err(failure, why)`, and observers
 * that receive every event. The default observer writes to stderr.
 *
 * @example Capturing what was logged in a test
 * ```ts
 * import { log } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * using logs = log.capture();
 * log.err(new Error("boom"), "while testing");
 * assertEquals(logs.flushErrors(Error).length, 1);
 * ```
 *
 * @module
 */
import { Failure } from "./internet/failure.ts";

/** How serious an event is. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** One logged event, as observers receive it. */
export interface LogEvent {
  /** When it was logged, in milliseconds since the epoch. */
  time: number;
  /** How serious it is. */
  level: LogLevel;
  /** The text of the event. */
  message: string;
  /** For `log.err`: the failure that was logged. */
  failure?: Failure;
  /** For `log.err`: what was being done when it failed. */
  why?: string;
  /** Any other structured fields. */
  [field: string]: unknown;
}

/** A function that receives every logged event. */
export type LogObserver = (event: LogEvent) => void;

/**
 * What `log.capture()` returns: the events logged while it is active. Dispose
 * of it (`using`) to restore the previous observers.
 */
export interface LogCapture extends Disposable {
  /** Every event logged since the capture began. */
  readonly events: LogEvent[];
  /** The failures logged with `log.err` that have not been flushed. */
  errors(): Failure[];
  /**
   * Removes and returns the logged failures matching `types` (all of them when
   * no type is given), as trial's `flushLoggedErrors`.
   */
  flushErrors(
    ...types: (abstract new (...args: never[]) => unknown)[]
  ): Failure[];
  /** Restores the observers that were active before the capture. */
  restore(): void;
}

/**
 * Formats an event as one line of text (plus the traceback for failures):
 * `2026-01-01T00:00:00.000Z [error] why: message`.
 *
 * @example Calling `formatEvent`
 * ```ts
 * import { formatEvent } from "@twist/twist";
 * import { assertStringIncludes } from "@std/assert";
 *
 * const line = formatEvent({ time: 0, level: "info", message: "hello" });
 * assertStringIncludes(line, "1970-01-01T00:00:00.000Z [info] hello");
 * ```
 */
export function formatEvent(event: LogEvent): string {
  const stamp = new Date(event.time).toISOString();
  let text = `${stamp} [${event.level}] ${event.message}`;
  if (event.failure) text += `\n${event.failure.getTraceback()}`;
  return text;
}

const encoder = new TextEncoder();

const levels: Record<LogLevel, number> = {
  debug: 0,
  info: 1,
  warn: 2,
  error: 3,
};

/**
 * Makes an observer that writes events at `level` or above to stderr with
 * `formatEvent`.
 *
 * @example Calling `stderrObserver`
 * ```ts
 * import { Logger, stderrObserver } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const errorsOnly = stderrObserver("error");
 * const logger = new Logger([errorsOnly]);
 * logger.msg("below the observer's level: not written");
 * assertEquals(logger.observers, [errorsOnly]);
 * ```
 */
export function stderrObserver(level?: LogLevel): LogObserver {
  level ??= "info";
  const min = levels[level];
  return (event) => {
    if (levels[event.level] < min) return;
    const bytes = encoder.encode(formatEvent(event) + "\n");
    // writeSync may write only part of a long traceback (a full pipe).
    for (let written = 0; written < bytes.length;) {
      written += Deno.stderr.writeSync(bytes.subarray(written));
    }
  };
}

/**
 * The observer a new logger starts with: like Twisted before `startLogging`, it
 * shows warnings and errors (unhandled failures among them) on stderr and keeps
 * informational messages quiet.
 *
 * @example Using `defaultObserver`
 * ```ts
 * import { defaultObserver } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(typeof defaultObserver, "function");
 * ```
 */
export const defaultObserver: LogObserver = stderrObserver("warn");

function formatParts(parts: unknown[]): string {
  return parts.map((
    p,
  ) => (typeof p === "string"
    ? p
    : p instanceof Error
    ? p.message
    : Deno.inspect(p))
  )
    .join(" ");
}

/**
 * Publishes events to observers. Use the shared {@linkcode log} instance.
 *
 * @example Adding an observer
 * ```ts
 * import { Logger, type LogEvent } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const logger = new Logger([]);
 * const seen: LogEvent[] = [];
 * logger.addObserver((e) => seen.push(e));
 * logger.msg("listening on", 8000);
 * assertEquals(seen[0].message, "listening on 8000");
 * ```
 */
export class Logger {
  #observers: LogObserver[];
  /** The stderr observer `startLogging` added, replaced if it is called again. */
  #started: LogObserver | undefined;

  /** Creates a logger with the given observers (default: stderr). */
  constructor(observers?: LogObserver[]) {
    observers ??= [defaultObserver];
    this.#observers = [...observers];
  }

  /** Sends an event to every observer; an observer that throws is reported to stderr. */
  publish(event: LogEvent): void {
    for (const observer of [...this.#observers]) {
      try {
        observer(event);
      } catch (e) {
        try {
          defaultObserver({
            time: Date.now(),
            level: "error",
            message: "A log observer failed",
            failure: new Failure(e),
          });
        } catch {
          // stderr is gone; nothing is left to report to.
        }
      }
    }
  }

  /** Logs an informational message; the parts are joined with spaces. */
  msg(...parts: unknown[]): void {
    this.publish({
      time: Date.now(),
      level: "info",
      message: formatParts(parts),
    });
  }

  /** Logs a warning. */
  warn(...parts: unknown[]): void {
    this.publish({
      time: Date.now(),
      level: "warn",
      message: formatParts(parts),
    });
  }

  /**
   * Logs an error (a `Failure`, an `Error`, or any thrown value) with its stack;
   * `why` says what was being done.
   */
  err(failure: unknown, why?: string): void {
    const f = Failure.from(failure);
    const message = why
      ? `${why}: ${f.getErrorMessage()}`
      : `Unhandled error: ${f.getErrorMessage()}`;
    this.publish({
      time: Date.now(),
      level: "error",
      message,
      failure: f,
      why,
    });
  }

  /**
   * Shows every event at `level` or above on stderr from now on, replacing the
   * default observer (Twisted's `log.startLogging(sys.stderr)`). Calling it
   * again changes the level; events are still written once.
   */
  startLogging(level?: LogLevel): void {
    level ??= "info";
    this.removeObserver(defaultObserver);
    if (this.#started) this.removeObserver(this.#started);
    this.#started = stderrObserver(level);
    this.#observers.push(this.#started);
  }

  /** Adds an observer. */
  addObserver(observer: LogObserver): void {
    this.#observers.push(observer);
  }

  /** Removes an observer added before. */
  removeObserver(observer: LogObserver): void {
    const i = this.#observers.indexOf(observer);
    if (i >= 0) this.#observers.splice(i, 1);
  }

  /** The current observers. */
  get observers(): readonly LogObserver[] {
    return this.#observers;
  }

  /**
   * Replaces every observer with a collector until the returned capture is
   * disposed: the way tests check what was logged and keep stderr quiet.
   */
  capture(): LogCapture {
    const saved = this.#observers;
    const events: LogEvent[] = [];
    this.#observers = [(e) => events.push(e)];
    let restored = false;
    const restore = (): void => {
      if (restored) return;
      restored = true;
      this.#observers = saved;
    };
    const failures = (): Failure[] =>
      events.flatMap((e) => (e.failure && !e.flushed ? [e.failure] : []));
    return {
      events,
      errors: failures,
      flushErrors: (...types) => {
        const out: Failure[] = [];
        for (const e of events) {
          if (!e.failure || e.flushed) continue;
          if (types.length === 0 || e.failure.check(...types)) {
            e.flushed = true;
            out.push(e.failure);
          }
        }
        return out;
      },
      restore,
      [Symbol.dispose]: restore,
    };
  }
}

/**
 * The shared logger Twist reports to.
 *
 * @example Using `log`
 * ```ts
 * import { log } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * using logs = log.capture();
 * log.msg("hello");
 * assertEquals(logs.events[0].message, "hello");
 * ```
 */
export const log: Logger = new Logger();
