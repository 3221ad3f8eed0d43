/**
 * A change PostgreSQL makes in ONE statement: data-modifying CTEs (`with a as (insert …), b as (insert …) select …`).
 *
 * Run on its own (autocommit) the statement is its own transaction: all its parts commit together or none does,
 * and the locks it takes (a submission's permit-number counter row) are held only while PostgreSQL executes it
 * and flushes the commit, never while a reply travels to the application and the next statement comes back.
 * Every data-modifying part runs exactly once, whether the final select reads it or not.
 *
 * Such a statement is large (a submission's has 4 parts and a value for every column) and drizzle renders it anew
 * for every request, walking the nested SQL objects, although its text never changes, only its values. A statement
 * given a {@link Shape} holds placeholders (`sql.placeholder(name)`) for its values instead and is rendered once per
 * shape key.
 */
import { sql, type Query, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { ChangeBatching } from './change-batches.ts';
import type { Executor } from './client.ts';
import { rowsOf } from './rows.ts';

/**
 * What makes a statement built with placeholders runnable: its values by placeholder name and, optionally, the key
 * naming its text. The same key must always stand for the same text: every value that differs between two runs
 * must be a placeholder (a value bound with `${…}` would be rendered once and then sent again for every run).
 */
export interface Shape {
  key?: string;
  values: Record<string, unknown>;
}

export interface StatementChange<T> {
  /** `name as (statement)` parts, in order; later parts may read earlier ones by name. */
  parts: SQL[];
  /** The final select over the parts. */
  select: SQL;
  /** The names of the records the statement creates, as a `text[]` expression over the parts (e.g. a new permit's number). */
  produced: SQL;
  /** The caller's answer from the final select's rows. */
  result: (rows: Record<string, unknown>[]) => T;
  /** Set when the parts use placeholders: their values, and the key of the change's text. */
  shape?: Shape;
  /** Set when concurrent changes like this one may be written as one statement (src/db/change-batches.ts). */
  batch?: ChangeBatching;
}

/** A further part of a change's statement (e.g. its audit entry) and, when it uses placeholders, their values. */
export interface ExtraPart {
  part: SQL;
  shape?: Shape;
}

/** Distinct shape keys rendered and kept (they come from the code: a handful). */
const MAX_SHAPES = 100;
const rendered = new Map<string, Query>();
/** Renders as the app's drizzle instances do (they set no `casing`; both drivers use PgDialect). */
const dialect = new PgDialect();

/**
 * Runs `statement` on `db`; with a shape, fills its placeholders with `shape.values`, rendering the text once
 * per `shape.key` (every time without a key).
 */
export async function executeStatement(db: Executor, statement: SQL, shape?: Shape): Promise<unknown> {
  if (!shape) return db.execute(statement);
  let query = shape.key === undefined ? undefined : rendered.get(shape.key);
  if (!query) {
    query = dialect.sqlToQuery(statement);
    if (shape.key !== undefined && rendered.size < MAX_SHAPES) rendered.set(shape.key, query);
  }
  return db._.session.prepareQuery(query, undefined, undefined, false).execute(shape.values);
}

/** The whole statement, with `extra` parts (e.g. the audit entry) after the change's own. */
export function statementOf(change: StatementChange<unknown>, extra: SQL[] = []): SQL {
  return sql`with ${sql.join([...change.parts, ...extra], sql`, `)} ${change.select}`;
}

/** The shape of the whole statement: the change's and every extra part's values, keyed only if all parts are. */
function combinedShape(change: StatementChange<unknown>, extra: ExtraPart[]): Shape | undefined {
  const shapes = [change.shape, ...extra.map((e) => e.shape)].filter((s): s is Shape => s !== undefined);
  if (shapes.length === 0) return undefined;
  const values: Record<string, unknown> = {};
  for (const s of shapes) {
    for (const [name, value] of Object.entries(s.values)) {
      if (name in values) throw new Error(`statement change: placeholder ${name} is used by two of its parts`);
      values[name] = value;
    }
  }
  const keyed = change.shape?.key !== undefined && extra.every((e) => e.shape === undefined || e.shape.key !== undefined);
  // an extra part without a shape has its values bound: the text may then be rendered only for this run
  const constant = keyed && extra.every((e) => e.shape !== undefined);
  return constant ? { key: [change.shape!.key, ...extra.map((e) => e.shape!.key)].join('\u0000'), values } : { values };
}

/** Runs the change on `db`: alone it is its own transaction; inside one, it joins it. */
export async function runStatementChange<T>(db: Executor, change: StatementChange<T>, extra: ExtraPart[] = []): Promise<T> {
  const statement = statementOf(
    change,
    extra.map((e) => e.part),
  );
  return change.result(rowsOf<Record<string, unknown>>(await executeStatement(db, statement, combinedShape(change, extra))));
}
