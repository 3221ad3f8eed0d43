import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { appendAuditEntries } from '../../src/audit/append.ts';
import type { Db } from '../../src/db/client.ts';
import { rowsOf } from '../../src/db/rows.ts';
import { DB_TIMEOUT } from './support.ts';
import { asRole, createTestDatabase, usingPostgres, type TestDatabase } from '../helpers/database.ts';
import { setDefaultTimeout } from 'bun:test';

// starts databases and servers: Bun's 5 s default is too short on a busy machine
setDefaultTimeout(120_000);

let t: TestDatabase;
let db: Db;
beforeAll(async () => {
  t = await createTestDatabase();
  db = t.database.db;
  await appendAuditEntries(db, [{ op: 'a' }, { op: 'b' }, { op: 'c' }]);
  await db.execute(sql`insert into audit_checkpoints (size, head_hash, root_hash, signature) values (3, 'h', 'r', 's')`);
}, DB_TIMEOUT);
afterAll(() => t.drop(), DB_TIMEOUT);

/** The database's error message for a statement expected to fail ('' if it succeeded). */
async function refusal(query: ReturnType<typeof sql>): Promise<string> {
  try {
    await db.execute(query);
    return '';
  } catch (err) {
    const e = err as Error & { cause?: Error };
    return `${e.message} ${e.cause?.message ?? ''}`;
  }
}

const count = async (table: 'audit_entries' | 'audit_checkpoints') =>
  rowsOf<{ n: number }>(await db.execute(sql`select count(*)::int as n from ${sql.identifier(table)}`))[0]?.n;

describe('append-only audit tables', () => {
  for (const table of ['audit_entries', 'audit_checkpoints'] as const) {
    const t_ = sql.identifier(table);
    test(
      `UPDATE on ${table} is rejected by a trigger`,
      async () => {
        expect(await refusal(sql`update ${t_} set created_at = now()`)).toContain('append-only: UPDATE is not allowed');
      },
      DB_TIMEOUT,
    );

    test(
      `DELETE on ${table} is rejected by a trigger`,
      async () => {
        expect(await refusal(sql`delete from ${t_} where true`)).toContain('append-only: DELETE is not allowed');
      },
      DB_TIMEOUT,
    );

    test(
      `TRUNCATE on ${table} is rejected by a trigger`,
      async () => {
        expect(await refusal(sql`truncate ${t_}`)).toContain('append-only: TRUNCATE is not allowed');
      },
      DB_TIMEOUT,
    );
  }

  test(
    'staged mutation entries (audit_pending) cannot be rewritten or truncated; the chainer still takes them',
    async () => {
      await db.execute(sql`insert into audit_pending (entry) values ('{"op":"staged"}'::jsonb)`);
      expect(await refusal(sql`update audit_pending set entry = '{"op":"forged"}'::jsonb`)).toContain('append-only: UPDATE is not allowed');
      expect(await refusal(sql`truncate audit_pending`)).toContain('append-only: TRUNCATE is not allowed');
      const [chained] = await appendAuditEntries(db, [], { withPending: true });
      expect(chained?.entry).toMatchObject({ op: 'staged' });
      expect(rowsOf<{ n: number }>(await db.execute(sql`select count(*)::int as n from audit_pending`))[0]?.n).toBe(0);
    },
    DB_TIMEOUT,
  );

  test(
    'inserts still work and nothing was removed by the refused statements',
    async () => {
      expect(await count('audit_entries')).toBe(4); // three, and the staged one chained above
      expect(await count('audit_checkpoints')).toBe(1);
      await appendAuditEntries(db, [{ op: 'd' }]);
      expect(await count('audit_entries')).toBe(5);
    },
    DB_TIMEOUT,
  );

  test.skipIf(!usingPostgres())(
    'an application role with full table grants can neither change entries nor switch the triggers off',
    async () => {
      const role = `audit_app_${Math.random().toString(36).slice(2, 8)}`;
      await db.execute(sql.raw(`create role ${role} login`));
      await db.execute(sql.raw(`grant select, insert, update, delete, truncate on audit_entries to ${role}`));
      const app = postgres(asRole(t.url as string, role), { max: 1, onnotice: () => {} });
      try {
        await expect(app`update audit_entries set entry = '{}'::jsonb where seq = 1`).rejects.toThrow(/append-only/);
        await expect(app`delete from audit_entries where seq = 1`).rejects.toThrow(/append-only/);
        await expect(app`truncate audit_entries`).rejects.toThrow(/append-only/);
        await expect(app`alter table audit_entries disable trigger user`).rejects.toThrow();
        await expect(app`set session_replication_role = replica`).rejects.toThrow();
      } finally {
        await app.end();
        await db.execute(sql.raw(`revoke all on audit_entries from ${role}`));
        await db.execute(sql.raw(`drop role ${role}`));
      }
      expect(await count('audit_entries')).toBe(5);
    },
    DB_TIMEOUT,
  );
});
