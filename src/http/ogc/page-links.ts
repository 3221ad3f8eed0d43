/**
 * The query strings of items pages: the canonical form that selects a page (ETag, page cache) and the links to
 * other pages of the same walk (next, prev, the other format).
 */
import { encodeFeatureCursor } from '../../domain/feature-page.ts';
import type { ItemsParams } from './items-params.ts';

/** The query as a stable string (sorted), for the ETag: the same request in another order is the same answer. */
export function canonicalQuery(search: URLSearchParams, leaveOut: readonly string[] = []): string {
  return [...search.entries()]
    .filter(([k]) => !leaveOut.includes(k))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
}

/** A link to a page of the same query: every filter kept, the cursor and format replaced. */
export function pageUrl(base: string, q: ItemsParams, cursor: ItemsParams['cursor'], format: 'geojson' | 'json'): string {
  const s = new URLSearchParams();
  s.set('limit', String(q.limit));
  if (q.bbox) s.set('bbox', [q.bbox.minLon, q.bbox.minLat, q.bbox.maxLon, q.bbox.maxLat].join(','));
  if (q.datetime) s.set('datetime', `${q.datetime.start?.toISOString() ?? '..'}/${q.datetime.end?.toISOString() ?? '..'}`);
  for (const [name, values] of Object.entries(q.filters)) s.set(name, values.join(','));
  if (cursor) s.set('cursor', encodeFeatureCursor(cursor));
  if (format === 'json') s.set('f', 'json');
  return `${base}?${s.toString()}`;
}
