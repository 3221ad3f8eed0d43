/**
 * The statements of a permit submission, each rendered once per process (placeholders for every value,
 * src/db/fused-statements.ts): the checks' read (an earlier submission with the key, the contractor record, the
 * parcel) and the write (the jurisdiction's next number, the permit, its history row) as one statement that is its
 * own transaction, so the counter row is locked only while PostgreSQL executes and commits it.
 */
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import type { Executor } from './client.ts';
import { rowsOf } from './rows.ts';
import { nextNumberStatement, permitNumberOf, permitTypeCode } from './permit-numbers.ts';
import { contractors } from './schema/contractors.ts';
import { parcels } from './schema/parcels.ts';
import { type PermitType, permitStatusHistory, permits } from './schema/permits.ts';
import { executeStatement, type StatementChange } from './fused-statements.ts';
import { runSubmissionBatch } from './submission-batch-statement.ts';

/** An earlier submission with the key, the principal's contractor record and the parcel, read in one statement. */
export interface SubmissionFacts {
  prior_id: string | null;
  prior_num: string | null;
  prior_hash: string | null;
  contractor_id: string | null;
  license_status: string | null;
  license_expires_on: string | null;
  parcel_id: string | null;
}

const $ = (name: string) => sql.placeholder(name);
const renderer = drizzle.mock();

const submissionFactsStatement = sql`
    select pr.id as prior_id, pr.permit_num as prior_num, pr.request_hash as prior_hash,
           c.id as contractor_id, c.license_status, c.license_expires_on::text as license_expires_on,
           pa.id as parcel_id
    from (select 1) as one
    left join ${permits} pr on pr.submitted_by = ${$('client_id')} and pr.idempotency_key = ${$('key')}
    left join ${contractors} c on c.jurisdiction_id = ${$('jurisdiction')} and c.license_number = ${$('contractor')}
    left join ${parcels} pa on pa.jurisdiction_id = ${$('jurisdiction')} and (pa.id = ${$('parcel_id')} or pa.apn = ${$('apn')})`;

export interface SubmissionFactsQuery {
  clientId: string;
  key: string;
  jurisdiction: string;
  contractor: string | null;
  /** Exactly one of parcelId and apn names the parcel (the other is null). */
  parcelId: string | null;
  apn: string | null;
}

/** The facts a submission is checked against, in one read. */
export async function readSubmissionFacts(db: Executor, q: SubmissionFactsQuery): Promise<SubmissionFacts> {
  const values = {
    client_id: q.clientId,
    key: q.key,
    jurisdiction: q.jurisdiction,
    contractor: q.contractor,
    parcel_id: q.parcelId,
    apn: q.apn,
  };
  const [row] = rowsOf<SubmissionFacts>(await executeStatement(db, submissionFactsStatement, { key: 'submission-facts', values }));
  return row!;
}

/** One checked submission's values: what the permit, its number and its history row are written from. */
export interface SubmissionValues {
  /** The permit's id when it must be kept (the outbox replay keeps its receipt id); a new one otherwise. */
  id?: string;
  jurisdiction: string;
  permitType: PermitType;
  workClass: string;
  description: string;
  valuation: number;
  applicantName: string;
  applicantEmail: string;
  applicantPhone: string;
  parcelId: string;
  contractorId: string;
  /** When it was submitted; its year picks the number sequence. */
  now: Date;
  clientId: string;
  idempotencyKey: string;
  requestHash: string;
}

/** What the write created: the permit's id and number. */
export interface WrittenSubmission {
  id: string;
  permitNumber: string;
}

/**
 * A submission's write as one statement (its text rendered once), which concurrent submissions of the same
 * jurisdiction and year may share (src/db/change-batches.ts); `answer` turns what was written into the caller's result.
 */
export function submissionWrite<T>(v: SubmissionValues, answer: (written: WrittenSubmission) => T): StatementChange<T> {
  const year = v.now.getUTCFullYear();
  const group = { jurisdiction: v.jurisdiction, year, year_text: String(year) };
  const row = {
    type_code: permitTypeCode(v.permitType),
    permit_type: v.permitType,
    work_class: v.workClass,
    description: v.description,
    valuation: v.valuation,
    applicant_name: v.applicantName,
    applicant_email: v.applicantEmail,
    applicant_phone: v.applicantPhone,
    parcel_id: v.parcelId,
    contractor_id: v.contractorId,
    now_text: v.now.toISOString(),
    client_id: v.clientId,
    idempotency_key: v.idempotencyKey,
    request_hash: v.requestHash,
  };
  const withId = v.id !== undefined;
  return {
    // a replay's row keeps its receipt id
    batch: {
      group: `submission\u0000${v.jurisdiction}\u0000${year}`,
      params: group,
      row: { id: v.id ?? null, ...row },
      run: runSubmissionBatch,
    },
    ...submissionStatement(withId),
    shape: {
      key: withId ? 'submission-with-id' : 'submission',
      values: { ...(withId ? { id: v.id } : {}), ...group, ...row, now: v.now },
    },
    result: (rows) => {
      const written = rows[0] as { id: string; permit_num: string };
      return answer({ id: written.id, permitNumber: written.permit_num });
    },
  };
}

/** The statement's text parts; its values (`shape`) and the reading of its rows are the caller's. */
export type SubmissionStatement = Pick<StatementChange<unknown>, 'parts' | 'select' | 'produced'>;
const submissionStatements = new Map<boolean, SubmissionStatement>();

/**
 * A submission's statement with a placeholder for every value (src/db/fused-statements.ts: its text, the same for
 * every submission, is rendered once): the jurisdiction's next number, the permit, its history row. Built once
 * per process and kind (the SQL holds no reference to the database it was built with).
 */
export function submissionStatement(withId: boolean): SubmissionStatement {
  let statement = submissionStatements.get(withId);
  if (!statement) submissionStatements.set(withId, (statement = buildSubmissionStatement(withId)));
  return statement;
}

function buildSubmissionStatement(withId: boolean): SubmissionStatement {
  // the query builder needs no connection to render: a drizzle instance without one
  const insertPermit = renderer
    .insert(permits)
    .values({
      ...(withId ? { id: $('id') } : {}),
      jurisdictionId: $('jurisdiction'),
      permitNum: permitNumberOf($('type_code'), $('year_text')),
      permitType: $('permit_type'),
      workClass: $('work_class'),
      description: $('description'),
      estProjectCost: $('valuation'),
      applicantName: $('applicant_name'),
      applicantEmail: $('applicant_email'),
      applicantPhone: $('applicant_phone'),
      parcelId: $('parcel_id'),
      contractorId: $('contractor_id'),
      statusCurrent: 'SUBMITTED',
      version: 1,
      appliedDate: $('now'),
      statusDate: $('now'),
      updatedAt: $('now'),
      submittedBy: $('client_id'),
      idempotencyKey: $('idempotency_key'),
      requestHash: $('request_hash'),
    })
    .returning({ id: permits.id, permitNum: permits.permitNum });
  return {
    parts: [
      sql`n as (${nextNumberStatement($('jurisdiction'), $('year'))})`,
      sql`p as (${insertPermit.getSQL()})`,
      sql`h as (insert into ${permitStatusHistory} (permit_id, from_status, to_status, actor, changed_at)
                select p.id, null, 'SUBMITTED', ${$('client_id')}, ${$('now_text')}::timestamptz from p)`,
    ],
    select: sql`select p.id, p.permit_num from p`,
    produced: sql`(select array[p.permit_num] from p)`,
  };
}
