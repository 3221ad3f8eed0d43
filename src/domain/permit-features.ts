/**
 * Permits as GeoJSON features for GIS clients (OGC API – Features, `permitsGeoJSON`): a Point at the parcel
 * centroid and BLDS-named public properties. Personal data (the applicant) never enters the SELECT, whoever asks;
 * which permits are visible comes from visibility.ts like every other permit read. The address parts, permit class
 * and the facts a legacy system may hold (TotalSqFt, HousingUnits, ExpiresDate, MasterPermitNum) are filled as the
 * BLDS export fills them (src/cli/export-permits.ts): a parcel without address parts shows its one-line address and
 * the jurisdiction's name and state.
 */
import { and, eq, gte, lte, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { rowsOf } from '../db/rows.ts';
import { jurisdictions } from '../db/schema/jurisdictions.ts';
import { parcels, zoningCodes } from '../db/schema/parcels.ts';
import { permits } from '../db/schema/permits.ts';
import type { BBox } from './bbox.ts';
import { PERMIT_CLASS_MAPPED, RESIDENTIAL_ZONING_CATEGORY } from './blds-vocabulary.ts';
import { jsonDateTime, jsonNumber, jsonObject, jsonString } from './json-text.ts';
import { featurePage, type FeaturePage, type FeatureTexts, type KeyCursor } from './feature-page.ts';
import { listConditions, type PermitFilter } from './permit-reads.ts';
import type { Principal } from './principal.ts';

/** A closed or half-open time interval; null ends are open. */
export interface TimeInterval {
  start: Date | null;
  end: Date | null;
}

export interface PermitFeatureQuery {
  filter?: PermitFilter | null;
  /** Permits whose parcel centroid lies in the box (minLon > maxLon: across the antimeridian). */
  bbox?: BBox | null;
  /** On the last update (`updated_at`), both ends inclusive. */
  datetime?: TimeInterval | null;
  limit: number;
  cursor?: KeyCursor | null;
  countMatched?: boolean;
  /** Feature texts built earlier for the same state of the data (feature-page.ts `FeatureTexts`). */
  texts?: FeatureTexts | null;
}

/** What identifies a feature: the permit number (OGC featureId) or the permit's UUID (GraphQL `Permit.id`). */
export type PermitFeatureId = 'number' | 'uuid';

/** BLDS property names; `LastUpdated` is ours (what `datetime` filters on). */
export const PERMIT_FEATURE_PROPERTIES = {
  PermitNum: 'string',
  PermitType: 'string',
  WorkClass: 'string',
  Description: 'string',
  StatusCurrent: 'string',
  StatusDate: 'date-time',
  EstProjectCost: 'number',
  OriginalAddress1: 'string',
  OriginalAddress2: 'string',
  OriginalCity: 'string',
  OriginalState: 'string',
  OriginalZip: 'string',
  PermitClass: 'string',
  PermitClassMapped: 'string',
  TotalSqFt: 'integer',
  HousingUnits: 'integer',
  ExpiresDate: 'date',
  MasterPermitNum: 'string',
  PIN: 'string',
  Latitude: 'number',
  Longitude: 'number',
  AppliedDate: 'date-time',
  IssuedDate: 'date-time',
  CompletedDate: 'date-time',
  LastUpdated: 'date-time',
} as const;

const keyOf = (id: PermitFeatureId) => (id === 'number' ? sql`${permits.permitNum}` : sql`${permits.id}`);

/** One feature as JSON text (json-text.ts), never an object on this side. */
const featureJson = (id: PermitFeatureId) =>
  jsonObject([
    ['type', sql`'"Feature"'`],
    ['id', jsonString(keyOf(id))],
    [
      'geometry',
      jsonObject([
        ['type', sql`'"Point"'`],
        ['coordinates', sql`'[' || ${parcels.longitude} || ',' || ${parcels.latitude} || ']'`],
      ]),
    ],
    [
      'properties',
      jsonObject([
        ['PermitNum', jsonString(permits.permitNum)],
        ['PermitType', jsonString(permits.permitType)],
        ['WorkClass', jsonString(permits.workClass)],
        ['Description', jsonString(permits.description)],
        ['StatusCurrent', jsonString(permits.statusCurrent)],
        ['StatusDate', jsonDateTime(permits.statusDate)],
        ['EstProjectCost', jsonNumber(permits.estProjectCost)],
        ['OriginalAddress1', jsonString(sql`coalesce(${parcels.address1}, ${parcels.address})`)],
        ['OriginalAddress2', jsonString(parcels.address2)],
        ['OriginalCity', jsonString(sql`coalesce(${parcels.city}, ${jurisdictions.name})`)],
        ['OriginalState', jsonString(sql`coalesce(${parcels.state}, ${jurisdictions.state})`)],
        ['OriginalZip', jsonString(parcels.zip)],
        ['PermitClass', jsonString(zoningCodes.category)],
        [
          'PermitClassMapped',
          jsonString(
            sql`case when ${zoningCodes.category} = ${RESIDENTIAL_ZONING_CATEGORY} then ${PERMIT_CLASS_MAPPED.residential}::text else ${PERMIT_CLASS_MAPPED.other}::text end`,
          ),
        ],
        ['TotalSqFt', jsonNumber(permits.totalSqFt)],
        ['HousingUnits', jsonNumber(permits.housingUnits)],
        ['ExpiresDate', jsonString(permits.expiresDate)],
        ['MasterPermitNum', jsonString(permits.masterPermitNum)],
        ['PIN', jsonString(parcels.apn)],
        ['Latitude', jsonNumber(parcels.latitude)],
        ['Longitude', jsonNumber(parcels.longitude)],
        ['AppliedDate', jsonDateTime(permits.appliedDate)],
        ['IssuedDate', jsonDateTime(permits.issuedDate)],
        ['CompletedDate', jsonDateTime(permits.completedDate)],
        ['LastUpdated', jsonDateTime(permits.updatedAt)],
      ]),
    ],
  ]);

// zoning codes and jurisdictions are small tables joined on their keys: the class and the address fallbacks
const from = sql`${permits} inner join ${parcels} on ${parcels.id} = ${permits.parcelId}
  inner join ${zoningCodes} on ${zoningCodes.code} = ${parcels.zoningCode}
  inner join ${jurisdictions} on ${jurisdictions.id} = ${permits.jurisdictionId}`;

function conditions(p: Principal, q: Pick<PermitFeatureQuery, 'filter' | 'bbox' | 'datetime'>): SQL[] {
  const conds = [...listConditions(p, q.filter), eq(parcels.jurisdictionId, p.jurisdiction)];
  if (q.bbox) {
    const b = q.bbox;
    // minLon > maxLon: the box crosses the antimeridian (OGC API – Features bbox), two longitude ranges
    conds.push(
      b.minLon <= b.maxLon
        ? sql`${parcels.longitude} between ${b.minLon} and ${b.maxLon}`
        : sql`(${parcels.longitude} >= ${b.minLon} or ${parcels.longitude} <= ${b.maxLon})`,
    );
    conds.push(sql`${parcels.latitude} between ${b.minLat} and ${b.maxLat}`);
  }
  if (q.datetime?.start) conds.push(gte(permits.updatedAt, q.datetime.start));
  if (q.datetime?.end) conds.push(lte(permits.updatedAt, q.datetime.end));
  return conds;
}

/** A page of the permits `p` may see, in key order (permit number or UUID). */
export function permitFeaturePage(db: Executor, p: Principal, q: PermitFeatureQuery, id: PermitFeatureId = 'number'): Promise<FeaturePage> {
  return featurePage(db, {
    key: keyOf(id),
    feature: featureJson(id),
    from,
    where: conditions(p, q),
    limit: q.limit,
    cursor: q.cursor ?? null,
    ...(q.countMatched === undefined ? {} : { countMatched: q.countMatched }),
    texts: q.texts ?? null,
    keyType: id === 'number' ? 'text' : 'uuid',
  });
}

/** One permit feature by number, as JSON text; null when `p` may not see it (or there is none). */
export async function permitFeature(db: Executor, p: Principal, number: string): Promise<string | null> {
  if (number.length > 64 || number.includes('\u0000')) return null;
  const [row] = rowsOf<{ f: string }>(
    await db.execute(
      sql`select ${featureJson('number')}::text as f from ${from} where ${and(...conditions(p, {}), eq(permits.permitNum, number))}`,
    ),
  );
  return row?.f ?? null;
}
