/**
 * A stopped app holds no Redis connection: the rate limiter's buckets and the status cache each open one
 * (named by src/ops/redis-client-name.ts), and running.close() must end both, else each stop in a long-lived process
 * (tests, a supervisor restarting the app in-process) leaves a connection behind in the shared Redis.
 */
import { describe, expect, setDefaultTimeout, test } from 'bun:test';
import { Redis } from 'ioredis';
import { REDIS_CLIENT_NAME_PREFIX } from '../../src/ops/redis-client-name.ts';
import { hasRedis, TEST_REDIS_URL } from '../helpers/redis.ts';
import { startTestServer } from '../helpers/server.ts';

setDefaultTimeout(120_000);

/** Names of this process's app connections in CLIENT LIST (other processes, other runs: other pids). */
async function appConnections(redis: Redis): Promise<string[]> {
  const list = (await redis.call('CLIENT', 'LIST')) as string;
  return list
    .split('\n')
    .map((line) => /(?:^| )name=(\S*)/.exec(line)?.[1] ?? '')
    .filter((name) => name.startsWith(REDIS_CLIENT_NAME_PREFIX) && name.endsWith(`:${process.pid}`))
    .sort();
}

/** Polls `read` until `ok` holds or `ms` passed; answers the last reading. */
async function settle<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > deadline) return v;
    await Bun.sleep(50);
  }
}

describe.skipIf(!hasRedis)('Redis connections of the app', () => {
  test('a started app has its rate-limit and status-cache connections; once stopped, none', async () => {
    const observer = new Redis(TEST_REDIS_URL!, { maxRetriesPerRequest: 1 });
    try {
      const before = await appConnections(observer);
      const t = await startTestServer({ RATE_LIMIT_SCALE: '1' });
      let stopped = false;
      try {
        expect(t.running.config.redisUrl).toBeDefined();
        // a request charges the buckets, so the rate limiter's connection is surely up
        expect((await t.gql(`{ permitStatus(number: "X") { status } }`)).status).toBe(200);
        const name = (purpose: string) => `${REDIS_CLIENT_NAME_PREFIX}${purpose}:${process.pid}`;
        const want = [...before, name('rate-limit'), name('status-cache')].sort();
        expect(
          await settle(
            () => appConnections(observer),
            (names) => names.length >= want.length,
          ),
        ).toEqual(want);
        await t.stop();
        stopped = true;
        // a connection the app forgot never goes away; one it closed is gone by the time quit() resolved
        expect(
          await settle(
            () => appConnections(observer),
            (names) => names.length <= before.length,
            2_000,
          ),
        ).toEqual(before);
      } finally {
        if (!stopped) await t.stop();
      }
    } finally {
      observer.disconnect();
    }
  });
});
