/**
 * Permits from a legacy permit system's BLDS-named CSV, upserted by PermitNum. The parcel (PIN = APN) and the
 * contractor (ContractorLicNum) must have been imported first; a permit number another jurisdiction already uses is
 * refused (numbers are unique across tenants, for the public status lookup).
 *
 * Applicant details are not BLDS open data, but a legacy system's own export usually has them and a clerk needs them:
 * the optional `ApplicantName`, `ApplicantEmail` and `ApplicantPhone` columns are stored as the personal data they are
 * (read only with `permits:read:pii`, never exported, never in a refusal, a log line or an audit entry, which carry
 * counts only). A file without these columns leaves the stored ones as they are.
 */
import { sql } from 'drizzle-orm';
import type { Executor, Tx } from '../db/client.ts';
import { rowsOf } from '../db/rows.ts';
import { PERMIT_STATUSES, PERMIT_TYPES, WORK_CLASSES, type PermitStatus, type PermitType, type WorkClass } from '../db/schema/permits.ts';
import type { Jurisdiction } from '../db/schema/jurisdictions.ts';
import { applicantSchema, LIMITS } from '../domain/inputs.ts';
import { csvItems } from './columns.ts';
import { IMPORT_ACTOR, INITIAL_HISTORY_REASON } from './legacy-history.ts';
import { zonedDay } from '../domain/zoned-time.ts';
import { parseLegacyDate } from './local-time.ts';
import type { Checked, Dataset } from './run-import.ts';

export interface PermitRow {
  permit_num: string;
  permit_type: PermitType;
  work_class: WorkClass;
  description: string;
  est_project_cost: number;
  status_current: PermitStatus;
  applied_date: string;
  issued_date: string | null;
  completed_date: string | null;
  pin: string;
  contractor_lic: string;
  expires_date: string | null;
  total_sq_ft: number | null;
  housing_units: number | null;
  master_permit_num: string | null;
  /** Personal data; null when the file has no such column (the stored value is kept; '' for a new permit). */
  applicant_name: string | null;
  applicant_email: string | null;
  applicant_phone: string | null;
  parcel_id?: string;
  contractor_id?: string;
}

/**
 * BLDS `StatusCurrentMapped` values (Application Accepted, In Review, Permit Issued, Inspection Phase, Permit Finaled,
 * Permit Cancelled) and common spellings of legacy systems → our status.
 */
const BLDS_STATUS: Record<string, PermitStatus> = {
  'application accepted': 'SUBMITTED',
  applied: 'SUBMITTED',
  submitted: 'SUBMITTED',
  'in review': 'UNDER_REVIEW',
  'under review': 'UNDER_REVIEW',
  'plan review': 'UNDER_REVIEW',
  'corrections required': 'CORRECTIONS_REQUIRED',
  approved: 'APPROVED',
  'permit approved': 'APPROVED',
  'permit issued': 'ISSUED',
  issued: 'ISSUED',
  'inspection phase': 'INSPECTIONS',
  'permit finaled': 'FINALED',
  finaled: 'FINALED',
  completed: 'FINALED',
  'permit expired': 'EXPIRED',
  expired: 'EXPIRED',
  'permit cancelled': 'WITHDRAWN',
  cancelled: 'WITHDRAWN',
  withdrawn: 'WITHDRAWN',
  'application denied': 'REJECTED',
  denied: 'REJECTED',
  rejected: 'REJECTED',
};

export function mapStatus(text: string): PermitStatus | null {
  const upper = text
    .trim()
    .toUpperCase()
    .replace(/[\s-]+/g, '_');
  if ((PERMIT_STATUSES as readonly string[]).includes(upper)) return upper as PermitStatus;
  return BLDS_STATUS[text.trim().toLowerCase().replace(/\s+/g, ' ')] ?? null;
}

const inList = <T extends string>(list: readonly T[], text: string): T | null => {
  const upper = text.trim().toUpperCase();
  return (list as readonly string[]).includes(upper) ? (upper as T) : null;
};

