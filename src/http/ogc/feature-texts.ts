/**
 * Feature JSON texts already built by PostgreSQL, kept until their jurisdiction changes, so that a page asked for
 * the first time builds only the features no earlier page held. A feature's text is the same whoever asks (no
 * personal data, nothing per principal: permit-features.ts, parcel-features.ts); which features a principal gets
 * is decided by the page's key query every time, so visibility never depends on this cache. Entries are keyed by
 * the change counter, the collection and the jurisdiction: a change bumps the counter and old entries age out of
 * the LRU, as in page-cache.ts. As there, a text built just after a commit the counter read missed is kept under
 * the older counter: a page may then be newer than its ETag says, never older (the client downloads it once more).
 */
import { LRUCache } from 'lru-cache';
import type { FeatureTexts } from '../../domain/feature-page.ts';

export interface FeatureTextCacheOptions {
  /** Bytes of feature text kept in all; 0 keeps none. @default 64 MiB */
  maxBytes?: number;
}

export interface FeatureTextCache {
  /** The texts of one collection and jurisdiction at one counter value; null when the cache is off. */
  scope(counter: number, collection: string, jurisdiction: string): FeatureTexts | null;
}

export function createFeatureTextCache(o: FeatureTextCacheOptions = {}): FeatureTextCache {
  if (o.maxBytes === 0) return { scope: () => null };
  const texts = new LRUCache<string, string>({
    maxSize: o.maxBytes ?? 64 * 2 ** 20,
    sizeCalculation: (text, key) => text.length + key.length + 64,
  });
  return {
    scope(counter, collection, jurisdiction) {
      const prefix = `${counter}\u0001${collection}\u0001${jurisdiction}\u0001`;
      return {
        get: (key) => texts.get(prefix + key),
        set: (key, text) => {
          texts.set(prefix + key, text);
        },
      };
    },
  };
}
