/**
 * Cross-request read coalescing: lookups of one kind that concurrent requests make within the same event-loop
 * turn become one statement (`… where key = any($1)`), instead of one statement per request. Under load this is
 * what keeps the number of round trips to PostgreSQL (and the driver's per-statement cost) flat.
 *
 * A batch runs with ONE visibility scope: callers must put everything the statement's WHERE clause depends on
 * (jurisdiction, ownership) into `scope`, so requests of different tenants never share a statement. Nothing is
 * cached: every batch reads the database anew, so a request never sees data older than its own arrival.
 * Only for reads outside a transaction (the database handle, not a `Tx`).
 */
import DataLoader from 'dataloader';
import { LRUCache } from 'lru-cache';
import { sql, type AnyColumn, type SQL } from 'drizzle-orm';

type Loader = DataLoader<string, unknown>;

/** At most this many keys per statement (a bigger batch is split). */
const MAX_BATCH = 500;

const registries = new WeakMap<object, LRUCache<string, Loader>>();

function registryOf(owner: object) {
  let r = registries.get(owner);
  if (!r) {
    r = new LRUCache<string, Loader>({ max: 10_000 });
    registries.set(owner, r);
  }
  return r;
}

/**
 * The shared loader of `kind` in `scope` for this database handle. `load` answers one value per key, in order
 * (null where nothing matched).
 */
export function coalesced<V>(owner: object, kind: string, scope: string, load: (keys: readonly string[]) => Promise<(V | null)[]>) {
  const registry = registryOf(owner);
  const id = `${kind}\u0000${scope}`;
  let loader = registry.get(id) as DataLoader<string, V | null> | undefined;
  if (!loader) {
    loader = new DataLoader<string, V | null>(load, {
      cache: false,
      maxBatchSize: MAX_BATCH,
      // wait for the rest of this event-loop turn: requests that arrived together share the statement
      batchScheduleFn: (run) => setImmediate(run),
    });
    registry.set(id, loader as Loader);
  }
  return loader;
}

const ids = new WeakMap<object, number>();
let nextId = 1;
/** A stable number per object (e.g. per guard function), to keep loaders that close over it apart in `kind`. */
export function idOf(o: object): number {
  let id = ids.get(o);
  if (id === undefined) ids.set(o, (id = nextId++));
  return id;
}

/** Values for `keys` from rows, matched by `keyOf` (duplicates in `keys` get the same row). */
export function byKey<T>(keys: readonly string[], rows: readonly T[], keyOf: (row: T) => string): (T | null)[] {
  const m = new Map<string, T>();
  for (const r of rows) m.set(keyOf(r), r);
  return keys.map((k) => m.get(k) ?? null);
}

/** Rows grouped under `keys` by `keyOf` (a key without rows gets an empty list). */
export function groupedByKey<T>(keys: readonly string[], rows: readonly T[], keyOf: (row: T) => string): T[][] {
  const m = new Map<string, T[]>();
  for (const r of rows) {
    const k = keyOf(r);
    const list = m.get(k);
    if (list) list.push(r);
    else m.set(k, [r]);
  }
  return keys.map((k) => m.get(k) ?? []);
}

/**
 * `column = any($1::type[])` with the whole key list as ONE parameter: one statement text whatever the batch
 * size (`in ($1, …, $n)` would prepare a new statement for every n).
 */
export function anyOf(column: AnyColumn, keys: readonly string[], type: 'uuid' | 'text'): SQL {
  return sql`${column} = any(${sql.param([...keys])}::${sql.raw(type)}[])`;
}

/**
 * {@link anyOf} with the key list as the placeholder `keys`, for a batch statement prepared once per loader with
 * drizzle's `.prepare()` and run with `.execute({ keys })`: drizzle then builds the SQL text once instead of for
 * every batch.
 */
export function anyOfKeys(column: AnyColumn, type: 'uuid' | 'text'): SQL {
  return sql`${column} = any(${sql.placeholder('keys')}::${sql.raw(type)}[])`;
}

/** `make()` on first use, the same value afterwards (a loader's prepared statement). */
export function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}
