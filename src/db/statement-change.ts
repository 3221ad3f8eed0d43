/**
 * A change PostgreSQL makes in ONE statement: data-modifying CTEs (`with a as (insert …), b as (insert …) select …`).
 *
 * Run on its own (autocommit) the statement is its own transaction: all its parts commit together or none does,
 * and the locks it takes (a submission's permit-number counter row) are held only while PostgreSQL executes it
 * and flushes the commit, never while a reply travels to the application and the next statement comes back.
 * Every data-modifying part runs exactly once, whether the final select reads it or not.
 */
import { sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Executor } from './client.ts';

export interface StatementChange<T> {
  /** `name as (statement)` parts, in order; later parts may read earlier ones by name. */
  parts: SQL[];
  /** The final select over the parts. */
  select: SQL;
  /** The names of the records the statement creates, as a `text[]` expression over the parts (e.g. a new permit's number). */
  produced: SQL;
  /** The caller's answer from the final select's rows. */
  result: (rows: Record<string, unknown>[]) => T;
}

/** The whole statement, with `extra` parts (e.g. the audit entry) after the change's own. */
export function statementOf(change: StatementChange<unknown>, extra: SQL[] = []): SQL {
  return sql`with ${sql.join([...change.parts, ...extra], sql`, `)} ${change.select}`;
}

/** Runs the change on `db`: alone it is its own transaction; inside one, it joins it. */
export async function runStatementChange<T>(db: Executor, change: StatementChange<T>, extra: SQL[] = []): Promise<T> {
  return change.result(rowsOf<Record<string, unknown>>(await db.execute(statementOf(change, extra))));
}
