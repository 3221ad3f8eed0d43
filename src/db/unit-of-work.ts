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
import { sql, type SQL } from 'drizzle-orm';
import { changeBatchesOf, type ChangeBatching } from './change-batches.ts';
import type { Db, Tx } from './client.ts';
import { executeStatement, runStatementChange, type Shape, type StatementChange } from './fused-statements.ts';

export interface CommitStatement {
  /** Runs in the mutation's transaction, after the work, before COMMIT. */
  statement: SQL;
  /** Set when `statement` uses placeholders (src/db/fused-statements.ts): their values and the text's key. */
  shape?: Shape;
  /** Called once the transaction committed with the statement in it. */
  committed?: () => void;
  /** The audit entry (canonical JSON) the statement stages: a batched change (src/db/change-batches.ts) stages it itself. */
  stagedEntry?: string;
}

/**
 * Called inside the mutation's transaction just before commit, with the ids of the records it touched. It must
 * not do I/O: it returns the statement to commit with the change (or null); throwing rolls the change back.
 * For a change made in one statement (`createOneStatementUnit`) it is called before that statement is sent, with
 * `produced`: the names of the records the statement creates, as a `text[]` SQL expression for the hook's own
 * statement to read (it runs as a part of the same statement).
 */
export type CommitHook = (affected: string[], produced?: SQL) => CommitStatement | null;

export function createUnitOfWork(db: Db, hooks: CommitHook[]) {
  return async <T>(work: (tx: Tx) => Promise<T>, affected: (result: T) => string[]): Promise<T> => {
    let parts: CommitStatement[] = [];
    const result = await db.transaction(async (tx) => {
      const r = await work(tx);
      const ids = affected(r);
      parts = hooks.map((hook) => hook(ids)).filter((p): p is CommitStatement => p !== null);
      for (const p of parts) await executeStatement(tx, p.statement, p.shape);
      return r;
    });
    for (const p of parts) p.committed?.();
    return result;
  };
}
export type UnitOfWork = ReturnType<typeof createUnitOfWork>;

/**
 * Mutations whose change is one statement (src/db/fused-statements.ts): the hooks' statements become further parts
 * of it, and it runs alone, as its own transaction. Change and audit entry still commit together or not at all,
 * and in one round trip: no lock of the change is held while the application is between two statements.
 * A hook is told `committed` once the statement succeeded.
 */
export function createOneStatementUnit(db: Db, hooks: CommitHook[]) {
  return async <T>(change: StatementChange<T>): Promise<T> => {
    const parts = hooks.map((hook) => hook([], change.produced)).filter((p): p is CommitStatement => p !== null);
    const extra = parts.map((p, i) => ({
      part: sql`${sql.identifier(`commit_hook_${i}`)} as (${p.statement})`,
      ...(p.shape ? { shape: p.shape } : {}),
    }));
    const alone = () => runStatementChange(db, change, extra);
    const batching = change.batch && batchRow(change.batch, parts);
    const result = batching ? await changeBatchesOf(db).write(batching, alone, (row) => change.result([row])) : await alone();
    for (const p of parts) p.committed?.();
    return result;
  };
}

/** The change's batch row with the audit entry it stages; none when a hook's statement cannot be batched. */
function batchRow(batch: ChangeBatching, parts: CommitStatement[]): ChangeBatching | undefined {
  if (parts.length > 1 || parts.some((p) => p.stagedEntry === undefined)) return undefined;
  return { ...batch, row: { ...batch.row, audit_entry: parts[0]?.stagedEntry ?? null } };
}
export type OneStatementUnit = ReturnType<typeof createOneStatementUnit>;
