/**
 * The privileges of the server's own PostgreSQL role in a least-privilege deployment (`cli db migrate --app-role`):
 * read and write the application's tables, read the audit chain, stage entries and append to the chain only
 * through `append_audit_entries` (migration 0007), and read which migrations ran. Nothing else: no CREATE anywhere, no
 * UPDATE/DELETE/TRUNCATE on the audit tables, no DELETE on staged entries, no ownership (ALTER, DISABLE TRIGGER).
 */
import { sql } from 'drizzle-orm';
import type { Database } from './client.ts';
import { rowsOf } from './rows.ts';

/** Tables only written through the rules below (append-only, or staged until chained). */
const AUDIT_TABLES = ['audit_entries', 'audit_checkpoints', 'audit_pending'] as const;

export class AppRoleError extends Error {
  override name = 'AppRoleError';
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** The statements that give `role` exactly what the server needs, revoking whatever it held before. */
export async function appRoleGrants(database: Database, role: string): Promise<string[]> {
  const [me] = rowsOf<{ db: string }>(await database.db.execute(sql`select current_database()::text as db`));
  const tables = rowsOf<{ name: string }>(
    await database.db.execute(sql`select tablename::text as name from pg_tables where schemaname = 'public' order by tablename`),
  ).map((t) => t.name);
  const appTables = tables.filter((t) => !(AUDIT_TABLES as readonly string[]).includes(t));
  const r = ident(role);
  return [
    // start from nothing, so a re-run also takes back what an earlier (e.g. hand-written) grant gave
    `REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${r}`,
    `REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM ${r}`,
    `REVOKE ALL ON SCHEMA public FROM ${r}`,
    // PostgreSQL before 15 let every role create in `public`, and every version lets every role create temporary
    // tables: this database's roles other than the owner create nothing
    `REVOKE CREATE ON SCHEMA public FROM PUBLIC`,
    `REVOKE CREATE, TEMPORARY ON DATABASE ${ident(me!.db)} FROM PUBLIC`,
    `REVOKE CREATE, TEMPORARY ON DATABASE ${ident(me!.db)} FROM ${r}`,
    `GRANT CONNECT ON DATABASE ${ident(me!.db)} TO ${r}`,
    `GRANT USAGE ON SCHEMA public TO ${r}`,
    ...(appTables.length ? [`GRANT SELECT, INSERT, UPDATE, DELETE ON ${appTables.map(ident).join(', ')} TO ${r}`] : []),
    // the chain is read here and appended to by append_audit_entries (SECURITY DEFINER), never written directly
    `GRANT SELECT ON audit_entries TO ${r}`,
    `GRANT SELECT, INSERT ON audit_checkpoints, audit_pending TO ${r}`,
    `GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${r}`,
    `GRANT EXECUTE ON FUNCTION append_audit_entries(bigint, text, text, text, text[], bigint[]) TO ${r}`,
    // to check at start that the schema is current (src/db/migrate.ts pendingMigrations)
    `GRANT USAGE ON SCHEMA drizzle TO ${r}`,
    `GRANT SELECT ON drizzle.__drizzle_migrations TO ${r}`,
  ];
}

/**
 * Grants `role` what the server needs (see {@link appRoleGrants}), in one transaction. Refuses a role that is
 * missing, a superuser, or the tables' owner (or a member of it): such a role could rewrite the audit log.
 */
export async function grantAppRole(database: Database, role: string): Promise<string[]> {
  if (database.kind !== 'postgres')
    throw new AppRoleError('--app-role needs PostgreSQL (DATABASE_URL): the embedded database has no roles');
  const [found] = rowsOf<{ superuser: boolean; owner: boolean; me: boolean }>(
    await database.db.execute(sql`
      select r.rolsuper as superuser, pg_has_role(r.oid, c.relowner, 'USAGE') as owner, r.rolname = current_user as me
      from pg_roles r, pg_class c where r.rolname = ${role} and c.oid = to_regclass('public.audit_entries')`),
  );
  if (!found) throw new AppRoleError(`role "${role}" does not exist (create it first: CREATE ROLE ${role} LOGIN PASSWORD '…')`);
  if (found.superuser || found.owner || found.me) {
    throw new AppRoleError(`role "${role}" is a superuser or owns the tables: the server must run as a role of its own, not as the owner`);
  }
  const statements = await appRoleGrants(database, role);
  await database.db.transaction(async (tx) => {
    for (const s of statements) await tx.execute(sql.raw(s));
  });
  return statements;
}
