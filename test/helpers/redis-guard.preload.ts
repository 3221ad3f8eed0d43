/**
 * Run-level guard (preloaded by bunfig.toml): a preload's afterAll runs once, after the last test file, so it sees
 * every key this run left in Redis. A run that leaves keys fails, naming where they came from; the keys are deleted
 * so a failed run does not pile them up either (the PostgreSQL run used to leave ~12,000 status-cache keys for 7 days).
 */
import { afterAll } from 'bun:test';
import { deleteRedisKeys, hasRedis, redisKeys, RUN_PREFIX } from './redis.ts';

afterAll(async () => {
  if (!hasRedis) return;
  const left = await redisKeys(RUN_PREFIX);
  if (!left.length) return;
  const bySource = new Map<string, number>();
  for (const k of left) {
    const source = k.slice(RUN_PREFIX.length).split(':')[0] ?? '?';
    bySource.set(source, (bySource.get(source) ?? 0) + 1);
  }
  await deleteRedisKeys(RUN_PREFIX);
  throw new Error(
    `this test run left ${left.length} Redis keys under ${RUN_PREFIX} (${[...bySource].map(([s, n]) => `${s}: ${n}`).join(', ')}); ` +
      'each Redis-using test file must delete its keys in afterAll (test/helpers/redis.ts cleanUpRedisKeys)',
  );
});
