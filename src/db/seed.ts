/**
 * Demo data for an empty development database (README "Demo data"): `demo-city` with thousands of parcels and permits,
 * `other-town` with a few dozen. Deterministic: the same size always gives the same rows.
 */
import { getTableColumns, getTableName, sql } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { suppressChangeEvents } from './bulk-load.ts';
import type { Db, Executor } from './client.ts';
import { contractors } from './schema/contractors.ts';
import { inspectionChecklistItems, inspectionHolidays, inspections } from './schema/inspections.ts';
import { jurisdictions } from './schema/jurisdictions.ts';
import { parcels, zoningCodes } from './schema/parcels.ts';
import { permitNumberCounters, permits, permitStatusHistory, PERMIT_TYPES, WORK_CLASSES, type PermitType } from './schema/permits.ts';
import { formatPermitNumber } from './permit-numbers.ts';
import { DESCRIPTIONS, FIRMS, FIRST, LAST, PATHS, prng, STREETS, SUFFIXES, ZONING, type Rng } from './seed-data.ts';

export type SeedSize = 'full' | 'small';

const SIZES = {
  full: { 'demo-city': { parcels: 2500, contractors: 60, permits: 5200 }, 'other-town': { parcels: 40, contractors: 6, permits: 36 } },
  small: { 'demo-city': { parcels: 240, contractors: 12, permits: 400 }, 'other-town': { parcels: 20, contractors: 4, permits: 24 } },
} as const;

export const DEMO_JURISDICTIONS = [
  { id: 'demo-city', name: 'Demo City', permitPrefix: 'DC', origin: [-122.46, 37.72] as const },
  { id: 'other-town', name: 'Other Town', permitPrefix: 'OT', origin: [-121.9, 37.33] as const },
] as const;

const DAY = 86_400_000;
const START = Date.UTC(2024, 0, 1);
const SPAN_DAYS = 1000; // applied dates spread from 2024-01-01 over ~33 months

/**
 * Bulk insert through one JSON parameter per chunk (`json_populate_recordset`): embedded PGlite parses one
 * value instead of tens of thousands of bind parameters, which halves the demo seed's start-up time.
 */
async function insertChunked(db: Executor, table: PgTable, rows: object[]) {
  const columns = Object.entries(getTableColumns(table)).map(([key, col]) => ({ key, name: col.name }));
  const name = getTableName(table);
  for (let i = 0; i < rows.length; i += 5000) {
    const chunk = rows.slice(i, i + 5000).map((r) => {
      const out: Record<string, unknown> = {};
      for (const c of columns) {
        const v = (r as Record<string, unknown>)[c.key];
        if (v !== undefined) out[c.name] = v instanceof Date ? v.toISOString() : v;
      }
      return out;
    });
    const present = columns.filter((c) => c.name in chunk[0]!).map((c) => sql.identifier(c.name));
    const cols = sql.join(present, sql`, `);
    await db.execute(
      sql`insert into ${sql.identifier(name)} (${cols}) select ${cols} from json_populate_recordset(null::${sql.identifier(name)}, ${JSON.stringify(chunk)}::json)`,
    );
  }
}

function parcelGrid(rng: Rng, jurisdictionId: string, origin: readonly [number, number], count: number) {
  const side = Math.ceil(Math.sqrt(count));
  const step = 0.0012; // ≈ 100 m
  return Array.from({ length: count }, (_, i) => {
    const lon = origin[0] + (i % side) * step + rng.next() * 0.0002;
    const lat = origin[1] + Math.floor(i / side) * step + rng.next() * 0.0002;
    const h = 0.0004;
    return {
      id: rng.uuid(),
      jurisdictionId,
      apn: `${String(100 + Math.floor(i / 100)).padStart(3, '0')}-${String(i % 100).padStart(3, '0')}-${String(rng.int(0, 99)).padStart(2, '0')}`,
      address: `${rng.int(1, 9999)} ${rng.pick(STREETS)} ${rng.pick(SUFFIXES)}`,
      zoningCode: rng.pick(ZONING).code,
      longitude: lon,
      latitude: lat,
      geometry: {
        type: 'Polygon' as const,
        coordinates: [
          [
            [lon - h, lat - h],
            [lon + h, lat - h],
            [lon + h, lat + h],
            [lon - h, lat + h],
            [lon - h, lat - h],
          ],
        ],
      },
    };
  });
}

