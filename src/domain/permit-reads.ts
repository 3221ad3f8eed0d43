/** Permit queries, always within what the principal may see (see visibility.ts). */
import { and, asc, eq, getTableColumns, gte, inArray, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { contractors } from '../db/schema/contractors.ts';
import { type Parcel, parcels, zoningCodes } from '../db/schema/parcels.ts';
import { permits, type Permit, type PermitStatus, type PermitType } from '../db/schema/permits.ts';
import { badInput } from '../errors.ts';
import { checkBBox, type BBox } from './bbox.ts';
import { decodeCursor, pageSize, toPage, type Page } from './pagination.ts';
import type { Principal } from './principal.ts';
import { anyOf, anyOfKeys, byKey, coalesced, idOf, once } from '../db/batched-reads.ts';
import { permitScopeKey, permitScopeOf, visibleIn, visiblePermits } from './visibility.ts';

export interface PermitFilter {
  bbox?: BBox | null;
  status?: PermitStatus[] | null;
  type?: PermitType[] | null;
  updatedSince?: Date | null;
  contractorLicense?: string | null;
}

/**
 * A number no permit can have: too long, or holding U+0000 (PostgreSQL text cannot). Answered as "not found"
 * without a query; sent along, it would fail the whole coalesced statement for every request sharing it.
 */
const unmatchable = (number: string) => number.length > 64 || number.includes('\u0000');

/** One permit by number; concurrent lookups in the same visibility scope share one statement. */
export async function getPermit(db: Executor, p: Principal, number: string): Promise<Permit | null> {
  if (unmatchable(number)) return null;
  const scope = permitScopeOf(p);
  // the loader (one per scope) keeps its statement, prepared on first use
  const statement = once(() =>
    db
      .select()
      .from(permits)
      .where(and(visibleIn(scope), anyOfKeys(permits.permitNum, 'text')))
      .prepare('permit_by_number'),
  );
  return coalesced<Permit>(db, 'permit-by-number', permitScopeKey(scope), async (numbers) =>
    byKey(numbers, await statement().execute({ keys: [...numbers] }), (r) => r.permitNum),
  ).load(number);
}

export async function getPermitById(db: Executor, p: Principal, id: string): Promise<Permit | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const [row] = await db
    .select()
    .from(permits)
    .where(and(visiblePermits(p), eq(permits.id, id)));
  return row ?? null;
}

export function listConditions(p: Principal, f: PermitFilter | null | undefined): SQL[] {
  const conds: SQL[] = [visiblePermits(p)];
  if (!f) return conds;
  // one parameter for the whole list: one statement text (and one prepared statement) for every combination
  if (f.status?.length) conds.push(anyOf(permits.statusCurrent, f.status, 'text'));
  if (f.type?.length) conds.push(anyOf(permits.permitType, f.type, 'text'));
  if (f.updatedSince) conds.push(gte(permits.updatedAt, f.updatedSince));
  if (f.contractorLicense) {
    if (f.contractorLicense.length > 64) throw badInput('filter.contractorLicense', 'must be at most 64 characters');
    conds.push(
      inArray(
        permits.contractorId,
        sql`(select ${contractors.id} from ${contractors} where ${contractors.jurisdictionId} = ${p.jurisdiction} and ${contractors.licenseNumber} = ${f.contractorLicense})`,
      ),
    );
  }
  if (f.bbox) {
    const b = checkBBox(f.bbox, 'filter.bbox');
    conds.push(
      inArray(
        permits.parcelId,
        sql`(select ${parcels.id} from ${parcels} where ${parcels.jurisdictionId} = ${p.jurisdiction}
              and ${parcels.longitude} between ${b.minLon} and ${b.maxLon}
              and ${parcels.latitude} between ${b.minLat} and ${b.maxLat})`,
      ),
    );
  }
  return conds;
}

export type { Page };

