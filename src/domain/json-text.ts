/**
 * JSON written by PostgreSQL as text concatenation: cheaper per feature than json_build_object, which looks up
 * every argument's type and output function on each call. Values go through to_json (strings: escaping), numbers
 * and dates through their text forms.
 */
import { sql, type SQL } from 'drizzle-orm';

/** A string (escaped), or null. */
export const jsonString = (value: SQL | unknown) => sql`coalesce(to_json(${value})::text, 'null')`;

/** A number (numeric, double precision: their text forms are JSON numbers), or null. */
export const jsonNumber = (value: SQL | unknown) => sql`coalesce((${value})::text, 'null')`;

/** A timestamptz as ISO 8601 UTC with milliseconds (what `Date.toISOString()` writes), or null. */
export const jsonDateTime = (value: SQL | unknown) =>
  sql`coalesce('"' || to_char(${value} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"', 'null')`;

/** A JSON object from members whose values are already JSON text; keys are fixed names of this code. */
export function jsonObject(members: ReadonlyArray<readonly [string, SQL]>): SQL {
  const parts = members.map(([key, value], i) => {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(key)) throw new Error(`jsonObject: key ${key} is not a plain name`);
    return sql`${sql.raw(`'${i === 0 ? '{' : ','}"${key}":'`)} || ${value}`;
  });
  return sql`(${sql.join(parts, sql` || `)} || '}')`;
}
