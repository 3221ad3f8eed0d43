/**
 * Pure helpers for what the drivers hand back, with no I/O: client.ts, change-feed.ts and every query site share
 * them without importing the connection factory (change-feed.ts cannot: client.ts builds the feed).
 */

/** A json/jsonb value as the driver hands it over: parsed by postgres-js, possibly text from PGlite. */
export function jsonOf<T>(value: T | string): T {
  return typeof value === 'string' ? (JSON.parse(value) as T) : value;
}

/** `db.execute` answers an array (postgres-js) or `{ rows }` (PGlite); this gives the rows either way. */
export function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}
