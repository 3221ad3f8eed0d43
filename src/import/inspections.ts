/**
 * Inspections from a legacy permit system, in BLDS's optional inspections dataset (the columns `export inspections`
 * writes, so an export imports back unchanged). BLDS gives an inspection no id of its own, so its natural key is the
 * permit, the inspection type and the scheduled date (or, without one, the inspected date): a rerun updates the
 * result, the inspected date and the flags of the same inspection instead of adding another. The key is stored as the
 * inspection's idempotency key under the requester `import:<jurisdiction>`, which no client id can spell (client ids
 * have no colon), so the existing unique index makes the upsert atomic without a migration.
 *
 * A scheduled day without a time books the whole local day; with a time, one hour: a pending legacy inspection keeps
 * its place in the inspectors' capacity, as a booked one does.
 */
import { sql } from 'drizzle-orm';
import type { Tx } from '../db/client.ts';
import { rowsOf } from '../db/rows.ts';
import { INSPECTION_RESULTS, type InspectionResult } from '../db/schema/inspections.ts';
import type { Jurisdiction } from '../db/schema/jurisdictions.ts';
import { LIMITS } from '../domain/inputs.ts';
import { nextDay, zonedInstant } from '../domain/zoned-time.ts';
import { csvItems } from './columns.ts';
import { parseLegacyDate } from './local-time.ts';
import { isDayOnly, parseFlag, resolvePermitNumbers } from './permit-lookup.ts';
import type { Checked, Dataset } from './run-import.ts';

export interface InspectionRow {
  permit_num: string;
  key: string;
  inspection_type: string;
  result: InspectionResult;
  window_start: string;
  window_end: string;
  recorded_at: string | null;
  created_at: string;
  is_final: boolean;
  is_reinspection: boolean;
  inspector: string | null;
  permit_id?: string;
}

/** The requester of imported inspections: not a valid client id, so it never meets a client's idempotency keys. */
export const importRequester = (jurisdiction: string) => `import:${jurisdiction}`;

/**
 * `Result` values: ours, our export's `ResultMapped`, BLDS's `ResultMapped` (Passed, Rejected, Partial, Cancelled,
 * OK for Service) and common spellings of legacy systems.
 */
const RESULT_WORDS: Record<string, InspectionResult> = {
  scheduled: 'PENDING',
  pending: 'PENDING',
  requested: 'PENDING',
  pass: 'PASS',
  passed: 'PASS',
  approved: 'PASS',
  'ok for service': 'PASS',
  fail: 'FAIL',
  failed: 'FAIL',
  rejected: 'FAIL',
  'not approved': 'FAIL',
  disapproved: 'FAIL',
  'corrections required': 'FAIL',
  partial: 'PARTIAL',
  'partial pass': 'PARTIAL',
  'partial approval': 'PARTIAL',
  'partially approved': 'PARTIAL',
  cancelled: 'CANCELLED',
  canceled: 'CANCELLED',
};

export function mapInspectionResult(text: string): InspectionResult | null {
  const t = text.trim();
  if ((INSPECTION_RESULTS as readonly string[]).includes(t.toUpperCase())) return t.toUpperCase() as InspectionResult;
  return RESULT_WORDS[t.toLowerCase().replace(/[\s_-]+/g, ' ')] ?? null;
}

/** A scheduled (or inspected) day or time as the window it books, in the jurisdiction's time zone. */
function windowOf(text: string, at: Date, tz: string): { start: Date; end: Date } {
  if (isDayOnly(text)) return { start: at, end: zonedInstant(nextDay(text), 0, tz) };
  return { start: at, end: new Date(at.getTime() + 3600_000) };
}

