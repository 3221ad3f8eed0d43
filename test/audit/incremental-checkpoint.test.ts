/**
 * Periodic checkpoints in time proportional to what was appended since the last one (takeNextCheckpoint):
 * the same statement as a full verification would sign, only the new entries read, no laundering of a prefix
 * edited since the last checkpoint, and a full verification whenever the stored starting point is not usable.
 */
import { expect, setDefaultTimeout, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import type { JWK } from 'jose';
import { appendAuditEntries } from '../../src/audit/append.ts';
import { verifyCheckpoint, type CheckpointSigner } from '../../src/audit/checkpoint.ts';
import { MerkleAccumulator, merkleRoot } from '../../src/audit/merkle.ts';
import { takeCheckpoint, takeNextCheckpoint } from '../../src/audit/take-checkpoint.ts';
import { loadAndVerify } from '../../src/audit/verify-chain.ts';
import type { Db } from '../../src/db/client.ts';
import { rowsOf } from '../../src/db/rows.ts';
import type { TestDatabase } from '../helpers/database.ts';
import { asSuperuserWithoutTriggers, auditKeys, entryReads, useAuditDatabase } from './support.ts';

setDefaultTimeout(120_000);

let signer: CheckpointSigner;
let publicJwk: JWK;
let t: TestDatabase;
let db: Db;
useAuditDatabase((f) => ({ signer, publicJwk, t, db } = f));

const append = (from: number, n: number) =>
  appendAuditEntries(
    db,
    Array.from({ length: n }, (_, i) => ({ op: 'permit', n: from + i, outcome: 'ALLOWED' })),
  );

test('a Merkle accumulator resumed from a frontier gives the roots of one fed every leaf', () => {
  const hashes = Array.from({ length: 77 }, (_, i) => new Bun.CryptoHasher('sha256').update(String(i)).digest('hex'));
  for (const cut of [0, 1, 2, 3, 8, 13, 64, 76]) {
    const head = new MerkleAccumulator();
    for (const h of hashes.slice(0, cut)) head.push(h);
    const resumed = MerkleAccumulator.fromFrontier(head.frontier());
    for (const h of hashes.slice(cut)) resumed.push(h);
    expect(resumed.root()).toBe(merkleRoot(hashes));
  }
  expect(() => MerkleAccumulator.fromFrontier([{ size: 3, hash: hashes[0]! }])).toThrow();
});

test('the next checkpoint signs what a full verification signs, reading only the entries since the last one', async () => {
  await append(1, 40);
  await takeCheckpoint(db, signer);
  await append(41, 25);
  let next: Awaited<ReturnType<typeof takeNextCheckpoint>> | undefined;
  const reads = await entryReads(t.database, async () => {
    next = await takeNextCheckpoint(db, signer, { publicKeys: publicJwk });
  });
  const full = await loadAndVerify(db, { publicKeys: publicJwk });
  expect(full.ok).toBe(true);
  expect(next!.statement).toMatchObject({ size: 65, headHash: full.headHash, rootHash: full.rootHash });
  expect(await verifyCheckpoint(next!.jws, publicJwk)).toEqual(next!.statement);
  // one page of entries, starting after seq 40
  expect(reads).toHaveLength(1);
  expect(reads[0]).toMatch(/seq > \$1::bigint/);
  // and it chains on: a third checkpoint from the second
  await append(66, 10);
  const third = await takeNextCheckpoint(db, signer, { publicKeys: publicJwk });
  expect(third.statement.rootHash).toBe((await loadAndVerify(db)).rootHash);
});

test('an entry edited before the last checkpoint is not laundered into the next one', async () => {
  await append(1, 20);
  const before = await loadAndVerify(db);
  await takeCheckpoint(db, signer);
  await asSuperuserWithoutTriggers(db, async (tx) => {
    await tx.execute(sql`update audit_entries set entry = jsonb_set(entry, '{outcome}', '"DENIED"') where seq = 5`);
  });
  await append(21, 5);
  const next = await takeNextCheckpoint(db, signer, { publicKeys: publicJwk });
  // signed over the log as it was checkpointed, extended by the new entries
  const honest = new MerkleAccumulator();
  for (const h of [...(await hashesUpTo(20)), ...(await hashesFrom(21))]) honest.push(h);
  expect(next.statement.rootHash).toBe(honest.root());
  expect(before.size).toBe(20);
  // a full verification names the edit, the new checkpoint included
  const full = await loadAndVerify(db, { publicKeys: publicJwk });
  expect(full.ok).toBe(false);
  expect(full.firstBadSeq).toBe(5);
  // and a full checkpoint refuses to sign it
  await expect(takeCheckpoint(db, signer)).rejects.toThrow(/does not verify/);
});

test('an unusable starting point (frontier altered, or a forged checkpoint row) means a full verification', async () => {
  await append(1, 12);
  await takeCheckpoint(db, signer);
  await asSuperuserWithoutTriggers(db, async (tx) => {
    await tx.execute(
      sql`update audit_checkpoints set frontier = '[{"size": 8, "hash": "${sql.raw('0'.repeat(64))}"}, {"size": 4, "hash": "${sql.raw('1'.repeat(64))}"}]'::jsonb`,
    );
  });
  await append(13, 3);
  const reads = await entryReads(t.database, () => takeNextCheckpoint(db, signer, { publicKeys: publicJwk }));
  expect(reads.some((q) => /seq > \$1::bigint/.test(q))).toBe(true);
  const last = await loadAndVerify(db, { publicKeys: publicJwk });
  expect(last.ok).toBe(true);
  expect(last.size).toBe(15);
  // a checkpoint row signed by another key is not a starting point either: full verification, which fails on it
  const other = await auditKeys();
  await append(16, 2);
  await takeCheckpoint(db, other.signer); // size 17, signed by a key that is not ours
  await append(18, 2);
  await expect(takeNextCheckpoint(db, signer, { publicKeys: publicJwk })).rejects.toThrow(/does not verify/);
});

async function hashesUpTo(seq: number): Promise<string[]> {
  // the hashes as they were chained (stored hash column: the edit above changed the entry, not its hash)
  return rowsOf<{ hash: string }>(await db.execute(sql`select hash from audit_entries where seq <= ${seq}::bigint order by seq`)).map(
    (r) => r.hash,
  );
}
async function hashesFrom(seq: number): Promise<string[]> {
  return rowsOf<{ hash: string }>(await db.execute(sql`select hash from audit_entries where seq >= ${seq}::bigint order by seq`)).map(
    (r) => r.hash,
  );
}
