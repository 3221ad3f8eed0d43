/**
 * Mutations run in one transaction with everything that must commit with them: history rows (domain) and the
 * audit entry (commit hooks registered by plugins on the context). No change without its entry.
 *
 * A hook hands over its statement instead of running it: the statements are sent together with COMMIT (the
 * driver pipelines them on the transaction's connection), so they cost no round trip of their own while the
 * change's row locks are held (a submission holds its jurisdiction's permit-number counter until COMMIT).
 * If one of them fails, PostgreSQL has aborted the transaction and answers COMMIT with ROLLBACK: the unit of work
 * then fails with that statement's error, and nothing of the change is committed.
 */
import type { SQL } from 'drizzle-orm';
import type { Db, Tx } from '../db/client.ts';

export interface CommitStatement {
  /** Runs in the mutation's transaction, after the work, with its COMMIT. */
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
    let sent: Promise<unknown>[] = [];
    let result: T;
    try {
      result = await db.transaction(async (tx) => {
        const r = await work(tx);
        const ids = affected(r);
        parts = hooks.map((hook) => hook(ids)).filter((p): p is CommitStatement => p !== null);
        // dispatched now (`then` starts drizzle's query at once), not awaited: queued on the connection ahead of
        // the COMMIT that follows this callback
        sent = parts.map((p) => {
          const query = tx.execute(p.statement);
          return new Promise((resolve, reject) => void query.then(resolve, reject));
        });
        for (const s of sent) s.catch(() => {}); // observed below, after COMMIT
        return r;
      });
    } catch (err) {
      // PGlite reports the rolled-back COMMIT itself: name the statement that caused it when there is one
      throw (await firstFailure(sent)) ?? err;
    }
    // a failed statement aborted the transaction (postgres-js: COMMIT answered ROLLBACK): nothing was committed
    const failed = await firstFailure(sent);
    if (failed) throw failed;
    for (const p of parts) p.committed?.();
    return result;
  };
}
export type UnitOfWork = ReturnType<typeof createUnitOfWork>;

async function firstFailure(sent: Promise<unknown>[]): Promise<unknown> {
  const settled = await Promise.allSettled(sent);
  return settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')?.reason;
}