function checkPermit(input: unknown, j: Jurisdiction): Checked<PermitRow> {
  const f = input as Record<string, string>;
  const num = f.permitnum ?? '';
  if (!num) return { reason: 'PermitNum is empty' };
  if (num.length > 64) return { reason: 'PermitNum is longer than 64 characters' };
  const bad = (what: string) => ({ reason: `permit ${num}: ${what}` });
  const status = mapStatus(f.statuscurrent ?? '');
  if (!status)
    return bad(
      `StatusCurrent "${f.statuscurrent ?? ''}" is neither one of ${PERMIT_STATUSES.join(', ')} nor a BLDS StatusCurrentMapped value`,
    );
  const type = inList(PERMIT_TYPES, f.permittype ?? '');
  if (!type) return bad(`PermitType "${f.permittype ?? ''}" is not one of ${PERMIT_TYPES.join(', ')}`);
  // BLDS WorkClassMapped has only New and Existing: work on an existing building is an alteration here
  const workClass = inList(WORK_CLASSES, /^existing$/i.test((f.workclass ?? '').trim()) ? 'ALTERATION' : (f.workclass ?? ''));
  if (!workClass) return bad(`WorkClass "${f.workclass ?? ''}" is not one of ${WORK_CLASSES.join(', ')}`);
  const costText = (f.estprojectcost ?? '').replace(/[$,\s]/g, '');
  const cost = costText === '' ? 0 : Number(costText);
  if (!Number.isFinite(cost) || cost < 0 || cost >= 1e12) return bad(`EstProjectCost "${f.estprojectcost}" is not an amount`);
  const dates: Record<string, string | null> = {};
  for (const [col, name] of [
    ['applieddate', 'AppliedDate'],
    ['issueddate', 'IssuedDate'],
    ['completeddate', 'CompletedDate'],
  ] as const) {
    const text = f[col] ?? '';
    if (text === '') {
      if (col === 'applieddate') return bad('AppliedDate is empty');
      dates[col] = null;
      continue;
    }
    const d = parseLegacyDate(text, j.timezone);
    if (!d) return bad(`${name} "${text}" is not a date (YYYY-MM-DD, or ISO 8601 date-time)`);
    dates[col] = d.toISOString();
  }
  if (dates.issueddate && dates.issueddate < dates.applieddate!) return bad('IssuedDate is before AppliedDate');
  const counts: Record<string, number | null> = {};
  for (const [col, name] of [
    ['totalsqft', 'TotalSqFt'],
    ['housingunits', 'HousingUnits'],
  ] as const) {
    const text = (f[col] ?? '').replace(/[,\s]/g, '');
    counts[col] = text === '' ? null : Number(text);
    if (counts[col] !== null && !(Number.isInteger(counts[col]) && counts[col]! >= 0 && counts[col]! < 2 ** 31)) {
      return bad(`${name} "${f[col]}" is not a whole number`);
    }
  }
  const expiresText = (f.expiresdate ?? '').trim();
  const expires = expiresText === '' ? null : parseLegacyDate(expiresText, j.timezone);
  if (expiresText !== '' && !expires) return bad(`ExpiresDate "${expiresText}" is not a date (YYYY-MM-DD, or ISO 8601 date-time)`);
  const master = (f.masterpermitnum ?? '').trim();
  if (master.length > 64) return bad('MasterPermitNum is longer than 64 characters');
  const pin = f.pin ?? '';
  if (!pin) return bad('PIN (the parcel APN) is empty');
  const lic = f.contractorlicnum ?? '';
  if (!lic) return bad('ContractorLicNum is empty');
  // personal data: a refusal names the column, never the value
  const name = f.applicantname;
  if (name !== undefined && name.length > LIMITS.name) return bad(`ApplicantName is longer than ${LIMITS.name} characters`);
  const email = f.applicantemail;
  if (email && !applicantSchema.shape.email.safeParse(email).success) return bad('ApplicantEmail is not an email address');
  const phone = f.applicantphone;
  if (phone && !applicantSchema.shape.phone.safeParse(phone).success) return bad('ApplicantPhone is not a phone number');
  return {
    key: `PermitNum ${num}`,
    row: {
      permit_num: num,
      permit_type: type,
      work_class: workClass,
      description: (f.description ?? '').slice(0, 2000),
      est_project_cost: Math.round(cost * 100) / 100,
      status_current: status,
      applied_date: dates.applieddate!,
      issued_date: dates.issueddate ?? null,
      completed_date: dates.completeddate ?? null,
      pin,
      contractor_lic: lic,
      // a date without a time is the jurisdiction's calendar day, which is what a date column holds
      expires_date: expires ? zonedDay(expires, j.timezone) : null,
      total_sq_ft: counts.totalsqft ?? null,
      housing_units: counts.housingunits ?? null,
      master_permit_num: master === '' ? null : master,
      applicant_name: name ?? null,
      applicant_email: email ?? null,
      applicant_phone: phone ?? null,
    },
  };
}

