/**
 * A hook through which each SQL statement can be measured (ops/tracing.ts sets it when tracing is on): db/ may not
 * import ops/, and with no tracer set a statement runs exactly as before.
 */

/**
 * Called as a statement is sent; the function it returns is called once when the statement has settled, and when it
 * returns none the statement runs unwrapped (nothing records it: an unsampled request, background work).
 */
export type StatementTracer = (text: string) => ((error?: unknown) => void) | undefined;

let tracer: StatementTracer | null = null;

export function setStatementTracer(t: StatementTracer | null): void {
  tracer = t;
}

/** Wraps a statement's promise so the tracer hears when it settles (postgres-js queries run on their first `then`). */
export function traceStatement<Q extends PromiseLike<unknown>>(text: string, query: Q): Q {
  const end = tracer?.(text);
  if (!end) return query;
  // `await` on a plain Promise never looks its `then` up: chain instead (PGlite's queries are plain and eager)
  if (query instanceof Promise && query.constructor === Promise) {
    return query.then(
      (v) => (end(), v),
      (e) => {
        end(e);
        throw e;
      },
    ) as unknown as Q;
  }
  const then = query.then.bind(query);
  // the query object itself is kept (postgres-js `.values()` returns it); only its `then` learns of the end
  // biome-ignore lint/suspicious/noThenProperty: the driver's query is a lazy thenable; its then is the only hook
  (query as { then: unknown }).then = (ok?: (v: unknown) => unknown, fail?: (e: unknown) => unknown) =>
    then(
      (v) => {
        end();
        return ok ? ok(v) : v;
      },
      (e) => {
        end(e);
        if (fail) return fail(e);
        throw e;
      },
    );
  return query;
}

/** A PGlite connection (or transaction) whose `query` calls are traced, transactions included. */
export function tracedPglite<T extends object>(client: T): T {
  return new Proxy(client, {
    get(t, prop, receiver) {
      const value = Reflect.get(t, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (prop === 'query') {
        return (text: string, ...rest: unknown[]) => {
          const run = () => (value as (...a: unknown[]) => Promise<unknown>).call(t, text, ...rest);
          return tracer ? traceStatement(text, run()) : run();
        };
      }
      if (prop === 'transaction') {
        return (fn: (tx: object) => unknown) =>
          (value as (f: (tx: object) => unknown) => unknown).call(t, (tx: object) => fn(tracedPglite(tx)));
      }
      return (value as (...a: unknown[]) => unknown).bind(t);
    },
  });
}
