/**
 * The RFC 9162 leaf hashes of the first `size` audit entries, read from the `hash` column in pages (32 bytes
 * kept per entry). Consistency and offline inclusion proofs are computed from these.
 */
import { sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { jsonOf, rowsOf } from '../../db/rows.ts';
import { hashLeaf } from '../merkle.ts';

/** Leaf hashes of entries 1..size in order, or null when the log is shorter than `size` or has a gap. */
export async function loadLeafHashes(executor: Executor, size: number, pageSize = 10_000): Promise<Uint8Array[] | null> {
  const leaves: Uint8Array[] = [];
  let after = 0;
  while (after < size) {
    const rows = rowsOf<{ seq: string; hash: string }>(
      await executor.execute(sql`
        select seq::text as seq, hash from audit_entries
        where seq > ${after}::bigint and seq <= ${size}::bigint order by audit_entries.seq limit ${pageSize}::int`),
    );
    if (rows.length === 0) break;
    for (const r of rows) {
      if (Number(r.seq) !== leaves.length + 1) return null;
      leaves.push(hashLeaf(Buffer.from(r.hash, 'hex')));
    }
    after = Number((rows.at(-1) as { seq: string }).seq);
  }
  return leaves.length === size ? leaves : null;
}

/** Leaf hashes of the `count` entries after the first `start` (leaf indexes start..start+count-1); throws on a gap. */
export async function loadLeafRange(executor: Executor, start: number, count: number, pageSize = 10_000): Promise<Uint8Array[]> {
  const leaves: Uint8Array[] = [];
  let after = start;
  while (leaves.length < count) {
    const rows = rowsOf<{ seq: string; hash: string }>(
      await executor.execute(sql`
        select seq::text as seq, hash from audit_entries
        where seq > ${after}::bigint and seq <= ${start + count}::bigint order by audit_entries.seq
        limit ${Math.min(pageSize, count - leaves.length)}::int`),
    );
    for (const r of rows) {
      if (Number(r.seq) !== start + leaves.length + 1) throw new Error(`audit entry ${start + leaves.length + 1} is missing`);
      leaves.push(hashLeaf(Buffer.from(r.hash, 'hex')));
    }
    if (rows.length === 0) throw new Error(`audit entry ${start + leaves.length + 1} is missing`);
    after = start + leaves.length;
  }
  return leaves;
}

/** One audit entry as the offline proof carries it: enough to recompute its chain hash. */
export interface ProvenEntry {
  seq: number;
  createdAt: string;
  prevHash: string;
  hash: string;
  entry: Record<string, unknown>;
}

export async function loadEntry(executor: Executor, seq: number): Promise<ProvenEntry | null> {
  const [row] = rowsOf<{
    seq: string;
    created_at: string | Date;
    prev_hash: string;
    hash: string;
    entry: Record<string, unknown> | string;
  }>(
    await executor.execute(sql`select seq::text as seq, created_at, prev_hash, hash, entry from audit_entries where seq = ${seq}::bigint`),
  );
  if (!row) return null;
  return {
    seq: Number(row.seq),
    createdAt: new Date(row.created_at).toISOString(),
    prevHash: row.prev_hash,
    hash: row.hash,
    entry: jsonOf(row.entry),
  };
}
