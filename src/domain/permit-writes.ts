/**
 * Permit changes: submit (idempotent by key), amend (optimistic concurrency), transition (state machine).
 * Each function runs inside the caller's transaction, so the change, its history row and its audit entry
 * commit together or not at all; a submission's write is also planned as one statement (`planSubmission`) that
 * is its own transaction, the audit entry joining it as a part.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { runStatementChange, type StatementChange } from '../db/fused-statements.ts';
import { readSubmissionFacts, submissionWrite } from '../db/submission-statements.ts';
import { permits, permitStatusHistory, type Permit, type PermitStatus } from '../db/schema/permits.ts';
import { badInput, conflict, notFound } from '../errors.ts';
import { requestHash } from './hashing.ts';
import {
  amendPermitSchema,
  idempotencyKeySchema,
  parseInput,
  parseInputs,
  reasonSchema,
  submitPermitSchema,
  type SubmitPermitInput,
} from './inputs.ts';
import { unresolvedConditions } from './condition-reads.ts';
import { AMENDABLE, checkConditions, checkTransition } from './lifecycle.ts';
import type { Principal } from './principal.ts';
import { visiblePermits } from './visibility.ts';

export interface SubmissionReceipt {
  id: string;
  state: 'PERSISTED' | 'QUEUED' | 'REJECTED';
  permitNumber: string | null;
  reason?: string | null;
  /** Set when this call created the permit (not on an idempotent replay): its status is SUBMITTED as of then. */
  submittedAt?: Date;
}

/** A submission that passed validation: its input, idempotency key and the hash of the input. */
export interface ValidSubmission {
  input: SubmitPermitInput;
  key: string;
  hash: string;
}

/** Where the write may differ from a live request: the outbox replay keeps the receipt id as the permit id. */
export interface SubmissionOptions {
  receiptId?: string;
  now?: Date;
}

/** Validates a submission without touching the database (also used before queueing in the outbox). */
export function validateSubmission(rawInput: unknown, rawKey: unknown): ValidSubmission {
  // both arguments at once: a bad key and a bad input are reported in one answer
  const { idempotencyKey: key, input } = parseInputs({
    idempotencyKey: [idempotencyKeySchema, rawKey],
    input: [submitPermitSchema, rawInput],
  });
  return { input, key, hash: requestHash(input) };
}

/** The receipt of an earlier submission with the same key, or CONFLICT when the input differs. */
export async function findPriorSubmission(db: Executor, p: Principal, key: string, hash: string): Promise<SubmissionReceipt | null> {
  const [prior] = await db
    .select({ id: permits.id, permitNum: permits.permitNum, requestHash: permits.requestHash })
    .from(permits)
    .where(and(eq(permits.submittedBy, p.clientId), eq(permits.idempotencyKey, key)));
  if (!prior) return null;
  if (prior.requestHash !== hash) {
    throw conflict(`idempotencyKey ${key} was already used for a different submission (permit ${prior.permitNum})`);
  }
  return { id: prior.id, state: 'PERSISTED', permitNumber: prior.permitNum };
}

/** What a submission comes to once checked: the receipt of an earlier one with the key, or the statement that writes it. */
export type SubmissionPlan = { prior: SubmissionReceipt } | { write: StatementChange<SubmissionReceipt> };

/**
 * Checks a submission against what the database holds (an earlier submission with the key, the contractor, the
 * parcel), then plans its write: number, permit and history row (src/db/submission-statements.ts).
 */
export async function planSubmission(
  db: Executor,
  p: Principal,
  v: ValidSubmission,
  opts: SubmissionOptions = {},
): Promise<SubmissionPlan> {
  const facts = await readSubmissionFacts(db, {
    clientId: p.clientId,
    key: v.key,
    jurisdiction: p.jurisdiction,
    contractor: p.contractor ?? null,
    parcelId: v.input.parcelId ?? null,
    apn: v.input.apn ?? null,
  });
  if (facts.prior_id) {
    if (facts.prior_hash !== v.hash) {
      throw conflict(`idempotencyKey ${v.key} was already used for a different submission (permit ${facts.prior_num})`);
    }
    return { prior: { id: facts.prior_id, state: 'PERSISTED', permitNumber: facts.prior_num } };
  }
  if (!p.contractor) throw badInput('input', 'only a client bound to a contractor record can submit permits');
  const now = opts.now ?? new Date();
  if (!facts.contractor_id) throw badInput('input', `contractor license ${p.contractor} is not registered in ${p.jurisdiction}`);
  if (facts.license_status !== 'ACTIVE' || new Date(`${facts.license_expires_on}T23:59:59Z`) < now) {
    throw badInput(
      'input',
      `contractor license ${p.contractor} is not active (${facts.license_status}, expires ${facts.license_expires_on})`,
    );
  }
  if (!facts.parcel_id) throw badInput(v.input.apn != null ? 'input.apn' : 'input.parcelId', 'no such parcel in this jurisdiction');

  const write = submissionWrite(
    {
      ...(opts.receiptId !== undefined ? { id: opts.receiptId } : {}),
      jurisdiction: p.jurisdiction,
      permitType: v.input.permitType,
      workClass: v.input.workClass,
      description: v.input.description,
      valuation: v.input.valuation,
      applicantName: v.input.applicant.name,
      applicantEmail: v.input.applicant.email,
      applicantPhone: v.input.applicant.phone,
      parcelId: facts.parcel_id,
      contractorId: facts.contractor_id,
      now,
      clientId: p.clientId,
      idempotencyKey: v.key,
      requestHash: v.hash,
    },
    (written): SubmissionReceipt => ({ ...written, state: 'PERSISTED', submittedAt: now }),
  );
  return { write };
}

