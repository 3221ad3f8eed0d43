import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { appendAuditEntries, appendAuditEntry } from '../../src/audit/append.ts';
import { entryHash, GENESIS_HASH } from '../../src/audit/hash-chain.ts';
import { loadAndVerify } from '../../src/audit/verify-chain.ts';
import { openDatabase, type Db } from '../../src/db/client.ts';
import { rowsOf } from '../../src/db/rows.ts';
import { DB_TIMEOUT, resetAuditTables } from './support.ts';
import { createTestDatabase, usingPostgres, type TestDatabase } from '../helpers/database.ts';
import { setDefaultTimeout } from 'bun:test';

// starts databases and servers: Bun's 5 s default is too short on a busy machine
setDefaultTimeout(120_000);

let t: TestDatabase;
let db: Db;
beforeAll(async () => {
  t = await createTestDatabase();
  db = t.database.db;
}, DB_TIMEOUT);
afterAll(() => t.drop(), DB_TIMEOUT);
beforeEach(() => resetAuditTables(db), DB_TIMEOUT);

interface Row {
  seq: string;
  entry: string;
  prev_hash: string;
  hash: string;
  created_at: string;
}
async function allRows(): Promise<Row[]> {
  return rowsOf<Row>(
    await db.execute(sql`select seq::text as seq, entry::text as entry, prev_hash, hash,
      to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created_at
      from audit_entries order by audit_entries.seq`),
  );
}

describe('audit appender', () => {
  test(
    'the first entry chains from the genesis hash and later ones from their predecessor',
    async () => {
      const [a] = await appendAuditEntries(db, [{ op: 'first' }]);
      const [b, c] = await appendAuditEntries(db, [{ op: 'second' }, { op: 'third', nested: { z: 1, a: [1, 2] } }]);
      expect([a?.seq, b?.seq, c?.seq]).toEqual([1, 2, 3]);
      expect(a?.prevHash).toBe(GENESIS_HASH);
      expect(b?.prevHash).toBe(a?.hash as string);
      expect(c?.prevHash).toBe(b?.hash as string);

      const rows = await allRows();
      expect(rows.map((r) => r.seq)).toEqual(['1', '2', '3']);
      let prev = GENESIS_HASH;
      for (const r of rows) {
        expect(r.prev_hash).toBe(prev);
        expect(entryHash(r.prev_hash, JSON.parse(r.entry))).toBe(r.hash);
        prev = r.hash;
      }
    },
    DB_TIMEOUT,
  );

  test(
    'the entry carries its UTC creation time, which the hash covers and the created_at column repeats',
    async () => {
      const row = await appendAuditEntry(db, { op: 'timed', createdAt: 'caller value is replaced' });
      expect(row.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(Math.abs(Date.parse(row.createdAt) - Date.now())).toBeLessThan(60_000);
      expect(row.entry.createdAt).toBe(row.createdAt);
      const [stored] = await allRows();
      expect(JSON.parse(stored?.entry as string).createdAt).toBe(row.createdAt);
      expect(stored?.created_at).toBe(row.createdAt);
      expect(entryHash(GENESIS_HASH, { op: 'timed' })).not.toBe(row.hash);
    },
    DB_TIMEOUT,
  );

  test(
    'entries that could not round-trip through jsonb are refused before anything is written',
    async () => {
      await expect(appendAuditEntries(db, [{ bad: Number.NaN }])).rejects.toThrow();
      await expect(appendAuditEntries(db, [{ bad: 'nul\u0000' }])).rejects.toThrow(/U\+0000/);
      await expect(appendAuditEntries(db, [[1, 2] as unknown as object])).rejects.toThrow(/JSON object/);
      expect(await allRows()).toHaveLength(0);
    },
    DB_TIMEOUT,
  );

  test(
    'an entry appended inside the caller transaction commits with the change it describes',
    async () => {
      await db.execute(sql`create table audit_test_scratch (id int primary key)`);
      await db.transaction(async (tx) => {
        await tx.execute(sql`insert into audit_test_scratch values (1)`);
        await appendAuditEntry(tx, { op: 'mutation', id: 1 });
      });
      const scratch = rowsOf<{ n: number }>(await db.execute(sql`select count(*)::int as n from audit_test_scratch`));
      expect(scratch[0]?.n).toBe(1);
      expect(await allRows()).toHaveLength(1);
    },
    DB_TIMEOUT,
  );

  test(
    'when the transaction fails after or during the append, neither the change nor its entry remains',
    async () => {
      await db.execute(sql`create table audit_test_scratch (id int primary key)`);
      await expect(
        db.transaction(async (tx) => {
          await tx.execute(sql`insert into audit_test_scratch values (1)`);
          await appendAuditEntry(tx, { op: 'mutation', id: 1 });
          throw new Error('later step fails');
        }),
      ).rejects.toThrow('later step fails');
      await expect(
        db.transaction(async (tx) => {
          await tx.execute(sql`insert into audit_test_scratch values (2)`);
          await appendAuditEntry(tx, { op: 'mutation', broken: 'nul\u0000' }); // injected append failure
        }),
      ).rejects.toThrow();
      const scratch = rowsOf<{ n: number }>(await db.execute(sql`select count(*)::int as n from audit_test_scratch`));
      expect(scratch[0]?.n).toBe(0);
      expect(await allRows()).toHaveLength(0);
      // The chain continues cleanly from genesis afterwards.
      expect((await appendAuditEntry(db, { op: 'after' })).seq).toBe(1);
    },
    DB_TIMEOUT,
  );

  test(
    '200 concurrent appends from parallel calls produce one gap-free chain that verifies',
    async () => {
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => appendAuditEntry(db, { op: 'concurrent', i })));
      expect(results.map((r) => r.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      const rows = await allRows();
      expect(rows).toHaveLength(200);
      expect(new Set(rows.map((r) => JSON.parse(r.entry).i)).size).toBe(200);
      const result = await loadAndVerify(db, { pageSize: 37 });
      expect(result).toMatchObject({ ok: true, size: 200, headHash: rows.at(-1)?.hash });
    },
    DB_TIMEOUT,
  );

  test(
    'a batch larger than one INSERT statement keeps consecutive seqs and verifies in pages',
    async () => {
      const rows = await appendAuditEntries(
        db,
        Array.from({ length: 2_345 }, (_, i) => ({ op: 'batch', i })),
      );
      expect(rows.at(-1)?.seq).toBe(2_345);
      const result = await loadAndVerify(db, { pageSize: 1_000 });
      expect(result).toMatchObject({ ok: true, size: 2_345, headHash: rows.at(-1)?.hash });
    },
    DB_TIMEOUT,
  );

  test.skipIf(!usingPostgres())(
    'several connection pools (as several processes would) still build one chain',
    async () => {
      const pools = await Promise.all([1, 2, 3].map(() => openDatabase({ url: t.url, poolMax: 5 })));
      try {
        await Promise.all(
          pools.flatMap((p, n) =>
            Array.from({ length: 100 }, (_, i) =>
              i % 10 === 0
                ? appendAuditEntries(p.db, [
                    { pool: n, i, part: 1 },
                    { pool: n, i, part: 2 },
                  ])
                : p.db.transaction((tx) => appendAuditEntry(tx, { pool: n, i })),
            ),
          ),
        );
      } finally {
        await Promise.all(pools.map((p) => p.close()));
      }
      const result = await loadAndVerify(db);
      expect(result).toMatchObject({ ok: true, size: 330 });
    },
    DB_TIMEOUT,
  );
});
