/**
 * Mutations run in one transaction with everything that must commit with them: history rows (domain) and the
 * audit entry (commit hooks registered by plugins on the context). No change without its entry.
 *
 * A hook hands over its statement (built without I/O) and is told `committed` only once COMMIT succeeded, so an
 * operation is never marked audited by a transaction that rolled back. The statements run inside the transaction
 * and are awaited there, one after the other, before COMMIT. (Sending them together with COMMIT saved a round trip,
 * but postgres-js re-sends a prepared statement that failed with "prepared statement does not exist" or "cached plan
 * must not change result type" after what is already queued: after the COMMIT, outside the transaction, where it
 * succeeded while the change had rolled back.)
 */
import type { SQL } from 'drizzle-orm';
import type { Db, Tx } from '../db/client.ts';

export interface CommitStatement {
  /** Runs in the mutation's transaction, after the work, before COMMIT. */
  statement: SQL;
  /** Called once the transaction committed with the statement in it. */
  committed?: () => void;
}

/**
 * Called inside the mutation's transaction just before commit, with the ids of the records it touched. It must
 * not do I/O: it returns the statement to commit with the change (or null); throwing rolls the change back.
 */
export type CommitHook = (affected: string[]) => CommitStatement | null;

export function createUnitOfWork(db: Db, hooks: CommitHook[]) {
  return async <T>(work: (tx: Tx) => Promise<T>, affected: (result: T) => string[]): Promise<T> => {
    let parts: CommitStatement[] = [];
    const result = await db.transaction(async (tx) => {
      const r = await work(tx);
      const ids = affected(r);
      parts = hooks.map((hook) => hook(ids)).filter((p): p is CommitStatement => p !== null);
      for (const p of parts) await tx.execute(p.statement);
      return r;
    });
    for (const p of parts) p.committed?.();
    return result;
  };
}
export type UnitOfWork = ReturnType<typeof createUnitOfWork>;
