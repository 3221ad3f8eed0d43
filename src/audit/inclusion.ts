/**
 * Inclusion proofs read from the database: lets an outside party check one entry against a signed
 * checkpoint (`size`, `rootHash`) without the whole log, using the standalone `verifyInclusion`.
 *
 * Why it loads hashes only: the proof needs the leaf hash of every entry up to the checkpoint's size but
 * nothing else, so it streams the `hash` column in pages (32 bytes kept per entry).
 */
import { sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { rowsOf } from '../db/rows.ts';
import { hashLeaf, inclusionPath } from './merkle.ts';

export interface AuditInclusionProof {
  seq: number;
  /** Leaf index: seq - 1. */
  index: number;
  treeSize: number;
  /** The entry's chain hash (its `hash` column). */
  entryHash: string;
  /** Sibling hashes, innermost first (hex). */
  proof: string[];
}

/**
 * Proof that entry `seq` is among the first `treeSize` entries. Returns null when `seq` is outside
 * 1..treeSize or the log is shorter than `treeSize`.
 */
export async function loadInclusionProof(
  executor: Executor,
  seq: number,
  treeSize: number,
  pageSize = 10_000,
): Promise<AuditInclusionProof | null> {
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(treeSize) || seq < 1 || seq > treeSize) return null;
  const leaves: Uint8Array[] = [];
  let entryHash: string | undefined;
  let after = 0;
  while (after < treeSize) {
    const rows = rowsOf<{ seq: string; hash: string }>(
      await executor.execute(sql`
        select seq::text as seq, hash from audit_entries
        where seq > ${after}::bigint and seq <= ${treeSize}::bigint order by audit_entries.seq limit ${pageSize}::int`),
    );
    if (rows.length === 0) break;
    for (const r of rows) {
      if (Number(r.seq) !== leaves.length + 1) return null; // a gap: the log does not support a proof
      if (Number(r.seq) === seq) entryHash = r.hash;
      leaves.push(hashLeaf(Buffer.from(r.hash, 'hex')));
    }
    after = Number((rows.at(-1) as { seq: string }).seq);
  }
  if (leaves.length !== treeSize || entryHash === undefined) return null;
  const proof = inclusionPath(seq - 1, leaves).map((b) => Buffer.from(b).toString('hex'));
  return { seq, index: seq - 1, treeSize, entryHash, proof };
}
