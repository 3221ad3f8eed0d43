/**
 * Several submissions of one jurisdiction and year in ONE statement (src/db/change-batches.ts): one upsert of the
 * counter row takes as many numbers as there are rows (`next + k`, in the rows' order, so still gap-free), then the
 * permits, their history rows and the audit entries each request staged. The rows travel as one JSON parameter, so
 * the text is the same for any batch size and is rendered once.
 */
import { sql } from 'drizzle-orm';
import type { Executor } from './client.ts';
import { rowsOf } from './rows.ts';
import { executeStatement } from './fused-statements.ts';
import { jurisdictions } from './schema/jurisdictions.ts';
import { permitStatusHistory, permits } from './schema/permits.ts';

const $ = (name: string) => sql.placeholder(name);

/**
 * The columns of one submission's row (`id`: the permit's, or null for a new one; `audit_entry`: the staged entry's
 * canonical JSON, or null).
 */
const ROW_TYPE = sql.raw(`ord int, id uuid, type_code text, permit_type text, work_class text, description text,
  valuation numeric, applicant_name text, applicant_email text, applicant_phone text, parcel_id uuid,
  contractor_id uuid, now_text text, client_id text, idempotency_key text, request_hash text, audit_entry text`);

const batchStatement = sql`
with i as (select * from jsonb_to_recordset(${$('rows')}::text::jsonb) as x(${ROW_TYPE})),
c as (select count(*)::int as k from i),
n as (
  insert into permit_number_counters (jurisdiction_id, year, next)
  select ${$('jurisdiction')}, ${$('year')}::int, c.k from c
  on conflict (jurisdiction_id, year) do update set next = permit_number_counters.next + excluded.next
  returning next, (select ${jurisdictions.permitPrefix} from ${jurisdictions} where ${jurisdictions.id} = ${$('jurisdiction')}) as prefix
),
numbered as (select i.*, n.next - c.k + i.ord as seq, n.prefix from i, n, c),
p as (
  insert into ${permits} (id, jurisdiction_id, permit_num, permit_type, work_class, description, est_project_cost,
    applicant_name, applicant_email, applicant_phone, parcel_id, contractor_id, status_current, version,
    applied_date, status_date, updated_at, submitted_by, idempotency_key, request_hash)
  select coalesce(m.id, gen_random_uuid()), ${$('jurisdiction')},
    m.prefix || '-' || m.type_code || '-' || ${$('year_text')}::text || '-' ||
      case when length(m.seq::text) >= 6 then m.seq::text else lpad(m.seq::text, 6, '0') end,
    m.permit_type, m.work_class, m.description, m.valuation, m.applicant_name, m.applicant_email, m.applicant_phone,
    m.parcel_id, m.contractor_id, 'SUBMITTED', 1, m.now_text::timestamptz, m.now_text::timestamptz,
    m.now_text::timestamptz, m.client_id, m.idempotency_key, m.request_hash
  from numbered m order by m.ord
  returning id, permit_num, submitted_by, idempotency_key
),
done as (select i.ord, i.now_text, i.audit_entry, p.id, p.permit_num, p.submitted_by
         from i join p on p.submitted_by = i.client_id and p.idempotency_key = i.idempotency_key),
h as (
  insert into ${permitStatusHistory} (permit_id, from_status, to_status, actor, changed_at)
  select d.id, null, 'SUBMITTED', d.submitted_by, d.now_text::timestamptz from done d order by d.ord
),
a as (
  insert into audit_pending (entry)
  select jsonb_set(e, '{affected}', coalesce(e->'affected', '[]'::jsonb) || to_jsonb(array[d.permit_num]))
  from (select d.*, d.audit_entry::jsonb as e from done d where d.audit_entry is not null) d order by d.ord
)
select d.id, d.permit_num from done d order by d.ord`;

/** Writes `rows` (in order) as submissions of `params.jurisdiction` in `params.year`; one result row per input row. */
export async function runSubmissionBatch(
  db: Executor,
  params: Record<string, unknown>,
  rows: Record<string, unknown>[],
): Promise<Record<string, unknown>[]> {
  const values = { ...params, rows: JSON.stringify(rows.map((r, i) => ({ ...r, ord: i + 1 }))) };
  return rowsOf<Record<string, unknown>>(await executeStatement(db, batchStatement, { key: 'submission-batch', values }));
}
