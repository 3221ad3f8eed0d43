/**
 * Applies the drizzle-kit migrations in `drizzle/` to either database, or, for a role that cannot run DDL (the app
 * role of a least-privilege deployment), checks that the owner already did (`cli db migrate --app-role`).
 */
import { sql } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import type { Database } from './client.ts';
import { rowsOf } from './rows.ts';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));
const MIGRATION_LOCK = 7_301_000_001; // advisory lock id: several instances may start at once

export async function migrateDatabase(database: Database, url?: string): Promise<void> {
  if (database.kind === 'pglite') {
    // drizzle's pglite migrator wants its own db type
    await migratePglite(database.db as never, { migrationsFolder: MIGRATIONS_FOLDER });
    return;
  }
  if (!url) throw new Error('migrateDatabase: the PostgreSQL url is required');
  const client = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    await client`select pg_advisory_lock(${MIGRATION_LOCK})`;
    await migratePostgres(drizzlePostgres(client), { migrationsFolder: MIGRATIONS_FOLDER });
    await client`select pg_advisory_unlock(${MIGRATION_LOCK})`;
  } finally {
    await client.end({ timeout: 5 });
  }
}

/** The migration tags (`0007_audit_chain_function`, …) in journal order, as drizzle-kit wrote them. */
function migrationTags(): string[] {
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as { entries: { tag: string }[] };
  return journal.entries.map((e) => e.tag);
}

/**
 * Migrations not applied yet, by tag. drizzle's migrator applies every migration newer than the last one it
 * recorded in `drizzle.__drizzle_migrations` (by the journal's time), so that is what is compared here.
 */
export async function pendingMigrations(database: Database): Promise<string[]> {
  const files = readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER });
  const tags = migrationTags();
  const [table] = rowsOf<{ present: boolean }>(
    await database.db.execute(sql`select to_regclass('drizzle.__drizzle_migrations') is not null as present`),
  );
  let last = -1;
  if (table?.present) {
    const [row] = rowsOf<{ last: string | null }>(
      await database.db.execute(sql`select max(created_at)::text as last from drizzle.__drizzle_migrations`),
    );
    last = row?.last == null ? -1 : Number(row.last);
  }
  return files.flatMap((f, i) => (f.folderMillis > last ? [tags[i] ?? String(f.folderMillis)] : []));
}

/**
 * Whether the connected role may run the migrations: a superuser, the owner of the tables (or a member of the
 * owning role), or, on a database not migrated yet, a role that may create in it. PGlite: always.
 */
export async function canMigrate(database: Database): Promise<boolean> {
  if (database.kind === 'pglite') return true;
  const [row] = rowsOf<{ can: boolean }>(
    await database.db.execute(sql`
      select r.rolsuper or coalesce(pg_has_role(current_user, c.relowner, 'USAGE'),
                                    has_database_privilege(current_database(), 'CREATE') and has_schema_privilege('public', 'CREATE')) as can
      from pg_roles r left join pg_class c on c.oid = to_regclass('public.audit_entries')
      where r.rolname = current_user`),
  );
  return row?.can === true;
}

/** The schema is behind the code and the connected role may not bring it up to date. */
export class SchemaNotCurrentError extends Error {
  constructor(
    readonly role: string,
    readonly pending: readonly string[],
  ) {
    super(
      `the database schema is not current (${pending.length} migration(s) pending: ${pending.join(', ')}) and role "${role}" may not migrate it: ` +
        `run \`bun run cli db migrate --app-role ${role}\` as the database owner, then start again`,
    );
    this.name = 'SchemaNotCurrentError';
  }
}

/**
 * Brings the schema up to date when the connected role may (development, PGlite, the owner), otherwise only checks
 * that it is: a least-privilege role never attempts DDL, and a stale schema stops the start naming the command.
 */
export async function ensureSchemaCurrent(database: Database, url?: string): Promise<'migrated' | 'current'> {
  if (await canMigrate(database)) {
    await migrateDatabase(database, url);
    return 'migrated';
  }
  const pending = await pendingMigrations(database);
  if (pending.length === 0) return 'current';
  const [me] = rowsOf<{ role: string }>(await database.db.execute(sql`select current_user::text as role`));
  throw new SchemaNotCurrentError(me?.role ?? 'APP_ROLE', pending);
}