/** Looks up parcels, contractors and numbers taken elsewhere for the batch in three statements. */
async function resolvePermits(db: Executor, j: Jurisdiction, rows: PermitRow[]): Promise<Map<number, string>> {
  const pins = [...new Set(rows.map((r) => r.pin))];
  const lics = [...new Set(rows.map((r) => r.contractor_lic))];
  const nums = rows.map((r) => r.permit_num);
  const parcels = new Map(
    rowsOf<{ apn: string; id: string }>(
      await db.execute(
        sql`select apn, id::text as id from parcels where jurisdiction_id = ${j.id} and apn in (select jsonb_array_elements_text(${JSON.stringify(pins)}::jsonb))`,
      ),
    ).map((r) => [r.apn, r.id]),
  );
  const contractors = new Map(
    rowsOf<{ lic: string; id: string }>(
      await db.execute(
        sql`select license_number as lic, id::text as id from contractors where jurisdiction_id = ${j.id} and license_number in (select jsonb_array_elements_text(${JSON.stringify(lics)}::jsonb))`,
      ),
    ).map((r) => [r.lic, r.id]),
  );
  const elsewhere = new Map(
    rowsOf<{ num: string; jid: string }>(
      await db.execute(
        sql`select permit_num as num, jurisdiction_id as jid from permits where jurisdiction_id <> ${j.id} and permit_num in (select jsonb_array_elements_text(${JSON.stringify(nums)}::jsonb))`,
      ),
    ).map((r) => [r.num, r.jid]),
  );
  // a column the file does not have keeps what is stored: fetch the stored applicant of the permits that need it
  const keep = rows.filter((r) => r.applicant_name === null || r.applicant_email === null || r.applicant_phone === null);
  const stored = new Map(
    keep.length === 0
      ? []
      : rowsOf<{ num: string; name: string; email: string; phone: string }>(
          await db.execute(
            sql`select permit_num as num, applicant_name as name, applicant_email as email, applicant_phone as phone from permits where jurisdiction_id = ${j.id} and permit_num in (select jsonb_array_elements_text(${JSON.stringify(keep.map((r) => r.permit_num))}::jsonb))`,
          ),
        ).map((r) => [r.num, r]),
  );
  for (const r of keep) {
    const s = stored.get(r.permit_num);
    r.applicant_name ??= s?.name ?? '';
    r.applicant_email ??= s?.email ?? '';
    r.applicant_phone ??= s?.phone ?? '';
  }
  const refused = new Map<number, string>();
  rows.forEach((r, i) => {
    const parcel = parcels.get(r.pin);
    const contractor = contractors.get(r.contractor_lic);
    if (!parcel) refused.set(i, `permit ${r.permit_num}: unknown parcel PIN ${r.pin} in ${j.id} (import parcels first)`);
    else if (!contractor)
      refused.set(
        i,
        `permit ${r.permit_num}: unknown contractor ContractorLicNum ${r.contractor_lic} in ${j.id} (import contractors first)`,
      );
    else if (elsewhere.has(r.permit_num))
      refused.set(i, `permit ${r.permit_num}: the number is already used in jurisdiction ${elsewhere.get(r.permit_num)}`);
    else {
      r.parcel_id = parcel;
      r.contractor_id = contractor;
    }
  });
  return refused;
}