/** License numbers are stable so demo clients can be bound to the first contractors. */
export const demoLicense = (jurisdiction: string, i: number) => `${jurisdiction === 'demo-city' ? 'DC' : 'OT'}-LIC-${String(1001 + i)}`;

function contractorRows(rng: Rng, jurisdictionId: string, count: number) {
  return Array.from({ length: count }, (_, i) => {
    // the first four are always active (demo clients bind to them); then a realistic mix
    const status = i < 4 ? 'ACTIVE' : rng.pick(['ACTIVE', 'ACTIVE', 'ACTIVE', 'ACTIVE', 'SUSPENDED', 'EXPIRED'] as const);
    const expires = status === 'EXPIRED' ? '2025-06-30' : `${rng.int(2027, 2030)}-${String(rng.int(1, 12)).padStart(2, '0')}-28`;
    return {
      id: rng.uuid(),
      jurisdictionId,
      licenseNumber: demoLicense(jurisdictionId, i),
      name: `${rng.pick(LAST)} ${rng.pick(FIRMS)}`,
      licenseStatus: status,
      licenseExpiresOn: expires,
    };
  });
}

/** Days the demo jurisdictions' inspectors do not work. */
const DEMO_HOLIDAYS: ReadonlyArray<[string, string]> = [
  ['2026-12-25', 'Christmas Day'],
  ['2027-01-01', "New Year's Day"],
  ['2027-05-31', 'Memorial Day'],
  ['2027-07-05', 'Independence Day (observed)'],
];

