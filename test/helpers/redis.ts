/**
 * Redis-backed tests run when TEST_REDIS_URL is set (CI's second run, against this machine's Redis) and are
 * skipped on a machine with nothing but Bun.
 */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL || undefined;
export const hasRedis = Boolean(TEST_REDIS_URL);
