/**
 * Prepared statements for drizzle on postgres-js.
 *
 * drizzle sends every query through postgres-js `unsafe(text, params, { prepare: false })` unless the query was
 * `.prepare('name')`d. postgres-js sends such an unnamed statement with parameters in two round trips (Parse +
 * Describe, wait for the parameter types, then Bind + Execute), and PostgreSQL parses and plans it every time.
 * Inside a transaction every round trip also holds the transaction's locks a little longer (the permit-number
 * counter row of a submission, for one).
 *
 * `withPreparedStatements` hands drizzle a client on which such queries are prepared instead: postgres-js
 * prepares a statement text once per connection (cached by text and parameter types; dropped with the
 * connection, re-prepared after a reconnect) and then sends Bind + Execute in one round trip.
 *
 * Only the first `maxTexts` distinct statement texts are prepared; any later text runs unnamed as before. The
 * texts this application sends are fixed by its code (coalesced lookups and filters use `= any($1)`, not IN
 * lists), but a cap means no input can make the per-connection statement caches of the driver and of PostgreSQL
 * grow without bound.
 *
 * The connections keep one generic plan per statement (client.ts), made at its first execution on that connection
 * and kept until the table's statistics change. A statement on a table that grows fast while the app runs (the
 * audit chain) would keep the plan its table's first few pages earned: a sequential scan, which grew with the
 * chain until each group commit scanned it whole. Such a statement begins with {@link PLANNED_PER_CALL} and runs
 * unnamed: planned at every execution, against the table as it is.
 */
import type { Sql } from 'postgres';
import { traceStatement } from './statement-tracer.ts';

export interface PreparedStatementsOptions {
  /** Distinct statement texts that are prepared; later ones run unnamed. @default 1000 */
  maxTexts?: number;
}

export interface PreparingClient {
  /** The client to hand to drizzle. */
  sql: Sql;
  /** Statement texts admitted for preparing so far (for tests and metrics). */
  admitted(): number;
}

/** Marks a statement text to be planned at every execution (see the module comment). */
export const PLANNED_PER_CALL = '/* planned per call */';

type Unsafe = (text: string, args?: unknown[], options?: Record<string, unknown>) => unknown;
type Scoped = (...args: unknown[]) => unknown;

export function withPreparedStatements(client: Sql, options: PreparedStatementsOptions = {}): PreparingClient {
  const max = options.maxTexts ?? 1000;
  const texts = new Set<string>();
  const admit = (text: string) => {
    if (texts.has(text)) return true;
    if (texts.size >= max) return false;
    texts.add(text);
    return true;
  };

  function wrap<T extends object>(target: T): T {
    return new Proxy(target, {
      get(t, prop, receiver) {
        const value = Reflect.get(t, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        if (prop === 'unsafe') {
          const unsafe = value as Unsafe;
          return (text: string, args?: unknown, opts?: Record<string, unknown>) => {
            // unsafe(text, options) is the driver's two-argument form
            if (args !== undefined && !Array.isArray(args)) return unsafe.call(t, text, [], args as Record<string, unknown>);
            const params = (args ?? []) as unknown[];
            // a statement without parameters goes as a simple query (one round trip already)
            const prepare = params.length > 0 && opts?.prepare !== true && !text.startsWith(PLANNED_PER_CALL) && admit(text);
            return traceStatement(text, unsafe.call(t, text, params, prepare ? { ...opts, prepare: true } : opts) as PromiseLike<unknown>);
          };
        }
        if (prop === 'begin' || prop === 'savepoint') {
          // the transaction's own client: its queries are prepared too
          const scoped = value as Scoped;
          return (...args: unknown[]) => {
            const fn = args.pop() as (tx: object) => unknown;
            return scoped.call(t, ...args, (tx: object) => fn(wrap(tx)));
          };
        }
        return value;
      },
    });
  }

  return { sql: wrap(client), admitted: () => texts.size };
}
