/**
 * A failure injected inside PostgreSQL (or PGlite): while `fn` runs, every insert into `table` raises `message` from a
 * trigger, as a full disk or a broken constraint would; the trigger and its function are gone afterwards.
 */
import { sql } from 'drizzle-orm';

interface Executes {
  execute(query: ReturnType<typeof sql.raw>): Promise<unknown>;
}

export async function whileInsertsFail<T>(db: Executes, table: string, message: string, fn: () => Promise<T>): Promise<T> {
  const name = `fail_${table}_inserts`;
  await db.execute(
    sql.raw(`create or replace function ${name}() returns trigger language plpgsql as $$ begin raise exception '${message}'; end $$`),
  );
  await db.execute(sql.raw(`create trigger ${name} before insert on ${table} for each row execute function ${name}()`));
  try {
    return await fn();
  } finally {
    await db.execute(sql.raw(`drop trigger ${name} on ${table}`));
    await db.execute(sql.raw(`drop function ${name}()`));
  }
}
