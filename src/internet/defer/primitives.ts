/**
 * `DeferredLock`, `DeferredSemaphore` and `DeferredQueue`
 * (`twisted.internet.defer`): concurrency for event-driven code, where waiting
 * means holding a Deferred.
 *
 * @module
 */
import { Deferred, maybeDeferred, succeed } from "./deferred.ts";
import type { Failure } from "../failure.ts";

/**
 * The base of `DeferredLock` and `DeferredSemaphore`: `acquire`, `release`,
 * and `run` to do something while holding it.
 *
 * @example Using `ConcurrencyPrimitive`
 * ```ts
 * import { type ConcurrencyPrimitive, DeferredLock } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const guard: ConcurrencyPrimitive = new DeferredLock();
 * assertEquals(await guard.run(() => "done"), "done");
 * ```
 */
export abstract class ConcurrencyPrimitive {
  /** The Deferreds waiting to acquire, in order. */
  readonly waiting: Deferred<this>[] = [];

  /**
   * Returns a Deferred that fires with this object once acquired; cancelling
   * it before then takes it out of the queue.
   */
  abstract acquire(): Deferred<this>;

  /** Releases what `acquire` took, handing it to the next waiter. */
  abstract release(): void;

  /**
   * Acquires, calls `f(...args)`, and releases once its outcome (a value, a
   * Deferred or Promise of one, or a failure) is in; fires with that outcome.
   *
   * @param f what to do while holding it
   * @param args its arguments
   * @returns a Deferred of what `f` returns
   */
  run<R, A extends unknown[]>(
    f: (...args: A) => R | PromiseLike<R>,
    ...args: A
  ): Deferred<R> {
    return this.acquire().addCallback(() =>
      maybeDeferred(f, ...args).addBoth((r: R | Failure) => {
        this.release();
        return r;
      })
    ) as Deferred<R>;
  }

  /**
   * The canceller of the Deferreds `acquire` returns: a waiter that gives up
   * leaves the queue.
   *
   * @param d the waiter being cancelled
   */
  protected cancelAcquire(d: Deferred<this>): void {
    const i = this.waiting.indexOf(d);
    if (i >= 0) this.waiting.splice(i, 1);
  }
}

/**
 * A lock for event-driven code: `acquire()` returns a Deferred that fires when
 * the lock is yours; waiters get it in the order they asked.
 *
 * @example Using `DeferredLock`
 * ```ts
 * import { DeferredLock } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const lock = new DeferredLock();
 * const order: string[] = [];
 * lock.acquire().addCallback(() => order.push("first"));
 * lock.acquire().addCallback(() => order.push("second"));
 * assertEquals(order, ["first"]);
 * lock.release();
 * assertEquals(order, ["first", "second"]);
 * ```
 */
export class DeferredLock extends ConcurrencyPrimitive {
  /** Whether the lock is held. */
  locked: boolean = false;

  /**
   * Fires with the lock once it is yours (at once if it is free). Cancelling
   * the Deferred before then takes it out of the queue.
   *
   * @returns a Deferred of this lock
   */
  acquire(): Deferred<this> {
    const d = new Deferred<this>((waiter) => this.cancelAcquire(waiter));
    if (this.locked) {
      this.waiting.push(d);
    } else {
      this.locked = true;
      d.callback(this);
    }
    return d;
  }

  /**
   * Releases the lock, handing it to the first waiter.
   *
   * @throws {Error} if the lock is not held
   */
  release(): void {
    if (!this.locked) throw new Error("Tried to release an unlocked lock");
    this.locked = false;
    const next = this.waiting.shift();
    if (next) {
      this.locked = true;
      next.callback(this);
    }
  }
}

/**
 * A semaphore for event-driven code: at most `limit` holders at once.
 *
 * @example Limiting concurrency
 * ```ts
 * import { Deferred, DeferredSemaphore } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const sem = new DeferredSemaphore(2);
 * const jobs = [new Deferred(), new Deferred(), new Deferred()];
 * let started = 0;
 * for (const job of jobs) sem.run(() => { started++; return job; });
 * assertEquals(started, 2);
 * jobs[0].callback(undefined);
 * assertEquals(started, 3);
 * ```
 */
export class DeferredSemaphore extends ConcurrencyPrimitive {
  /** Tokens left. */
  tokens: number;
  /** Tokens in all. */
  readonly limit: number;

