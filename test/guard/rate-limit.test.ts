import { afterAll, describe, expect, test } from 'bun:test';
import { MemoryTokenBucketStore, RedisTokenBucketStore } from '../../src/guard/rate-limit.ts';
import * as rateLimitModule from '../../src/guard/use-rate-limit.ts';
import { useRateLimit } from '../../src/guard/use-rate-limit.ts';
import { useArmorLimits } from '../../src/guard/use-armor-limits.ts';
import { gql, startYoga } from './helpers.ts';

import { cleanUpRedisKeys, hasRedis, TEST_REDIS_URL, testRedisPrefix } from '../helpers/redis.ts';
import { setDefaultTimeout } from 'bun:test';

// starts databases and servers: Bun's 5 s default is too short on a busy machine
setDefaultTimeout(120_000);
const REDIS_URL = TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
// every bucket of this file lives under one prefix, deleted when the file is done
const filePrefix = testRedisPrefix('rate-limit');
const uniquePrefix = () => `${filePrefix}${crypto.randomUUID().slice(0, 8)}:`;
afterAll(() => cleanUpRedisKeys(filePrefix));

const policies = {
  anonymous: { ratePerSec: 0.01, burst: 3 },
  contractor: { ratePerSec: 0.01, burst: 5 },
};

describe('token bucket stores', () => {
  test('memory: burst, then refill at ratePerSec, Retry-After rounds up', async () => {
    let now = 0;
    const store = new MemoryTokenBucketStore({ now: () => now });
    const p = { ratePerSec: 2, burst: 3 };
    for (let i = 0; i < 3; i++) expect((await store.take('k', 1, p)).allowed).toBe(true);
    const refused = await store.take('k', 1, p);
    expect(refused).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
    now += 500; // +1 token
    expect((await store.take('k', 1, p)).allowed).toBe(true);
    expect((await store.take('k', 3, p)).retryAfterSeconds).toBe(2); // 3 missing at 2/s
    expect((await store.take('other', 1, p)).allowed).toBe(true);
  });

  test.skipIf(!hasRedis)('redis: same semantics, atomic under concurrency', async () => {
    const store = new RedisTokenBucketStore({ url: REDIS_URL, keyPrefix: uniquePrefix() });
    try {
      const p = { ratePerSec: 0.01, burst: 10 };
      const results = await Promise.all(Array.from({ length: 25 }, () => store.take('k', 1, p)));
      expect(results.filter((r) => r.allowed).length).toBe(10);
      const refused = results.find((r) => !r.allowed)!;
      expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(90); // ~1 token at 0.01/s
    } finally {
      await store.close();
    }
  });
});

