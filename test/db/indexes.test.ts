/**
 * Every filter the API offers is served by an index: with sequential scans disabled the planner still finds an
 * index path (a missing index would show up as a Seq Scan it cannot avoid).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/rows.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

setDefaultTimeout(120_000);
let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase({ seed: 'small' });
  await t.database.db.execute(sql`analyze`);
});
afterAll(() => t.drop());

async function plan(query: string): Promise<string> {
  return t.database.db.transaction(async (tx) => {
    await tx.execute(sql.raw('set local enable_seqscan = off'));
    const rows = rowsOf<Record<string, string>>(await tx.execute(sql.raw(`explain ${query}`)));
    return rows.map((r) => Object.values(r)[0]).join('\n');
  });
}

const UUID = "'00000000-0000-4000-8000-000000000000'";
/** the key lists of coalesced lookups (src/db/batched-reads.ts): `column = any($1::type[])` */
const UUIDS = "any('{00000000-0000-4000-8000-000000000000,00000000-0000-4000-8000-000000000001}'::uuid[])";
const NUMBERS = "any('{DC-BLD-2024-000001,DC-BLD-2024-000002}'::text[])";
/** query → the column the index condition must constrain (an index merely scanned whole does not count). */
const CASES: Record<string, [string, RegExp]> = {
  'public status by permit number': [
    `select status_current from permits where permit_num = 'DC-BLD-2024-000001'`,
    /Index Cond: \(permit_num =/,
  ],
  'public status by a list of numbers': [
    `select status_current from permits where permit_num = ${NUMBERS}`,
    /Index Cond: \(permit_num = ANY/,
  ],
  'permits by a list of numbers in a jurisdiction': [
    `select * from permits where jurisdiction_id = 'demo-city' and permit_num = ${NUMBERS}`,
    /Index Cond: .*permit_num = ANY/,
  ],
  'parcels by a list of ids in a jurisdiction': [
    `select * from parcels where jurisdiction_id = 'demo-city' and id = ${UUIDS}`,
    /Index Cond: .*id = ANY/,
  ],
  'contractors by a list of ids in a jurisdiction': [
    `select * from contractors where jurisdiction_id = 'demo-city' and id = ${UUIDS}`,
    /Index Cond: .*id = ANY/,
  ],
  'inspections of a list of permits': [`select * from inspections where permit_id = ${UUIDS}`, /Index Cond: \(permit_id = ANY/],
  'checklist of a list of inspections': [
    `select * from inspection_checklist_items where inspection_id = ${UUIDS}`,
    /Index Cond: \(inspection_id = ANY/,
  ],
  'status history of a list of permits': [
    `select * from permit_status_history where permit_id = ${UUIDS}`,
    /Index Cond: \(permit_id = ANY/,
  ],
  'staged audit entries, oldest first': [`select id from audit_pending order by id limit 5000`, /audit_pending_pkey/],
  // every group commit asks which of its entries the chain already holds (src/audit/append.ts, idempotent appends)
  'chained entries by a list of entry ids': [
    `select entry_id from audit_entries where entry_id = ${UUIDS.replace('::uuid[]', '::text[]')}`,
    /Index Cond: \(entry_id = ANY/,
  ],
  'permit by number in a jurisdiction': [
    `select * from permits where jurisdiction_id = 'demo-city' and permit_num = 'DC-BLD-2024-000001'`,
    /Index Cond: .*permit_num =/,
  ],
  'permits page in (updated_at, id) order': [
    `select * from permits where jurisdiction_id = 'demo-city' order by updated_at, id limit 51`,
    /permits_jurisdiction_updated_idx/,
  ],
  'permits by status': [
    `select * from permits where jurisdiction_id = 'demo-city' and status_current = 'ISSUED'`,
    /Index Cond: .*status_current =/,
  ],
  'permits by type': [`select * from permits where jurisdiction_id = 'demo-city' and permit_type = 'SIGN'`, /Index Cond: .*permit_type =/],
  // list filters go as one array parameter (src/domain/permit-reads.ts listConditions)
  'permits by a list of statuses': [
    `select * from permits where jurisdiction_id = 'demo-city' and status_current = any('{ISSUED,APPROVED}'::text[])`,
    /Index Cond: .*status_current = ANY/,
  ],
  'permits by a list of types': [
    `select * from permits where jurisdiction_id = 'demo-city' and permit_type = any('{SIGN,FIRE}'::text[])`,
    /Index Cond: .*permit_type = ANY/,
  ],
  'permits updated since': [
    `select * from permits where jurisdiction_id = 'demo-city' and updated_at >= now() - interval '30 days'`,
    /Index Cond: .*updated_at >=/,
  ],
  'permits of a contractor': [`select * from permits where contractor_id = ${UUID}`, /Index Cond: \(contractor_id =/],
  'permits on a parcel': [`select * from permits where parcel_id = ${UUID}`, /Index Cond: \(parcel_id =/],
  'contractor by license': [
    `select * from contractors where jurisdiction_id = 'demo-city' and license_number = 'DC-LIC-1001'`,
    /Index Cond: .*license_number =/,
  ],
  'inspections of permits': [`select * from inspections where permit_id = ${UUID}`, /Index Cond: \(permit_id =/],
  'checklist of inspections': [`select * from inspection_checklist_items where inspection_id = ${UUID}`, /Index Cond: \(inspection_id =/],
  'status history of permits': [`select * from permit_status_history where permit_id = ${UUID}`, /Index Cond: \(permit_id =/],
  'idempotent submission lookup': [
    `select id from permits where submitted_by = 'x' and idempotency_key = 'y'`,
    /Index Cond: .*idempotency_key =/,
  ],
  'audit entries by time': [`select * from audit_entries where created_at >= now() - interval '1 day'`, /Index Cond: \(created_at >=/],
  'audit entries page by seq': [`select * from audit_entries where seq < 100 order by seq desc limit 51`, /Index Cond: \(seq </],
};

describe('indexes for every filter', () => {
  // on the small test data the planner may prefer another index for the box; check the index itself
  test('parcels in a bbox have an index on (jurisdiction, longitude, latitude)', async () => {
    const rows = rowsOf<{ indexdef: string }>(
      await t.database.db.execute(sql`select indexdef from pg_indexes where tablename = 'parcels'`),
    );
    expect(rows.map((r) => r.indexdef).join('\n')).toContain('(jurisdiction_id, longitude, latitude)');
  });

  for (const [name, [query, cond]] of Object.entries(CASES)) {
    test(`${name} uses an index`, async () => {
      const p = await plan(query);
      expect(p).toMatch(cond);
      expect(p).not.toMatch(/Seq Scan/);
    });
  }
});
