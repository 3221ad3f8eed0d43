/**
 * Witness cosignatures kept in `audit_cosignatures`, per tree (size, root) and witness, so that a restarted
 * instance, or another instance on the same database, publishes the checkpoint with every cosignature collected
 * by any of them, and asks a witness to cosign from the size it last cosigned.
 *
 * Why reading trusts nothing: the rows are not signed by us, so the caller verifies each line against the
 * witness keys of AUDIT_WITNESSES over the note of exactly that tree before publishing it.
 */
import { sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { rowsOf } from '../../db/rows.ts';
import type { TreeHead } from './checkpoint-note.ts';
import type { NoteVerifier } from './signed-note.ts';

/** A witness as stored: its verifier name and key id (`name+hexkeyid`), as in a verifier key. */
export const witnessId = (w: NoteVerifier) => `${w.name}+${w.keyId.toString(16).padStart(8, '0')}`;

export function createCosignatureStore(db: Executor) {
  return {
    /** Stored cosignature lines (with their newline) for exactly this tree. */
    async linesFor(head: TreeHead): Promise<string[]> {
      const rows = rowsOf<{ line: string }>(
        await db.execute(
          sql`select line from audit_cosignatures where tree_size = ${head.size}::bigint and root_hash = ${head.rootHash} order by witness`,
        ),
      );
      return rows.map((r) => (r.line.endsWith('\n') ? r.line : `${r.line}\n`));
    },
    /** Keeps a witness's cosignature of `head` (a newer one from the same witness for the same tree replaces it). */
    async save(head: TreeHead, witness: NoteVerifier, line: string): Promise<void> {
      await db.execute(sql`
        insert into audit_cosignatures (tree_size, root_hash, witness, line)
        values (${head.size}::bigint, ${head.rootHash}, ${witnessId(witness)}, ${line})
        on conflict (tree_size, root_hash, witness) do update set line = excluded.line, created_at = now()`);
    },
    /** The largest tree size `witness` cosigned for this log, as far as any instance stored it (0: none). */
    async lastCosignedSize(witness: NoteVerifier): Promise<number> {
      const [row] = rowsOf<{ size: string | null }>(
        await db.execute(sql`select max(tree_size)::text as size from audit_cosignatures where witness = ${witnessId(witness)}`),
      );
      return row?.size ? Number(row.size) : 0;
    },
  };
}

export type CosignatureStore = ReturnType<typeof createCosignatureStore>;
