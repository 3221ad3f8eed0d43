import { describe, expect, test } from 'bun:test';
import { BreakerOpenError, DbTimeoutError, createDbBreaker, isConnectionFailure, type BreakerState } from '../../src/resilience/breaker.ts';

const codeError = (code: string, message = code) => Object.assign(new Error(message), { code });
const refused = () => codeError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432');
const uniqueViolation = () =>
  Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505', severity: 'ERROR' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function failTimes(breaker: ReturnType<typeof createDbBreaker>, n: number, err: () => unknown) {
  for (let i = 0; i < n; i++) {
    await breaker
      .execute(() => {
        throw err();
      })
      .catch(() => {});
  }
}

describe('createDbBreaker', () => {
  test('it opens after the configured number of consecutive connection failures', async () => {
    const breaker = createDbBreaker({ failureThreshold: 3 });
    await failTimes(breaker, 2, refused);
    expect(breaker.state).toBe('closed');
    await failTimes(breaker, 1, refused);
    expect(breaker.state).toBe('open');
    expect(breaker.isOpen()).toBe(true);
    expect(breaker.retryAfterMs()).toBeGreaterThan(900);
  });

  test('the caller gets the original connection error while the breaker is still closed', async () => {
    const breaker = createDbBreaker();
    const err = refused();
    await expect(breaker.execute(() => Promise.reject(err))).rejects.toBe(err);
  });

  test('while open it fails fast with BreakerOpenError and does not call the function', async () => {
    const breaker = createDbBreaker({ failureThreshold: 2 });
    await failTimes(breaker, 2, refused);
    let called = 0;
    const started = performance.now();
    const error = await breaker
      .execute(() => {
        called++;
        return 1;
      })
      .catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(BreakerOpenError);
    expect((error as BreakerOpenError).code).toBe('BREAKER_OPEN');
    expect((error as BreakerOpenError).retryAfterMs).toBeGreaterThan(0);
    expect((error as BreakerOpenError).message).toContain('ECONNREFUSED');
    expect(called).toBe(0);
    expect(elapsed).toBeLessThan(50);
  });

  test('a unique violation is passed through and never trips the breaker', async () => {
    const breaker = createDbBreaker({ failureThreshold: 2 });
    for (let i = 0; i < 10; i++) {
      const err = uniqueViolation();
      await expect(breaker.execute(() => Promise.reject(err))).rejects.toBe(err);
    }
    expect(breaker.state).toBe('closed');
  });

  test('an answer from the database resets the count of consecutive failures', async () => {
    const breaker = createDbBreaker({ failureThreshold: 3 });
    await failTimes(breaker, 2, refused);
    await failTimes(breaker, 1, uniqueViolation);
    await failTimes(breaker, 2, refused);
    expect(breaker.state).toBe('closed');
  });

  test('a call over the time limit fails with DbTimeoutError, aborts its signal and counts as a failure', async () => {
    const breaker = createDbBreaker({ timeoutMs: 30, failureThreshold: 2 });
    let seen: AbortSignal | undefined;
    const hang = (signal: AbortSignal) => {
      seen = signal;
      return new Promise<never>(() => {});
    };
    const started = performance.now();
    await expect(breaker.execute(hang)).rejects.toBeInstanceOf(DbTimeoutError);
    expect(performance.now() - started).toBeLessThan(500);
    expect(seen?.aborted).toBe(true);
    await expect(breaker.execute(hang)).rejects.toBeInstanceOf(DbTimeoutError);
    expect(breaker.state).toBe('open');
  });

  test('a caller that aborts its own call does not count against the database', async () => {
    const breaker = createDbBreaker({ failureThreshold: 1 });
    const ctrl = new AbortController();
    const call = breaker.execute(
      (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      ctrl.signal,
    );
    ctrl.abort();
    await expect(call).rejects.toBeDefined();
    expect(breaker.state).toBe('closed');
  });

  test('after the back-off it half-opens for one probe and closes when the probe succeeds', async () => {
    const transitions: Array<[BreakerState, BreakerState]> = [];
    const breaker = createDbBreaker({
      failureThreshold: 1,
      halfOpenInitialMs: 40,
      onStateChange: (s, prev) => transitions.push([s, prev]),
    });
    await failTimes(breaker, 1, refused);
    expect(breaker.state).toBe('open');
    await sleep(50);
    expect(breaker.isOpen()).toBe(false);
    expect(breaker.state).toBe('open');

    let release!: () => void;
    const probe = breaker.execute(() => new Promise<string>((r) => (release = () => r('ok'))));
    expect(breaker.state).toBe('half-open');
    // Others do not queue behind the probe.
    const started = performance.now();
    await expect(breaker.execute(() => 'other')).rejects.toBeInstanceOf(BreakerOpenError);
    expect(performance.now() - started).toBeLessThan(50);
    release();
    expect(await probe).toBe('ok');
    expect(breaker.state).toBe('closed');
    expect(await breaker.execute(() => 42)).toBe(42);
    expect(transitions).toEqual([
      ['open', 'closed'],
      ['half-open', 'open'],
      ['closed', 'half-open'],
    ]);
  });

  test('a failed probe re-opens the breaker with a doubled back-off', async () => {
    const breaker = createDbBreaker({ failureThreshold: 1, halfOpenInitialMs: 40, halfOpenMaxMs: 70 });
    await failTimes(breaker, 1, refused);
    expect(breaker.retryAfterMs()).toBeLessThanOrEqual(40);
    await sleep(50);
    await failTimes(breaker, 1, refused);
    expect(breaker.state).toBe('open');
    expect(breaker.retryAfterMs()).toBeGreaterThan(60);
    expect(breaker.retryAfterMs()).toBeLessThanOrEqual(80);
    await sleep(80);
    // capped at halfOpenMaxMs
    await failTimes(breaker, 1, refused);
    expect(breaker.retryAfterMs()).toBeLessThanOrEqual(70);
  });

  test('a probe answered with a database error still closes the breaker: the database is back', async () => {
    const breaker = createDbBreaker({ failureThreshold: 1, halfOpenInitialMs: 20 });
    await failTimes(breaker, 1, refused);
    await sleep(30);
    await failTimes(breaker, 1, uniqueViolation);
    expect(breaker.state).toBe('closed');
  });

  test('a throwing state-change hook does not break calls', async () => {
    const breaker = createDbBreaker({ failureThreshold: 1 });
    breaker.onStateChange(() => {
      throw new Error('metrics down');
    });
    await failTimes(breaker, 1, refused);
    expect(breaker.state).toBe('open');
  });

  test('invalid options are refused with a clear message', () => {
    expect(() => createDbBreaker({ timeoutMs: 0 })).toThrow('timeoutMs must be a positive number');
    expect(() => createDbBreaker({ failureThreshold: 1.5 })).toThrow('failureThreshold must be an integer');
    expect(() => createDbBreaker({ halfOpenInitialMs: 5000, halfOpenMaxMs: 1000 })).toThrow('halfOpenMaxMs');
  });
});

describe('isConnectionFailure', () => {
  test.each([
    ['ECONNREFUSED', true],
    ['ECONNRESET', true],
    ['CONNECTION_CLOSED', true],
    ['CONNECTION_DESTROYED', true],
    ['CONNECTION_ENDED', true],
    ['CONNECT_TIMEOUT', true],
    ['57P01', true],
    ['08006', true],
    ['08001', true],
    ['23505', false],
    ['23503', false],
    ['22P02', false],
    ['40001', false],
    ['42P01', false],
  ])('code %s counts as a connection failure: %p', (code, expected) => {
    expect(isConnectionFailure(codeError(code))).toBe(expected);
  });

  test('errors wrapped by drizzle (cause) or in an AggregateError are looked into', () => {
    expect(isConnectionFailure(new Error('Failed query: select 1', { cause: refused() }))).toBe(true);
    expect(isConnectionFailure(new AggregateError([new Error('x'), refused()]))).toBe(true);
    expect(isConnectionFailure(new Error('Failed query', { cause: uniqueViolation() }))).toBe(false);
  });

  test('plain errors and non-errors do not count', () => {
    expect(isConnectionFailure(new TypeError('undefined is not a function'))).toBe(false);
    expect(isConnectionFailure('ECONNREFUSED')).toBe(false);
    expect(isConnectionFailure(null)).toBe(false);
    expect(isConnectionFailure(new DbTimeoutError(10))).toBe(true);
  });
});
