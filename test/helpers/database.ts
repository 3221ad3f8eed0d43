/**
 * A fresh, migrated database per test file: embedded PGlite in memory by default, or, when
 * TEST_DATABASE_URL is set, a new PostgreSQL database created for this run and dropped afterwards.
 */
import postgres from 'postgres';
import { openDatabase, type Database } from '../../src/db/client.ts';
import { migrateDatabase } from '../../src/db/migrate.ts';
import { seedDemoData } from '../../src/db/seed.ts';

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

/** The url of `base` as another role (trust authentication on the test server). */
export function asRole(base: string, role: string): string {
  const u = new URL(base);
  u.username = role;
  u.password = '';
  return u.toString();
}

/**
 * The README's deployment on an empty PostgreSQL database: login roles `owner` (which owns the database, so also its
 * `public` schema: PostgreSQL 15 gives it to pg_database_owner) and `app`. Roles are cluster-wide: `drop()` drops them
 * once their database is gone.
 */
export async function createPgDatabaseWithRoles(
  prefix: string,
  roles: { owner: string; app: string },
): Promise<{ url: string; drop(): Promise<void> }> {
  const db = await createPgDatabase(prefix);
  const admin = postgres(db.url, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create role ${roles.owner} login`);
    await admin.unsafe(`create role ${roles.app} login`);
    await admin.unsafe(`alter database "${new URL(db.url).pathname.slice(1)}" owner to ${roles.owner}`);
  } finally {
    await admin.end();
  }
  return {
    url: db.url,
    async drop() {
      await db.drop();
      const cluster = postgres(process.env.TEST_DATABASE_URL!, { max: 1, onnotice: () => {} });
      try {
        await cluster.unsafe(`drop role if exists ${roles.app}`);
        await cluster.unsafe(`drop role if exists ${roles.owner}`);
      } finally {
        await cluster.end();
      }
    },
  };
}

// Migrated (and seeded) PGlite data directories, made once per test process and cloned for each test file:
// loading a dump skips initdb and the migrations (seconds per file on a busy machine).
const templates = ((globalThis as Record<string, unknown>).__pgliteTemplates ??= new Map()) as Map<string, Promise<Blob>>;

async function pgliteTemplate(seed: 'none' | 'small'): Promise<Blob> {
  let t = templates.get(seed);
  if (!t) {
    t = (async () => {
      const database = await openDatabase({ pgliteDir: 'memory://' });
      await migrateDatabase(database);
      if (seed === 'small') await seedDemoData(database.db, 'small');
      const blob = await database.dump!();
      await database.close();
      return blob;
    })();
    templates.set(seed, t);
  }
  return t;
}

/** A fresh migrated database; `seed: 'small'` also loads the small deterministic demo data set. */
export async function createTestDatabase(opts: { seed?: 'none' | 'small' } = {}): Promise<TestDatabase> {
  const seed = opts.seed ?? 'none';
  if (usingPostgres()) {
    const pg = await createPgDatabase();
    const database = await openDatabase({ url: pg.url });
    await migrateDatabase(database, pg.url);
    if (seed === 'small') await seedDemoData(database.db, 'small');
    return {
      database,
      url: pg.url,
      async drop() {
        await database.close();
        await pg.drop();
      },
    };
  }
  const database = await openDatabase({ pgliteDir: 'memory://', pgliteTemplate: await pgliteTemplate(seed) });
  return { database, drop: () => database.close() };
}

/**
 * A migrated PGlite data directory with the small demo data at `dir` (closed again), for a server started as a child
 * process on it: the test process's template instead of an initdb, the migrations and the seed in the child.
 */
export async function writeSeededPgliteDir(dir: string): Promise<void> {
  const database = await openDatabase({ pgliteDir: dir, pgliteTemplate: await pgliteTemplate('small') });
  await database.close();
}
