/**
 * An import that committed rows refreshes the planner's statistics of the tables it wrote (a running server's generic
 * plans, made on a city's empty tables, are then made again); a dry run leaves them alone. Read from `pg_stats`, which
 * only ANALYZE fills (autovacuum is off on the test servers and absent in PGlite).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rowsOf } from '../../src/db/rows.ts';
import { contractorsDataset } from '../../src/import/contractors.ts';
import { runImportChain } from '../../src/import/import-chain.ts';
import { createJurisdiction } from '../../src/import/jurisdictions.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let tdb: TestDatabase;
let dir: string;
beforeAll(async () => {
  tdb = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), 'pg-import-analyze-'));
  await createJurisdiction(tdb.database.db, { id: 'springfield-il', name: 'Springfield', state: 'IL', timezone: 'America/Chicago' });
}, 60_000);
afterAll(async () => {
  await tdb?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const statsOf = async (table: string) =>
  Number(
    rowsOf<{ n: string }>(
      await tdb.database.db.execute(sql`select count(*)::text as n from pg_stats where schemaname = 'public' and tablename = ${table}`),
    )[0]?.n,
  );

test('contractors imported: their table is analysed; a dry run before it analysed nothing', async () => {
  const path = join(dir, 'contractors.csv');
  const rows = Array.from({ length: 50 }, (_, i) => `IL-${200 + i},Builder ${i},ACTIVE,2028-06-30`);
  writeFileSync(path, ['license_number,name,license_status,license_expires_on', ...rows].join('\n'));
  const files = [{ dataset: contractorsDataset, path }];
  const options = { db: tdb.database.db, jurisdiction: 'springfield-il', actor: 'cli:test', files };
  expect(await statsOf('contractors')).toBe(0);

  const [dry] = await runImportChain({ ...options, dryRun: true });
  expect(dry).toMatchObject({ inserted: 50, batches: 0, complete: true });
  expect(await statsOf('contractors')).toBe(0);

  const [done] = await runImportChain(options);
  expect(done).toMatchObject({ inserted: 50, batches: 1, complete: true });
  expect(await statsOf('contractors')).toBeGreaterThan(0);
});
