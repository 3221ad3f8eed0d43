/**
 * The circuit breaker around database access (degraded mode, issue 6).
 *
 * One call goes: breaker → timeout → your function. Only failures that mean "the database is not there"
 * (refused or reset connections, postgres-js `CONNECTION_*`, SQLSTATE class 08, admin/crash shutdown, our own
 * timeout) count towards opening the breaker. An error the database *answered* with (unique violation, bad
 * input, serialization failure, syntax …) is passed through to the caller unchanged and counts as a success
 * for the breaker: the database is alive.
 *
 * While open, `execute` throws {@link BreakerOpenError} at once. After a back-off (exponential, 1 s → 30 s by
 * default) the next call becomes the single half-open probe; calls arriving while the probe runs are
 * rejected at once too, so nobody waits on a dead database. A probe that succeeds closes the breaker,
 * one that fails re-opens it with the next, longer back-off.
 *
 * Built on cockatiel (`circuitBreaker`, `ConsecutiveBreaker`, `timeout`, `ExponentialBackoff`).
 */
import {
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  TimeoutStrategy,
  circuitBreaker,
  handleAll,
  isBrokenCircuitError,
  isTaskCancelledError,
  noJitterGenerator,
  halfJitterGenerator,
  timeout,
  type IBackoff,
  type IBackoffFactory,
  type IHalfOpenAfterBackoffContext,
} from 'cockatiel';
import { inSpan } from '../ops/tracing.ts';

export type BreakerState = 'closed' | 'open' | 'half-open';

/** Thrown by {@link DbBreaker.execute} without calling the function while the breaker is open. */
export class BreakerOpenError extends Error {
  readonly code = 'BREAKER_OPEN';
  constructor(
    /** Milliseconds until the breaker lets a probe through (0 when a probe is already running). */
    readonly retryAfterMs: number,
    /** The failure that last opened the breaker, if known. */
    readonly lastFailure?: unknown,
  ) {
    super(
      `Database circuit breaker is open: calls fail fast` +
        (retryAfterMs > 0 ? `; next probe in ${Math.ceil(retryAfterMs)} ms` : '; a probe is in flight') +
        (lastFailure instanceof Error ? ` (last failure: ${lastFailure.message})` : ''),
    );
    this.name = 'BreakerOpenError';
  }
}

/** Thrown when a call through the breaker takes longer than `timeoutMs`. Counts as a connection failure. */
export class DbTimeoutError extends Error {
  readonly code = 'DB_TIMEOUT';
  constructor(
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(`Database call timed out after ${timeoutMs} ms`, options);
    this.name = 'DbTimeoutError';
  }
}

/** Node/Bun socket errors and postgres-js client errors that mean the server is unreachable. */
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  // Bun's own spellings
  'ConnectionRefused',
  'ConnectionClosed',
  // postgres-js
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
  // ours
  'DB_TIMEOUT',
]);

/**
 * SQLSTATEs outside class 08 that mean the server is going away or refusing connections:
 * 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 53300 too_many_connections.
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);

/**
 * Default error classification: does this error mean the database is unavailable (trip the breaker)?
 *
 * Looks through `cause` (drizzle wraps driver errors in `DrizzleQueryError`) and `AggregateError.errors`.
 * Everything else — SQLSTATE classes 22, 23, 40, 42, …, plain programming errors — is the database (or our
 * code) answering, and must not open the breaker.
 */
export function isConnectionFailure(err: unknown): boolean {
  const seen = new Set<unknown>();
  const visit = (e: unknown, depth: number): boolean => {
    if (e == null || typeof e !== 'object' || depth > 8 || seen.has(e)) return false;
    seen.add(e);
    if (e instanceof DbTimeoutError) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (CONNECTION_ERROR_CODES.has(code)) return true;
      if (/^08[0-9A-Z]{3}$/.test(code) || UNAVAILABLE_SQLSTATES.has(code)) return true;
    }
    if (visit((e as { cause?: unknown }).cause, depth + 1)) return true;
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors)) return errors.some((inner) => visit(inner, depth + 1));
    return false;
  };
  return visit(err, 0);
}

