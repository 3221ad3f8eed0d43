/**
 * Permit status cache: the answer for `permitStatus(number)` and `GET /status/{number}` while the database is
 * unavailable (degraded mode, issue 6).
 *
 * Every status read from or written to the database refreshes an entry; at start-up the cache is warmed from
 * the database. Entries are keyed by permit number alone because the public route has no jurisdiction; the
 * jurisdiction is kept in the value and `get(jurisdiction, number)` answers nothing for another jurisdiction's
 * permit (no cross-tenant oracle).
 *
 * An older observation never replaces a newer one: `set` is ignored when the cached entry has a later
 * `updatedAt` (a slow read finishing after a transition must not bring the old status back).
 *
 * Two layers: an in-memory LRU (always, bounded) and Redis when a URL is given (shared by all instances).
 * Writes go to both; reads prefer Redis and fall back to memory when Redis errors or is unreachable, so a
 * Redis outage never turns into a status outage.
 */
import { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';

/** A cached permit status. All times are ISO 8601 UTC (`…Z`). */
export interface PermitStatusEntry {
  number: string;
  jurisdiction: string;
  status: string;
  /** When the permit's status last changed (the database's `updated_at`). */
  updatedAt: string;
  /** When we last saw this status from the database. */
  asOf: string;
}

/** What callers hand to `set`/`warm`; `asOf` defaults to now. */
export interface PermitStatusInput {
  number: string;
  jurisdiction: string;
  status: string;
  updatedAt: string | Date;
  asOf?: string | Date;
}

export interface StatusCache {
  readonly kind: 'memory' | 'redis';
  /** Looks a permit up by number (public route). */
  get(number: string): Promise<PermitStatusEntry | undefined>;
  /** Looks a permit up by number; undefined when it belongs to another jurisdiction (when one is given). */
  get(jurisdiction: string | undefined, number: string): Promise<PermitStatusEntry | undefined>;
  /** Records a status seen from the database; ignored if the cache already holds a newer `updatedAt`. */
  set(entry: PermitStatusInput): Promise<void>;
  /**
   * A read saw this status: `set`, unless this process cached the same status, `updatedAt` and jurisdiction less
   * than {@link REFRESH_MS} ago (then `asOf` stays up to that much older; every permitStatus read used to rewrite
   * its entry, to Redis too when configured).
   */
  refresh(entry: PermitStatusInput, nowMs?: number): Promise<void>;
  /** Bulk `set` (start-up warm from the database). Returns how many entries were offered. */
  warm(entries: Iterable<PermitStatusInput> | AsyncIterable<PermitStatusInput>): Promise<number>;
  close(): Promise<void>;
}

export interface StatusCacheOptions {
  /** `redis://…`; unset keeps the cache in this process only. */
  redisUrl?: string;
  /** Redis key prefix (tests use a unique one). @default 'permit-gateway:' */
  prefix?: string;
  /** Entries kept in memory (LRU). @default 100000 */
  max?: number;
  /** Redis entry lifetime in seconds. @default 604800 (7 days) */
  ttlSeconds?: number;
  /** Longest wait for one Redis command before falling back to memory. @default 250 */
  redisTimeoutMs?: number;
  /** Told about Redis errors (each one also means the memory layer answered). @default ignore */
  onError?: (err: unknown) => void;
  /** The name the Redis connection gives itself (CLIENT SETNAME). */
  redisConnectionName?: string;
}

function iso(value: string | Date, field: string, number: string): string {
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) {
    throw new RangeError(`status cache: ${field} of permit ${number} is not a valid date: ${String(value)}`);
  }
  return d.toISOString();
}

/** Validates and normalises an input to a stored entry (all times as `toISOString()`, so they compare as strings). */
export function toEntry(input: PermitStatusInput, now = new Date()): PermitStatusEntry {
  if (!input.number) throw new TypeError('status cache: entry without a permit number');
  if (!input.jurisdiction) throw new TypeError(`status cache: permit ${input.number} has no jurisdiction`);
  if (!input.status) throw new TypeError(`status cache: permit ${input.number} has no status`);
  return {
    number: input.number,
    jurisdiction: input.jurisdiction,
    status: input.status,
    updatedAt: iso(input.updatedAt, 'updatedAt', input.number),
    asOf: iso(input.asOf ?? now, 'asOf', input.number),
  };
}

/** How long a read's `asOf` may lag before a read of the same status refreshes it. */
export const REFRESH_MS = 1_000;

