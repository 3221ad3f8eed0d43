/**
 * Appends entries to the audit hash chain, serialised by the database.
 *
 * Why this shape:
 * - One transaction-scoped advisory lock (`pg_advisory_xact_lock`) orders every appender on the database,
 *   so any number of processes on one PostgreSQL build a single gap-free chain: `seq` is max + 1 and
 *   `prev_hash` the previous `hash`, both read *after* the lock is held (READ COMMITTED takes a new
 *   snapshot per statement, so the head read sees the previous holder's committed rows).
 * - It runs inside the caller's transaction when given one, so a mutation and the entry describing it
 *   commit or roll back together. The lock is held until that transaction ends: append as the last step.
 *   Use READ COMMITTED (the default): under REPEATABLE READ the head read could be stale, and the insert
 *   then fails on the `seq` primary key rather than forking the chain.
 * - The time (`createdAt`, ISO UTC) is taken from the database clock under the lock and written into the
 *   entry itself, so the hash covers it and times never run backwards along the chain across instances.
 * - What is hashed is exactly what is stored: the canonical JSON text, computed once per entry, is hashed and inserted.
 * - Mutations do not append here inside their transaction: they stage their entry (`stagingStatement`, no lock)
 *   and the next group commit chains the staged entries first (`withPending`), see src/db/schema/audit.ts.
 * - Rows are written by the `append_audit_entries` function (migration 0007), so the app role holds no INSERT on
 *   the chain nor DELETE on the staged entries; an entry whose `entryId` is already chained is skipped (idempotent).
 */
import { sql, type SQL } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { PgTransaction } from 'drizzle-orm/pg-core';
import type { Executor, Tx } from '../db/client.ts';
import { rowsOf } from '../db/rows.ts';
import { PLANNED_PER_CALL } from '../db/prepared-statements.ts';
import type { Shape } from '../db/fused-statements.ts';
import { inspectClientJson, storableCopy, storableText } from '../guard/client-text.ts';
import { canonicalJson } from './canonical-json.ts';
import { GENESIS_HASH, hashOfCanonical } from './hash-chain.ts';

/** Advisory lock key serialising audit appends (the migration lock is 7_301_000_001). */
export const AUDIT_APPEND_LOCK = 7_301_000_002;
/** Entries canonicalised and hashed between two yields to the event loop. */
const HASH_SLICE = 100;
/** Rows per INSERT statement (bounds the size of one statement's arrays). */
const ROWS_PER_INSERT = 1_000;

export interface AppendedAuditEntry {
  seq: number;
  /** ISO 8601 UTC, also present as `entry.createdAt`. */
  createdAt: string;
  entry: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

/**
 * The JSON text of `value` (undefined when JSON cannot write it: a BigInt, a cycle) and whether a key or string in it
 * holds U+0000 or a lone surrogate (jsonb cannot store the one, canonical JSON has no text for the other). JSON text
 * writes both as escapes (`\u0000`, `\ud800`), so a JSON text without such an escape has neither: one native
 * JSON.stringify instead of walking every entry's keys in script (a fifth of the audit worker's time per entry). The
 * walk decides when the text has such an escape (or a string holds a backslash followed by `u0000`) and for what
 * JSON text cannot hold.
 */
function inspectText(value: unknown): { text: string | undefined; unstorable: boolean } {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    return { text: undefined, unstorable: inspectClientJson(value, '', Infinity).text !== null };
  }
  return { text, unstorable: text !== undefined && hasUnstorableEscape(text) && inspectClientJson(value, '', Infinity).text !== null };
}
const UNSTORABLE_ESCAPE = /\\u(?:0000|d[89a-f])/;
const hasUnstorableEscape = (json: string) => UNSTORABLE_ESCAPE.test(json);

/** Entries {@link storable} already made safe (their text check is not repeated). */
const madeStorable = new WeakSet<object>();

/**
 * The entries of a JSON array text (the audit worker's batches): when the text holds no escape of U+0000 or a lone
 * surrogate, none of its entries does, so they count as storable without writing each out again; otherwise each is
 * checked when appended.
 */
