/**
 * One page of GeoJSON features in keyset order, built by PostgreSQL in ONE statement: the features as a JSON
 * text (string_agg of JSON text, handed to the response as is, never parsed here), the page's first and last keys, whether a
 * row lies beyond the page, and how many features match in all. Paging by key, never by offset, so a walk
 * through a changing collection neither repeats nor skips what was there when it started.
 */
import { and, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { rowsOf } from '../db/rows.ts';

/** Where a page starts: after a key (forwards) or before one (backwards, for `prev` links). */
export type KeyCursor = { after: string } | { before: string };

/** Opaque page cursors: the direction and the key a page continues from, base64url. */
export const encodeFeatureCursor = (c: KeyCursor) => Buffer.from('after' in c ? `a:${c.after}` : `b:${c.before}`).toString('base64url');

/** The cursor `encodeFeatureCursor` made, or null for anything else. */
export function decodeFeatureCursor(raw: string): KeyCursor | null {
  const text = /^[A-Za-z0-9_-]{1,300}$/.test(raw) ? Buffer.from(raw, 'base64url').toString() : '';
  const key = text.slice(2);
  if (!/^[ab]:/.test(text) || key.length === 0 || key.length > 128 || key.includes('\u0000')) return null;
  return text.startsWith('a:') ? { after: key } : { before: key };
}

export interface FeaturePageSpec {
  /** The key column (text or uuid), unique within `where`. */
  key: SQL;
  /** One feature as JSON text (json-text.ts). */
  feature: SQL;
  /** FROM clause: tables and joins. */
  from: SQL;
  /** What matches, cursor aside. */
  where: SQL[];
  /** Features on the page. */
  limit: number;
  cursor?: KeyCursor | null;
  /** Also count every match (`numberMatched`). @default true */
  countMatched?: boolean;
  /**
   * Feature texts built earlier, by key, for data that has not changed since (the caller scopes them: see
   * src/http/ogc/feature-texts.ts). Given, the page reads its keys first and builds only the features it lacks.
   */
  texts?: FeatureTexts | null;
  /** The key column's SQL type, for the lookup of missing features by key. @default 'text' */
  keyType?: 'text' | 'uuid';
}

/** Feature JSON texts by key, valid for one state of the data. */
export interface FeatureTexts {
  get(key: string): string | undefined;
  set(key: string, text: string): void;
}

export interface FeaturePage {
  /** A JSON array of features, as text. */
  featuresJson: string;
  returned: number;
  /** Keys of the first and last feature on the page (null when empty). */
  firstKey: string | null;
  lastKey: string | null;
  /** More features after `lastKey` / before `firstKey` (within `where`). */
  hasNext: boolean;
  hasPrev: boolean;
  matched: number | null;
}

export async function featurePage(db: Executor, s: FeaturePageSpec): Promise<FeaturePage> {
  if (s.texts) return pageFromTexts(db, s, s.texts);
  const backwards = Boolean(s.cursor && 'before' in s.cursor);
  const at = s.cursor ? ('before' in s.cursor ? s.cursor.before : s.cursor.after) : null;
  const where = and(...s.where) ?? sql`true`;
  const window = at === null ? where : and(where, backwards ? sql`${s.key} < ${at}` : sql`${s.key} > ${at}`)!;
  const dir = backwards ? sql`desc` : sql`asc`;
  // limit + 1 rows: the extra one only says that there is more in the walk's direction
  const rows = sql`select ${s.key} as k, ${s.feature} as f from ${s.from} where ${window} order by ${s.key} ${dir} limit ${s.limit + 1}`;
  const matched = s.countMatched === false ? sql`null::int` : sql`(select count(*)::int from ${s.from} where ${where})`;
  const statement = sql`
    select count(*)::int as fetched,
      '[' || coalesce(string_agg(w.f, ',' order by w.k) filter (where w.rn <= ${s.limit}), '') || ']' as features,
      (array_agg(w.k::text order by w.k asc) filter (where w.rn <= ${s.limit}))[1] as first_key,
      (array_agg(w.k::text order by w.k desc) filter (where w.rn <= ${s.limit}))[1] as last_key,
      ${matched} as matched
    from (select r.k, r.f, row_number() over (order by r.k ${dir}) as rn from (${rows}) r) w`;
  const [row] = rowsOf<{ fetched: number; features: string; first_key: string | null; last_key: string | null; matched: number | null }>(
    await db.execute(statement),
  );
  const fetched = Number(row?.fetched ?? 0);
  const returned = Math.min(fetched, s.limit);
  const beyond = fetched > s.limit;
  return {
    featuresJson: row?.features ?? '[]',
    returned,
    firstKey: row?.first_key ?? null,
    lastKey: row?.last_key ?? null,
    // a cursor means something lies on its other side (the feature it names, or ones before/after it)
    hasNext: backwards ? at !== null : beyond,
    hasPrev: backwards ? beyond : at !== null,
    matched: row?.matched === null || row?.matched === undefined ? null : Number(row.matched),
  };
}

/**
 * The page from its keys: one statement reads the page's keys in walk order (and the count), a second builds the
 * features `texts` lacks, each kept for the next page that holds it. Building a feature's JSON is nearly all of a
 * page's cost in PostgreSQL (reading its key is a small part of it), and GIS clients ask for the same features
 * again in other pages (panning, zooming, other filters and page sizes).
 */
async function pageFromTexts(db: Executor, s: FeaturePageSpec, texts: FeatureTexts): Promise<FeaturePage> {
  const backwards = Boolean(s.cursor && 'before' in s.cursor);
  const at = s.cursor ? ('before' in s.cursor ? s.cursor.before : s.cursor.after) : null;
  const where = and(...s.where) ?? sql`true`;
  const window = at === null ? where : and(where, backwards ? sql`${s.key} < ${at}` : sql`${s.key} > ${at}`)!;
  const dir = backwards ? sql`desc` : sql`asc`;
  const matched = s.countMatched === false ? sql`null::int` : sql`(select count(*)::int from ${s.from} where ${where})`;
  // ARRAY(subquery) keeps the subquery's order; limit + 1 keys: the extra one only says that there is more
  const [row] = rowsOf<{ keys: string[] | string | null; matched: number | null }>(
    await db.execute(
      sql`select array(select ${s.key}::text from ${s.from} where ${window} order by ${s.key} ${dir} limit ${s.limit + 1}) as keys, ${matched} as matched`,
    ),
  );
  const fetched = textArray(row?.keys ?? null);
  const keys = fetched.slice(0, s.limit);
  if (backwards) keys.reverse();
  // each key looked up once: what is known now, and what is to build
  const known = keys.map((k) => texts.get(k));
  const missing = keys.filter((_, i) => known[i] === undefined);
  const built = new Map<string, string>();
  if (missing.length > 0) {
    // a semi-join on the unnested keys (index probes or a hash), not `= any($1)`: a parameter's array is searched
    // element by element for every row, thousands of keys times thousands of rows on a large page
    const type = sql.raw(s.keyType ?? 'text');
    const rows = rowsOf<{ k: string; f: string }>(
      await db.execute(
        sql`select ${s.key}::text as k, ${s.feature} as f from ${s.from} where ${and(where, sql`${s.key} in (select unnest(${sql.param(missing)}::${type}[]))`)}`,
      ),
    );
    for (const r of rows) {
      built.set(r.k, r.f);
      texts.set(r.k, r.f);
    }
  }
  // a feature gone between the two statements (deleted, or moved out of sight) is left out
  const features: string[] = [];
  const shown: string[] = [];
  for (const [i, k] of keys.entries()) {
    const f = known[i] ?? built.get(k);
    if (f === undefined) continue;
    features.push(f);
    shown.push(k);
  }
  const beyond = fetched.length > s.limit;
  return {
    featuresJson: `[${features.join(',')}]`,
    returned: features.length,
    firstKey: shown[0] ?? null,
    lastKey: shown.at(-1) ?? null,
    hasNext: backwards ? at !== null : beyond,
    hasPrev: backwards ? beyond : at !== null,
    matched: row?.matched === null || row?.matched === undefined ? null : Number(row.matched),
  };
}

/** A text[] as the drivers hand it over: an array (postgres-js) or, possibly, its literal (PGlite). */
function textArray(value: string[] | string | null): string[] {
  if (value === null) return [];
  if (Array.isArray(value)) return value;
  throw new Error('feature page: keys arrived as an array literal');
}
