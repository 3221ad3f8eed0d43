/**
 * Lock-out after repeated failed client authentications, per (client id, address) and per address:
 * more than `maxFailures` in `windowMs` answers 429 until the window ends (argon2 is not even run then).
 * Never per client id alone: client ids are not secret, and a count that any address can raise would let a
 * stranger lock the real client out; the owner at its own address keeps getting tokens while the attacking
 * address is slowed down.
 */
import { LRUCache } from 'lru-cache';

export interface LoginThrottleOptions {
  /** @default 20 */
  maxFailures?: number;
  /** @default 60000 */
  windowMs?: number;
}

/**
 * The address a failure is counted against: IPv4 as is (IPv4-mapped IPv6 unwrapped), IPv6 by its /64, since
 * one host or subscriber usually holds a whole /64 and could otherwise rotate through fresh addresses.
 */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!ip.includes(':')) return ip;
  const [head = '', tail = ''] = ip.split('::', 2);
  const left = head ? head.split(':') : [];
  const right = ip.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = ip.includes('::') ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => (parseInt(g, 16) || 0).toString(16))
    .join(':')}::/64`;
}

/** The counters one token request is judged by (and, when it fails, adds to). */
export const throttleKeys = (clientId: string, ip: string) => {
  const addr = addressKey(ip);
  return [`client-addr:${clientId.slice(0, 64)}@${addr}`, `addr:${addr}`];
};

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
    /** A success forgets that pair's earlier typos; the address's own count stays, so one valid secret cannot reset a spray. */
    succeed(pairKey: string) {
      failures.delete(pairKey);
    },
  };
}
export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