/** Checks and writes a submission inside the caller's transaction (the outbox replay, which audits in it too). */
export async function submitPermit(
  tx: Executor,
  p: Principal,
  v: ValidSubmission,
  opts: SubmissionOptions = {},
): Promise<SubmissionReceipt> {
  const plan = await planSubmission(tx, p, v, opts);
  return 'prior' in plan ? plan.prior : runStatementChange(tx, plan.write);
}

/** Loads a permit the principal may see, locked for update; absent and invisible look the same. */
export async function lockVisiblePermit(tx: Executor, p: Principal, number: string): Promise<Permit> {
  const [row] = await tx
    .select()
    .from(permits)
    .where(and(visiblePermits(p), eq(permits.permitNum, number)))
    .for('update');
  if (!row) throw notFound(`permit ${number}`);
  return row;
}

export async function amendPermit(tx: Executor, p: Principal, number: string, expectedVersion: number, rawInput: unknown): Promise<Permit> {
  const input = parseInput(amendPermitSchema, rawInput, 'input');
  const current = await lockVisiblePermit(tx, p, number);
  if (current.version !== expectedVersion) {
    throw conflict(`permit ${number} is at version ${current.version}, not ${expectedVersion}; reload and retry`);
  }
  if (!AMENDABLE.has(current.statusCurrent)) {
    throw badInput('number', `a permit in status ${current.statusCurrent} cannot be amended`);
  }
  const now = new Date();
  const [row] = await tx
    .update(permits)
    .set({
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.valuation !== undefined ? { estProjectCost: input.valuation } : {}),
      ...(input.workClass !== undefined ? { workClass: input.workClass } : {}),
      ...(input.applicant
        ? { applicantName: input.applicant.name, applicantEmail: input.applicant.email, applicantPhone: input.applicant.phone }
        : {}),
      version: sql`${permits.version} + 1`,
      updatedAt: now,
    })
    .where(and(eq(permits.id, current.id), eq(permits.version, expectedVersion)))
    .returning();
  if (!row) throw conflict(`permit ${number} changed meanwhile; reload and retry`);
  return row;
}

export async function applyTransition(
  tx: Executor,
  p: Principal,
  current: Permit,
  to: PermitStatus,
  reason: string | null | undefined,
  now = new Date(),
): Promise<Permit> {
  const [row] = await tx
    .update(permits)
    .set({
      statusCurrent: to,
      statusDate: now,
      updatedAt: now,
      version: sql`${permits.version} + 1`,
      ...(to === 'ISSUED' ? { issuedDate: now } : {}),
      ...(to === 'FINALED' ? { completedDate: now } : {}),
    })
    .where(and(eq(permits.id, current.id), eq(permits.version, current.version)))
    .returning();
  if (!row) throw conflict(`permit ${current.permitNum} changed meanwhile; reload and retry`);
  await tx.insert(permitStatusHistory).values({
    permitId: current.id,
    fromStatus: current.statusCurrent,
    toStatus: to,
    reason: reason ?? null,
    actor: p.clientId,
    changedAt: now,
  });
  return row;
}

export async function transitionPermit(
  tx: Executor,
  p: Principal,
  number: string,
  to: PermitStatus,
  rawReason: unknown,
  finalCheck: (tx: Executor, permitId: string) => Promise<void>,
): Promise<Permit> {
  const reason = parseInput(reasonSchema, rawReason, 'reason');
  const current = await lockVisiblePermit(tx, p, number);
  checkTransition(current.statusCurrent, to, p.scopes);
  checkConditions(to, await unresolvedConditions(tx, current.id));
  if (to === 'FINALED') await finalCheck(tx, current.id);
  return applyTransition(tx, p, current, to, reason);
}