export interface DbBreakerOptions {
  /** Per-call time limit; the caller gets a {@link DbTimeoutError} then. @default 2000 */
  timeoutMs?: number;
  /** Consecutive connection failures that open the breaker. @default 5 */
  failureThreshold?: number;
  /** First open → half-open delay. @default 1000 */
  halfOpenInitialMs?: number;
  /** Longest open → half-open delay; each failed probe doubles the delay up to this. @default 30000 */
  halfOpenMaxMs?: number;
  /**
   * Randomise each delay within [delay/2, delay) so several instances do not probe in lockstep.
   * @default false (delays are exactly 1 s, 2 s, 4 s, … 30 s)
   */
  jitter?: boolean;
  /** Which errors count as "database unavailable". @default isConnectionFailure */
  isFailure?: (err: unknown) => boolean;
  /** Called on every state change (metrics, logs). Same as calling `breaker.onStateChange(listener)`. */
  onStateChange?: StateListener;
  /**
   * Only {@link DbBreaker.probe} calls may be the half-open trial; `execute` keeps failing fast until a probe
   * has closed the breaker. Use it with a background prober (db-probe.ts): recovery is then decided by one cheap
   * `select 1`, not by whichever request comes first — a submission's six-statement transaction on a server busy
   * queueing into the outbox can take longer than the timeout and re-open the breaker again and again.
   * @default false
   */
  exclusiveProbe?: boolean;
}

export type StateListener = (state: BreakerState, previous: BreakerState) => void;

export interface DbBreaker {
  /**
   * Runs `fn` under the timeout and the breaker. `fn` receives an AbortSignal aborted on timeout (or when
   * the caller's `signal` aborts): pass it on (e.g. `query.cancel()` for postgres-js) to stop the work too.
   * The caller is released at the timeout even if `fn` ignores the signal.
   * @throws BreakerOpenError at once while open (the function is not called)
   * @throws DbTimeoutError when `fn` exceeds `timeoutMs`
   * @throws whatever `fn` throws, unchanged
   */
  execute<T>(fn: (signal: AbortSignal) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T>;
  /** Like `execute`, but may be the half-open trial even with `exclusiveProbe` (the background probe uses it). */
  probe<T>(fn: (signal: AbortSignal) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T>;
  /** Cockatiel's view: 'half-open' only while the probe call runs; 'open' until then, even once the probe is due. */
  readonly state: BreakerState;
  /** True when `execute` would reject right now without calling the function (open and not yet due, or probe running). */
  isOpen(): boolean;
  /** Milliseconds until a probe is allowed (0 when closed or when the probe is due). */
  retryAfterMs(): number;
  /** The failure that last opened the breaker. */
  readonly lastFailure: unknown;
  /** Subscribes to state changes; returns the unsubscribe function. */
  onStateChange(listener: StateListener): () => void;
}

/** Wraps a backoff so we learn each duration cockatiel picks (to answer `isOpen()` / `retryAfterMs()`). */
function recording<C>(inner: IBackoffFactory<C>, record: (ms: number) => void): IBackoffFactory<C> {
  const wrap = (b: IBackoff<C>): IBackoff<C> => ({
    get duration() {
      return b.duration;
    },
    next: (ctx: C) => {
      const n = wrap(b.next(ctx));
      record(n.duration);
      return n;
    },
  });
  return {
    next: (ctx: C) => {
      const n = wrap(inner.next(ctx));
      record(n.duration);
      return n;
    },
  };
}

function positive(name: string, v: number | undefined, dflt: number): number {
  const value = v ?? dflt;
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`createDbBreaker: ${name} must be a positive number, got ${String(v)}`);
  }
  return value;
}

const toState = (s: CircuitState): BreakerState =>
  s === CircuitState.Closed ? 'closed' : s === CircuitState.HalfOpen ? 'half-open' : 'open';

