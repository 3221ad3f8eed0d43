/**
 * A group commit stays cheap as the chain grows. The connections keep one generic plan per prepared statement, made
 * at its first execution; the appender's head query (which of the offered `entryId`s the chain holds) planned on a
 * short chain kept a sequential scan, so each group commit scanned the whole chain (seconds per commit after a few
 * minutes at 5,000 reads/s, with entries piling up in memory behind it). Checked through PostgreSQL's own counters:
 * after the chain has grown, appends on a connection that appended while it was short make no sequential scan of
 * `audit_entries`. PostgreSQL only (PGlite plans every statement anew).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { sql } from 'drizzle-orm';
import { appendAuditEntries } from '../../src/audit/append.ts';
import { loadInclusionProof } from '../../src/audit/inclusion.ts';
import { loadEntry, loadLeafHashes } from '../../src/audit/transparency/leaf-hashes.ts';
import { loadAndVerify } from '../../src/audit/verify-chain.ts';
import { openDatabase, type Database } from '../../src/db/client.ts';
import { migrateDatabase } from '../../src/db/migrate.ts';
import { createPgDatabase, usingPostgres } from '../helpers/database.ts';

setDefaultTimeout(120_000);

let pg: { url: string; drop(): Promise<void> };
let database: Database;
let observer: postgres.Sql;

/** Sequential and index scans of `audit_entries` so far, as the statistics collector has them. */
async function scans(): Promise<{ seq: number; idx: number }> {
  // a fresh snapshot each time: the reading session would otherwise keep the first one for its transaction
  await observer`select pg_stat_clear_snapshot()`;
  const [row] = await observer<{ seq: string; idx: string }[]>`
    select seq_scan::text as seq, coalesce(idx_scan, 0)::text as idx from pg_stat_user_tables where relname = 'audit_entries'`;
  return { seq: Number(row?.seq ?? 0), idx: Number(row?.idx ?? 0) };
}

/** The app session's counters once it has reported them (asked to at its next idle moment). */
async function settledScans(atLeastIdx: number): Promise<{ seq: number; idx: number }> {
  await database.db.execute(sql`select pg_stat_force_next_flush()`);
  for (let i = 0; i < 50; i++) {
    const s = await scans();
    if (s.idx >= atLeastIdx) return s;
    await Bun.sleep(100);
  }
  return scans();
}

const offered = (n: number) => Array.from({ length: n }, (_, i) => ({ kind: 'graphql', tag: `plan-${i}`, entryId: randomUUID() }));

describe.skipIf(!usingPostgres())('the audit append on a growing chain', () => {
  beforeAll(async () => {
    pg = await createPgDatabase('pg_append_plan');
    // one connection: the appends below share the session whose plans are cached
    database = await openDatabase({ url: pg.url, poolMax: 1 });
    await migrateDatabase(database, pg.url);
    observer = postgres(pg.url, { max: 1, onnotice: () => {} });
  }, 60_000);

  afterAll(async () => {
    await observer?.end();
    await database?.close();
    await pg?.drop();
  });

  // runs first: the test after it grows the chain with rows that do not verify
  test("after the chain grew, a checkpoint's verification and the proofs read it by index, a page at a time", async () => {
    const { db } = database;
    // what another instance appended is unknown to this one's checkpoint: read and hashed in full
    const unknown = { get: () => undefined };
    for (let i = 0; i < 4; i++) await db.transaction((tx) => appendAuditEntries(tx, offered(50), { withPending: true }));
    await observer`analyze audit_entries`;
    // and what the transparency endpoints read as the log grows: leaf hashes, one entry, an inclusion proof
    for (let i = 0; i < 6; i++) {
      expect((await loadAndVerify(db, { pageSize: 50, knownHashes: unknown })).ok).toBe(true);
      expect(await loadLeafHashes(db, 200, 50)).toHaveLength(200);
      expect(await loadEntry(db, 5)).not.toBeNull();
      expect(await loadInclusionProof(db, 5, 200, 50)).not.toBeNull();
    }
    // the chain grows through another session (another instance), with entries that verify
    const other = await openDatabase({ url: pg.url, poolMax: 1 });
    try {
      for (let i = 0; i < 20; i++) await other.db.transaction((tx) => appendAuditEntries(tx, offered(1000)));
    } finally {
      await other.close();
    }
    const before = await settledScans(0);
    const verified = await loadAndVerify(db, { pageSize: 2000, knownHashes: unknown });
    expect(verified).toMatchObject({ ok: true, size: 20_200 });
    expect(await loadLeafHashes(db, 20_200, 2000)).toHaveLength(20_200);
    expect((await loadEntry(db, 20_100))?.seq).toBe(20_100);
    expect(await loadInclusionProof(db, 20_100, 20_200, 2000)).not.toBeNull();
    const after = await settledScans(before.idx + 20);
    expect(after.seq - before.seq).toBe(0);
  });

  test('after the chain grew, a group commit reads it by index, not by scanning all of it', async () => {
    const { db } = database;
    // the chain while it is short, with statistics that say so (the demo seed ends with ANALYZE, as autovacuum
    // would), then appends on the app's session: its statements are planned now
    for (let i = 0; i < 4; i++) await db.transaction((tx) => appendAuditEntries(tx, offered(50), { withPending: true }));
    await observer`analyze audit_entries`;
    for (let i = 0; i < 4; i++) await db.transaction((tx) => appendAuditEntries(tx, offered(10), { withPending: true }));
    // the chain grows (as the schema owner, continuing its head; hashes are not what this test is about)
    await observer.unsafe(`
      insert into audit_entries (seq, entry, prev_hash, hash)
      select s, jsonb_build_object('kind', 'bulk', 'entryId', 'bulk-' || s), repeat('0', 64), repeat('0', 64)
      from generate_series((select max(seq) from audit_entries) + 1, (select max(seq) from audit_entries) + 60000) s`);
    const before = await settledScans(0);
    for (let i = 0; i < 6; i++) {
      const appended = await db.transaction((tx) => appendAuditEntries(tx, offered(200), { withPending: true }));
      expect(appended).toHaveLength(200);
    }
    // the head query's lookup of the offered entryIds alone is 6 index scans
    const after = await settledScans(before.idx + 6);
    expect(after.idx - before.idx).toBeGreaterThanOrEqual(6);
    expect(after.seq - before.seq).toBe(0);
    // and what the appends wrote continues the chain's head
    const [last] = await observer<{ seq: string; n: string }[]>`
      select max(seq)::text as seq, count(*)::text as n from audit_entries`;
    expect(Number(last?.seq)).toBe(Number(last?.n));
  });
});
