/**
 * A fresh, migrated database per test file: embedded PGlite in memory by default, or, when
 * TEST_DATABASE_URL is set, a new PostgreSQL database created for this run and dropped afterwards.
 */
import postgres from 'postgres';
import { openDatabase, type Database } from '../../src/db/client.ts';
import { migrateDatabase } from '../../src/db/migrate.ts';

export interface TestDatabase {
  database: Database;
  /** postgres:// url of the fresh database (PostgreSQL runs only). */
  url?: string;
  drop(): Promise<void>;
}

export const usingPostgres = () => Boolean(process.env.TEST_DATABASE_URL);

/** Creates an empty PostgreSQL database and returns its url and a dropper. */
export async function createPgDatabase(prefix = 'pg_test'): Promise<{ url: string; drop(): Promise<void> }> {
  const base = process.env.TEST_DATABASE_URL;
  if (!base) throw new Error('TEST_DATABASE_URL is not set');
  const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const a = postgres(base, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists "${name}" with (force)`);
      await a.end();
    },
  };
}

export async function createTestDatabase(): Promise<TestDatabase> {
  if (usingPostgres()) {
    const pg = await createPgDatabase();
    const database = await openDatabase({ url: pg.url });
    await migrateDatabase(database, pg.url);
    return {
      database,
      url: pg.url,
      async drop() {
        await database.close();
        await pg.drop();
      },
    };
  }
  const database = await openDatabase({ pgliteDir: 'memory://' });
  await migrateDatabase(database);
  return { database, drop: () => database.close() };
}
