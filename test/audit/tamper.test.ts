/**
 * Tampering as a database superuser (triggers bypassed) must be caught by verification, which names the
 * first bad seq. Each case starts from a log of 30 entries (the tables emptied in between).
 */
import { beforeEach, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import type { JWK } from 'jose';
import { appendAuditEntries, appendAuditEntry } from '../../src/audit/append.ts';
import type { CheckpointSigner } from '../../src/audit/checkpoint.ts';
import { entryHash } from '../../src/audit/hash-chain.ts';
import { takeCheckpoint } from '../../src/audit/take-checkpoint.ts';
import { loadAndVerify, verifyChain } from '../../src/audit/verify-chain.ts';
import type { Db, Tx } from '../../src/db/client.ts';
import { rowsOf } from '../../src/db/rows.ts';
import { asSuperuserWithoutTriggers, DB_TIMEOUT, useAuditDatabase } from './support.ts';
import { setDefaultTimeout } from 'bun:test';

// starts databases and servers: Bun's 5 s default is too short on a busy machine
setDefaultTimeout(120_000);

let signer: CheckpointSigner;
let publicJwk: JWK;
let db: Db;
useAuditDatabase((f) => ({ signer, publicJwk, db } = f));
beforeEach(async () => {
  for (let i = 1; i <= 30; i++) await appendAuditEntry(db, { op: 'permit', n: i, outcome: 'ALLOWED' });
}, DB_TIMEOUT);

/** The checkpoint an auditor took earlier and kept in a file outside the database. */
async function checkpointFile(): Promise<string[]> {
  return [(await takeCheckpoint(db, signer)).jws];
}

async function entryOf(tx: Tx | Db, seq: number): Promise<Record<string, unknown>> {
  const [row] = rowsOf<{ entry: string }>(await tx.execute(sql`select entry::text as entry from audit_entries where seq = ${seq}::bigint`));
  return JSON.parse(row?.entry as string);
}

/** Deletes everything and writes a self-consistent chain over `entries` from `genesis`. */
async function rebuild(tx: Tx, entries: Record<string, unknown>[], genesis: string): Promise<void> {
  await tx.execute(sql`delete from audit_checkpoints`);
  await tx.execute(sql`delete from audit_entries`);
  let prev = genesis;
  for (const [i, entry] of entries.entries()) {
    const hash = entryHash(prev, entry);
    await tx.execute(sql`insert into audit_entries (seq, entry, prev_hash, hash)
      values (${i + 1}::bigint, ${JSON.stringify(entry)}::text::jsonb, ${prev}::text, ${hash}::text)`);
    prev = hash;
  }
}

async function allEntries(): Promise<Record<string, unknown>[]> {
  const rows = rowsOf<{ entry: string }>(await db.execute(sql`select entry::text as entry from audit_entries order by audit_entries.seq`));
  return rows.map((r) => JSON.parse(r.entry));
}

describe('tamper detection', () => {
  test(
    'an untouched log verifies, with and without its checkpoint',
    async () => {
      const checkpoints = await checkpointFile();
      await appendAuditEntries(db, [{ op: 'later' }]);
      expect(await loadAndVerify(db)).toMatchObject({ ok: true, size: 31 });
      expect(await loadAndVerify(db, { checkpoints, publicKeys: publicJwk })).toMatchObject({ ok: true, size: 31 });
    },
    DB_TIMEOUT,
  );

  test(
    'an edited entry is named by its seq',
    async () => {
      await asSuperuserWithoutTriggers(db, async (tx) => {
        await tx.execute(sql`update audit_entries set entry = jsonb_set(entry, '{outcome}', '"DENIED"') where seq = 12`);
      });
      expect(await loadAndVerify(db)).toMatchObject({ ok: false, firstBadSeq: 12, size: 11 });
    },
    DB_TIMEOUT,
  );

  test(
    'a deleted middle entry is named by its missing seq',
    async () => {
      await asSuperuserWithoutTriggers(db, async (tx) => {
        await tx.execute(sql`delete from audit_entries where seq = 15`);
      });
      const result = await loadAndVerify(db, { pageSize: 7 });
      expect(result).toMatchObject({ ok: false, firstBadSeq: 15 });
      expect(result.reason).toContain('missing');
    },
    DB_TIMEOUT,
  );

  test(
    'a deleted middle entry with the later seqs renumbered is named by the first renumbered seq',
    async () => {
      await asSuperuserWithoutTriggers(db, async (tx) => {
        await tx.execute(sql`delete from audit_entries where seq = 15`);
        for (let seq = 16; seq <= 30; seq++)
          await tx.execute(sql`update audit_entries set seq = ${seq - 1}::bigint where seq = ${seq}::bigint`);
      });
      expect(await loadAndVerify(db)).toMatchObject({ ok: false, firstBadSeq: 15 });
    },
    DB_TIMEOUT,
  );

  test(
    'two swapped entries are named by the lower seq',
    async () => {
      await asSuperuserWithoutTriggers(db, async (tx) => {
        await tx.execute(sql`
        update audit_entries a set entry = b.entry, prev_hash = b.prev_hash, hash = b.hash, created_at = b.created_at
        from (select seq, entry, prev_hash, hash, created_at from audit_entries where seq in (8, 20)) b
        where a.seq in (8, 20) and b.seq = case a.seq when 8 then 20 else 8 end`);
      });
      expect((await entryOf(db, 8)).n).toBe(20);
      expect(await loadAndVerify(db)).toMatchObject({ ok: false, firstBadSeq: 8 });
    },
    DB_TIMEOUT,
  );

  test(
    'two swapped entry bodies (hashes left in place) are named by the lower seq',
    async () => {
      await asSuperuserWithoutTriggers(db, async (tx) => {
        await tx.execute(sql`
        update audit_entries a set entry = b.entry
        from (select seq, entry from audit_entries where seq in (8, 20)) b
        where a.seq in (8, 20) and b.seq = case a.seq when 8 then 20 else 8 end`);
      });
      expect(await loadAndVerify(db)).toMatchObject({ ok: false, firstBadSeq: 8 });
    },
    DB_TIMEOUT,
  );

  test(
    'deleting the last 10 entries is named by the first missing seq against an earlier checkpoint',
    async () => {
      const checkpoints = await checkpointFile();
      await asSuperuserWithoutTriggers(db, async (tx) => {
        await tx.execute(sql`delete from audit_entries where seq > 20`);
        await tx.execute(sql`delete from audit_checkpoints`);
      });
      // Without a checkpoint a cut-off tail is indistinguishable from a shorter log: that is what checkpoints are for.
      expect(await loadAndVerify(db)).toMatchObject({ ok: true, size: 20 });
      const result = await loadAndVerify(db, { checkpoints, publicKeys: publicJwk });
      expect(result).toMatchObject({ ok: false, firstBadSeq: 21, size: 20 });
      expect(result.reason).toContain('removed');
    },
    DB_TIMEOUT,
  );

  test(
    'the stored checkpoints alone also catch a cut-off tail when the attacker left them',
    async () => {
      await takeCheckpoint(db, signer);
      await asSuperuserWithoutTriggers(db, async (tx) => {
        await tx.execute(sql`delete from audit_entries where seq > 20`);
      });
      expect(await loadAndVerify(db, { publicKeys: publicJwk })).toMatchObject({ ok: false, firstBadSeq: 21 });
    },
    DB_TIMEOUT,
  );

  test(
    'a chain rebuilt from scratch with a new genesis is named at seq 1',
    async () => {
      const checkpoints = await checkpointFile();
      const entries = await allEntries();
      entries[4] = { ...entries[4], outcome: 'DENIED' };
      await asSuperuserWithoutTriggers(db, (tx) => rebuild(tx, entries, 'f'.repeat(64)));
      const result = await loadAndVerify(db, { checkpoints, publicKeys: publicJwk });
      expect(result).toMatchObject({ ok: false, firstBadSeq: 1 });
      expect(result.reason).toContain('genesis');
    },
    DB_TIMEOUT,
  );

  test(
    'a chain rebuilt from the real genesis with recomputed hashes is caught only by the checkpoint',
    async () => {
      const early = (await takeCheckpoint(db, signer)).jws; // size 30
      const entries = await allEntries();
      entries[4] = { ...entries[4], outcome: 'DENIED' }; // seq 5 rewritten
      await asSuperuserWithoutTriggers(db, (tx) => rebuild(tx, entries, '0'.repeat(64)));
      expect(await loadAndVerify(db)).toMatchObject({ ok: true, size: 30 });
      const result = await loadAndVerify(db, { checkpoints: [early], publicKeys: publicJwk });
      expect(result).toMatchObject({ ok: false, firstBadSeq: 1 });
      expect(result.reason).toContain('rewritten');
    },
    DB_TIMEOUT,
  );

  test(
    'with checkpoints on both sides of a rewrite the first bad seq is the entry after the last matching one',
    async () => {
      const rows = rowsOf<{ seq: string; entry: string; prev_hash: string; hash: string }>(
        await db.execute(sql`select seq::text as seq, entry::text as entry, prev_hash, hash from audit_entries order by audit_entries.seq`),
      );
      const asChain = rows.map((r) => ({ seq: r.seq, entry: JSON.parse(r.entry), prevHash: r.prev_hash, hash: r.hash }));
      const upTo4 = await verifyChain(asChain.slice(0, 4));
      const { signCheckpoint } = await import('../../src/audit/checkpoint.ts');
      const at4 = await signCheckpoint(
        { size: 4, headHash: upTo4.headHash, rootHash: upTo4.rootHash, time: new Date().toISOString() },
        signer,
      );
      const at30 = (await takeCheckpoint(db, signer)).jws;
      const entries = await allEntries();
      entries[4] = { ...entries[4], outcome: 'DENIED' };
      await asSuperuserWithoutTriggers(db, (tx) => rebuild(tx, entries, '0'.repeat(64)));
      const result = await loadAndVerify(db, { checkpoints: [at30, at4], publicKeys: publicJwk });
      expect(result).toMatchObject({ ok: false, firstBadSeq: 5, checkpointsMatched: 1 });
    },
    DB_TIMEOUT,
  );

  test(
    'a checkpoint whose signature does not verify makes verification fail',
    async () => {
      const [jws] = await checkpointFile();
      const forged = `${(jws as string).slice(0, -2)}${(jws as string).at(-2) === 'A' ? 'B' : 'A'}${(jws as string).at(-1)}`;
      const result = await loadAndVerify(db, { checkpoints: [forged], publicKeys: publicJwk, storedCheckpoints: false });
      expect(result).toMatchObject({ ok: false, size: 30 });
      expect(result.reason).toContain('signature');
    },
    DB_TIMEOUT,
  );
});
