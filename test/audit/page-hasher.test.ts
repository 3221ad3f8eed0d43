/**
 * Checkpoint verification hashes its pages in a worker thread (src/audit/page-hasher.ts): the hashes, the
 * verification results (valid chain, edited entry, rewritten link, unhashable entry) and the signed checkpoint must
 * be exactly those of hashing in the serving thread; a worker that does not answer falls back to inline hashing.
 */
import { afterAll, beforeAll, beforeEach, expect, setDefaultTimeout, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { appendAuditEntry } from '../../src/audit/append.ts';
import { entryHash, GENESIS_HASH } from '../../src/audit/hash-chain.ts';
import { createWorkerPageHasher, inlinePageHasher, type PageHasher } from '../../src/audit/page-hasher.ts';
import { takeCheckpoint } from '../../src/audit/take-checkpoint.ts';
import { loadAndVerify } from '../../src/audit/verify-chain.ts';
import type { Db } from '../../src/db/client.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { asSuperuserWithoutTriggers, auditKeys, DB_TIMEOUT, resetAuditTables } from './support.ts';

setDefaultTimeout(120_000);

let t: TestDatabase;
let db: Db;
let worker: PageHasher;
beforeAll(async () => {
  t = await createTestDatabase();
  db = t.database.db;
  worker = createWorkerPageHasher();
}, DB_TIMEOUT);
afterAll(async () => {
  worker.close();
  await t.drop();
}, DB_TIMEOUT);
beforeEach(async () => {
  await resetAuditTables(db);
  for (let i = 1; i <= 40; i++) {
    await appendAuditEntry(db, { op: 'permit', n: i, note: i % 3 ? 'ASCII' : 'Grüße – 許可 ✓', nested: { list: [i, i / 7, null, true] } });
  }
}, DB_TIMEOUT);

const ENTRIES = [
  { a: 1, b: [1, 2.5, 'x'], c: { z: null, y: 'ü' } },
  { outcome: 'ALLOWED', text: 'line\nbreak "quoted" \\ slash' },
  { n: 1e21, m: -0.000001, big: 12345678901234567890 },
];

test('the worker computes exactly entryHash; unhashable rows come back as errors with the same message', async () => {
  const prev = 'a'.repeat(64);
  const rows = ENTRIES.map((e) => ({ prevHash: prev, entry: JSON.stringify(e) }));
  const bad = [
    { prevHash: prev, entry: '{"unterminated": ' },
    { prevHash: 'not-a-hash', entry: '{}' },
  ];
  const fromWorker = await worker.hash([...rows, ...bad]);
  const inline = await inlinePageHasher.hash([...rows, ...bad]);
  expect(fromWorker.slice(0, 3)).toEqual(ENTRIES.map((e) => entryHash(prev, e)));
  expect(fromWorker).toEqual(inline);
  expect(typeof fromWorker[3]).toBe('object');
  expect((fromWorker[4] as { error: string }).error).toContain('prevHash must be 64 lowercase hex');
});

test('a valid log: the same verification and the same checkpoint with and without the worker', async () => {
  const a = await loadAndVerify(db, { pageSize: 7 });
  const b = await loadAndVerify(db, { pageSize: 7, pageHasher: worker });
  expect(b).toEqual(a);
  expect(b.ok).toBe(true);
  expect(b.size).toBe(40);
  const { signer } = await auditKeys();
  const taken = await takeCheckpoint(db, signer, { pageSize: 7, pageHasher: worker, now: () => new Date('2026-01-01T00:00:00Z') });
  expect(taken.statement).toMatchObject({ size: 40, headHash: a.headHash, rootHash: a.rootHash });
});

test('an edited entry, a rewritten link and a wrong stored hash are reported alike', async () => {
  await asSuperuserWithoutTriggers(db, async (tx) => {
    await tx.execute(sql`update audit_entries set entry = jsonb_set(entry, '{n}', '999') where seq = 12`);
  });
  const edited = await loadAndVerify(db, { pageSize: 5, pageHasher: worker });
  expect(edited).toEqual(await loadAndVerify(db, { pageSize: 5 }));
  expect(edited).toMatchObject({ ok: false, firstBadSeq: 12 });

  await resetAuditTables(db);
  for (let i = 1; i <= 10; i++) await appendAuditEntry(db, { op: 'permit', n: i });
  await asSuperuserWithoutTriggers(db, async (tx) => {
    // seq 6 re-linked to a made-up predecessor and re-hashed consistently with it
    const fake = 'b'.repeat(64);
    await tx.execute(sql`update audit_entries set prev_hash = ${fake}, hash = ${entryHash(fake, { op: 'permit', n: 6 })} where seq = 6`);
  });
  const relinked = await loadAndVerify(db, { pageSize: 4, pageHasher: worker });
  expect(relinked).toEqual(await loadAndVerify(db, { pageSize: 4 }));
  expect(relinked).toMatchObject({ ok: false, firstBadSeq: 6 });

  await resetAuditTables(db);
  await asSuperuserWithoutTriggers(db, async (tx) => {
    await tx.execute(
      sql`insert into audit_entries (seq, entry, prev_hash, hash) values (1, '{"n": 1}'::jsonb, ${GENESIS_HASH}, ${'0'.repeat(64)})`,
    );
  });
  const wrongHash = await loadAndVerify(db, { pageHasher: worker });
  expect(wrongHash).toEqual(await loadAndVerify(db));
  expect(wrongHash).toMatchObject({ ok: false, firstBadSeq: 1 });
});

test('a worker that does not answer in time: pages are hashed inline, the result is the same', async () => {
  const fallbacks: unknown[] = [];
  const impatient = createWorkerPageHasher({ answerMs: 0, onFallback: (e) => fallbacks.push(e) });
  try {
    const r = await loadAndVerify(db, { pageSize: 9, pageHasher: impatient });
    expect(r).toEqual(await loadAndVerify(db, { pageSize: 9 }));
    expect(r.ok).toBe(true);
    expect(fallbacks).toHaveLength(1);
    expect(String(fallbacks[0])).toContain('no answer from the hashing worker');
  } finally {
    impatient.close();
  }
});
