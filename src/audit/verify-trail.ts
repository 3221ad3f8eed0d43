/**
 * The auditor's full verification (`cli audit verify`, GraphQL `auditVerification`): the hash chain and its signed
 * checkpoints (verify-chain.ts), plus what a valid chain alone cannot show:
 * - duplicates: one recorded entry (`entryId`) appended more than once. The unique index on `entry_id` prevents it
 *   (migration 0006); this names it should the index ever be gone, or the copies predate it.
 * - permit changes without their entry: every status change a client made (permit_status_history, demo seed rows
 *   excepted) must be named in `affected` by as many mutation entries, chained or still staged. A staged entry
 *   deleted before it was chained leaves a valid chain and a permit change nobody is recorded as having made.
 *   Status history imported from a legacy system (actor `import:legacy`, src/import/legacy-history.ts) is accounted
 *   for as a whole instead: its rows may not outnumber what the import entries say they wrote, that is the rows the
 *   status-changes entries inserted plus the initial rows the permits entries wrote (`history`), less the initial
 *   rows status changes replaced (`replaced`).
 */
import { sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { rowsOf } from '../db/rows.ts';
import { loadAndVerify, type ChainVerification, type LoadAndVerifyOptions } from './verify-chain.ts';

/** Entries reported per kind of problem, at most. */
const REPORTED = 10;

export interface DuplicateEntry {
  entryId: string;
  /** seq of the first copy, and of the first repeat of it. */
  seq: number;
  duplicateSeq: number;
  copies: number;
}

export interface UnauditedChange {
  permitNumber: string;
  /** Status changes made by clients. */
  changes: number;
  /** Mutation entries (chained or staged) naming the permit. */
  entries: number;
}

export interface UnauditedImports {
  /** Status history rows written by imports. */
  rows: number;
  /** Rows the import entries say they wrote (status changes inserted, permits' initial rows, less those replaced). */
  audited: number;
}

export interface TrailVerification extends ChainVerification {
  duplicates: DuplicateEntry[];
  unauditedChanges: UnauditedChange[];
  /** Set when imported history rows outnumber what the import entries account for. */
  unauditedImports?: UnauditedImports;
}

export async function findDuplicateEntries(executor: Executor): Promise<DuplicateEntry[]> {
  const rows = rowsOf<{ id: string; seq: string; dup: string; copies: number }>(
    await executor.execute(sql`
      select entry->>'entryId' as id, min(seq)::text as seq, (array_agg(seq order by seq))[2]::text as dup, count(*)::int as copies
      from audit_entries where entry ? 'entryId'
      group by entry->>'entryId' having count(*) > 1
      order by min(seq) limit ${REPORTED}`),
  );
  return rows.map((r) => ({ entryId: r.id, seq: Number(r.seq), duplicateSeq: Number(r.dup), copies: r.copies }));
}

export async function findUnauditedChanges(executor: Executor): Promise<UnauditedChange[]> {
  return rowsOf<UnauditedChange>(
    await executor.execute(sql`
      with changes as (
        select p.permit_num as num, count(*) as n
        from permit_status_history h join permits p on p.id = h.permit_id
        where h.actor not like 'seed:%' and h.actor <> 'import:legacy'
        group by p.permit_num),
      recorded as (
        select entry from audit_entries where entry->'operation'->>'type' = 'mutation'
        union all
        select entry from audit_pending where entry->'operation'->>'type' = 'mutation'),
      audited as (
        select a.num, count(*) as n
        from recorded e
        cross join lateral jsonb_array_elements_text(case when jsonb_typeof(e.entry->'affected') = 'array' then e.entry->'affected' else '[]'::jsonb end) as a(num)
        group by a.num)
      select c.num as "permitNumber", c.n::int as changes, coalesce(a.n, 0)::int as entries
      from changes c left join audited a on a.num = c.num
      where coalesce(a.n, 0) < c.n
      order by c.num limit ${REPORTED}`),
  );
}

export async function findUnauditedImports(executor: Executor): Promise<UnauditedImports | undefined> {
  const [r] = rowsOf<UnauditedImports>(
    await executor.execute(sql`
      select (select count(*) from permit_status_history where actor = 'import:legacy')::int as rows,
        coalesce((select sum(case e.entry->>'dataset'
            when 'status-changes' then (e.entry->>'inserted')::bigint - coalesce((e.entry->>'replaced')::bigint, 0)
            else coalesce((e.entry->>'history')::bigint, 0) end) from (
          select entry from audit_entries where entry->>'kind' = 'import' and entry->>'dataset' in ('status-changes', 'permits')
          union all
          select entry from audit_pending where entry->>'kind' = 'import' and entry->>'dataset' in ('status-changes', 'permits')) e), 0)::int as audited`),
  );
  return r && r.rows > r.audited ? r : undefined;
}

/** {@link loadAndVerify}, then the duplicate and coverage checks; `ok` only when all three pass. */
export async function verifyAuditTrail(executor: Executor, opts: LoadAndVerifyOptions = {}): Promise<TrailVerification> {
  const chain = await loadAndVerify(executor, opts);
  const duplicates = await findDuplicateEntries(executor);
  const unauditedChanges = await findUnauditedChanges(executor);
  const unauditedImports = await findUnauditedImports(executor);
  const problems: string[] = [];
  if (chain.reason) problems.push(chain.reason);
  const d = duplicates[0];
  if (d) {
    problems.push(
      `entry seq ${d.duplicateSeq} repeats seq ${d.seq} (entryId ${d.entryId}, ${d.copies} copies)` +
        (duplicates.length > 1
          ? ` and ${duplicates.length - 1} more recorded entr${duplicates.length > 2 ? 'ies are' : 'y is'} duplicated`
          : '') +
        ': an entry was appended more than once',
    );
  }
  const u = unauditedChanges[0];
  if (u) {
    problems.push(
      `permit ${u.permitNumber} has ${u.changes} status change(s) by clients but ${u.entries} mutation entr${u.entries === 1 ? 'y' : 'ies'} naming it` +
        (unauditedChanges.length > 1 ? ` (and ${unauditedChanges.length - 1} more permit(s))` : '') +
        ': changes were made without their audit entry',
    );
  }
  if (unauditedImports) {
    problems.push(
      `${unauditedImports.rows} imported status change(s) but import entries account for ${unauditedImports.audited}: history was written without its audit entry`,
    );
  }
  const ok = chain.ok && !d && !u && !unauditedImports;
  const firstBadSeq = chain.firstBadSeq ?? d?.duplicateSeq;
  return {
    ...chain,
    ok,
    ...(firstBadSeq !== undefined ? { firstBadSeq } : {}),
    ...(problems.length ? { reason: problems.join('; ') } : {}),
    duplicates,
    unauditedChanges,
    ...(unauditedImports ? { unauditedImports } : {}),
  };
}