/** True when `cached` already says what a read saw, and was seen less than {@link REFRESH_MS} before `nowMs`. */
function alreadyFresh(cached: PermitStatusEntry | undefined, input: PermitStatusInput, nowMs: number): boolean {
  if (!cached || cached.status !== input.status || cached.jurisdiction !== input.jurisdiction) return false;
  const updatedAt = input.updatedAt instanceof Date ? input.updatedAt.getTime() : Date.parse(input.updatedAt);
  const asOf = Date.parse(cached.asOf);
  return Date.parse(cached.updatedAt) === updatedAt && nowMs - asOf < REFRESH_MS && nowMs >= asOf;
}

function parseGetArgs(a: string | undefined, b: string | undefined): { jurisdiction?: string; number: string } {
  if (b === undefined) {
    if (a === undefined) throw new TypeError('status cache: get() needs a permit number');
    return { number: a };
  }
  return { jurisdiction: a, number: b };
}

const visible = (e: PermitStatusEntry | undefined, jurisdiction: string | undefined) =>
  e && (jurisdiction === undefined || e.jurisdiction === jurisdiction) ? e : undefined;

async function* chunks<T>(src: Iterable<T> | AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let batch: T[] = [];
  for await (const item of src) {
    batch.push(item);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

/** In-process cache bounded by `max` entries (least recently used are dropped first). */
export class MemoryStatusCache implements StatusCache {
  readonly kind = 'memory' as const;
  private readonly lru: LRUCache<string, PermitStatusEntry>;

  constructor(opts: { max?: number } = {}) {
    const max = opts.max ?? 100_000;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`status cache: max must be a positive integer, got ${String(opts.max)}`);
    }
    this.lru = new LRUCache({ max });
  }

  /** Entries currently held. */
  get size(): number {
    return this.lru.size;
  }

  get(number: string): Promise<PermitStatusEntry | undefined>;
  get(jurisdiction: string | undefined, number: string): Promise<PermitStatusEntry | undefined>;
  async get(a: string | undefined, b?: string): Promise<PermitStatusEntry | undefined> {
    const { jurisdiction, number } = parseGetArgs(a, b);
    return this.getSync(number, jurisdiction);
  }

  /** The entry as stored, without counting as a use (whatever its jurisdiction). */
  peek(number: string): PermitStatusEntry | undefined {
    return this.lru.peek(number);
  }

  getSync(number: string, jurisdiction?: string): PermitStatusEntry | undefined {
    return visible(this.lru.get(number), jurisdiction);
  }

  async set(input: PermitStatusInput): Promise<void> {
    this.put(toEntry(input));
  }

  async refresh(input: PermitStatusInput, nowMs = Date.now()): Promise<void> {
    if (alreadyFresh(this.lru.peek(input.number), input, nowMs)) return;
    this.put(toEntry(input, new Date(nowMs)));
  }

  /** Stores a normalised entry unless a newer one is cached. */
  put(entry: PermitStatusEntry): void {
    const current = this.lru.peek(entry.number);
    if (current && current.updatedAt > entry.updatedAt) return;
    this.lru.set(entry.number, entry);
  }

  async warm(entries: Iterable<PermitStatusInput> | AsyncIterable<PermitStatusInput>): Promise<number> {
    let n = 0;
    const now = new Date();
    for await (const e of entries) {
      this.put(toEntry(e, now));
      n++;
    }
    return n;
  }

  async close(): Promise<void> {
    this.lru.clear();
  }
}

/** Atomic "set unless the stored entry is newer", so concurrent instances cannot regress a status. */
const SET_IF_NEWER = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, obj = pcall(cjson.decode, cur)
  if ok and type(obj) == 'table' and type(obj.updatedAt) == 'string' and obj.updatedAt > ARGV[2] then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 1
