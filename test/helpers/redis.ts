/**
 * Redis-backed tests run when TEST_REDIS_URL is set (CI's second run, against this machine's Redis) and are
 * skipped on a machine with nothing but Bun.
 *
 * Tests clean up after themselves: every key a test writes lives under `testRedisPrefix(...)`, which starts with
 * this run's `RUN_PREFIX`; each file deletes its keys in afterAll (`deleteRedisKeys`), and the run-level guard
 * (test/helpers/redis-guard.preload.ts, preloaded by bunfig.toml) fails the run if any key of this run is left.
 * Only this run's prefix is ever scanned or deleted: other runs may share the Redis.
 */
import { Redis } from 'ioredis';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL || undefined;
export const hasRedis = Boolean(TEST_REDIS_URL);

// child processes of this run (spawned with process.env) keep the same run prefix
process.env.TEST_REDIS_RUN_PREFIX ||= `test:${crypto.randomUUID()}:`;
/** The prefix of every Redis key written by this test run. */
export const RUN_PREFIX = process.env.TEST_REDIS_RUN_PREFIX;

/** A fresh key prefix for one test file, server or store, e.g. `test:<run>:status-cache:<id>:`. */
export function testRedisPrefix(label: string): string {
  if (!/^[a-z0-9-]+$/.test(label)) throw new Error(`testRedisPrefix: label must be a-z 0-9 -, got ${label}`);
  return `${RUN_PREFIX}${label}:${crypto.randomUUID().slice(0, 8)}:`;
}

/** Glob-escapes a literal prefix for SCAN MATCH. */
const matchPrefix = (prefix: string) => `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`;

async function withRedis<T>(use: (redis: Redis) => Promise<T>, url = TEST_REDIS_URL): Promise<T> {
  if (!url) throw new Error('TEST_REDIS_URL is not set');
  const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

/** Every key under `prefix` (SCAN, never KEYS: the Redis may be shared and large). */
export function redisKeys(prefix: string, url = TEST_REDIS_URL): Promise<string[]> {
  return withRedis(async (redis) => {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', matchPrefix(prefix), 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    return [...new Set(keys)];
  }, url);
}

/** Deletes every key under `prefix`; resolves to how many there were. A no-op without TEST_REDIS_URL. */
export async function deleteRedisKeys(prefix: string, url = TEST_REDIS_URL): Promise<number> {
  if (!url) return 0;
  if (!prefix.startsWith('test:')) throw new Error(`deleteRedisKeys only deletes test keys, not ${prefix}*`);
  const keys = await redisKeys(prefix, url);
  await withRedis(async (redis) => {
    for (let i = 0; i < keys.length; i += 500) await redis.unlink(...keys.slice(i, i + 500));
  }, url);
  return keys.length;
}

/** afterAll of a Redis-using file: delete its keys, then fail if any came back (a writer still running). */
export async function cleanUpRedisKeys(prefix: string): Promise<void> {
  if (!hasRedis) return;
  await deleteRedisKeys(prefix);
  const left = await redisKeys(prefix);
  if (left.length) throw new Error(`${left.length} Redis keys under ${prefix} were written after clean-up, e.g. ${left[0]}`);
}
