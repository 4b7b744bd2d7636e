/**
 * Services that listen and services that tick
 * (`twisted.application.internet`): `StreamServerEndpointService` and
 * `TimerService`. (`ClientService`, the one that keeps a client connected,
 * lives in the core and is re-exported beside them.)
 *
 * @module
 */
import type {
  IListeningPort,
  IProtocolFactory,
  IReactorTime,
} from "../internet/interfaces.ts";
import type { IStreamServerEndpoint } from "../internet/endpoints.ts";
import { CancelledError, Deferred, fail, succeed } from "../internet/defer.ts";
import type { Failure } from "../internet/failure.ts";
import { LoopingCall } from "../internet/task.ts";
import { log } from "../logger.ts";
import { Service } from "./service.ts";

/** Options of {@linkcode StreamServerEndpointService}. */
export interface StreamServerEndpointServiceOptions {
  /**
   * Whether a listen that fails at once (a port in use, a missing
   * permission) throws from `privilegedStartService`/`startService`, so the
   * program stops with the error, instead of being logged while the rest
   * runs on. Twisted's `strports.service` sets it; `twist serve` reports the
   * error and exits.
   *
   * @default {false}
   */
  raiseSynchronously?: boolean;
}

/**
 * Listens on an endpoint while it runs (Twisted's
 * `StreamServerEndpointService`): `privilegedStartService` (or
 * `startService`, if that has not run) calls `endpoint.listen(factory)`, and
 * `stopService` stops listening, or cancels a listen still under way; its
 * Deferred fires once the port is closed. A listen that fails is logged (or
 * thrown, with `raiseSynchronously`). A stopped service listens again when
 * started again.
 *
 * @example Serving echo on a port the OS picks
 * ```ts
 * import { Factory, type IPv4Address, Reactor, TCP4ServerEndpoint } from "@twist/twist";
 * import { StreamServerEndpointService } from "@twist/twist/application";
 * import { Echo } from "@twist/twist/protocols/wire";
 * import { assert } from "@std/assert";
 *
 * const service = new StreamServerEndpointService(
 *   new TCP4ServerEndpoint(new Reactor(), 0, { interface: "127.0.0.1" }),
 *   Factory.forProtocol(Echo),
 * );
 * service.startService();
 * const port = await service.whenListening();
 * assert((port.getHost() as IPv4Address).port > 0);
 * await service.stopService();
 * ```
 */
export class StreamServerEndpointService extends Service {
  /** Where it listens. */
  readonly endpoint: IStreamServerEndpoint;
  /** The factory it listens with. */
  readonly factory: IProtocolFactory;
  readonly #raiseSynchronously: boolean;
  /** The listen under way or done, while started. */
  #waitingForPort: Deferred<IListeningPort | undefined> | undefined;
  #port: IListeningPort | undefined;
  #failure: Failure | undefined;
  #observers: Deferred<IListeningPort>[] = [];

  /**
   * Creates the service; nothing listens until it is started.
   *
   * @param endpoint Where to listen.
   * @param factory What to listen with.
   * @param options Whether a failed listen throws.
   */
  constructor(
    endpoint: IStreamServerEndpoint,
    factory: IProtocolFactory,
    options: StreamServerEndpointServiceOptions = {},
  ) {
    super();
    this.endpoint = endpoint;
    this.factory = factory;
    this.#raiseSynchronously = options.raiseSynchronously ?? false;
  }