export async function seedDemoData(db: Db, size: SeedSize): Promise<{ permits: number }> {
  const rng = prng(20261125);
  let total = 0;
  await db.transaction(async (tx) => {
    await suppressChangeEvents(tx);
    await tx
      .insert(zoningCodes)
      .values([...ZONING])
      .onConflictDoNothing();
    for (const j of DEMO_JURISDICTIONS) {
      const n = SIZES[size][j.id];
      await tx
        .insert(jurisdictions)
        .values({ id: j.id, name: j.name, permitPrefix: j.permitPrefix, state: 'CA', timezone: 'America/Los_Angeles' });
      // no capacity row: the demo jurisdictions get the default inspection capacity (src/domain/inspection-capacity.ts)
      await tx.insert(inspectionHolidays).values(DEMO_HOLIDAYS.map(([day, name]) => ({ jurisdictionId: j.id, day, name })));
      const parcelRows = parcelGrid(rng, j.id, j.origin, n.parcels);
      await insertChunked(tx, parcels, parcelRows);
      const contractorList = contractorRows(rng, j.id, n.contractors);
      await insertChunked(tx, contractors, contractorList);

      const permitRows: object[] = [];
      const history: object[] = [];
      const inspectionRows: object[] = [];
      const checklist: object[] = [];
      const year = new Map<number, number>();
      for (let i = 0; i < n.permits; i++) {
        const path = PATHS[i % PATHS.length]!;
        const type: PermitType = rng.pick(PERMIT_TYPES);
        const applied = new Date(START + rng.int(0, SPAN_DAYS) * DAY + rng.int(0, 86_399) * 1000);
        const y = applied.getUTCFullYear();
        const seqNo = (year.get(y) ?? 0) + 1;
        year.set(y, seqNo);
        const id = rng.uuid();
        const first = rng.pick(FIRST);
        const last = rng.pick(LAST);
        let t = applied.getTime();
        let issued: Date | null = null;
        let completed: Date | null = null;
        path.forEach((status, k) => {
          if (k > 0) t += rng.int(1, 20) * DAY;
          if (status === 'ISSUED') issued = new Date(t);
          if (status === 'FINALED') completed = new Date(t);
          history.push({
            permitId: id,
            fromStatus: k === 0 ? null : path[k - 1],
            toStatus: status,
            actor: k === 0 ? 'seed:applicant' : 'seed:clerk',
            changedAt: new Date(t),
          });
        });
        if (path.includes('INSPECTIONS' as never)) {
          const count = rng.int(1, 3);
          for (let k = 0; k < count; k++) {
            const start = new Date((issued as Date | null)!.getTime() + (k + 1) * 2 * DAY);
            const finaled = path.at(-1) === 'FINALED';
            const result =
              finaled || k < count - 1 ? (k === count - 1 ? 'PASS' : rng.pick(['PASS', 'FAIL', 'PARTIAL'] as const)) : 'PENDING';
            const inspId = rng.uuid();
            inspectionRows.push({
              id: inspId,
              permitId: id,
              inspectionType: rng.pick(['Foundation', 'Framing', 'Rough electrical', 'Rough plumbing', 'Insulation', 'Final']),
              windowStart: start,
              windowEnd: new Date(start.getTime() + 4 * 3600_000),
              inspector: result === 'PENDING' ? null : 'seed:inspector',
              result,
              notes: result === 'FAIL' ? 'Corrections noted on site' : null,
              recordedAt: result === 'PENDING' ? null : new Date(start.getTime() + 3600_000),
              createdAt: new Date(start.getTime() - DAY),
            });
            if (result !== 'PENDING') {
              ['Plans on site', 'Work matches plans', 'Safety measures'].forEach((item, pos) =>
                checklist.push({ inspectionId: inspId, position: pos + 1, item, passed: result === 'PASS' || pos > 0, notes: null }),
              );
            }
          }
        }
        const status = path.at(-1)!;
        permitRows.push({
          id,
          jurisdictionId: j.id,
          permitNum: formatPermitNumber(j.permitPrefix, type, y, seqNo),
          permitType: type,
          workClass: type === 'DEMOLITION' ? 'DEMOLITION' : rng.pick(WORK_CLASSES.filter((w) => w !== 'DEMOLITION')),
          description: rng.pick(DESCRIPTIONS[type]!),
          estProjectCost: rng.int(5, 2000) * 250,
          applicantName: `${first} ${last}`,
          applicantEmail: `${first}.${last}.${i}@example.org`.toLowerCase(),
          applicantPhone: `+1 555 ${String(rng.int(100, 999))} ${String(rng.int(1000, 9999))}`,
          parcelId: parcelRows[rng.int(0, parcelRows.length - 1)]!.id,
          contractorId: contractorList[rng.int(0, contractorList.length - 1)]!.id,
          statusCurrent: status,
          version: path.length,
          appliedDate: applied,
          issuedDate: issued,
          completedDate: completed,
          statusDate: new Date(t),
          updatedAt: new Date(t),
        });
      }
      await insertChunked(tx, permits, permitRows);
      await insertChunked(tx, permitStatusHistory, history);
      await insertChunked(tx, inspections, inspectionRows);
      await insertChunked(tx, inspectionChecklistItems, checklist);
      for (const [y, next] of year) {
        await tx.insert(permitNumberCounters).values({ jurisdictionId: j.id, year: y, next });
      }
      total += n.permits;
    }
  });
  // fresh statistics for the planner: without them (autovacuum gets round to it a minute or more later) it takes
  // the freshly loaded tables for empty and, e.g., answers a GeoJSON box with 17k-row index scans per parcel
  await db.execute(sql`analyze`);
  return { permits: total };
}

/** True when the database has no jurisdictions yet (a fresh development database). */
export async function isEmpty(db: Executor): Promise<boolean> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(jurisdictions);
  return Number(row?.n ?? 0) === 0;
}
