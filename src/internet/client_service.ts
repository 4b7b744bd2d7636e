/**
 * `ClientService` and `backoffPolicy` (`twisted.application.internet`): keep
 * a client connected through an endpoint, reconnecting with backoff.
 *
 * @module
 */
import type {
  IDelayedCall,
  IProtocol,
  IProtocolFactory,
  IReactorTime,
  IService,
  IServiceCollection,
} from "./interfaces.ts";
import type { IStreamClientEndpoint } from "./endpoints.ts";
import { CancelledError, Deferred, maybeDeferred, succeed } from "./defer.ts";
import type { Failure } from "./failure.ts";
import { defaultClock } from "./common/default_reactor.ts";
import { log } from "../logger.ts";
import {
  disownParent,
  setParent,
  setServiceName,
} from "./common/service_parent.ts";

/** How long to wait before the `attempt`-th retry (1-based), in seconds. */
export type RetryPolicy = (attempt: number) => number;

/** Options of {@linkcode backoffPolicy}. */
export interface BackoffOptions {
  /** The first delay. @default {1} */
  initialDelay?: number;
  /** The largest delay before jitter. @default {60} */
  maxDelay?: number;
  /** The growth factor. @default {1.5} */
  factor?: number;
  /** Extra seconds added to each delay. @default {Math.random} */
  jitter?: () => number;
}

/**
 * Twisted's exponential backoff for `ClientService`:
 * `min(initialDelay * factor ** attempt, maxDelay) + jitter()`.
 *
 * @example Calling `backoffPolicy`
 * ```ts
 * import { backoffPolicy } from "@twist/twist";
 * import { assertEquals } from "@std/assert";
 *
 * const policy = backoffPolicy({ jitter: () => 0 });
 * assertEquals([policy(0), policy(1), policy(2)], [1, 1.5, 2.25]);
 * assertEquals(policy(1000), 60);
 * ```
 */
export function backoffPolicy(options?: BackoffOptions): RetryPolicy {
  options ??= {};
  const {
    initialDelay = 1,
    maxDelay = 60,
    factor = 1.5,
    jitter = Math.random,
  } = options;
  return (attempt) => {
    const delay = Math.min(
      initialDelay * factor ** Math.min(100, attempt),
      maxDelay,
    );
    return (Number.isFinite(delay) ? delay : maxDelay) + jitter();
  };
}

/** Options of {@linkcode ClientService}. */
export interface ClientServiceOptions {
  /** The delays between attempts. @default {backoffPolicy()} */
  retryPolicy?: RetryPolicy;
  /** The clock retries are scheduled on. @default {the shared reactor} */
  clock?: IReactorTime;
  /**
   * Called with each new connection before `whenConnected` waiters hear of it;
   * a Deferred or Promise it returns is waited for.
   */
  prepareConnection?: (protocol: IProtocol) => unknown;
}

interface Waiter {
  d: Deferred<IProtocol>;
  failAfterFailures: number | undefined;
}

/**
 * Keeps a connection up through an endpoint: connects on `startService()`,
 * reconnects after failures and losses (waiting as `retryPolicy` says), and
 * hands out the current connection with `whenConnected()`. It is an
 * `IService` (Twisted's `twisted.application.internet.ClientService`): add it
 * to a `MultiService` with `setServiceParent` and it starts and stops with
 * the application.
 *
 * @example Using `ClientService`
 * ```ts ignore
 * import { ClientService, clientFromString, ClientFactory, Protocol, reactor } from "@twist/twist";
 *
 * const service = new ClientService(
 *   clientFromString(reactor, "tcp:host=localhost:port=8000"),
 *   ClientFactory.forProtocol(Protocol),
 * );
 * service.startService();
 * const protocol = await service.whenConnected();
 * protocol.transport.write("hello");
 * ```
 */
export class ClientService implements IService {
  /** Whether the service is started. */
  running = false;
  /** The service's name in its parent, or `null`; set it with `setName`. */
  name: string | null = null;
  /** The collection it belongs to, or `null`; set it with `setServiceParent`. */
  parent: IServiceCollection | null = null;
  readonly #endpoint: IStreamClientEndpoint;
  readonly #factory: IProtocolFactory;
  readonly #retryPolicy: RetryPolicy;
  readonly #clock: IReactorTime | undefined;
  readonly #prepare: ((p: IProtocol) => unknown) | undefined;
  #current: IProtocol | undefined;
  #attempt: Deferred<IProtocol> | undefined;
  #retry: IDelayedCall | undefined;
  #failedAttempts = 0;
  #waiters: Waiter[] = [];
  #lostWaiters: (() => void)[] = [];