  /**
   * Creates a semaphore with `tokens` tokens.
   *
   * @param tokens how many may hold it at once
   * @throws {RangeError} if `tokens` is less than 1
   */
  constructor(tokens: number) {
    super();
    if (!(tokens >= 1)) {
      throw new RangeError(
        `Invalid token count "${tokens}": a semaphore needs at least 1`,
      );
    }
    this.tokens = tokens;
    this.limit = tokens;
  }

  /**
   * Fires with the semaphore once a token is yours. Cancelling the Deferred
   * before then takes it out of the queue.
   *
   * @returns a Deferred of this semaphore
   */
  acquire(): Deferred<this> {
    const d = new Deferred<this>((waiter) => this.cancelAcquire(waiter));
    if (this.tokens === 0) {
      this.waiting.push(d);
    } else {
      this.tokens--;
      d.callback(this);
    }
    return d;
  }

  /**
   * Releases a token, handing it to the first waiter.
   *
   * @throws {Error} if released more often than acquired
   */
  release(): void {
    if (this.tokens >= this.limit) {
      throw new Error("Someone released me too many times: too many tokens");
    }
    this.tokens++;
    const next = this.waiting.shift();
    if (next) {
      this.tokens--;
      next.callback(this);
    }
  }
}

/**
 * `DeferredQueue.put` on a full queue.
 *
 * @example Using `QueueOverflow`
 * ```ts
 * import { DeferredQueue, QueueOverflow } from "@twist/twist";
 * import { assertThrows } from "@std/assert";
 *
 * const q = new DeferredQueue<number>(1);
 * q.put(1);
 * assertThrows(() => q.put(2), QueueOverflow);
 * ```
 */
export class QueueOverflow extends Error {
  /** The error's name. */
  override name = "QueueOverflow";
  /** Creates the error. */
  constructor(message?: string, options?: ErrorOptions) {
    message ??= "Queue is full";
    super(message, options);
  }
}

/**
 * `DeferredQueue.get` when the backlog of waiters is full.
 *
 * @example Using `QueueUnderflow`
 * ```ts
 * import { DeferredQueue, QueueUnderflow } from "@twist/twist";
 * import { assertThrows } from "@std/assert";
 *
 * const q = new DeferredQueue<number>(undefined, 1);
 * q.get();
 * assertThrows(() => q.get(), QueueUnderflow);
 * ```
 */
export class QueueUnderflow extends Error {
  /** The error's name. */
  override name = "QueueUnderflow";
  /** Creates the error. */
  constructor(
    message = "Too many waiters on the queue",
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * An event-driven queue: `get()` returns a Deferred that fires when an item is
 * there; items and waiters are served first in, first out.
 *
 * @typeParam T the type of the items
 *
 * @example Using `DeferredQueue`
 * ```ts
 * import { DeferredQueue } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const q = new DeferredQueue<string>();
 * const got = q.get();
 * q.put("job");
 * assertEquals(await got, "job");
 * ```
 */
export class DeferredQueue<T> {
  /** Deferreds waiting for items. */
  readonly waiting: Deferred<T>[] = [];
  /** Items waiting for a `get`. */
  readonly pending: T[] = [];
  /** The most items held at once (`undefined`: no limit). */
  readonly size: number | undefined;
  /** The most waiters at once (`undefined`: no limit). */
  readonly backlog: number | undefined;

  /**
   * Creates a queue.
   *
   * @param size the most items it holds (default: no limit)
   * @param backlog the most `get`s that may wait (default: no limit)
   */
  constructor(size?: number, backlog?: number) {
    this.size = size;
    this.backlog = backlog;
  }

  /**
   * Hands the item to the first waiter, or keeps it.
   *
   * @param item the item
   * @throws {QueueOverflow} if the queue is full
   */
  put(item: T): void {
    const waiter = this.waiting.shift();
    if (waiter) waiter.callback(item);
    else if (this.size === undefined || this.pending.length < this.size) {
      this.pending.push(item);
    } else throw new QueueOverflow();
  }

  /**
   * Takes the next item; the Deferred fires when there is one. Cancelling it
   * before then takes it out of the queue of waiters.
   *
   * @returns a Deferred of the item
   * @throws {QueueUnderflow} if the backlog of waiters is full
   */
  get(): Deferred<T> {
    if (this.pending.length > 0) return succeed(this.pending.shift() as T);
    if (this.backlog !== undefined && this.waiting.length >= this.backlog) {
      throw new QueueUnderflow();
    }
    const d: Deferred<T> = new Deferred<T>((waiter) => {
      const i = this.waiting.indexOf(waiter);
      if (i >= 0) this.waiting.splice(i, 1);
    });
    this.waiting.push(d);
    return d;
  }
}
