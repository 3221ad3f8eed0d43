/**
 * Issue 18 item 17: a test run must not leave keys in Redis (the PostgreSQL run used to leave ~12,000 status-cache
 * entries with a 7-day expiry). A test server's keys are gone once it stopped; the run-level guard
 * (test/helpers/redis-guard.preload.ts) fails the run for anything else left under this run's prefix.
 */
import { describe, expect, setDefaultTimeout, test } from 'bun:test';
import { deleteRedisKeys, hasRedis, redisKeys, RUN_PREFIX, testRedisPrefix } from '../helpers/redis.ts';
import { startTestServer } from '../helpers/server.ts';

setDefaultTimeout(120_000);

describe.skipIf(!hasRedis)('Redis keys of tests', () => {
  test('a test server writes status-cache and rate-limit keys under its own prefix, and stop() deletes them', async () => {
    const t = await startTestServer({ RATE_LIMIT_SCALE: '1' });
    let stopped = false;
    try {
      expect(t.redisPrefix.startsWith(RUN_PREFIX)).toBe(true);
      expect(t.running.config.redisUrl).toBeDefined();
      const r = await t.gql(`{ permits(first: 1) { edges { node { number } } } }`, {}, await t.token('demo-clerk'));
      expect(r.status).toBe(200);
      const number = r.body.data.permits.edges[0].node.number as string;
      expect((await t.gql(`query($n: String!) { permitStatus(number: $n) { status } }`, { n: number })).status).toBe(200);
      // the status read (and the start-up warm-up) cached statuses; the requests charged rate-limit buckets
      const deadline = Date.now() + 30_000;
      let keys: string[] = [];
      while (Date.now() < deadline) {
        keys = await redisKeys(t.redisPrefix);
        if (keys.some((k) => k.includes(':status:')) && keys.some((k) => k.includes('rl:'))) break;
        await Bun.sleep(200);
      }
      expect(keys.some((k) => k.includes(':status:'))).toBe(true);
      expect(keys.some((k) => k.includes('rl:'))).toBe(true);
      await t.stop();
      stopped = true;
      expect(await redisKeys(t.redisPrefix)).toEqual([]);
    } finally {
      if (!stopped) await t.stop();
    }
  });

  test('prefixes are unique, under this run, and clean-up never touches keys outside test prefixes', async () => {
    const a = testRedisPrefix('x');
    expect(a).not.toBe(testRedisPrefix('x'));
    expect(a.startsWith(RUN_PREFIX)).toBe(true);
    expect(() => testRedisPrefix('bad label*')).toThrow();
    await expect(deleteRedisKeys('permit-gateway:')).rejects.toThrow(/only deletes test keys/);
  });
});
