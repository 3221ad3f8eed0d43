/**
 * Inspections: scheduling into an offered slot (idempotent by key, moves an ISSUED permit into INSPECTIONS) and
 * results. Moving and cancelling are in inspection-changes.ts, slots in inspection-slots.ts.
 */
import { and, desc, eq, inArray, ne, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { inspectionChecklistItems, inspections, type Inspection } from '../db/schema/inspections.ts';
import { permits } from '../db/schema/permits.ts';
import { badInput, conflict, notFound } from '../errors.ts';
import { requestHash } from './hashing.ts';
import {
  idempotencyKeySchema,
  inspectionResultSchema,
  parseInput,
  parseInputs,
  scheduleInspectionSchema,
  type ScheduleInspectionInput,
} from './inputs.ts';
import { isFinalInspectionType } from './blds-vocabulary.ts';
import { unresolvedConditions } from './condition-reads.ts';
import { checkConditions } from './lifecycle.ts';
import { takeSlot } from './inspection-slots.ts';
import { applyTransition, lockVisiblePermit } from './permit-writes.ts';
import type { Principal } from './principal.ts';

const SCHEDULABLE = new Set(['ISSUED', 'INSPECTIONS']);

export function validateScheduling(rawInput: unknown, rawKey: unknown): { input: ScheduleInspectionInput; key: string; hash: string } {
  // both arguments at once: a bad key and a bad input are reported in one answer
  const { idempotencyKey: key, input } = parseInputs({
    idempotencyKey: [idempotencyKeySchema, rawKey],
    input: [scheduleInspectionSchema, rawInput],
  });
  return { input, key, hash: requestHash(input) };
}

export async function scheduleInspection(
  tx: Executor,
  p: Principal,
  permitNumber: string,
  v: { input: ScheduleInspectionInput; key: string; hash: string },
  opts: { id?: string; now?: Date } = {},
): Promise<Inspection> {
  const [prior] = await tx
    .select()
    .from(inspections)
    .where(and(eq(inspections.requestedBy, p.clientId), eq(inspections.idempotencyKey, v.key)));
  if (prior) {
    if (prior.requestHash !== v.hash) throw conflict(`idempotencyKey ${v.key} was already used for a different inspection request`);
    return prior;
  }
  const permit = await lockVisiblePermit(tx, p, permitNumber);
  if (!SCHEDULABLE.has(permit.statusCurrent)) {
    throw badInput(
      'permitNumber',
      `inspections can be scheduled only for ISSUED permits or permits in INSPECTIONS, not ${permit.statusCurrent}`,
    );
  }
  // the first inspection moves an ISSUED permit into INSPECTIONS: an unresolved item naming that move blocks it
  if (permit.statusCurrent === 'ISSUED') checkConditions('INSPECTIONS', await unresolvedConditions(tx, permit.id), 'permitNumber');
  const now = opts.now ?? new Date();
  await takeSlot(
    tx,
    p,
    permit.jurisdictionId,
    v.input.inspectionType,
    { start: v.input.windowStart, end: v.input.windowEnd },
    'input.windowStart',
    now,
  );
  const [failedBefore] = await tx
    .select({ id: inspections.id })
    .from(inspections)
    .where(
      and(
        eq(inspections.permitId, permit.id),
        sql`lower(${inspections.inspectionType}) = lower(${v.input.inspectionType})`,
        inArray(inspections.result, ['FAIL', 'PARTIAL']),
      ),
    )
    .limit(1);
  const [row] = await tx
    .insert(inspections)
    .values({
      ...(opts.id ? { id: opts.id } : {}),
      permitId: permit.id,
      inspectionType: v.input.inspectionType,
      windowStart: v.input.windowStart,
      windowEnd: v.input.windowEnd,
      result: 'PENDING',
      createdAt: now,
      requestedBy: p.clientId,
      idempotencyKey: v.key,
      requestHash: v.hash,
      isFinal: isFinalInspectionType(v.input.inspectionType),
      isReinspection: Boolean(failedBefore),
    })
    .returning();
  if (permit.statusCurrent === 'ISSUED') {
    await applyTransition(tx, p, permit, 'INSPECTIONS', `inspection ${v.input.inspectionType} scheduled`, now);
  }
  return row!;
}

export async function recordInspectionResult(tx: Executor, p: Principal, inspectionId: string, rawInput: unknown): Promise<Inspection> {
  const input = parseInput(inspectionResultSchema, rawInput, 'input');
  if (!/^[0-9a-f-]{36}$/i.test(inspectionId)) throw notFound(`inspection ${inspectionId}`);
  const [found] = await tx
    .select({ inspection: inspections, jurisdiction: permits.jurisdictionId })
    .from(inspections)
    .innerJoin(permits, eq(permits.id, inspections.permitId))
    .where(and(eq(inspections.id, inspectionId), eq(permits.jurisdictionId, p.jurisdiction)))
    .for('update', { of: inspections });
  if (!found) throw notFound(`inspection ${inspectionId}`);
  if (found.inspection.result !== 'PENDING') {
    throw badInput('inspectionId', `the result of this inspection was already recorded (${found.inspection.result})`);
  }
  const now = new Date();
  const [row] = await tx
    .update(inspections)
    .set({
      result: input.result,
      notes: input.notes ?? null,
      inspector: p.clientId,
      assignedInspector: found.inspection.assignedInspector ?? p.clientId,
      recordedAt: now,
    })
    .where(eq(inspections.id, inspectionId))
    .returning();
  if (input.checklist?.length) {
    await tx
      .insert(inspectionChecklistItems)
      .values(input.checklist.map((c, i) => ({ inspectionId, position: i + 1, item: c.item, passed: c.passed, notes: c.notes ?? null })));
  }
  return row!;
}

/** A permit may be finaled only when its latest inspection passed and none is still pending (cancelled ones do not count). */
export async function assertReadyToFinal(tx: Executor, permitId: string): Promise<void> {
  const rows = await tx
    .select({ result: inspections.result })
    .from(inspections)
    .where(and(eq(inspections.permitId, permitId), ne(inspections.result, 'CANCELLED')))
    .orderBy(desc(inspections.recordedAt), desc(inspections.createdAt));
  if (rows.length === 0) throw badInput('to', 'a permit needs a passed inspection before it can be finaled');
  if (rows.some((r) => r.result === 'PENDING')) throw badInput('to', 'a permit with pending inspections cannot be finaled');
  if (rows[0]!.result !== 'PASS') throw badInput('to', `the latest inspection result is ${rows[0]!.result}, not PASS`);
}