export function parseEntries(json: string): unknown[] {
  const entries = JSON.parse(json) as unknown[];
  if (!hasUnstorableEscape(json)) for (const e of entries) if (e !== null && typeof e === 'object') madeStorable.add(e);
  return entries;
}

/**
 * Refuses early an entry that could not round-trip through `jsonb`. No copy is made: what is stored is the
 * canonical JSON text computed once in appendLocked (the text is hashed and inserted as is, so values with a
 * `toJSON`, like Dates, are stored exactly as hashed).
 */
function checkStorable(entry: object): Record<string, unknown> {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    throw new TypeError('appendAuditEntries: each entry must be a JSON object');
  }
  // failing here names the cause instead of a driver or canonicalisation error mid-transaction
  if (!madeStorable.has(entry) && inspectText(entry).unstorable) {
    throw new TypeError('appendAuditEntries: entries must not contain U+0000 or lone UTF-16 surrogates');
  }
  return entry as Record<string, unknown>;
}

/**
 * An entry built from what a client sent (variables, an operation name, a client id…) may hold U+0000, which
 * `jsonb` cannot store, or a lone UTF-16 surrogate, which has no canonical JSON: such characters are written as
 * U+FFFD (the replacement character, src/guard/client-text.ts). The recorder passes every entry through here, so one
 * request can neither make a group commit (and every entry after it) fail nor lose its entry's attribution.
 */
export function storable<T extends object>(entry: T): T {
  return storableWithText(entry).entry;
}

/**
 * {@link storable}, with the entry's JSON text when the check wrote it (undefined for a copy or what JSON cannot
 * write): the recorder hands that text to the audit worker instead of writing the entry out a second time.
 */
export function storableWithText<T extends object>(entry: T): { entry: T; json: string | undefined } {
  const { text, unstorable } = inspectText(entry);
  const safe = unstorable ? (storableCopy(entry, { maxDepth: Infinity }) as T) : entry;
  // anything but an object (a spooled line can hold any JSON) is left to checkStorable to refuse
  if (safe !== null && typeof safe === 'object') madeStorable.add(safe);
  return { entry: safe, json: unstorable ? undefined : text };
}

/**
 * The entry with an `entryId` (a random UUID unless it has one): given once when an entry is recorded, it travels
 * with the entry through the worker, the fallback recorder and the spool, so appending it again is a no-op.
 */
export function withEntryId<T extends object>(entry: T): T & { entryId: string } {
  const id = (entry as { entryId?: unknown }).entryId;
  return typeof id === 'string' ? (entry as T & { entryId: string }) : { ...entry, entryId: randomUUID() };
}

/** Why `entry` cannot be appended (not a JSON object, no canonical JSON), or null when it can. */
export function unstorableReason(entry: unknown): string | null {
  try {
    canonicalJson(checkStorable(entry as object));
    return null;
  } catch (err) {
    return (err as Error).message.slice(0, 200);
  }
}

/**
 * What is chained instead of an entry that cannot be (the recorder's quarantine and the audit worker's hand-over
 * build the same record): every field of the original that can be stored (who, what operation, which records, its
 * outcome as `originalOutcome`), with text made storable, a BigInt as its digits, a non-finite number as null and a
 * cycle or too deep a nesting cut; the reason; and `outcome: ERROR`, since the entry itself was not stored as built.
 */
export function unstorableRecord(reason: string, original: unknown) {
  const e = original as Record<string, unknown> | null | undefined;
  const str = (v: unknown) => (typeof v === 'string' ? storableText(v.slice(0, 128)) : null);
  const marker = {
    kind: 'audit.unstorable',
    reason: storableText(reason.slice(0, 200)),
    originalKind: str(e?.kind),
    requestId: str(e?.requestId),
    outcome: 'ERROR',
  };
  let kept: Record<string, unknown> = {};
  try {
    const copy = e !== null && typeof e === 'object' ? storableCopy(e, { salvage: true }) : null;
    if (copy !== null && typeof copy === 'object' && !Array.isArray(copy)) {
      const { kind: _kind, outcome, ...rest } = copy as Record<string, unknown>;
      kept = { ...rest, ...(outcome !== undefined ? { originalOutcome: outcome } : {}) };
      canonicalJson(kept);
    }
  } catch {
    kept = {}; // a getter that throws, say: the marker alone is still chained
  }
  return { ...kept, ...marker };
}