function checkInspection(input: unknown, j: Jurisdiction): Checked<InspectionRow> {
  const f = input as Record<string, string>;
  const num = f.permitnum ?? '';
  if (!num) return { reason: 'PermitNum is empty' };
  const bad = (what: string) => ({ reason: `permit ${num}: ${what}` });
  const type = f.insptype ?? '';
  if (!type) return bad('InspType is empty');
  if (type.length > LIMITS.inspectionType) return bad(`InspType is longer than ${LIMITS.inspectionType} characters`);
  const rawResult = f.result ?? '';
  const mappedResult = f.resultmapped ?? '';
  const result =
    rawResult === '' && mappedResult === '' ? 'PENDING' : (mapInspectionResult(rawResult) ?? mapInspectionResult(mappedResult));
  if (!result)
    return bad(
      `Result "${rawResult}" (ResultMapped "${mappedResult}") is neither one of ${INSPECTION_RESULTS.join(', ')} nor a BLDS ResultMapped value`,
    );
  const dates: Record<string, Date | null> = {};
  for (const [col, name] of [
    ['scheduleddate', 'ScheduledDate'],
    ['inspecteddate', 'InspectedDate'],
    ['requesteddate', 'RequestedDate'],
    ['requestdate', 'RequestDate'],
  ] as const) {
    const text = f[col] ?? '';
    dates[col] = text === '' ? null : parseLegacyDate(text, j.timezone);
    if (text !== '' && !dates[col]) return bad(`${name} "${text}" is not a date (YYYY-MM-DD, or ISO 8601 date-time)`);
  }
  const scheduledText = f.scheduleddate || f.inspecteddate || '';
  const scheduled = dates.scheduleddate ?? dates.inspecteddate;
  if (!scheduled) return bad('ScheduledDate and InspectedDate are both empty (BLDS needs one of them)');
  if (dates.inspecteddate && result === 'PENDING')
    return bad(
      rawResult || mappedResult
        ? `InspectedDate is set but Result "${rawResult || mappedResult}" says it was not inspected`
        : 'InspectedDate is set but Result is empty',
    );
  const flags: Record<string, boolean | null> = {};
  for (const [col, name] of [
    ['final', 'Final'],
    ['reinspection', 'ReInspection'],
  ] as const) {
    const v = parseFlag(f[col] ?? '');
    if (v === 'invalid') return bad(`${name} "${f[col]}" is not Y or N`);
    flags[col] = v;
  }
  const inspector = f.inspector ?? '';
  if (inspector.length > LIMITS.name) return bad(`Inspector is longer than ${LIMITS.name} characters`);
  const window = windowOf(scheduledText, scheduled, j.timezone);
  const requested = dates.requesteddate ?? dates.requestdate ?? window.start;
  return {
    // the same key as stored, so two spellings of one instant are a duplicate here, not two updates of one row
    key: `inspection ${num} ${type} at ${window.start.toISOString()}`,
    row: {
      permit_num: num,
      key: `${num}|${type}|${window.start.toISOString()}`,
      inspection_type: type,
      result,
      window_start: window.start.toISOString(),
      window_end: window.end.toISOString(),
      recorded_at: dates.inspecteddate?.toISOString() ?? null,
      created_at: requested.toISOString(),
      is_final: flags.final ?? false,
      // BLDS's ReInspection says whether one is needed, which the result already tells (it is exported from it);
      // whether this inspection IS a re-inspection is not in a BLDS file
      is_reinspection: false,
      inspector: inspector === '' ? null : inspector,
    },
  };
}

async function writeInspections(tx: Tx, j: Jurisdiction, rows: InspectionRow[]) {
  const result = rowsOf<{ inserted: boolean }>(
    await tx.execute(sql`
      insert into inspections (permit_id, requested_by, idempotency_key, inspection_type, result, window_start, window_end,
        recorded_at, created_at, is_final, is_reinspection, inspector, cancelled_at)
      select r.permit_id, ${importRequester(j.id)}, r.key, r.inspection_type, r.result, r.window_start, r.window_end,
        r.recorded_at, r.created_at, r.is_final, r.is_reinspection, r.inspector,
        case when r.result = 'CANCELLED' then coalesce(r.recorded_at, r.window_start) end
      from json_to_recordset(${JSON.stringify(rows)}::json) as r(permit_id uuid, key text, inspection_type text, result text,
        window_start timestamptz, window_end timestamptz, recorded_at timestamptz, created_at timestamptz, is_final boolean,
        is_reinspection boolean, inspector text)
      on conflict (requested_by, idempotency_key) do update set
        result = excluded.result, window_end = excluded.window_end, recorded_at = excluded.recorded_at,
        created_at = excluded.created_at, is_final = excluded.is_final, is_reinspection = excluded.is_reinspection,
        inspector = excluded.inspector, cancelled_at = excluded.cancelled_at
      where (inspections.result, inspections.window_end, inspections.recorded_at, inspections.created_at, inspections.is_final,
             inspections.is_reinspection, inspections.inspector)
        is distinct from (excluded.result, excluded.window_end, excluded.recorded_at, excluded.created_at, excluded.is_final,
             excluded.is_reinspection, excluded.inspector)
      returning (xmax = 0) as inserted`),
  );
  const inserted = result.filter((r) => r.inserted).length;
  return { inserted, updated: result.length - inserted };
}

export const inspectionsDataset: Dataset<InspectionRow> = {
  name: 'inspections',
  tables: ['inspections'],
  records: (path, chunks) => csvItems(path, chunks, ['permitnum', 'insptype']),
  check: checkInspection,
  resolve: resolvePermitNumbers,
  write: writeInspections,
};
