import { afterAll, describe, expect, test } from 'bun:test';
import { Redis } from 'ioredis';
import { MemoryStatusCache, RedisStatusCache, createStatusCache, type PermitStatusInput } from '../../src/resilience/status-cache.ts';

import { cleanUpRedisKeys, hasRedis, TEST_REDIS_URL, testRedisPrefix } from '../helpers/redis.ts';
const REDIS_URL = TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = testRedisPrefix('status-cache');

const permit = (number: string, over: Partial<PermitStatusInput> = {}): PermitStatusInput => ({
  number,
  jurisdiction: 'demo-city',
  status: 'SUBMITTED',
  updatedAt: '2025-01-02T03:04:05.000Z',
  ...over,
});

afterAll(async () => {
  await cleanUpRedisKeys(prefix);
});

describe('memory status cache', () => {
  test('it keeps at most `max` entries, dropping the least recently used', async () => {
    const cache = new MemoryStatusCache({ max: 3 });
    for (const n of ['P-1', 'P-2', 'P-3']) await cache.set(permit(n));
    await cache.get('P-1'); // touch: P-2 is now the oldest
    await cache.set(permit('P-4'));
    await cache.set(permit('P-5'));
    expect(cache.size).toBe(3);
    expect(await cache.get('P-2')).toBeUndefined();
    expect(await cache.get('P-3')).toBeUndefined();
    expect((await cache.get('P-1'))?.status).toBe('SUBMITTED');
    expect(await cache.get('P-5')).toBeDefined();
  });

  test('the default bound is 100,000 entries', async () => {
    const cache = new MemoryStatusCache();
    for (let i = 0; i < 100_010; i++) cache.put({ number: `N-${i}`, jurisdiction: 'j', status: 'ISSUED', updatedAt: 'x', asOf: 'x' });
    expect(cache.size).toBe(100_000);
  });

  test('it stores times as ISO UTC and fills asOf with the time of the write', async () => {
    const cache = createStatusCache();
    expect(cache.kind).toBe('memory');
    const before = Date.now();
    await cache.set(permit('P-10', { updatedAt: '2025-03-01T10:00:00+02:00' }));
    const entry = await cache.get('P-10');
    expect(entry?.updatedAt).toBe('2025-03-01T08:00:00.000Z');
    expect(entry?.asOf.endsWith('Z')).toBe(true);
    expect(Date.parse(entry!.asOf)).toBeGreaterThanOrEqual(before - 1);
    expect(entry?.jurisdiction).toBe('demo-city');
  });

  test('a permit of another jurisdiction is not visible when a jurisdiction is asked for', async () => {
    const cache = createStatusCache();
    await cache.set(permit('P-20', { jurisdiction: 'other-town' }));
    expect(await cache.get('demo-city', 'P-20')).toBeUndefined();
    expect((await cache.get('other-town', 'P-20'))?.number).toBe('P-20');
    expect((await cache.get(undefined, 'P-20'))?.number).toBe('P-20');
  });

  test('an older observation does not replace a newer status', async () => {
    const cache = createStatusCache();
    await cache.set(permit('P-30', { status: 'APPROVED', updatedAt: '2025-05-02T00:00:00Z' }));
    await cache.set(permit('P-30', { status: 'SUBMITTED', updatedAt: '2025-05-01T00:00:00Z' }));
    expect((await cache.get('P-30'))?.status).toBe('APPROVED');
    await cache.set(permit('P-30', { status: 'ISSUED', updatedAt: '2025-05-03T00:00:00Z' }));
    expect((await cache.get('P-30'))?.status).toBe('ISSUED');
  });

  test('warm loads many entries, from an async source too', async () => {
    const cache = createStatusCache({ max: 10 });
    async function* source() {
      for (let i = 0; i < 5; i++) yield permit(`W-${i}`);
    }
    expect(await cache.warm(source())).toBe(5);
    expect((await cache.get('W-4'))?.status).toBe('SUBMITTED');
  });

  test('bad entries are refused with a message naming the permit and field', async () => {
    const cache = createStatusCache();
    await expect(cache.set(permit('P-40', { updatedAt: 'yesterday' }))).rejects.toThrow('updatedAt of permit P-40 is not a valid date');
    await expect(cache.set(permit('P-41', { jurisdiction: '' }))).rejects.toThrow('permit P-41 has no jurisdiction');
    expect(() => new MemoryStatusCache({ max: 0 })).toThrow('max must be a positive integer');
  });
});

