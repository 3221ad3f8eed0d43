/**
 * Permits as an RFC 7946 FeatureCollection: a Point at the parcel centroid, BLDS-named public properties only.
 * Personal data never enters this function's SELECT, whoever asks.
 */
import { and, asc, between, eq } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { parcels } from '../db/schema/parcels.ts';
import { permits } from '../db/schema/permits.ts';
import { checkBBox, type BBox } from './bbox.ts';
import { listConditions, type PermitFilter } from './permit-reads.ts';
import type { Principal } from './principal.ts';

export const GEOJSON_MAX_FEATURES = 5000;

export async function permitsGeoJSON(db: Executor, p: Principal, bbox: BBox, filter?: PermitFilter | null) {
  const b = checkBBox(bbox);
  const rows = await db
    .select({
      id: permits.id,
      PermitNum: permits.permitNum,
      PermitType: permits.permitType,
      WorkClass: permits.workClass,
      Description: permits.description,
      StatusCurrent: permits.statusCurrent,
      AppliedDate: permits.appliedDate,
      IssuedDate: permits.issuedDate,
      CompletedDate: permits.completedDate,
      EstProjectCost: permits.estProjectCost,
      OriginalAddress1: parcels.address,
      PIN: parcels.apn,
      lon: parcels.longitude,
      lat: parcels.latitude,
    })
    .from(permits)
    .innerJoin(parcels, eq(parcels.id, permits.parcelId))
    .where(
      and(
        ...listConditions(p, filter),
        eq(parcels.jurisdictionId, p.jurisdiction),
        between(parcels.longitude, b.minLon, b.maxLon),
        between(parcels.latitude, b.minLat, b.maxLat),
      ),
    )
    .orderBy(asc(permits.id))
    .limit(GEOJSON_MAX_FEATURES + 1);
  const truncated = rows.length > GEOJSON_MAX_FEATURES;
  return {
    type: 'FeatureCollection' as const,
    bbox: [b.minLon, b.minLat, b.maxLon, b.maxLat],
    features: rows.slice(0, GEOJSON_MAX_FEATURES).map(({ id, lon, lat, AppliedDate, IssuedDate, CompletedDate, ...props }) => ({
      type: 'Feature' as const,
      id,
      geometry: { type: 'Point' as const, coordinates: [lon, lat] },
      properties: {
        ...props,
        AppliedDate: AppliedDate.toISOString(),
        IssuedDate: IssuedDate?.toISOString() ?? null,
        CompletedDate: CompletedDate?.toISOString() ?? null,
      },
    })),
    // foreign member (RFC 7946 §6.1): the box held more than the feature cap
    truncated,
  };
}
