/**
 * Appending is idempotent per recorded entry (`entryId`): an entry sent again after it was committed (a worker that
 * died before acknowledging, a spool written when the commit's answer was lost) is chained once.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { exportPKCS8 } from 'jose';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { appendAuditEntries } from '../../src/audit/append.ts';
import { createAuditRecorder } from '../../src/audit/recorder.ts';
import { createThreadedAuditRecorder } from '../../src/audit/recorder.ts';
import { loadAndVerify } from '../../src/audit/verify-chain.ts';
import type { Db } from '../../src/db/client.ts';
import { jsonOf, rowsOf } from '../../src/db/rows.ts';
import { createTestDatabase, usingPostgres, type TestDatabase } from '../helpers/database.ts';
import { auditKeys, DB_TIMEOUT, resetAuditTables } from './support.ts';

setDefaultTimeout(60_000);

let t: TestDatabase;
let db: Db;
let dir: string;
beforeAll(async () => {
  t = await createTestDatabase();
  db = t.database.db;
  dir = mkdtempSync(join(tmpdir(), 'pg-audit-idem-'));
}, DB_TIMEOUT);
afterAll(async () => {
  await t?.drop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => resetAuditTables(db), DB_TIMEOUT);

const log = pino({ level: 'silent' });
const stored = async (tag: string) =>
  rowsOf<{ entry: unknown }>(await db.execute(sql`select entry from audit_entries where entry->>'tag' = ${tag} order by seq`)).map((r) =>
    jsonOf(r.entry as Record<string, unknown>),
  );

describe('idempotent appends', () => {
  test('an entry appended again with the same entryId is a no-op, also twice in one batch; the chain stays valid', async () => {
    const entry = { kind: 'graphql', tag: 'again', entryId: 'e2e3c1d0-0000-4000-8000-000000000001' };
    await appendAuditEntries(db, [entry]);
    const second = await appendAuditEntries(db, [entry, { kind: 'graphql', tag: 'other' }]);
    expect(second.map((r) => r.entry.tag)).toEqual(['other']);
    await appendAuditEntries(db, [
      { ...entry, entryId: 'e2e3c1d0-0000-4000-8000-000000000002' },
      { ...entry, entryId: 'e2e3c1d0-0000-4000-8000-000000000002' },
    ]);
    expect(await stored('again')).toHaveLength(2);
    // entries without an id (staged mutation entries, older callers) are not merged
    await appendAuditEntries(db, [
      { kind: 'graphql', tag: 'no-id' },
      { kind: 'graphql', tag: 'no-id' },
    ]);
    expect(await stored('no-id')).toHaveLength(2);
    expect((await loadAndVerify(db)).ok).toBe(true);
  });

  test('a recorded entry spooled again after its commit (the answer was lost) is chained once at the next start', async () => {
    const first = createAuditRecorder({ db, log, flushMs: 5 });
    first.record({ kind: 'graphql', tag: 'spooled-twice', requestId: 'r-1' });
    await first.flush();
    await first.close();
    const [appended] = await stored('spooled-twice');
    expect(appended).toBeDefined();
    // what the serving thread would spool: the entry as it was recorded (no createdAt, that is the chain's)
    const { createdAt: _c, ...asRecorded } = appended as Record<string, unknown>;
    const spoolFile = join(dir, 'spool.jsonl');
    writeFileSync(spoolFile, `${JSON.stringify(asRecorded)}\n`);
    const next = createAuditRecorder({ db, log, flushMs: 5, spoolFile });
    await next.flush();
    await next.close();
    expect(await stored('spooled-twice')).toHaveLength(1);
    expect((await loadAndVerify(db)).ok).toBe(true);
  });
});

describe.skipIf(!usingPostgres())('idempotent appends through the audit worker (PostgreSQL)', () => {
  test('a worker that dies after its commit, before acknowledging: the fallback does not append the entries again', async () => {
    const { signer } = await auditKeys();
    const lines: string[] = [];
    const threaded = createThreadedAuditRecorder({
      databaseUrl: t.url!,
      log: pino({ level: 'info' }, { write: (l: string) => void lines.push(l) }),
      signer: { pem: await exportPKCS8(signer.key as CryptoKey), kid: signer.kid },
      flushMs: 5,
      fallback: () => createAuditRecorder({ db, log }),
      workerUrl: new URL('./fixtures/audit-worker-dies-before-ack.ts', import.meta.url).href,
    });
    for (let i = 0; i < 5; i++) threaded.record({ kind: 'graphql', tag: 'worker-died', n: i });
    for (let i = 0; i < 100 && !lines.some((l) => l.includes('audit worker failed')); i++) await Bun.sleep(50);
    expect(lines.some((l) => l.includes('audit worker failed'))).toBe(true);
    await threaded.flush();
    await threaded.close();
    expect((await stored('worker-died')).map((e) => e.n)).toEqual([0, 1, 2, 3, 4]);
    expect((await loadAndVerify(db)).ok).toBe(true);
  });
});