describe.skipIf(!hasRedis)('redis status cache', () => {
  test('two cache instances share entries through Redis', async () => {
    const a = new RedisStatusCache({ redisUrl: REDIS_URL, prefix });
    const b = new RedisStatusCache({ redisUrl: REDIS_URL, prefix });
    try {
      expect(await a.ready()).toBe(true);
      expect(await b.ready()).toBe(true);
      await a.set(permit('R-1', { status: 'UNDER_REVIEW' }));
      const seen = await b.get('R-1');
      expect(seen?.status).toBe('UNDER_REVIEW');
      expect(seen?.jurisdiction).toBe('demo-city');
      expect(await b.get('other-town', 'R-1')).toBeUndefined();
      // b now also holds a memory copy.
      expect(b.memory.getSync('R-1')?.status).toBe('UNDER_REVIEW');
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('entries are JSON with a TTL of seven days under the configured prefix', async () => {
    const cache = createStatusCache({ redisUrl: REDIS_URL, prefix });
    const admin = new Redis(REDIS_URL);
    try {
      await (cache as RedisStatusCache).ready();
      await cache.set(permit('R-2'));
      const raw = await admin.get(`${prefix}status:R-2`);
      expect(JSON.parse(raw!)).toMatchObject({ number: 'R-2', status: 'SUBMITTED', jurisdiction: 'demo-city' });
      const ttl = await admin.ttl(`${prefix}status:R-2`);
      expect(ttl).toBeGreaterThan(7 * 24 * 3600 - 10);
      expect(ttl).toBeLessThanOrEqual(7 * 24 * 3600);
    } finally {
      admin.disconnect();
      await cache.close();
    }
  });

  test('an instance with an older observation cannot regress the status another instance wrote', async () => {
    const a = new RedisStatusCache({ redisUrl: REDIS_URL, prefix });
    const b = new RedisStatusCache({ redisUrl: REDIS_URL, prefix });
    try {
      await Promise.all([a.ready(), b.ready()]);
      await a.set(permit('R-3', { status: 'ISSUED', updatedAt: '2025-06-02T00:00:00Z' }));
      await b.set(permit('R-3', { status: 'APPROVED', updatedAt: '2025-06-01T00:00:00Z' }));
      expect((await a.get('R-3'))?.status).toBe('ISSUED');
      expect((await b.get('R-3'))?.status).toBe('ISSUED');
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('warm writes through to Redis in batches', async () => {
    const a = new RedisStatusCache({ redisUrl: REDIS_URL, prefix });
    const b = new RedisStatusCache({ redisUrl: REDIS_URL, prefix });
    try {
      await Promise.all([a.ready(), b.ready()]);
      const entries = Array.from({ length: 1200 }, (_, i) => permit(`WR-${i}`, { status: 'FINALED' }));
      expect(await a.warm(entries)).toBe(1200);
      expect((await b.get('WR-0'))?.status).toBe('FINALED');
      expect((await b.get('WR-1199'))?.status).toBe('FINALED');
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('when Redis is unreachable it answers from memory, quickly, and reports the errors', async () => {
    const errors: unknown[] = [];
    const cache = new RedisStatusCache({ redisUrl: 'redis://127.0.0.1:1', prefix, onError: (e) => errors.push(e) });
    try {
      const started = performance.now();
      await cache.set(permit('U-1', { status: 'EXPIRED' }));
      expect((await cache.get('U-1'))?.status).toBe('EXPIRED');
      expect(await cache.get('U-2')).toBeUndefined();
      expect(await cache.warm([permit('U-3')])).toBe(1);
      expect((await cache.get('U-3'))?.status).toBe('SUBMITTED');
      expect(performance.now() - started).toBeLessThan(200);
      expect(errors.length).toBeGreaterThan(0);
      expect(await cache.ready()).toBe(false);
    } finally {
      await cache.close();
    }
  });
});

describe('refresh (what a permitStatus read does)', () => {
  const t0 = Date.parse('2026-12-01T10:00:00.000Z');

  test('a read of the same status within a second keeps asOf; after a second, or with a change, it is rewritten', async () => {
    const cache = new MemoryStatusCache();
    await cache.refresh(permit('F-1'), t0);
    expect((await cache.get('F-1'))?.asOf).toBe('2026-12-01T10:00:00.000Z');
    await cache.refresh(permit('F-1'), t0 + 999);
    expect((await cache.get('F-1'))?.asOf).toBe('2026-12-01T10:00:00.000Z');
    await cache.refresh(permit('F-1'), t0 + 1000);
    expect((await cache.get('F-1'))?.asOf).toBe('2026-12-01T10:00:01.000Z');
    // a new status, a new updatedAt or another jurisdiction is written at once
    await cache.refresh(permit('F-1', { status: 'APPROVED', updatedAt: '2025-01-03T00:00:00.000Z' }), t0 + 1001);
    expect(await cache.get('F-1')).toMatchObject({ status: 'APPROVED', asOf: '2026-12-01T10:00:01.001Z' });
    await cache.refresh(permit('F-1', { status: 'APPROVED', updatedAt: new Date('2025-01-04T00:00:00.000Z') }), t0 + 1002);
    expect(await cache.get('F-1')).toMatchObject({ updatedAt: '2025-01-04T00:00:00.000Z', asOf: '2026-12-01T10:00:01.002Z' });
    // an older observation still never replaces a newer one
    await cache.refresh(permit('F-1', { status: 'SUBMITTED', updatedAt: '2025-01-02T00:00:00.000Z' }), t0 + 5000);
    expect((await cache.get('F-1'))?.status).toBe('APPROVED');
  });

  test.skipIf(!hasRedis)('on Redis a fresh read sends nothing, a stale or changed one writes through', async () => {
    const cache = new RedisStatusCache({ redisUrl: REDIS_URL, prefix });
    const admin = new Redis(REDIS_URL);
    try {
      await cache.ready();
      const key = `${prefix}status:F-2`;
      await cache.refresh(permit('F-2'), t0);
      expect(JSON.parse((await admin.get(key))!).asOf).toBe('2026-12-01T10:00:00.000Z');
      await admin.del(key); // what Redis holds is not consulted: a fresh read writes nothing
      await cache.refresh(permit('F-2'), t0 + 500);
      expect(await admin.get(key)).toBeNull();
      await cache.refresh(permit('F-2'), t0 + 1500);
      expect(JSON.parse((await admin.get(key))!).asOf).toBe('2026-12-01T10:00:01.500Z');
      await cache.refresh(permit('F-2', { status: 'ISSUED', updatedAt: '2025-02-01T00:00:00.000Z' }), t0 + 1600);
      expect(JSON.parse((await admin.get(key))!).status).toBe('ISSUED');
    } finally {
      admin.disconnect();
      await cache.close();
    }
  });
});