`;

type ScriptedRedis = Redis & {
  setStatusIfNewer(key: string, json: string, updatedAt: string, ttl: number): Promise<number>;
};

/** Redis-backed cache shared by all instances, with the memory cache as write-through copy and fallback. */
export class RedisStatusCache implements StatusCache {
  readonly kind = 'redis' as const;
  readonly memory: MemoryStatusCache;
  private readonly redis: ScriptedRedis;
  private readonly prefix: string;
  private readonly ttl: number;
  private readonly onError: (err: unknown) => void;
  private readonly connected: Promise<boolean>;

  constructor(opts: StatusCacheOptions & { redisUrl: string }) {
    this.memory = new MemoryStatusCache({ max: opts.max });
    this.prefix = opts.prefix ?? 'permit-gateway:';
    this.ttl = opts.ttlSeconds ?? 7 * 24 * 3600;
    if (!Number.isInteger(this.ttl) || this.ttl < 1) {
      throw new RangeError(`status cache: ttlSeconds must be a positive integer, got ${String(opts.ttlSeconds)}`);
    }
    this.onError = opts.onError ?? (() => {});
    const redis = new Redis(opts.redisUrl, {
      // Fail at once while disconnected instead of queueing: the memory layer answers meanwhile.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: opts.redisTimeoutMs ?? 250,
      connectTimeout: 1000,
      // Keep reconnecting in the background, at most every 2 s.
      retryStrategy: (times) => Math.min(times * 200, 2000),
      ...(opts.redisConnectionName ? { connectionName: opts.redisConnectionName } : {}),
    });
    redis.defineCommand('setStatusIfNewer', { numberOfKeys: 1, lua: SET_IF_NEWER });
    // Without a listener ioredis prints every connection error; we report them through onError instead.
    redis.on('error', (err) => this.onError(err));
    this.redis = redis as ScriptedRedis;
    this.connected = new Promise<boolean>((resolve) => {
      redis.once('ready', () => resolve(true));
      // The first failed attempt answers "not now"; reconnection goes on in the background.
      redis.once('error', () => resolve(false));
      redis.once('end', () => resolve(false));
      setTimeout(() => resolve(false), 2000).unref?.();
    });
  }

  /**
   * Resolves true once Redis is connected, false if the first attempt fails or takes over ~2 s
   * (the cache works either way, and keeps reconnecting).
   */
  ready(): Promise<boolean> {
    return this.connected;
  }

  private key(number: string) {
    return `${this.prefix}status:${number}`;
  }

  get(number: string): Promise<PermitStatusEntry | undefined>;
  get(jurisdiction: string | undefined, number: string): Promise<PermitStatusEntry | undefined>;
  async get(a: string | undefined, b?: string): Promise<PermitStatusEntry | undefined> {
    const { jurisdiction, number } = parseGetArgs(a, b);
    try {
      const raw = await this.redis.get(this.key(number));
      if (raw !== null) {
        const entry = JSON.parse(raw) as PermitStatusEntry;
        this.memory.put(entry);
        return visible(entry, jurisdiction);
      }
    } catch (err) {
      this.onError(err);
    }
    return this.memory.getSync(number, jurisdiction);
  }

  async refresh(input: PermitStatusInput, nowMs = Date.now()): Promise<void> {
    // the memory layer holds what this instance last wrote: written less than a second ago, Redis has it (or newer)
    if (alreadyFresh(this.memory.peek(input.number), input, nowMs)) return;
    await this.set({ ...input, asOf: new Date(nowMs) });
  }

  async set(input: PermitStatusInput): Promise<void> {
    const entry = toEntry(input);
    this.memory.put(entry);
    try {
      await this.redis.setStatusIfNewer(this.key(entry.number), JSON.stringify(entry), entry.updatedAt, this.ttl);
    } catch (err) {
      this.onError(err);
    }
  }

  async warm(entries: Iterable<PermitStatusInput> | AsyncIterable<PermitStatusInput>): Promise<number> {
    let n = 0;
    const now = new Date();
    let redisUp = true;
    for await (const batch of chunks(entries, 500)) {
      const normalised = batch.map((e) => toEntry(e, now));
      for (const e of normalised) this.memory.put(e);
      n += normalised.length;
      if (!redisUp) continue;
      try {
        const pipeline = this.redis.pipeline() as unknown as {
          setStatusIfNewer(key: string, json: string, updatedAt: string, ttl: number): void;
          exec(): Promise<Array<[Error | null, unknown]> | null>;
        };
        for (const e of normalised) {
          pipeline.setStatusIfNewer(this.key(e.number), JSON.stringify(e), e.updatedAt, this.ttl);
        }
        const results = await pipeline.exec();
        const failed = results?.find(([err]) => err);
        if (failed) throw failed[0];
      } catch (err) {
        // Keep warming memory; don't wait on a dead Redis for every batch.
        this.onError(err);
        redisUp = false;
      }
    }
    return n;
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
    await this.memory.close();
  }
}

/** Memory cache, or Redis + memory fallback when `redisUrl` is given. */
export function createStatusCache(opts: StatusCacheOptions = {}): StatusCache {
  return opts.redisUrl ? new RedisStatusCache({ ...opts, redisUrl: opts.redisUrl }) : new MemoryStatusCache(opts);
}
