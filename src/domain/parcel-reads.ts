/** Parcel reads, scoped to the caller's jurisdiction here so no resolver can forget the tenancy filter. */
import { and, asc, between, eq, gt } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { parcels, type Parcel } from '../db/schema/parcels.ts';
import { checkBBox, type BBox } from './bbox.ts';
import { decodeCursor, pageSize, toPage } from './pagination.ts';
import type { Page } from './permit-reads.ts';
import type { Principal } from './principal.ts';

/** Parcels whose centroid lies in the box, in id order. */
export async function parcelsInBBox(
  db: Executor,
  p: Principal,
  bbox: BBox,
  first?: number | null,
  after?: string | null,
): Promise<Page<Parcel>> {
  const b = checkBBox(bbox);
  const size = pageSize(first);
  const afterId = decodeCursor(after);
  const rows = await db
    .select()
    .from(parcels)
    .where(
      and(
        eq(parcels.jurisdictionId, p.jurisdiction),
        between(parcels.longitude, b.minLon, b.maxLon),
        between(parcels.latitude, b.minLat, b.maxLat),
        afterId ? gt(parcels.id, afterId) : undefined,
      ),
    )
    .orderBy(asc(parcels.id))
    .limit(size + 1);
  return toPage(rows, size);
}

/** The parcel with this APN in the caller's jurisdiction, or null (another tenant's parcel is as absent as none). */
export async function parcelByApn(db: Executor, p: Principal, apn: string): Promise<Parcel | null> {
  const [row] = await db
    .select()
    .from(parcels)
    .where(and(eq(parcels.jurisdictionId, p.jurisdiction), eq(parcels.apn, apn)));
  return row ?? null;
}
