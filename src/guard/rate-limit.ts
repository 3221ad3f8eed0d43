/**
 * Token buckets: `burst` tokens of capacity, refilled at `ratePerSec`; a request takes `cost` tokens or is refused
 * with the seconds until enough will be there. Two stores with the same semantics:
 * - `MemoryTokenBucketStore` (default): one process; an LRU bounds the number of keys (an evicted key starts full);
 * - `RedisTokenBucketStore` (`REDIS_URL`): one atomic Lua script per take, clocked by Redis `TIME`, so several
 *   app processes share one budget per key and their clocks do not matter.
 */
import { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';

export interface RateLimitPolicy {
  /** Tokens added per second. */
  ratePerSec: number;
  /** Bucket capacity: how many requests may come at once after a quiet period. */
  burst: number;
}

export interface TakeResult {
  allowed: boolean;
  /** Tokens left after this take (fractional). */
  remaining: number;
  /** When refused: whole seconds until `cost` tokens are available (≥ 1). 0 when allowed. */
  retryAfterSeconds: number;
}

export interface TokenBucketStore {
  /**
   * Take `cost` tokens from `key`'s bucket (a cost above `burst` is charged as `burst`). The memory store answers at
   * once, so a request charged in memory does not wait for a promise in each of its two hooks.
   */
  take(key: string, cost: number, policy: RateLimitPolicy): Promise<TakeResult> | TakeResult;
  close?(): Promise<void>;
}

const retryAfter = (missing: number, rate: number) => Math.max(1, Math.ceil(missing / rate));

export interface MemoryStoreOptions {
  /** Most buckets kept; the least recently used beyond this are forgotten (start full again). @default 100_000 */
  maxKeys?: number;
  /** Clock in milliseconds, for tests. @default performance.now */
  now?: () => number;
}

export class MemoryTokenBucketStore implements TokenBucketStore {
  readonly #buckets: LRUCache<string, { tokens: number; at: number }>;
  readonly #now: () => number;

  constructor(options: MemoryStoreOptions = {}) {
    this.#buckets = new LRUCache({ max: options.maxKeys ?? 100_000 });
    this.#now = options.now ?? (() => performance.now());
  }

  take(key: string, cost: number, { ratePerSec, burst }: RateLimitPolicy): TakeResult {
    const now = this.#now();
    const charge = Math.min(cost, burst);
    const b = this.#buckets.get(key) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * ratePerSec);
    b.at = now;
    this.#buckets.set(key, b);
    if (b.tokens >= charge) {
      b.tokens -= charge;
      return { allowed: true, remaining: b.tokens, retryAfterSeconds: 0 };
    }
    return { allowed: false, remaining: b.tokens, retryAfterSeconds: retryAfter(charge - b.tokens, ratePerSec) };
  }
}

/** KEYS[1] bucket; ARGV rate, burst, cost. Returns {allowed, tokens, missing} (numbers as strings: Lua → Redis truncates). */
const TAKE_SCRIPT = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = math.min(tonumber(ARGV[3]), burst)
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local v = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(v[1]) or burst
local at = tonumber(v[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local allowed = 0
local missing = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  missing = cost - tokens
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return { allowed, tostring(tokens), tostring(missing) }
`;

type RedisWithTake = Redis & {
  tokenBucketTake(key: string, rate: number, burst: number, cost: number): Promise<[number, string, string]>;
};

export interface RedisStoreOptions {
  /** `redis://…` URL (`REDIS_URL`); ignored when `client` is given. */
  url?: string;
  /** An existing ioredis client (not closed by `close()`). */
  client?: Redis;
  /** Prefix of every bucket key, e.g. per deployment or per test. @default 'pg:rl:' */
  keyPrefix?: string;
  /** The name the connection gives itself (CLIENT SETNAME); ignored when `client` is given. */
  connectionName?: string;
}

export class RedisTokenBucketStore implements TokenBucketStore {
  readonly #redis: RedisWithTake;
  readonly #prefix: string;
  readonly #owned: boolean;

  constructor(options: RedisStoreOptions) {
    if (!options.client && !options.url) throw new Error('RedisTokenBucketStore needs a url or a client');
    this.#owned = !options.client;
    const redis =
      options.client ??
      new Redis(options.url!, {
        maxRetriesPerRequest: 1,
        enableOfflineQueue: true,
        ...(options.connectionName ? { connectionName: options.connectionName } : {}),
      });
    if (!('tokenBucketTake' in redis)) redis.defineCommand('tokenBucketTake', { numberOfKeys: 1, lua: TAKE_SCRIPT });
    this.#redis = redis as RedisWithTake;
    this.#prefix = options.keyPrefix ?? 'pg:rl:';
  }

  async take(key: string, cost: number, { ratePerSec, burst }: RateLimitPolicy): Promise<TakeResult> {
    const [allowed, tokens, missing] = await this.#redis.tokenBucketTake(this.#prefix + key, ratePerSec, burst, cost);
    return allowed === 1
      ? { allowed: true, remaining: Number(tokens), retryAfterSeconds: 0 }
      : { allowed: false, remaining: Number(tokens), retryAfterSeconds: retryAfter(Number(missing), ratePerSec) };
  }

  async close() {
    if (!this.#owned) return;
    try {
      await this.#redis.quit();
    } catch {
      // already closed or never connected: nothing to say goodbye to, but no reconnection either
      this.#redis.disconnect();
    }
  }
}

/** Redis when a URL is given, memory otherwise. */
export function createTokenBucketStore(options: { redisUrl?: string; keyPrefix?: string; connectionName?: string } = {}): TokenBucketStore {
  return options.redisUrl
    ? new RedisTokenBucketStore({ url: options.redisUrl, keyPrefix: options.keyPrefix, connectionName: options.connectionName })
    : new MemoryTokenBucketStore();
}