describe('charges in memory are answered at once', () => {
  const identify = () => ({ key: 'ip:192.0.2.1', role: 'anonymous' });
  test('the memory store returns its answer, not a promise', () => {
    const r = new MemoryTokenBucketStore().take('k', 1, { ratePerSec: 1, burst: 2 });
    expect(r instanceof Promise).toBe(false);
    expect(r).toEqual({ allowed: true, remaining: 1, retryAfterSeconds: 0 });
  });

  test('neither hook hands Yoga a promise to wait for, the refusal included', () => {
    const plugin = useRateLimit({ policies, store: new MemoryTokenBucketStore(), identify });
    const refusals: unknown[] = [];
    const params = () => plugin.onParams!({ context: {}, setResult: (r: unknown) => refusals.push(r) } as never);
    for (let i = 0; i < 3; i++) expect(params()).toBeUndefined();
    expect(refusals).toEqual([]);
    expect(params()).toBeUndefined();
    expect(refusals).toHaveLength(1);
    expect((refusals[0] as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('RATE_LIMITED');
    // a cheap operation has nothing more to pay at execution
    const execute = plugin.onExecute!({ args: { contextValue: {} }, setResultAndStopExecution: () => {} } as never);
    expect(execute).toBeUndefined();
  });

  test('a store that answers later (Redis) is waited for, and one that fails falls back to memory', async () => {
    const later = new MemoryTokenBucketStore();
    const slow = { take: async (...a: Parameters<MemoryTokenBucketStore['take']>) => later.take(...a) };
    const failing = { take: async () => Promise.reject(new Error('down')) };
    const errors: unknown[] = [];
    for (const store of [slow, failing]) {
      const plugin = useRateLimit({ policies, store, identify, onStoreError: (e) => errors.push(e) });
      const refusals: unknown[] = [];
      const params = () => plugin.onParams!({ context: {}, setResult: (r: unknown) => refusals.push(r) } as never);
      for (let i = 0; i < 3; i++) {
        const out = params();
        expect(out instanceof Promise).toBe(true);
        await out;
      }
      await params();
      expect(refusals).toHaveLength(1);
    }
    expect(errors).toHaveLength(4);
  });
});

describe('plugin over HTTP (memory store)', () => {
  const app = startYoga([useArmorLimits(), useRateLimit({ policies })]);
  afterAll(() => app.stop());

  test('a client over its rate gets 429 + Retry-After + RATE_LIMITED; another client is unaffected', async () => {
    const c1 = { 'x-test-principal': 'client-1:contractor:permits:read:own' };
    const c2 = { 'x-test-principal': 'client-2:contractor:permits:read:own' };
    for (let i = 0; i < 5; i++) expect((await gql(app.url, '{ hello }', { headers: c1 })).status).toBe(200);
    app.calls.count = 0;
    const r = await gql(app.url, '{ hello }', { headers: c1 });
    expect(r.status).toBe(429);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(r.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(app.calls.count).toBe(0);
    const other = await gql(app.url, '{ hello }', { headers: c2 });
    expect(other.status).toBe(200);
  });

  test('anonymous requests are keyed by IP', async () => {
    const ip = (a: string) => ({ 'x-test-ip': a });
    for (let i = 0; i < 3; i++) expect((await gql(app.url, '{ hello }', { headers: ip('10.0.0.1') })).status).toBe(200);
    expect((await gql(app.url, '{ hello }', { headers: ip('10.0.0.1') })).status).toBe(429);
    expect((await gql(app.url, '{ hello }', { headers: ip('10.0.0.2') })).status).toBe(200);
  });

  test('expensive operations cost more (armor cost / costPerToken)', async () => {
    const c = { 'x-test-principal': 'client-3:contractor:' };
    const light = { 'x-test-principal': 'client-4:contractor:' };
    // cost 1 + 10 + 10 + 100 = 121 → weight 1: five of them fit the burst of 5
    for (let i = 0; i < 5; i++) {
      expect((await gql(app.url, '{ permits(first: 10) { inspections(first: 10) { id } } }', { headers: light })).status).toBe(200);
    }
    // cost 1 + 50 + 2500 = 2551 → weight 11, capped at the burst (5): it runs, and empties the bucket
    const heavy = await gql(app.url, '{ permits { inspections { id } } }', { headers: c });
    expect(heavy.status).toBe(200);
    const next = await gql(app.url, '{ hello }', { headers: c });
    expect(next.status).toBe(429);
  });
});

describe('weight option', () => {
  const app = startYoga([useRateLimit({ policies: { anonymous: { ratePerSec: 0.01, burst: 6 } }, weight: () => 3 })]);
  afterAll(() => app.stop());
  test('the one way to weigh an operation is the weight option (no side channel keyed by context)', () => {
    expect(Object.keys(rateLimitModule)).not.toContain('setRateLimitWeight');
  });
  test('weight overrides the weight of a request', async () => {
    expect((await gql(app.url, '{ hello }')).status).toBe(200);
    expect((await gql(app.url, '{ hello }')).status).toBe(200);
    const r = await gql(app.url, '{ hello }');
    expect(r.status).toBe(429);
  });
});

describe.skipIf(!hasRedis)('Redis: two server processes share one budget', () => {
  const prefix = uniquePrefix();
  const procs: ReturnType<typeof Bun.spawn>[] = [];
  afterAll(async () => {
    for (const p of procs) p.kill();
    await Promise.all(procs.map((p) => p.exited));
  });

  async function spawnServer(): Promise<string> {
    const proc = Bun.spawn(['bun', `${import.meta.dir}/fixtures/rate-limit-server.ts`], {
      stdout: 'pipe',
      stderr: 'inherit',
      env: { ...process.env, REDIS_URL, KEY_PREFIX: prefix },
    });
    procs.push(proc);
    const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!text.includes('\n')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    return `http://127.0.0.1:${JSON.parse(text.split('\n')[0]!).port}/graphql`;
  }

  test('burst 6 across A and B: the 7th request is refused by whichever answers it', async () => {
    const [a, b] = await Promise.all([spawnServer(), spawnServer()]);
    const headers = { 'x-test-principal': 'shared-client:contractor:' };
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await gql(i % 2 ? b : a, '{ hello }', { headers })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429]);
    // another client still has its own budget on both
    const other = { 'x-test-principal': 'other-client:contractor:' };
    expect((await gql(a, '{ hello }', { headers: other })).status).toBe(200);
    expect((await gql(b, '{ hello }', { headers: other })).status).toBe(200);
  }, 30_000);
});
