/**
 * Each jurisdiction's change counter, kept in memory so that a conditional request (If-None-Match) is answered
 * 304 without a database round trip. The triggers announce the jurisdiction on the change feed at every commit
 * that changed it (migrations *_ogc_change_counter, *_change_feed_triggers), from this instance and any other on
 * the same database: the cached value is then dropped and read again on next use. A read that a notification
 * overtook is not kept (it may predate the commit). A cached value is trusted for `maxAgeMs` at most, and not at
 * all while the subscription is down or after the feed could not read for a while.
 */
import type { Logger } from '../logger.ts';

export interface ChangeCountersOptions {
  /** Reads the counter from the database (the app passes it through the circuit breaker). */
  read: (jurisdiction: string) => Promise<number>;
  /** The change feed (src/db/client.ts `Database.listen`); without it every call reads. */
  listen?: (channel: string, onMessage: (payload: string) => void, onReconnect?: () => void) => Promise<() => Promise<void>>;
  log: Logger;
  /** Longest a cached counter answers without a read, a bound on a missed notification. @default 30000 */
  maxAgeMs?: number;
}

export function createChangeCounters(o: ChangeCountersOptions) {
  const maxAgeMs = o.maxAgeMs ?? 30_000;
  const cache = new Map<string, { counter: number; at: number }>();
  /** Notifications seen per jurisdiction (and in all, for reconnects): a read keeps its value only if none came meanwhile. */
  const generations = new Map<string, number>();
  let epoch = 0;
  let live = false;
  let unlisten: (() => Promise<void>) | null = null;

  let heardInAll = 0;
  const changed = (jurisdiction: string) => {
    heardInAll++;
    generations.set(jurisdiction, (generations.get(jurisdiction) ?? 0) + 1);
    cache.delete(jurisdiction);
  };

  const started = o.listen
    ? o
        .listen(
          'jurisdiction_changes',
          (payload) => changed(payload),
          () => {
            epoch++;
            heardInAll++;
            cache.clear();
          },
        )
        .then((stop) => {
          unlisten = stop;
          live = true;
        })
        .catch((err) =>
          o.log.warn({ err: (err as Error).message }, 'change counters: change feed failed; every conditional request reads the counter'),
        )
    : Promise.resolve();

  return {
    /** The current counter of `jurisdiction`: from memory while the subscription vouches for it. */
    async get(jurisdiction: string): Promise<number> {
      const hit = live ? cache.get(jurisdiction) : undefined;
      if (hit && performance.now() - hit.at < maxAgeMs) return hit.counter;
      const before = { generation: generations.get(jurisdiction) ?? 0, epoch };
      const counter = await o.read(jurisdiction);
      if (live && before.generation === (generations.get(jurisdiction) ?? 0) && before.epoch === epoch) {
        cache.set(jurisdiction, { counter, at: performance.now() });
      }
      return counter;
    },
    /**
     * What this instance has heard of `jurisdiction`'s changes, as a token that differs after any later change
     * (announced by the feed, or {@link forget}); undefined while the feed cannot vouch. A value read from the
     * database while the token stayed the same is still current as long as the token does.
     */
    mark: (jurisdiction: string): string | undefined => (live ? `${epoch}:${generations.get(jurisdiction) ?? 0}` : undefined),
    /** Changes heard so far in all (reconnects included): a read overtaken by none can be vouched for by its mark. */
    heard: () => heardInAll,
    /** Drops the cached counter of `jurisdiction` (this instance just committed a change to it). */
    forget: changed,
    /** Resolves once the subscription is set up (tests wait for it). */
    ready: () => started,
    async close() {
      live = false;
      await unlisten?.();
    },
  };
}
