/**
 * Parcels as GeoJSON features with their polygons (OGC API – Features `parcels`). A parcel is public record
 * (APN, address, zoning); a principal sees its own jurisdiction's only. The address parts carry their BLDS names
 * and are filled as the permits collection and the BLDS export fill them (permit-features.ts), so a parcel and its
 * permits show one address: a parcel without address parts shows its one-line address and the jurisdiction's name
 * and state.
 */
import { and, eq, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { rowsOf } from '../db/rows.ts';
import { jurisdictions } from '../db/schema/jurisdictions.ts';
import { parcels } from '../db/schema/parcels.ts';
import type { BBox } from './bbox.ts';
import { jsonNumber, jsonObject, jsonString } from './json-text.ts';
import { featurePage, type FeaturePage, type FeatureTexts, type KeyCursor } from './feature-page.ts';
import type { Principal } from './principal.ts';

export interface ParcelFeatureQuery {
  /** Parcels whose polygon's envelope meets the box (geojson_envelope, migration *_parcel_envelope). */
  bbox?: BBox | null;
  limit: number;
  cursor?: KeyCursor | null;
  countMatched?: boolean;
  /** Feature texts built earlier for the same state of the data (feature-page.ts `FeatureTexts`). */
  texts?: FeatureTexts | null;
}

export const PARCEL_FEATURE_PROPERTIES = {
  PIN: 'string',
  Address: 'string',
  OriginalAddress1: 'string',
  OriginalAddress2: 'string',
  OriginalCity: 'string',
  OriginalState: 'string',
  OriginalZip: 'string',
  ZoningCode: 'string',
  Latitude: 'number',
  Longitude: 'number',
} as const;

/** One feature as JSON text (json-text.ts); the polygon is the stored GeoJSON as is. */
const featureJson = jsonObject([
  ['type', sql`'"Feature"'`],
  ['id', jsonString(parcels.apn)],
  ['geometry', sql`${parcels.geometry}::text`],
  [
    'properties',
    jsonObject([
      ['PIN', jsonString(parcels.apn)],
      ['Address', jsonString(parcels.address)],
      ['OriginalAddress1', jsonString(sql`coalesce(${parcels.address1}, ${parcels.address})`)],
      ['OriginalAddress2', jsonString(parcels.address2)],
      ['OriginalCity', jsonString(sql`coalesce(${parcels.city}, ${jurisdictions.name})`)],
      ['OriginalState', jsonString(sql`coalesce(${parcels.state}, ${jurisdictions.state})`)],
      ['OriginalZip', jsonString(parcels.zip)],
      ['ZoningCode', jsonString(parcels.zoningCode)],
      ['Latitude', jsonNumber(parcels.latitude)],
      ['Longitude', jsonNumber(parcels.longitude)],
    ]),
  ],
]);

// the jurisdiction (a small table joined on its key) gives the city and state fallbacks
const from = sql`${parcels} inner join ${jurisdictions} on ${jurisdictions.id} = ${parcels.jurisdictionId}`;

function conditions(p: Principal, bbox: BBox | null | undefined): SQL[] {
  const conds: SQL[] = [eq(parcels.jurisdictionId, p.jurisdiction)];
  if (bbox) {
    const e = sql`geojson_envelope(${parcels.geometry})`;
    // minLon > maxLon: the box crosses the antimeridian and meets an envelope reaching either of its two parts
    const lon =
      bbox.minLon <= bbox.maxLon
        ? sql`(${e})[1] <= ${bbox.maxLon} and (${e})[3] >= ${bbox.minLon}`
        : sql`((${e})[3] >= ${bbox.minLon} or (${e})[1] <= ${bbox.maxLon})`;
    conds.push(sql`${lon} and (${e})[2] <= ${bbox.maxLat} and (${e})[4] >= ${bbox.minLat}`);
  }
  return conds;
}

export function parcelFeaturePage(db: Executor, p: Principal, q: ParcelFeatureQuery): Promise<FeaturePage> {
  return featurePage(db, {
    key: sql`${parcels.apn}`,
    feature: featureJson,
    from,
    where: conditions(p, q.bbox),
    limit: q.limit,
    cursor: q.cursor ?? null,
    ...(q.countMatched === undefined ? {} : { countMatched: q.countMatched }),
    texts: q.texts ?? null,
  });
}

export async function parcelFeature(db: Executor, p: Principal, apn: string): Promise<string | null> {
  if (apn.length > 64 || apn.includes('\u0000')) return null;
  const [row] = rowsOf<{ f: string }>(
    await db.execute(sql`select ${featureJson} as f from ${from} where ${and(...conditions(p, null), eq(parcels.apn, apn))}`),
  );
  return row?.f ?? null;
}

/** The jurisdiction's spatial extent (CRS84) and the span of permit updates, for collection metadata. */
export async function jurisdictionExtent(db: Executor, jurisdiction: string) {
  const [row] = rowsOf<{
    min_lon: number | null;
    min_lat: number | null;
    max_lon: number | null;
    max_lat: number | null;
    first_update: string | null;
  }>(
    await db.execute(sql`select min((e)[1]) as min_lon, min((e)[2]) as min_lat, max((e)[3]) as max_lon, max((e)[4]) as max_lat,
      (select to_char(min(updated_at) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') from permits where jurisdiction_id = ${jurisdiction}) as first_update
      from (select geojson_envelope(${parcels.geometry}) as e from ${parcels} where ${parcels.jurisdictionId} = ${jurisdiction}) s`),
  );
  const bbox =
    row && row.min_lon !== null
      ? ([row.min_lon, row.min_lat, row.max_lon, row.max_lat].map(Number) as [number, number, number, number])
      : null;
  return { bbox, firstUpdate: row?.first_update ?? null };
}