  /** Creates the service; nothing happens until `startService()`. */
  constructor(
    endpoint: IStreamClientEndpoint,
    factory: IProtocolFactory,
    options?: ClientServiceOptions,
  ) {
    options ??= {};
    this.#endpoint = endpoint;
    this.#factory = factory;
    this.#retryPolicy = options.retryPolicy ?? backoffPolicy();
    this.#clock = options.clock;
    this.#prepare = options.prepareConnection;
  }

  /**
   * Names the service.
   *
   * @throws {TypeError} if it already has a parent (which files it by name)
   */
  setName(name: string): void {
    setServiceName(this, name);
  }

  /** Adds the service to `parent` (a running parent starts it), leaving its previous parent first. */
  setServiceParent(parent: IServiceCollection): void {
    setParent(this, parent);
  }

  /**
   * Removes the service from its parent (a running parent stops it).
   *
   * @throws {TypeError} if it has no parent
   */
  disownServiceParent(): PromiseLike<unknown> | void {
    return disownParent(this);
  }

  /** Nothing to do before `startService`. */
  privilegedStartService(): void {}

  /** Starts connecting. */
  startService(): void {
    if (this.running) return;
    this.running = true;
    this.#connect();
  }

  /**
   * Stops: cancels a pending attempt or retry, closes the current connection,
   * and fails the `whenConnected` waiters with `CancelledError`. The Deferred
   * fires once the connection is gone.
   */
  stopService(): Deferred<void> {
    this.running = false;
    if (this.#retry?.active()) this.#retry.cancel();
    this.#retry = undefined;
    this.#attempt?.cancel();
    for (const w of this.#waiters.splice(0)) {
      w.d.errback(new CancelledError("The ClientService was stopped"));
    }
    const current = this.#current;
    if (!current) return succeed(undefined);
    const d = new Deferred<void>();
    this.#lostWaiters.push(() => d.callback());
    (current as IProtocol & { transport?: { loseConnection(): void } })
      .transport?.loseConnection();
    return d;
  }

  /**
   * The current connection's protocol, or the next one. With
   * `failAfterFailures`, fails once that many attempts in a row have failed.
   */
  whenConnected(
    options?: { failAfterFailures?: number },
  ): Deferred<IProtocol> {
    options ??= {};
    if (this.#current) return succeed(this.#current);
    const d = new Deferred<IProtocol>((self) => {
      this.#waiters = this.#waiters.filter((w) => w.d !== self);
    });
    this.#waiters.push({ d, failAfterFailures: options.failAfterFailures });
    return d;
  }

  #connect(): void {
    const factory = this.#factory;
    const onLost = (p: IProtocol): void => this.#lost(p);
    // Wrap the factory so the service hears when each connection is lost.
    const watching: IProtocolFactory = {
      doStart: () => factory.doStart(),
      doStop: () => factory.doStop(),
      buildProtocol(addr) {
        const p = factory.buildProtocol(addr);
        if (!p) return null;
        const lost = p.connectionLost.bind(p);
        p.connectionLost = (reason: Failure) => {
          try {
            lost(reason);
          } finally {
            onLost(p);
          }
        };
        return p;
      },
    };
    const attempt = this.#endpoint.connect(watching);
    this.#attempt = attempt;
    attempt.addCallbacks(
      (p: IProtocol) => {
        this.#attempt = undefined;
        return maybeDeferred(() => this.#prepare?.(p)).addCallbacks(() => {
          this.#failedAttempts = 0;
          this.#current = p;
          for (const w of this.#waiters.splice(0)) w.d.callback(p);
          if (!this.running) {
            (p as IProtocol & { transport?: { loseConnection(): void } })
              .transport?.loseConnection();
          }
        }, (f: Failure) => {
          log.err(f, "ClientService: prepareConnection failed");
          (p as IProtocol & { transport?: { loseConnection(): void } })
            .transport?.loseConnection();
        });
      },
      (f: Failure) => {
        this.#attempt = undefined;
        if (!this.running) return;
        this.#failedAttempts++;
        const failures = this.#failedAttempts;
        this.#waiters = this.#waiters.filter((w) => {
          if (
            w.failAfterFailures !== undefined && failures >= w.failAfterFailures
          ) {
            w.d.errback(f);
            return false;
          }
          return true;
        });
        this.#wait();
      },
    );
  }

  #lost(p: IProtocol): void {
    if (this.#current === p) this.#current = undefined;
    for (const notify of this.#lostWaiters.splice(0)) notify();
    if (this.running) {
      this.#failedAttempts++;
      this.#wait();
    }
  }

  #wait(): void {
    const delay = Math.max(0, this.#retryPolicy(this.#failedAttempts));
    this.#retry = (this.#clock ?? defaultClock()).callLater(delay, () => {
      this.#retry = undefined;
      if (this.running) this.#connect();
    });
  }
}
