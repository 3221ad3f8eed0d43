/**
 * Runs the operator CLI as a child process, the way an operator does, against a fresh database:
 * a new PostgreSQL database when TEST_DATABASE_URL is set, else embedded PGlite in a temporary DATA_DIR.
 * The CLI migrates by itself but never seeds; tests that need jurisdictions seed the small demo data first.
 */
import { eq } from 'drizzle-orm';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Database } from '../../src/db/client.ts';
import { migrateDatabase } from '../../src/db/migrate.ts';
import { permits } from '../../src/db/schema/permits.ts';
import { seedDemoData } from '../../src/db/seed.ts';
import { createPgDatabase, usingPostgres } from '../helpers/database.ts';

const ROOT = join(import.meta.dir, '..', '..');

/** Timeout for hooks that create and seed a database (Bun's 5 s hook default is far too short). */
export const CLI_HOOK_TIMEOUT = 120_000;
/** Timeout for a test that spawns the CLI several times (each run opens the database; slow on a busy machine). */
export const CLI_TEST_TIMEOUT = 180_000;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliDatabase {
  /** Environment for the child process: DATA_DIR, and DATABASE_URL on PostgreSQL runs. */
  env: Record<string, string>;
  dataDir: string;
  /** Opens the same database from the test (close it before running the CLI on PGlite). */
  open(): Promise<Database>;
  drop(): Promise<void>;
}

/** Runs `bun run src/cli/main.ts …args` with `env` on top of a clean copy of the test's environment. */
export async function runCli(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<CliResult> {
  const base: Record<string, string | undefined> = { ...process.env, APP_ENV: 'test', LOG_LEVEL: 'silent' };
  // never inherit a database or a production key from the shell running the tests
  delete base.DATABASE_URL;
  delete base.SIGNING_KEY_PEM;
  const proc = Bun.spawn(['bun', 'run', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    env: { ...base, ...env },
    stdin: stdin === undefined ? 'ignore' : new TextEncoder().encode(stdin),
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** A fresh, migrated database with the small demo data (two jurisdictions, contractors, permits). */
export async function createCliDatabase(opts: { seed?: boolean } = {}): Promise<CliDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pg-cli-'));
  const pg = usingPostgres() ? await createPgDatabase('pg_cli') : null;
  const open = () => (pg ? openDatabase({ url: pg.url, poolMax: 2 }) : openDatabase({ pgliteDir: join(dataDir, 'pglite') }));
  const database = await open();
  try {
    await migrateDatabase(database, pg?.url);
    if (opts.seed ?? true) await seedDemoData(database.db, 'small');
  } finally {
    await database.close(); // PGlite: the CLI must be able to take the directory
  }
  return {
    env: { DATA_DIR: dataDir, ...(pg ? { DATABASE_URL: pg.url } : {}) },
    dataDir,
    open,
    async drop() {
      await pg?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Puts an email address into one permit's free-text description, as an applicant might. */
export async function plantEmailInDescription(cdb: CliDatabase): Promise<string> {
  const database = await cdb.open();
  try {
    const [p] = await database.db.select({ num: permits.permitNum }).from(permits).limit(1);
    if (!p) throw new Error('no permit to change');
    await database.db
      .update(permits)
      .set({ description: 'Call the owner at owner@example.com before digging' })
      .where(eq(permits.permitNum, p.num));
    return p.num;
  } finally {
    await database.close();
  }
}
