/**
 * Moving and cancelling a booked inspection. Both are idempotent (asking again for what already holds changes
 * nothing and answers the inspection) and run in the caller's audited transaction. A contractor may change an
 * inspection only until the jurisdiction's cut-off before its slot; an inspector may change it at any time.
 */
import { and, eq } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { type Inspection, inspections } from '../db/schema/inspections.ts';
import { permits } from '../db/schema/permits.ts';
import { badInput, notFound } from '../errors.ts';
import { earliestChange, loadCalendar } from './inspection-capacity.ts';
import { exemptFromCutoff, takeSlot } from './inspection-slots.ts';
import { cancelReasonSchema, parseInput, scheduleInspectionSchema } from './inputs.ts';
import type { Principal } from './principal.ts';
import { visiblePermits } from './visibility.ts';

interface Found {
  inspection: Inspection;
  permitNum: string;
  jurisdictionId: string;
}

/** The inspection, locked, when its permit is visible to the principal; absent and invisible look the same. */
async function lockVisibleInspection(tx: Executor, p: Principal, inspectionId: string): Promise<Found> {
  if (!/^[0-9a-f-]{36}$/i.test(inspectionId)) throw notFound(`inspection ${inspectionId}`);
  const [found] = await tx
    .select({ inspection: inspections, permitNum: permits.permitNum, jurisdictionId: permits.jurisdictionId })
    .from(inspections)
    .innerJoin(permits, eq(permits.id, inspections.permitId))
    .where(and(eq(inspections.id, inspectionId), visiblePermits(p)))
    .for('update', { of: inspections });
  if (!found) throw notFound(`inspection ${inspectionId}`);
  return found;
}

/** Refuses a change to an inspection that is no longer pending, or one past the contractor cut-off. */
async function assertChangeable(tx: Executor, p: Principal, f: Found, verb: string, now: Date): Promise<void> {
  const i = f.inspection;
  if (i.result !== 'PENDING') throw badInput('inspectionId', `cannot ${verb} an inspection whose result is ${i.result}`);
  const cal = await loadCalendar(tx, f.jurisdictionId, i.inspectionType, i.windowStart, i.windowEnd);
  if (i.windowStart < earliestChange(cal, now, exemptFromCutoff(p))) {
    throw badInput(
      'inspectionId',
      `cannot ${verb} this inspection: the cut-off (${cal.capacity.cutoffHours} hours before ${i.windowStart.toISOString()}) has passed; call the inspector`,
    );
  }
}

export async function rescheduleInspection(
  tx: Executor,
  p: Principal,
  inspectionId: string,
  rawInput: unknown,
  now = new Date(),
): Promise<Found> {
  const input = parseInput(scheduleInspectionSchema, rawInput, 'input');
  const f = await lockVisibleInspection(tx, p, inspectionId);
  const i = f.inspection;
  if (
    i.windowStart.getTime() === input.windowStart.getTime() &&
    i.windowEnd.getTime() === input.windowEnd.getTime() &&
    i.result === 'PENDING'
  ) {
    return f; // already there: a retried request changes nothing
  }
  if (input.inspectionType.toLowerCase() !== i.inspectionType.toLowerCase()) {
    throw badInput('input.inspectionType', `is ${i.inspectionType} for this inspection; cancel it and book another type instead`);
  }
  await assertChangeable(tx, p, f, 'reschedule', now);
  await takeSlot(
    tx,
    p,
    f.jurisdictionId,
    i.inspectionType,
    { start: input.windowStart, end: input.windowEnd },
    'input.windowStart',
    now,
    i.id,
  );
  const [row] = await tx
    .update(inspections)
    .set({
      windowStart: input.windowStart,
      windowEnd: input.windowEnd,
      // an inspector who moves an inspection takes it
      ...(exemptFromCutoff(p) ? { assignedInspector: p.clientId } : {}),
    })
    .where(eq(inspections.id, i.id))
    .returning();
  return { ...f, inspection: row! };
}

export async function cancelInspection(
  tx: Executor,
  p: Principal,
  inspectionId: string,
  rawReason: unknown,
  now = new Date(),
): Promise<Found> {
  const reason = parseInput(cancelReasonSchema, rawReason, 'reason');
  const f = await lockVisibleInspection(tx, p, inspectionId);
  if (f.inspection.result === 'CANCELLED') return f; // cancelled already: the first reason stands
  await assertChangeable(tx, p, f, 'cancel', now);
  const [row] = await tx
    .update(inspections)
    .set({ result: 'CANCELLED', cancelReason: reason, cancelledAt: now })
    .where(eq(inspections.id, f.inspection.id))
    .returning();
  return { ...f, inspection: row! };
}