interface Head {
  seq: string | number | null;
  hash: string | null;
  now: string;
  /** entryIds of the given entries that the chain already holds. */
  present: string[] | string | null;
}

/** Pending entries (audit_pending) chained per group commit at most; the rest wait for the next one. */
const PENDING_PER_APPEND = 5_000;

/**
 * Reads up to {@link PENDING_PER_APPEND} committed mutation entries of `audit_pending`, oldest first. Runs under the
 * append lock, in the appending transaction; `append_audit_entries` (migration 0007) deletes them as it chains them,
 * so they go from pending to the chain atomically, and the app role needs no DELETE on the table.
 */
async function readPending(tx: Executor): Promise<{ id: string; entry: Record<string, unknown> }[]> {
  const rows = rowsOf<{ id: string; entry: Record<string, unknown> }>(
    // ordered by the bigint column, not the text alias: staged entries are chained in the order they were staged
    await tx.execute(sql`select id::text as id, entry from audit_pending order by audit_pending.id limit ${PENDING_PER_APPEND}`),
  );
  return rows.map((r) => ({ id: r.id, entry: checkStorable(r.entry) }));
}

/** The `entryId` an entry was recorded with (recorder.ts), if any. */
const entryIdOf = (e: Record<string, unknown>) => (typeof e.entryId === 'string' ? e.entryId : undefined);

/**
 * `given` without the entries whose `entryId` is already in the chain (`present`) or earlier in `given`: an entry
 * sent again (a worker that died after its commit, a spool replayed after a commit whose answer was lost) is a no-op.
 */
