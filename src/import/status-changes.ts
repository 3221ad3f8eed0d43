/**
 * A permit's status history from a legacy permit system, in BLDS's optional status-changes dataset: one row per status
 * a permit entered and the date it did (`StatusPrevious`, `StatusPreviousDate`: the columns `export status-changes`
 * writes, so an export imports back unchanged; `StatusCurrent` and `StatusDate` are read too, as some systems name
 * them so). The natural key is the permit, the status and the instant: a rerun adds nothing and only updates a changed
 * comment. Each imported row's previous status is derived from the permit's history in date order, so batches and
 * reruns in any order end with the same chain.
 */
import { sql } from 'drizzle-orm';
import type { Tx } from '../db/client.ts';
import { rowsOf } from '../db/rows.ts';
import type { Jurisdiction } from '../db/schema/jurisdictions.ts';
import { PERMIT_STATUSES, type PermitStatus } from '../db/schema/permits.ts';
import { LIMITS } from '../domain/inputs.ts';
import { csvItems } from './columns.ts';
import { IMPORT_ACTOR, INITIAL_HISTORY_REASON } from './legacy-history.ts';
import { parseLegacyDate } from './local-time.ts';
import { resolvePermitNumbers } from './permit-lookup.ts';
import { mapStatus } from './permits.ts';
import type { Checked, Dataset } from './run-import.ts';

export interface StatusChangeRow {
  permit_num: string;
  to_status: PermitStatus;
  changed_at: string;
  reason: string | null;
  permit_id?: string;
}

export { IMPORT_ACTOR };

function checkStatusChange(input: unknown, j: Jurisdiction): Checked<StatusChangeRow> {
  const f = input as Record<string, string>;
  const num = f.permitnum ?? '';
  if (!num) return { reason: 'PermitNum is empty' };
  const bad = (what: string) => ({ reason: `permit ${num}: ${what}` });
  const raw = f.statusprevious || f.statuscurrent || '';
  const mapped = f.statuspreviousmapped || f.statuscurrentmapped || '';
  const status = (raw && mapStatus(raw)) || (mapped && mapStatus(mapped)) || null;
  if (!status)
    return bad(
      raw || mapped
        ? `StatusPrevious "${raw}" (StatusPreviousMapped "${mapped}") is neither one of ${PERMIT_STATUSES.join(', ')} nor a BLDS StatusPreviousMapped value`
        : 'StatusPrevious is empty',
    );
  const dateText = f.statuspreviousdate || f.statusdate || '';
  if (!dateText) return bad('StatusPreviousDate is empty');
  const at = parseLegacyDate(dateText, j.timezone);
  if (!at) return bad(`StatusPreviousDate "${dateText}" is not a date (YYYY-MM-DD, or ISO 8601 date-time)`);
  const comments = f.comments ?? '';
  if (comments.length > LIMITS.reason) return bad(`Comments is longer than ${LIMITS.reason} characters`);
  return {
    key: `status ${status} of permit ${num} at ${at.toISOString()}`,
    row: { permit_num: num, to_status: status, changed_at: at.toISOString(), reason: comments === '' ? null : comments },
  };
}

async function writeStatusChanges(tx: Tx, _j: Jurisdiction, rows: StatusChangeRow[]) {
  const data = JSON.stringify(rows);
  // the stand-in rows of these permits: the file's rows are their history
  const replaced = rowsOf<{ n: number }>(
    await tx.execute(sql`
      with del as (
        delete from permit_status_history h
        where h.actor = ${IMPORT_ACTOR} and h.reason = ${INITIAL_HISTORY_REASON}
          and h.permit_id in (select (v->>'permit_id')::uuid from json_array_elements(${data}::json) as v)
        returning 1
      )
      select count(*)::int as n from del`),
  )[0]!.n;
  // file order decides between two rows of one permit at the same instant (ordinality keeps it in the ids)
  const inserted = rowsOf<{ n: number }>(
    await tx.execute(sql`
      with r as (
        select r.*, o.n from json_array_elements(${data}::json) with ordinality as o(v, n),
          json_to_record(o.v) as r(permit_id uuid, to_status text, changed_at timestamptz, reason text)
      ), ins as (
        insert into permit_status_history (permit_id, from_status, to_status, reason, actor, changed_at)
        select r.permit_id, null, r.to_status, r.reason, ${IMPORT_ACTOR}, r.changed_at from r
        where not exists (select 1 from permit_status_history h
          where h.permit_id = r.permit_id and h.to_status = r.to_status and h.changed_at = r.changed_at)
        order by r.n
        returning 1
      )
      select count(*)::int as n from ins`),
  )[0]!.n;
  const updated = rowsOf<{ n: number }>(
    await tx.execute(sql`
      with upd as (
        update permit_status_history h set reason = r.reason
        from json_to_recordset(${data}::json) as r(permit_id uuid, to_status text, changed_at timestamptz, reason text)
        where h.permit_id = r.permit_id and h.to_status = r.to_status and h.changed_at = r.changed_at
          and h.actor = ${IMPORT_ACTOR} and h.reason is distinct from r.reason
        returning 1
      )
      select count(*)::int as n from upd`),
  )[0]!.n;
  // the chain of previous statuses over each touched permit's whole history, in date order
  await tx.execute(sql`
    update permit_status_history h set from_status = x.prev
    from (
      select id, lag(to_status) over (partition by permit_id order by changed_at, id) as prev
      from permit_status_history
      where permit_id in (select (v->>'permit_id')::uuid from json_array_elements(${data}::json) as v)
    ) x
    where h.id = x.id and h.actor = ${IMPORT_ACTOR} and h.from_status is distinct from x.prev`);
  return { inserted, updated, replaced };
}

export const statusChangesDataset: Dataset<StatusChangeRow> = {
  name: 'status-changes',
  tables: ['permit_status_history'],
  records: (path, chunks) => csvItems(path, chunks, ['permitnum']),
  check: checkStatusChange,
  resolve: resolvePermitNumbers,
  write: writeStatusChanges,
};
