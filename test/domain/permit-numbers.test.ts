/**
 * The permit number is taken in the same statement that inserts the permit (SQL formatting, see
 * src/db/permit-numbers.ts); it must read exactly as formatPermitNumber writes it, also where the counter
 * outgrows the six-digit padding.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/rows.ts';
import { formatPermitNumber, nextNumberStatement, permitNumberFrom } from '../../src/db/permit-numbers.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

setDefaultTimeout(120_000);
let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase({ seed: 'small' });
});
afterAll(() => t.drop());

test.each([1, 42, 999_999, 1_000_000, 12_345_678])('counter value %d', async (n) => {
  const db = t.database.db;
  const year = 2099;
  const [{ prefix }] = rowsOf<{ prefix: string }>(
    await db.execute(sql`select permit_prefix as prefix from jurisdictions where id = 'demo-city'`),
  ) as [{ prefix: string }];
  await db.execute(sql`insert into permit_number_counters (jurisdiction_id, year, next) values ('demo-city', ${year}, ${n - 1})
    on conflict (jurisdiction_id, year) do update set next = ${n - 1}`);
  const [row] = rowsOf<{ number: string }>(
    await db.execute(sql`with n as (${nextNumberStatement('demo-city', year)}) select ${permitNumberFrom('ELECTRICAL', year)} as number`),
  );
  expect(row!.number).toBe(formatPermitNumber(prefix, 'ELECTRICAL', year, n));
});