function withoutRepeats(given: Record<string, unknown>[], present: readonly string[]): Record<string, unknown>[] {
  const seen = new Set(present);
  return given.filter((e) => {
    const id = entryIdOf(e);
    if (id === undefined) return true;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

async function appendLocked(tx: Executor, offered: Record<string, unknown>[], withPending: boolean): Promise<AppendedAuditEntry[]> {
  await tx.execute(sql`select pg_advisory_xact_lock(${AUDIT_APPEND_LOCK}::bigint)`);
  const pending = withPending ? await readPending(tx) : [];
  if (pending.length === 0 && offered.length === 0) return [];
  const ids = offered.map(entryIdOf).filter((id): id is string => id !== undefined);
  // the head and, in the same round trip, which of the offered entries the chain already holds
  const [head] = rowsOf<Head>(
    // planned per call: a plan kept from when the chain was short scanned all of it once it had grown
    await tx.execute(sql`${sql.raw(PLANNED_PER_CALL)}
      select (select seq from audit_entries order by seq desc limit 1)::text as seq,
             (select hash from audit_entries order by seq desc limit 1) as hash,
             to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as now,
             (select coalesce(array_agg(entry_id), '{}') from audit_entries where entry_id = any(${sql.param(ids)}::text[])) as present`),
  );
  if (!head) throw new Error('appendAuditEntries: head query returned no row');
  const given = withoutRepeats(offered, pgTextArray(head.present));
  const entries = [...pending.map((p) => p.entry), ...given];
  if (entries.length === 0) return [];
  let seq = head.seq === null ? 0 : Number(head.seq);
  let prevHash = head.hash ?? GENESIS_HASH;
  const createdAt = head.now;

  // the canonical text is computed once per entry: hashed and stored as is
  const texts: string[] = [];
  const appended: AppendedAuditEntry[] = [];
  for (const [i, e] of entries.entries()) {
    // a large group commit would otherwise hash in one synchronous stretch, holding up the requests being served
    if (i > 0 && i % HASH_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
    const entry = { ...e, createdAt };
    const text = canonicalJson(entry);
    seq += 1;
    const hash = hashOfCanonical(prevHash, text);
    texts.push(text);
    appended.push({ seq, createdAt, entry, prevHash, hash });
    prevHash = hash;
  }

  // one statement text whatever the batch size: the canonical texts go as one JSON array (PostgreSQL parses it once;
  // a text[] of JSON texts took twice the client CPU to escape and PostgreSQL more to take apart), the hashes as a
  // text[] beside it. append_audit_entries (migration 0007, owned by the schema owner) inserts them after checking
  // they continue the head, and deletes the staged entries of the chunk, which must come first and unchanged
  for (let i = 0; i < appended.length; i += ROWS_PER_INSERT) {
    const chunk = appended.slice(i, i + ROWS_PER_INSERT);
    const first = chunk[0]!;
    const staged = pending.slice(i, i + chunk.length).map((p) => p.id);
    await tx.execute(sql`
      select append_audit_entries(${first.seq}::bigint, ${first.prevHash}::text, ${createdAt}::text,
                         ${`[${texts.slice(i, i + chunk.length).join(',')}]`}::text, ${sql.param(chunk.map((r) => r.hash))}::text[],
                         ${sql.param(staged)}::bigint[])`);
  }
  return appended;
}

/** A `text[]` as the driver hands it over: an array (postgres-js) or its text form `{a,b}` (PGlite). */
function pgTextArray(value: string[] | string | null): string[] {
  if (value === null) return [];
  if (Array.isArray(value)) return value;
  const inner = value.slice(1, -1);
  return inner === '' ? [] : inner.split(',').map((v) => v.replace(/^"(.*)"$/, '$1'));
}

/**
 * Appends `entries` (in order, consecutive `seq`) to the chain and returns them with seq and hashes.
 * With a transaction (`tx`) it joins it; with the database it opens and commits its own.
 */
export async function appendAuditEntries(
  executor: Executor,
  entries: readonly object[],
  opts: { withPending?: boolean } = {},
): Promise<AppendedAuditEntry[]> {
  const withPending = opts.withPending ?? false;
  if (entries.length === 0 && !withPending) return [];
  const checked = entries.map(checkStorable);
  if (executor instanceof PgTransaction) return appendLocked(executor, checked, withPending);
  return executor.transaction((tx: Tx) => appendLocked(tx, checked, withPending));
}

/**
 * The statement that writes a mutation's entry into `audit_pending`, to run inside the mutation's transaction: it
 * commits or rolls back with the change, without taking the chain lock. The recorder chains it at its next group
 * commit (entries recorded with `withPending` go in after the pending ones). With `produced` (a `text[]`
 * expression over the parts of a one-statement change) the names it yields are appended to the entry's `affected`.
 * The entry is the placeholder `audit_entry` of the returned shape (src/db/fused-statements.ts), so the statement's
 * text is rendered once.
 */
export function stagingStatement(entry: object, produced?: SQL): { statement: SQL; shape: Shape; stagedEntry: string } {
  const values = { audit_entry: canonicalJson(checkStorable(entry)) };
  const json = sql`${sql.placeholder('audit_entry')}::text::jsonb`;
  const stagedEntry = values.audit_entry;
  if (!produced) {
    return { statement: sql`insert into audit_pending (entry) values (${json})`, shape: { key: 'audit-staging', values }, stagedEntry };
  }
  // a part of the change's own statement (src/db/fused-statements.ts): the records it creates join `affected`
  // (the entry is hashed from the stored jsonb when it is chained, so adding to it here is safe). `produced` is the
  // change's, so the change's own shape key covers its text.
  return {
    statement: sql`insert into audit_pending (entry)
    select jsonb_set(e, '{affected}', coalesce(e->'affected', '[]'::jsonb) || coalesce(to_jsonb(${produced}::text[]), '[]'::jsonb))
    from (select ${json} as e) as staged`,
    shape: { key: 'audit-staging-with-produced', values },
    stagedEntry,
  };
}

/** One entry: {@link appendAuditEntries} with a single element. */
export async function appendAuditEntry(executor: Executor, entry: object): Promise<AppendedAuditEntry> {
  const [row] = await appendAuditEntries(executor, [entry]);
  return row as AppendedAuditEntry;
}
