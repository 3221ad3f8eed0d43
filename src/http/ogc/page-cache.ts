/**
 * Pages of features already answered, kept until their jurisdiction changes: a page is a pure function of the
 * jurisdiction's change counter and what selects it (collection, who sees what, the query, the base URL), so
 * that is the key, written out in full (never a hash: a collision would hand one principal another's page).
 * GIS clients ask for the same pages again and again (panning, periodic syncs); a change bumps the counter and
 * old keys simply age out of the LRU.
 */
import { LRUCache } from 'lru-cache';
import type { FeaturePage } from '../../domain/feature-page.ts';

export interface PageCacheOptions {
  /** Bytes of feature text kept in all; 0 keeps none. @default 64 MiB */
  maxBytes?: number;
}

export interface PageCache {
  /**
   * The cached page, or the one `load` reads (and keeps, when it fits). `walk` selects the whole result a page
   * belongs to (the query without cursor and limit): its `numberMatched` is counted once per walk, not per page,
   * and `load` is told whether to count it.
   */
  get(
    counter: number,
    page: readonly string[],
    walk: readonly string[],
    load: (countMatched: boolean) => Promise<FeaturePage>,
  ): Promise<FeaturePage>;
}

const keyOf = (counter: number, selectors: readonly string[]) => `${counter}\u0001${selectors.join('\u0001')}`;

export function createPageCache(o: PageCacheOptions = {}): PageCache {
  if (o.maxBytes === 0) return { get: (_c, _p, _w, load) => load(true) };
  const pages = new LRUCache<string, FeaturePage>({
    maxSize: o.maxBytes ?? 64 * 2 ** 20,
    sizeCalculation: (page, key) => page.featuresJson.length + key.length + 200,
  });
  const matched = new LRUCache<string, number>({ max: 10_000 });
  return {
    async get(counter, pageSelectors, walkSelectors, load) {
      const key = keyOf(counter, pageSelectors);
      const hit = pages.get(key);
      if (hit) return hit;
      const walk = keyOf(counter, walkSelectors);
      const known = matched.get(walk);
      const page = await load(known === undefined);
      const complete = known === undefined ? page : { ...page, matched: known };
      if (complete.matched !== null) matched.set(walk, complete.matched);
      pages.set(key, complete);
      return complete;
    },
  };
}