/** Creates the database circuit breaker. See the module comment for the behaviour. */
export function createDbBreaker(opts: DbBreakerOptions = {}): DbBreaker {
  const timeoutMs = positive('timeoutMs', opts.timeoutMs, 2000);
  const threshold = positive('failureThreshold', opts.failureThreshold, 5);
  if (!Number.isInteger(threshold)) {
    throw new RangeError(`createDbBreaker: failureThreshold must be an integer, got ${threshold}`);
  }
  const initialDelay = positive('halfOpenInitialMs', opts.halfOpenInitialMs, 1000);
  const maxDelay = positive('halfOpenMaxMs', opts.halfOpenMaxMs, 30_000);
  if (maxDelay < initialDelay) {
    throw new RangeError(`createDbBreaker: halfOpenMaxMs (${maxDelay}) is below halfOpenInitialMs (${initialDelay})`);
  }
  const isFailure = opts.isFailure ?? isConnectionFailure;

  let lastBackoffMs = initialDelay;
  let probeAt = 0;
  const backoff = recording<IHalfOpenAfterBackoffContext>(
    new ExponentialBackoff({
      initialDelay,
      maxDelay,
      exponent: 2,
      generator: opts.jitter ? halfJitterGenerator : noJitterGenerator,
    }),
    (ms) => {
      lastBackoffMs = ms;
    },
  );

  // Only failures escape the inner wrapper (see `execute`), so the breaker handles everything it sees.
  const breakerPolicy = circuitBreaker(handleAll, {
    halfOpenAfter: backoff,
    breaker: new ConsecutiveBreaker(threshold),
  });
  const timeoutPolicy = timeout(timeoutMs, TimeoutStrategy.Aggressive);

  const listeners = new Set<StateListener>();
  if (opts.onStateChange) listeners.add(opts.onStateChange);
  let current: BreakerState = 'closed';
  breakerPolicy.onStateChange((s) => {
    const next = toState(s);
    if (next === 'open') probeAt = Date.now() + lastBackoffMs;
    if (next === current) return;
    const previous = current;
    current = next;
    for (const l of listeners) {
      try {
        l(next, previous);
      } catch {
        // A metrics hook must never break database access.
      }
    }
  });

  const retryAfterMs = () => (breakerPolicy.state === CircuitState.Open ? Math.max(0, probeAt - Date.now()) : 0);

  const exclusiveProbe = opts.exclusiveProbe ?? false;
  /** Would a call be refused right now? A probe may go once the back-off is over; others only when closed (exclusiveProbe). */
  const refuses = (asProbe: boolean) => {
    const s = breakerPolicy.state;
    if (s === CircuitState.HalfOpen || s === CircuitState.Isolated) return true;
    return s === CircuitState.Open && (retryAfterMs() > 0 || (exclusiveProbe && !asProbe));
  };
  const isOpen = () => refuses(false);

  type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

  // a span per guarded call (tracing on, inside a traced request): its state, and the statements as children
  const run = <T>(asProbe: boolean, fn: (signal: AbortSignal) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> =>
    inSpan('db.breaker', { 'permit_gateway.breaker.state': toState(breakerPolicy.state) }, () =>
      guarded(asProbe, fn, signal),
    ) as Promise<T>;

  async function guarded<T>(asProbe: boolean, fn: (signal: AbortSignal) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> {
    // Cockatiel makes extra half-open callers wait for the probe's verdict; we fail them fast instead.
    if (refuses(asProbe)) throw new BreakerOpenError(retryAfterMs(), errorOf(breakerPolicy.lastFailure));
    let outcome: Outcome<T>;
    try {
      outcome = await breakerPolicy.execute(async (): Promise<Outcome<T>> => {
        try {
          const value = await timeoutPolicy.execute((ctx) => fn(ctx.signal), signal);
          return { ok: true, value };
        } catch (err) {
          // The caller gave up: not the database's fault.
          if (signal?.aborted) return { ok: false, error: err };
          const e = isTaskCancelledError(err) ? new DbTimeoutError(timeoutMs, { cause: err }) : err;
          // thrown errors count towards opening; others (e.g. a timeout, when isFailure says so) only reach the caller
          if (isFailure(e)) throw e;
          if (e instanceof DbTimeoutError) return { ok: false, error: e };
          // The database answered (unique violation, bad input …): a success as far as availability goes.
          return { ok: false, error: err };
        }
      });
    } catch (err) {
      if (isBrokenCircuitError(err)) throw new BreakerOpenError(retryAfterMs(), errorOf(breakerPolicy.lastFailure));
      throw err;
    }
    if (outcome.ok) return outcome.value;
    throw outcome.error;
  }

  return {
    execute: (fn, signal) => run(false, fn, signal),
    probe: (fn, signal) => run(true, fn, signal),
    get state() {
      return toState(breakerPolicy.state);
    },
    isOpen,
    retryAfterMs,
    get lastFailure() {
      return errorOf(breakerPolicy.lastFailure);
    },
    onStateChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

function errorOf(reason: { error: unknown } | { value: unknown } | undefined): unknown {
  if (!reason) return undefined;
  return 'error' in reason ? reason.error : reason.value;
}

/** The database cannot be used right now: the breaker refused the call, or the connection failed. */
export const isDatabaseUnavailable = (err: unknown): boolean => err instanceof BreakerOpenError || isConnectionFailure(err);
