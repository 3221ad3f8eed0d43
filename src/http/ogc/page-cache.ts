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

export function createPageCache(o: PageCacheOptions = {}) {
  if (o.maxBytes === 0) return { get: (_c: number, _s: readonly string[], load: () => Promise<FeaturePage>) => load() };
  const cache = new LRUCache<string, FeaturePage>({
    maxSize: o.maxBytes ?? 64 * 2 ** 20,
    sizeCalculation: (page, key) => page.featuresJson.length + key.length + 200,
  });
  const keyOf = (counter: number, selectors: readonly string[]) => `${counter}\u0001${selectors.join('\u0001')}`;
  return {
    /** The cached page, or the one `load` reads (and keeps, when it fits). */
    async get(counter: number, selectors: readonly string[], load: () => Promise<FeaturePage>): Promise<FeaturePage> {
      const key = keyOf(counter, selectors);
      const hit = cache.get(key);
      if (hit) return hit;
      const page = await load();
      cache.set(key, page);
      return page;
    },
  };
}
