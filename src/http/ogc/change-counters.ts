/**
 * Each jurisdiction's change counter, kept in memory so that a conditional request (If-None-Match) is answered
 * 304 without a database round trip. The triggers NOTIFY every new value at commit (migration
 * *_ogc_change_counter), from this instance and any other on the same database; counters only grow, so the
 * cache keeps the largest value seen. A cached value is trusted for `maxAgeMs` at most, and not at all while
 * the subscription is down or after it reconnected (notifications sent meanwhile are lost).
 */
import type { Logger } from '../../logger.ts';

export interface ChangeCountersOptions {
  /** Reads the counter from the database (the app passes it through the circuit breaker). */
  read: (jurisdiction: string) => Promise<number>;
  /** Database LISTEN (src/db/client.ts `Database.listen`); without it every call reads. */
  listen?: (channel: string, onMessage: (payload: string) => void, onReconnect?: () => void) => Promise<() => Promise<void>>;
  log: Logger;
  /** Longest a cached counter answers without a read, a bound on a missed notification. @default 30000 */
  maxAgeMs?: number;
}

export function createChangeCounters(o: ChangeCountersOptions) {
  const maxAgeMs = o.maxAgeMs ?? 30_000;
  const cache = new Map<string, { counter: number; at: number }>();
  let live = false;
  let unlisten: (() => Promise<void>) | null = null;

  const raise = (jurisdiction: string, counter: number) => {
    const had = cache.get(jurisdiction);
    if (!had || counter >= had.counter) cache.set(jurisdiction, { counter, at: performance.now() });
  };

  const started = o.listen
    ? o
        .listen(
          'jurisdiction_changes',
          (payload) => {
            const [jurisdiction, n] = payload.split(' ');
            if (jurisdiction && n && /^\d+$/.test(n)) raise(jurisdiction, Number(n));
          },
          () => cache.clear(),
        )
        .then((stop) => {
          unlisten = stop;
          live = true;
        })
        .catch((err) =>
          o.log.warn({ err: (err as Error).message }, 'change counters: LISTEN failed; every conditional request reads the counter'),
        )
    : Promise.resolve();

  return {
    /** The current counter of `jurisdiction`: from memory while the subscription vouches for it. */
    async get(jurisdiction: string): Promise<number> {
      const hit = live ? cache.get(jurisdiction) : undefined;
      if (hit && performance.now() - hit.at < maxAgeMs) return hit.counter;
      const counter = await o.read(jurisdiction);
      if (live) raise(jurisdiction, counter);
      return counter;
    },
    /** Resolves once the subscription is set up (tests wait for it). */
    ready: () => started,
    async close() {
      live = false;
      await unlisten?.();
    },
  };
}
