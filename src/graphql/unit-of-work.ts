/**
 * Mutations run in one transaction with everything that must commit with them: history rows (domain) and the
 * audit entry (commit hooks registered by plugins on the context). No change without its entry.
 */
import type { Db, Tx } from '../db/client.ts';

/** Runs inside the mutation's transaction just before commit, with the ids of the records it touched. */
export type CommitHook = (tx: Tx, affected: string[]) => Promise<void>;

export function createUnitOfWork(db: Db, hooks: CommitHook[]) {
  return <T>(work: (tx: Tx) => Promise<T>, affected: (result: T) => string[]) =>
    db.transaction(async (tx) => {
      const result = await work(tx);
      const ids = affected(result);
      for (const hook of hooks) await hook(tx, ids);
      return result;
    });
}
export type UnitOfWork = ReturnType<typeof createUnitOfWork>;
