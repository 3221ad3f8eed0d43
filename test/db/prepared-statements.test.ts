/**
 * drizzle's queries on PostgreSQL run as prepared statements (src/db/prepared-statements.ts): checked on the
 * server, in `pg_prepared_statements` of the one pooled session, inside and outside transactions; only the first
 * `maxTexts` distinct texts are prepared. PostgreSQL only (PGlite has no statement cache of the driver).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { openDatabase, type Database, type Executor } from '../../src/db/client.ts';
import { rowsOf } from '../../src/db/rows.ts';
import { migrateDatabase } from '../../src/db/migrate.ts';
import { withPreparedStatements } from '../../src/db/prepared-statements.ts';
import { jurisdictions } from '../../src/db/schema/jurisdictions.ts';
import * as schema from '../../src/db/schema/index.ts';
import { createPgDatabase, usingPostgres } from '../helpers/database.ts';

let pg: { url: string; drop(): Promise<void> };
let database: Database;

const preparedTexts = async (db: Executor) =>
  rowsOf<{ statement: string }>(await db.execute(sql`select statement from pg_prepared_statements`)).map((r) => r.statement);

describe.skipIf(!usingPostgres())('prepared statements on PostgreSQL', () => {
  beforeAll(async () => {
    pg = await createPgDatabase('pg_prep');
    // one connection: every query below runs in the session whose pg_prepared_statements we read
    database = await openDatabase({ url: pg.url, poolMax: 1 });
    await migrateDatabase(database, pg.url);
  }, 60_000);

  afterAll(async () => {
    await database?.close();
    await pg?.drop();
  });

  test('a parametrised drizzle query is prepared once and answers correctly every time', async () => {
    const { db } = database;
    const lookup = (id: string) => db.select({ id: jurisdictions.id }).from(jurisdictions).where(eq(jurisdictions.id, id));
    const text = lookup('x').toSQL().sql;
    expect(await preparedTexts(db)).not.toContain(text);
    for (const id of ['nowhere', 'also-nowhere', 'nowhere']) expect(await lookup(id)).toEqual([]);
    const after = await preparedTexts(db);
    expect(after.filter((s) => s === text)).toHaveLength(1);
  });

  test('prepared statements keep a generic plan: a coalesced key lookup is not re-planned per execution', async () => {
    const { db } = database;
    const { anyOf } = await import('../../src/db/batched-reads.ts');
    const lookup = (ids: string[]) =>
      db
        .select({ id: jurisdictions.id })
        .from(jurisdictions)
        .where(anyOf(jurisdictions.id, ids, 'text'));
    const text = lookup(['x']).toSQL().sql;
    for (let i = 0; i < 12; i++) expect(await lookup([`nowhere-${i}`, `also-nowhere-${i}`])).toEqual([]);
    const [plans] = rowsOf<{ generic: string; custom: string }>(
      await db.execute(
        sql`select generic_plans::text as generic, custom_plans::text as custom from pg_prepared_statements where statement = ${text}`,
      ),
    );
    // PostgreSQL's default (auto) would make a custom plan for every one of these executions
    expect(Number(plans!.generic)).toBeGreaterThan(0);
    expect(plans!.custom).toBe('0');
  });

  test('queries inside a transaction are prepared as well', async () => {
    const { db } = database;
    const probe = sql`select ${'in-tx'}::text as marker, count(*)::int as n from jurisdictions where id <> ${'tx-probe'}`;
    const rows = await db.transaction(async (tx) => {
      const r = rowsOf<{ marker: string }>(await tx.execute(probe));
      expect((await preparedTexts(tx)).some((s) => s.includes('as marker'))).toBe(true);
      return r;
    });
    expect(rows[0]!.marker).toBe('in-tx');
  });

  test('only the first maxTexts distinct texts are prepared; later ones still run (unnamed)', async () => {
    const client = postgres(pg.url, { max: 1, onnotice: () => {} });
    const wrapped = withPreparedStatements(client, { maxTexts: 2 });
    const db = drizzle(wrapped.sql, { schema });
    try {
      const texts = ['select $1::int + 1 as v', 'select $1::int + 2 as v', 'select $1::int + 3 as v'];
      const values: number[] = [];
      for (const t of texts) values.push(...rowsOf<{ v: number }>(await db.execute(sql.raw(t.replace('$1', '40')))).map((r) => r.v));
      // the raw texts above have no parameters: they go as simple queries, never prepared
      expect(wrapped.admitted()).toBe(0);
      // the driver prepares its own type lookup when it connects: count from here
      const serverCount = async () => rowsOf(await client.unsafe('select statement from pg_prepared_statements')).length;
      const before = await serverCount();
      for (const [i, n] of [1, 2, 3].entries()) {
        const r = rowsOf<{ v: number }>(await db.execute(sql`select ${40}::int + ${n} as v, ${i}::int as i`));
        values.push(r[0]!.v);
      }
      for (const n of [4, 5]) {
        const r = rowsOf<{ v: number }>(await db.execute(sql`select ${40}::int + ${n} as v`));
        values.push(r[0]!.v);
      }
      expect(values).toEqual([41, 42, 43, 41, 42, 43, 44, 45]);
      // two parametrised texts so far (`… as v, $3::int as i`, three times, and `… as v`): the cap is reached
      expect(wrapped.admitted()).toBe(2);
      expect(await serverCount()).toBe(before + 2);
      // a third text runs, unprepared
      const third = rowsOf<{ v: string }>(await db.execute(sql`select ${'third'}::text as v`));
      expect(third[0]!.v).toBe('third');
      expect(wrapped.admitted()).toBe(2);
      expect(await serverCount()).toBe(before + 2);
    } finally {
      await client.end();
    }
  });
});

test('list filters keep one statement text whatever the list (no cap slots burnt by filter combinations)', async () => {
  const { listConditions } = await import('../../src/domain/permit-reads.ts');
  const { and } = await import('drizzle-orm');
  const { permits } = await import('../../src/db/schema/permits.ts');
  const db = drizzle.mock({ schema });
  const p = { clientId: 'c', role: 'analyst', scopes: new Set(['permits:read']), jurisdiction: 'demo-city' };
  const text = (f: Record<string, unknown>) =>
    db
      .select()
      .from(permits)
      .where(and(...listConditions(p, f as never)))
      .toSQL();
  const one = text({ status: ['ISSUED'], type: ['SIGN'] });
  const many = text({ status: ['ISSUED', 'APPROVED', 'EXPIRED'], type: ['SIGN', 'FIRE'] });
  expect(many.sql).toBe(one.sql);
  expect(many.params).toContainEqual(['ISSUED', 'APPROVED', 'EXPIRED']);
});
