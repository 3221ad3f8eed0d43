/**
 * Lock-out after repeated failed client authentications, per client id and per address:
 * more than `maxFailures` in `windowMs` answers 429 until the window ends (argon2 is not even run then).
 */
import { LRUCache } from 'lru-cache';

export interface LoginThrottleOptions {
  /** @default 20 */
  maxFailures?: number;
  /** @default 60000 */
  windowMs?: number;
}

export function createLoginThrottle({ maxFailures = 20, windowMs = 60_000 }: LoginThrottleOptions = {}) {
  const failures = new LRUCache<string, { count: number; until: number }>({ max: 50_000 });
  const live = (key: string, now: number) => {
    const f = failures.get(key);
    return f && f.until > now ? f : undefined;
  };
  return {
    /** Seconds to wait when any of the keys is locked out, else 0. */
    retryAfter(keys: string[], now = Date.now()): number {
      let wait = 0;
      for (const k of keys) {
        const f = live(k, now);
        if (f && f.count >= maxFailures) wait = Math.max(wait, Math.ceil((f.until - now) / 1000));
      }
      return wait;
    },
    fail(keys: string[], now = Date.now()) {
      for (const k of keys) {
        const f = live(k, now) ?? { count: 0, until: now + windowMs };
        f.count += 1;
        failures.set(k, f);
      }
    },
  };
}
export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
