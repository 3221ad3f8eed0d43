/**
 * Opens the configured database for one CLI command, with its schema current, and closes it afterwards.
 * Embedded PGlite belongs to one process: when the server holds DATA_DIR, openDatabase throws
 * DirLockedError and the command stops with that message (main.ts turns it into a non-zero exit).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AppConfig } from '../config.ts';
import { openDatabase, type Database } from '../db/client.ts';
import { DirLockedError } from '../db/dir-lock.ts';
import { ensureSchemaCurrent } from '../db/migrate.ts';
import { CliError } from './io.ts';

export async function withDatabase<T>(config: AppConfig, fn: (database: Database) => Promise<T>): Promise<T> {
  let database: Database;
  if (config.databaseUrl) {
    database = await openDatabase({ url: config.databaseUrl, poolMax: 2 });
  } else {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    try {
      database = await openDatabase({ pgliteDir: join(config.dataDir, 'pglite') });
    } catch (err) {
      if (err instanceof DirLockedError) throw new CliError(`cannot open the database: ${err.message}`);
      throw err;
    }
  }
  try {
    // as the server: migrated when this role may, otherwise only checked (run `db migrate` as the owner)
    await ensureSchemaCurrent(database, config.databaseUrl);
    return await fn(database);
  } finally {
    await database.close();
  }
}