  /**
   * The listening port, once it listens: fires at once if it does, fails
   * with the listen's error if that failed, and with `CancelledError` if the
   * service is stopped first.
   */
  whenListening(): Deferred<IListeningPort> {
    if (this.#port) return succeed(this.#port);
    if (this.#failure) return fail(this.#failure);
    const d = new Deferred<IListeningPort>((self) => {
      this.#observers = this.#observers.filter((o) => o !== self);
    });
    this.#observers.push(d);
    return d;
  }

  /**
   * Starts listening.
   *
   * @throws the listen's error, with `raiseSynchronously`, if it failed at once
   */
  override privilegedStartService(): void {
    super.privilegedStartService();
    this.#port = undefined;
    this.#failure = undefined;
    let failedNow: Failure | undefined;
    let starting = true;
    this.#waitingForPort = this.endpoint.listen(this.factory).addCallbacks(
      (port: IListeningPort) => {
        this.#port = port;
        for (const o of this.#observers.splice(0)) o.callback(port);
        return port;
      },
      (f: Failure) => {
        this.#failure = f;
        for (const o of this.#observers.splice(0)) o.errback(f);
        if (starting && this.#raiseSynchronously) failedNow = f;
        else if (!f.check(CancelledError)) {
          log.err(f, `Cannot listen with ${this.#factoryName()}`);
        }
        return undefined;
      },
    );
    starting = false;
    if (failedNow) {
      this.#waitingForPort = undefined;
      failedNow.raiseException();
    }
  }

  /**
   * Marks the service running and listens, unless `privilegedStartService`
   * already did.
   *
   * @throws the listen's error, with `raiseSynchronously`, if it failed at once
   */
  override startService(): void {
    super.startService();
    if (this.#waitingForPort === undefined) this.privilegedStartService();
  }

  /**
   * Stops listening, or cancels the listen under way.
   *
   * @returns a Deferred that fires once the port is closed
   */
  override stopService(): Deferred<void> {
    const waiting = this.#waitingForPort;
    this.#waitingForPort = undefined;
    if (waiting === undefined) {
      this.running = false;
      return succeed(undefined);
    }
    waiting.cancel();
    return waiting
      .addCallback((port: IListeningPort | undefined) => port?.stopListening())
      .addBoth((result: unknown) => {
        this.running = false;
        this.#port = undefined;
        return result;
      }) as Deferred<void>;
  }

  #factoryName(): string {
    const own = (this.factory as { logPrefix?: () => string }).logPrefix;
    return typeof own === "function"
      ? own.call(this.factory)
      : this.factory.constructor?.name ?? "a factory";
  }
}

/**
 * Calls a function every `step` seconds while it runs (Twisted's
 * `TimerService`): the first call is made when it starts, and a call that
 * returns a Deferred or a promise holds the next one until it settles.
 * `stopService`'s Deferred fires once a call under way has finished. A call
 * that throws (or fails) is logged and stops the calls, as Twisted's does.
 * Set `clock` (before starting) to drive it with a `Clock` in tests.
 *
 * @example A heartbeat driven by a Clock
 * ```ts
 * import { Clock } from "@twist/twist";
 * import { TimerService } from "@twist/twist/application";
 * import { assertEquals } from "@std/assert";
 *
 * const clock = new Clock();
 * const beats: number[] = [];
 * const heartbeat = new TimerService(10, (tag: string) => beats.push(clock.seconds()), "beat");
 * heartbeat.clock = clock;
 * heartbeat.startService();
 * clock.pump([10, 10]);
 * await heartbeat.stopService();
 * clock.advance(10);
 * assertEquals(beats, [0, 10, 20]);
 * ```
 */
export class TimerService<A extends unknown[] = unknown[]> extends Service {
  /** Seconds between calls. */
  readonly step: number;
  /** The function called. */
  readonly f: (...args: A) => unknown;
  /** Its arguments. */
  readonly args: A;
  /** What schedules the calls (unset: the shared reactor, looked up when first needed). */
  clock: IReactorTime | undefined;
  #loop: LoopingCall<A> | undefined;
  #loopFinished: Deferred<unknown> | undefined;

  /**
   * Creates the service; nothing is called until it is started.
   *
   * @param step Seconds between calls.
   * @param f The function to call.
   * @param args Its arguments.
   * @throws {RangeError} if `step` is negative or not a number
   */
  constructor(step: number, f: (...args: A) => unknown, ...args: A) {
    super();
    if (!(step >= 0 && step < Infinity)) {
      throw new RangeError(
        `Invalid TimerService step "${step}": expected seconds >= 0`,
      );
    }
    this.step = step;
    this.f = f;
    this.args = args;
  }

  /** Marks the service running and makes the first call. */
  override startService(): void {
    super.startService();
    // A new LoopingCall each time, as Twisted's: the service may restart.
    const loop = new LoopingCall<A>(this.f, ...this.args);
    if (this.clock) loop.clock = this.clock;
    this.#loop = loop;
    this.#loopFinished = loop.start(this.step, true).addErrback(
      (f: Failure) => {
        loop.running = false;
        log.err(f, `TimerService: ${this.f.name || "the call"} failed`);
      },
    );
  }

  /**
   * Stops the calls.
   *
   * @returns a Deferred that fires once a call under way has finished
   */
  override stopService(): Deferred<void> {
    const loop = this.#loop;
    const finished = this.#loopFinished;
    this.#loop = undefined;
    this.#loopFinished = undefined;
    if (!loop || !finished) {
      this.running = false;
      return succeed(undefined);
    }
    if (loop.running) loop.stop();
    return finished.addCallback(() => {
      this.running = false;
    });
  }
}
