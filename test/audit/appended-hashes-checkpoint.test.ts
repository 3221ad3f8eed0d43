/**
 * The recorder's periodic checkpoint checks the entries it appended itself against the hashes it computed when it
 * appended them (appended-hashes.ts, verify-chain.ts `knownHashes`), instead of reading them back and hashing them
 * again; entries it did not append (another instance, an earlier run) are still verified in full. A chain rewritten
 * in between (content and hashes recomputed) is refused, which re-hashing the stored rows alone could not see.
 */
import { expect, setDefaultTimeout, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import type { JWK } from 'jose';
import pino from 'pino';
import { appendAuditEntries } from '../../src/audit/append.ts';
import type { CheckpointSigner } from '../../src/audit/checkpoint.ts';
import { entryHash } from '../../src/audit/hash-chain.ts';
import { createAuditRecorder } from '../../src/audit/recorder.ts';
import { loadAndVerify } from '../../src/audit/verify-chain.ts';
import type { Db } from '../../src/db/client.ts';
import { jsonOf, rowsOf } from '../../src/db/rows.ts';
import type { TestDatabase } from '../helpers/database.ts';
import { asSuperuserWithoutTriggers, entryReads, useAuditDatabase } from './support.ts';

setDefaultTimeout(120_000);

let signer: CheckpointSigner;
let publicJwk: JWK;
let t: TestDatabase;
let db: Db;
useAuditDatabase((f) => ({ signer, publicJwk, t, db } = f));

function recorder() {
  const lines: string[] = [];
  const audit = createAuditRecorder({
    db,
    log: pino({ level: 'info' }, { write: (l: string) => void lines.push(l) }),
    signer,
    publicKeys: async () => ({ keys: [publicJwk] }),
    checkpointHashing: 'inline',
    checkpointEvery: 1_000_000,
    checkpointIntervalMs: 3_600_000,
  });
  return { audit, lines };
}

const entry = (n: number) => ({ kind: 'graphql', operation: { type: 'query', name: 'PermitStatus' }, n, outcome: 'ALLOWED' });

const checkpoints = async () =>
  rowsOf<{ size: string; root_hash: string }>(
    await db.execute(sql`select size::text as size, root_hash from audit_checkpoints order by size`),
  );

test('entries the recorder appended are not read back; entries appended elsewhere are, and the checkpoint signs what a full verification does', async () => {
  // 10 entries appended by "another instance", then 30 by this recorder
  await appendAuditEntries(
    db,
    Array.from({ length: 10 }, (_, i) => entry(i)),
  );
  const { audit } = recorder();
  try {
    for (let i = 0; i < 30; i++) audit.record(entry(100 + i));
    await audit.flush();
    const first = await entryReads(t.database, () => audit.checkpoint());
    // only the 10 foreign entries are read, by seq
    expect(first).toHaveLength(1);
    expect(first[0]).toMatch(/seq = any\(/);
    const full = await loadAndVerify(db, { publicKeys: { keys: [publicJwk] } });
    expect(full.ok).toBe(true);
    expect(await checkpoints()).toEqual([{ size: '40', root_hash: full.rootHash }]);

    // the next checkpoint resumes from that one: nothing of its own is read back
    for (let i = 0; i < 25; i++) audit.record(entry(200 + i));
    await audit.flush();
    expect(await entryReads(t.database, () => audit.checkpoint())).toEqual([]);
    const again = await loadAndVerify(db, { publicKeys: { keys: [publicJwk] } });
    expect(again.ok).toBe(true);
    expect(again.checkpointsMatched).toBe(2);
    expect((await checkpoints()).at(-1)).toEqual({ size: '65', root_hash: again.rootHash });
  } finally {
    await audit.close();
  }
});

test('a chain rewritten after it was appended (entry edited, every later hash recomputed) is refused, not signed', async () => {
  const { audit, lines } = recorder();
  try {
    for (let i = 0; i < 20; i++) audit.record(entry(i));
    await audit.flush();
    // the attacker rewrites seq 7 and recomputes the chain from there: the stored rows are consistent again
    await asSuperuserWithoutTriggers(db, async (tx) => {
      const rows = rowsOf<{ seq: string; entry: Record<string, unknown> | string; prev_hash: string }>(
        await tx.execute(sql`select seq::text as seq, entry, prev_hash from audit_entries where seq >= 6 order by audit_entries.seq`),
      );
      let prev = rows[0]!.prev_hash;
      for (const r of rows) {
        const e = jsonOf<Record<string, unknown>>(r.entry);
        if (r.seq === '7') e.outcome = 'DENIED';
        const hash = entryHash(prev, e);
        await tx.execute(
          sql`update audit_entries set entry = ${JSON.stringify(e)}::jsonb, prev_hash = ${prev}, hash = ${hash} where seq = ${Number(r.seq)}::bigint`,
        );
        prev = hash;
      }
    });
    // re-hashing the stored rows finds nothing wrong: the rewrite is consistent
    const rehashed = await loadAndVerify(db);
    expect(rehashed.reason ?? '').toBe('');
    expect(rehashed.ok).toBe(true);
    await audit.checkpoint();
    expect(await checkpoints()).toEqual([]);
    expect(lines.some((l) => /audit checkpoint failed/.test(l) && /first bad seq 7/.test(l))).toBe(true);
  } finally {
    await audit.close();
  }
});

test('an entry edited without its hash after it was appended: the checkpoint signs the hash as appended, a full verification names the entry', async () => {
  const { audit } = recorder();
  try {
    for (let i = 0; i < 12; i++) audit.record(entry(i));
    await audit.flush();
    const appended = await loadAndVerify(db);
    await asSuperuserWithoutTriggers(db, async (tx) => {
      await tx.execute(sql`update audit_entries set entry = jsonb_set(entry, '{outcome}', '"DENIED"') where seq = 4`);
    });
    await audit.checkpoint();
    expect(await checkpoints()).toEqual([{ size: '12', root_hash: appended.rootHash }]);
    const full = await loadAndVerify(db, { publicKeys: { keys: [publicJwk] } });
    expect(full.ok).toBe(false);
    expect(full.firstBadSeq).toBe(4);
  } finally {
    await audit.close();
  }
});

test('the remembered hashes are bounded; a checkpoint frees what it covered', async () => {
  const { createAppendedHashes } = await import('../../src/audit/appended-hashes.ts');
  const h = createAppendedHashes(5);
  h.remember(Array.from({ length: 8 }, (_, i) => ({ seq: i + 1, hash: `h${i + 1}` })));
  // past the bound the newest are not remembered: a checkpoint verifies those in full
  expect(h.size).toBe(5);
  expect([h.get(5), h.get(6)]).toEqual(['h5', undefined]);
  h.forgetUpTo(3);
  expect([h.get(3), h.get(4), h.size]).toEqual([undefined, 'h4', 2]);
  h.remember([{ seq: 9, hash: 'h9' }]);
  expect(h.get(9)).toBe('h9');
});
