/**
 * GraphQL's GeoJSON: permits (`permitsGeoJSON`, Points at the parcel centroid) and parcels (`parcelsGeoJSON`,
 * polygons) as RFC 7946 FeatureCollections, a page at a time. The features are the OGC collections' own
 * (permit-features.ts, parcel-features.ts: built by PostgreSQL, BLDS names, no personal data); a page that does
 * not hold every match carries `next`, the `after` of the following page.
 */
import { badInput } from '../errors.ts';
import { checkBBox, type BBox } from './bbox.ts';
import { decodeFeatureCursor, encodeFeatureCursor, type FeaturePage } from './feature-page.ts';
import { decodeCursor, encodeCursor } from './pagination.ts';
import type { Executor } from '../db/client.ts';
import { parcelFeaturePage } from './parcel-features.ts';
import { permitFeaturePage } from './permit-features.ts';
import type { PermitFilter } from './permit-reads.ts';
import type { Principal } from './principal.ts';

/** Features of a page when `first` is not given: what the API always answered before it paged. */
export const GEOJSON_DEFAULT_FEATURES = 5000;
export const GEOJSON_MAX_FEATURES = 10_000;

function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return GEOJSON_DEFAULT_FEATURES;
  if (!Number.isInteger(first) || first < 1 || first > GEOJSON_MAX_FEATURES)
    throw badInput('first', `must be between 1 and ${GEOJSON_MAX_FEATURES}`);
  return first;
}

function collection(b: BBox, page: FeaturePage, next: string | null) {
  return {
    type: 'FeatureCollection' as const,
    bbox: [b.minLon, b.minLat, b.maxLon, b.maxLat],
    features: JSON.parse(page.featuresJson) as unknown[],
    // foreign members (RFC 7946 §6.1): `next` continues the walk; `truncated` (kept for older clients) says the
    // same as `next !== null`, that the box holds more features than this page
    next,
    truncated: next !== null,
  };
}

/** Permits `p` may see whose parcel centroid lies in the box, in `Permit.id` order. */
export async function permitsGeoJSON(
  db: Executor,
  p: Principal,
  bbox: BBox,
  filter?: PermitFilter | null,
  first?: number | null,
  after?: string | null,
) {
  const b = checkBBox(bbox);
  const limit = pageSize(first);
  const afterId = decodeCursor(after);
  const page = await permitFeaturePage(
    db,
    p,
    { filter, bbox: b, limit, cursor: afterId ? { after: afterId } : null, countMatched: false },
    'uuid',
  );
  return collection(b, page, page.hasNext && page.lastKey ? encodeCursor(page.lastKey) : null);
}

/** Parcels of `p`'s jurisdiction whose polygon's envelope meets the box, with their polygons, in APN order. */
export async function parcelsGeoJSON(db: Executor, p: Principal, bbox: BBox, first?: number | null, after?: string | null) {
  const b = checkBBox(bbox);
  const limit = pageSize(first);
  const cursor = after ? decodeFeatureCursor(after) : null;
  if (after && (!cursor || !('after' in cursor))) throw badInput('after', 'is not a cursor this API issued');
  const page = await parcelFeaturePage(db, p, { bbox: b, limit, cursor, countMatched: false });
  return collection(b, page, page.hasNext && page.lastKey ? encodeFeatureCursor({ after: page.lastKey }) : null);
}