async function writePermits(tx: Tx, j: { id: string }, rows: PermitRow[]) {
  // a new permit's history starts with its status at its status date (a stand-in its status changes replace), so its
  // statusHistory is never empty; written in the same statement, under the import's actor, with no change event
  // (run-import.ts switched them off for the transaction)
  const result = rowsOf<{ inserted: boolean; history: number }>(
    await tx.execute(sql`
      with w as (
      insert into permits (jurisdiction_id, permit_num, permit_type, work_class, description, est_project_cost,
        applicant_name, applicant_email, applicant_phone, parcel_id, contractor_id, status_current,
        applied_date, issued_date, completed_date, status_date, updated_at,
        expires_date, total_sq_ft, housing_units, master_permit_num)
      select ${j.id}, r.permit_num, r.permit_type, r.work_class, r.description, r.est_project_cost,
        r.applicant_name, r.applicant_email, r.applicant_phone,
        r.parcel_id, r.contractor_id, r.status_current, r.applied_date, r.issued_date, r.completed_date,
        greatest(r.applied_date, r.issued_date, r.completed_date), now(),
        r.expires_date, r.total_sq_ft, r.housing_units, r.master_permit_num
      from json_to_recordset(${JSON.stringify(rows)}::json) as r(permit_num text, permit_type text, work_class text, description text,
        est_project_cost numeric, parcel_id uuid, contractor_id uuid, status_current text, applied_date timestamptz,
        issued_date timestamptz, completed_date timestamptz, expires_date date, total_sq_ft integer, housing_units integer,
        master_permit_num text, applicant_name text, applicant_email text, applicant_phone text)
      on conflict (jurisdiction_id, permit_num) do update set
        permit_type = excluded.permit_type, work_class = excluded.work_class, description = excluded.description,
        est_project_cost = excluded.est_project_cost, parcel_id = excluded.parcel_id, contractor_id = excluded.contractor_id,
        status_current = excluded.status_current, applied_date = excluded.applied_date, issued_date = excluded.issued_date,
        completed_date = excluded.completed_date, expires_date = excluded.expires_date, total_sq_ft = excluded.total_sq_ft,
        housing_units = excluded.housing_units, master_permit_num = excluded.master_permit_num,
        applicant_name = excluded.applicant_name, applicant_email = excluded.applicant_email,
        applicant_phone = excluded.applicant_phone,
        status_date = case when permits.status_current is distinct from excluded.status_current then now() else permits.status_date end,
        version = permits.version + 1, updated_at = now()
      where (permits.permit_type, permits.work_class, permits.description, permits.est_project_cost, permits.parcel_id,
             permits.contractor_id, permits.status_current, permits.applied_date, permits.issued_date, permits.completed_date,
             permits.expires_date, permits.total_sq_ft, permits.housing_units, permits.master_permit_num,
             permits.applicant_name, permits.applicant_email, permits.applicant_phone)
        is distinct from (excluded.permit_type, excluded.work_class, excluded.description, excluded.est_project_cost,
             excluded.parcel_id, excluded.contractor_id, excluded.status_current, excluded.applied_date, excluded.issued_date,
             excluded.completed_date, excluded.expires_date, excluded.total_sq_ft, excluded.housing_units,
             excluded.master_permit_num, excluded.applicant_name, excluded.applicant_email, excluded.applicant_phone)
      returning id, status_current, status_date, (xmax = 0) as inserted
      ), h as (
        insert into permit_status_history (permit_id, from_status, to_status, reason, actor, changed_at)
        select id, null, status_current, ${INITIAL_HISTORY_REASON}, ${IMPORT_ACTOR}, status_date from w where inserted
        returning 1
      )
      select inserted, (select count(*)::int from h) as history from w`),
  );
  const inserted = result.filter((r) => r.inserted).length;
  return { inserted, updated: result.length - inserted, history: result[0]?.history ?? 0 };
}

export const permitsDataset: Dataset<PermitRow> = {
  name: 'permits',
  tables: ['permits', 'permit_status_history'],
  records: (path, chunks) =>
    csvItems(path, chunks, ['permitnum', 'statuscurrent', 'permittype', 'workclass', 'applieddate', 'pin', 'contractorlicnum']),
  check: checkPermit,
  resolve: resolvePermits,
  write: writePermits,
};
