import { afterAll, beforeAll, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/rows.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { setDefaultTimeout } from 'bun:test';

// starts databases and servers: Bun's 5 s default is too short on a busy machine
setDefaultTimeout(120_000);

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.drop());

test('migrations create every table of the permit model', async () => {
  const rows = await t.database.db.execute<{ table_name: string }>(
    sql`select table_name from information_schema.tables where table_schema = 'public' order by 1`,
  );
  const names = rowsOf<{ table_name: string }>(rows).map((r) => r.table_name);
  for (const table of [
    'jurisdictions',
    'parcels',
    'contractors',
    'permits',
    'permit_status_history',
    'inspections',
    'inspection_checklist_items',
    'inspection_capacity',
    'inspection_holidays',
    'permit_conditions',
    'zoning_codes',
    'api_clients',
    'audit_entries',
  ]) {
    expect(names).toContain(table);
  }
});
