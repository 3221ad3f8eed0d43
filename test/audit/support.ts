/** Shared fixtures for the audit tests: a signing key, a test database, and a way to tamper as a superuser. */
import { afterAll, beforeAll, beforeEach } from 'bun:test';
import { sql } from 'drizzle-orm';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { CheckpointSigner } from '../../src/audit/checkpoint.ts';
import type { Database, Db, Tx } from '../../src/db/client.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

export async function auditKeys(): Promise<{ signer: CheckpointSigner; publicJwk: JWK }> {
  const pair = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'audit-test', alg: 'ES256', use: 'sig' };
  return { signer: { key: pair.privateKey, kid: 'audit-test' }, publicJwk };
}

/**
 * Runs `fn` the way an attacker with superuser rights would: triggers off for this transaction only
 * (`session_replication_role = replica` needs superuser, which both test databases give us).
 */
export async function asSuperuserWithoutTriggers(db: Db, fn: (tx: Tx) => Promise<void>): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.execute(sql`set local session_replication_role = replica`);
    await fn(tx);
  });
}

/**
 * Timeout for database tests and the hooks that create databases. Bun 1.4 applies its 5 s default
 * whatever bunfig's [test] timeout says, and a cold in-memory PGlite initdb alone takes ~3 s on a busy machine.
 */
export const DB_TIMEOUT = 60_000;

/**
 * Empties both audit tables (triggers bypassed) so one database serves a whole file: a fresh PGlite
 * per test costs seconds, emptying costs milliseconds.
 */
export async function resetAuditTables(db: Db): Promise<void> {
  await asSuperuserWithoutTriggers(db, async (tx) => {
    await tx.execute(sql`delete from audit_entries`);
    await tx.execute(sql`delete from audit_checkpoints`);
    await tx.execute(sql`drop table if exists audit_test_scratch`);
  });
}

/** Statements that read stored entry texts from audit_entries (not counting max(seq)) while `fn` runs. */
export async function entryReads(database: Database, fn: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const off = database.onQuery((q) => {
    if (/from audit_entries/i.test(q) && /entry::text/i.test(q)) seen.push(q);
  });
  try {
    await fn();
  } finally {
    off();
  }
  return seen;
}

export interface AuditDatabase {
  signer: CheckpointSigner;
  publicJwk: JWK;
  t: TestDatabase;
  db: Db;
}

/**
 * What the checkpoint and tamper tests share: signing keys and a test database for the file (dropped after it), the
 * audit tables emptied before each test (a file's own beforeEach runs after that). `use` gets them once they exist.
 */
export function useAuditDatabase(use: (f: AuditDatabase) => void): void {
  let f: AuditDatabase | undefined;
  beforeAll(async () => {
    const keys = await auditKeys();
    const t = await createTestDatabase();
    f = { ...keys, t, db: t.database.db };
    use(f);
  }, DB_TIMEOUT);
  afterAll(() => f!.t.drop(), DB_TIMEOUT);
  beforeEach(() => resetAuditTables(f!.db), DB_TIMEOUT);
}