/** Keyset pagination in (updated_at, id) order: a sync client resumes where it stopped, changed permits come again. */
export async function listPermits(
  db: Executor,
  p: Principal,
  filter: PermitFilter | null | undefined,
  first: number | null | undefined,
  after: string | null | undefined,
): Promise<Page<Permit>> {
  const size = pageSize(first);
  const afterId = decodeCursor(after);
  const conds = listConditions(p, filter);
  // the cursor's position is read only from a permit the principal may see: another jurisdiction's cursor
  // must not place the walk by that permit's updated_at (an oracle across tenants)
  const cursorRow = (id: string) =>
    sql`(select ${permits.updatedAt}, ${permits.id} from ${permits} where ${permits.id} = ${id} and ${visiblePermits(p)})`;
  if (afterId) conds.push(sql`(${permits.updatedAt}, ${permits.id}) > ${cursorRow(afterId)}`);
  const rows = await db
    .select()
    .from(permits)
    .where(and(...conds))
    .orderBy(asc(permits.updatedAt), asc(permits.id))
    .limit(size + 1);
  // an empty page after a cursor: refuse it if it names no permit the principal may see (rather than a
  // silent end of the walk); one statement more, only then
  if (afterId && rows.length === 0) {
    const [known] = await db
      .select({ n: sql<number>`1` })
      .from(permits)
      .where(and(eq(permits.id, afterId), visiblePermits(p)));
    if (!known) throw badInput('after', 'is not a cursor this API issued');
  }
  return toPage(rows, size);
}

export async function countPermits(db: Executor, p: Principal, filter: PermitFilter | null | undefined): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(permits)
    .where(and(...listConditions(p, filter)));
  return Number(row?.n ?? 0);
}

/** Runs a batch's statement (the service passes its circuit breaker). */
export type Guard = <T>(fn: () => Promise<T>) => Promise<T>;
const unguarded: Guard = (fn) => fn();

/**
 * Public status of one permit, by its number (numbers are unique across jurisdictions thanks to the prefix).
 * `guard` runs each batch's statement: one breaker call per batch rather than per request; every request of a
 * failed batch sees the failure.
 */
export async function getPublicStatus(db: Executor, number: string, guard: Guard = unguarded) {
  if (unmatchable(number)) return null;
  // the shared loader closes over `guard`: one loader per guard (pass the same function every time)
  const statement = once(() =>
    db
      .select({
        number: permits.permitNum,
        status: permits.statusCurrent,
        updatedAt: permits.updatedAt,
        jurisdiction: permits.jurisdictionId,
      })
      .from(permits)
      .where(anyOfKeys(permits.permitNum, 'text'))
      .prepare('public_status'),
  );
  return coalesced(db, `public-status#${idOf(guard)}`, '', async (numbers) =>
    byKey(numbers, await guard(() => statement().execute({ keys: [...numbers] })), (r) => r.number),
  ).load(number);
}

/** A parcel as the batch loader reads it: with its zoning code's category. */
export type ClassifiedParcel = Parcel & { zoningCategory: string };

/**
 * Batch loaders' queries, scoped to one jurisdiction: prepared once per loader and run per batch with
 * `.execute({ keys })` (the ids), so drizzle builds the SQL text once (db/batched-reads.ts, anyOfKeys).
 */
export const batch = {
  // with the zoning category, which is the permit's BLDS PermitClass (blds-vocabulary.ts): no statement of its own
  parcels: (db: Executor, jurisdiction: string) =>
    db
      .select({ ...getTableColumns(parcels), zoningCategory: zoningCodes.category })
      .from(parcels)
      .innerJoin(zoningCodes, eq(zoningCodes.code, parcels.zoningCode))
      .where(and(eq(parcels.jurisdictionId, jurisdiction), anyOfKeys(parcels.id, 'uuid')))
      .prepare('parcels_by_id'),
  contractors: (db: Executor, jurisdiction: string) =>
    db
      .select()
      .from(contractors)
      .where(and(eq(contractors.jurisdictionId, jurisdiction), anyOfKeys(contractors.id, 'uuid')))
      .prepare('contractors_by_id'),
};
