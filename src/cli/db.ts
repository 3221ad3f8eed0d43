/** `db migrate [--app-role ROLE]`: the owner's deployment step before the server starts as the app role. */
import { openDatabase } from '../db/client.ts';
import { AppRoleError, grantAppRole } from '../db/app-role.ts';
import { migrateDatabase, pendingMigrations } from '../db/migrate.ts';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from './command.ts';
import { CliError, ExitCode, parseOptions, usageError } from './io.ts';
import { DirLockedError } from '../db/dir-lock.ts';

export const dbMigrate: Command = {
  name: 'db migrate',
  summary: 'apply migrations (as the database owner) and grant --app-role what the server needs',
  help: `Usage: cli db migrate [--app-role ROLE] [--json]

Run as the role that owns the database objects (DATABASE_URL). Applies the pending migrations and, with
--app-role, grants ROLE exactly what the server needs: read/write on the application's tables, SELECT on the audit
chain, INSERT on checkpoints and staged entries, EXECUTE on append_audit_entries; no CREATE, no UPDATE/DELETE/TRUNCATE on the
audit tables, no DELETE on staged entries. Start the server with ROLE in its DATABASE_URL: it only checks that the
schema is current and refuses to start, naming this command, when it is not.`,
  async run(argv, { out, config }) {
    const o = parseOptions(argv, { 'app-role': { type: 'string' } });
    const role = o['app-role'];
    if (role !== undefined && !/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/.test(role))
      throw usageError(`--app-role: "${role}" is not a plain role name`);
    const cfg = config();
    if (role !== undefined && !cfg.databaseUrl)
      throw usageError('--app-role needs PostgreSQL (DATABASE_URL): the embedded database has no roles');
    let database;
    if (cfg.databaseUrl) database = await openDatabase({ url: cfg.databaseUrl, poolMax: 2 });
    else {
      mkdirSync(cfg.dataDir, { recursive: true, mode: 0o700 });
      try {
        database = await openDatabase({ pgliteDir: join(cfg.dataDir, 'pglite') });
      } catch (err) {
        if (err instanceof DirLockedError) throw new CliError(`cannot open the database: ${err.message}`);
        throw err;
      }
    }
    let result: { applied: string[]; appRole: string | null; grants: string[] };
    try {
      const applied = await pendingMigrations(database);
      await migrateDatabase(database, cfg.databaseUrl);
      const grants = role === undefined ? [] : await grantAppRole(database, role);
      result = { applied, appRole: role ?? null, grants };
    } catch (err) {
      if (err instanceof AppRoleError) throw new CliError(err.message);
      throw err;
    } finally {
      await database.close();
    }
    await out.result(result, () =>
      [
        result.applied.length
          ? `Applied ${result.applied.length} migration(s): ${result.applied.join(', ')}`
          : 'The schema was already current.',
        ...(result.appRole ? [`Role "${result.appRole}" holds exactly what the server needs (${result.grants.length} statements).`] : []),
      ].join('\n'),
    );
    return ExitCode.OK;
  },
};
