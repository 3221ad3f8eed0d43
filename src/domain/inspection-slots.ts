/**
 * Inspection slots: what is still open (`inspectionAvailability`) and taking one atomically. Bookings of a
 * jurisdiction are serialised on its row (FOR NO KEY UPDATE, which permit inserts do not wait for), so two
 * contractors racing for a slot's last place are counted one after the other: one gets it, the other CONFLICT.
 * Slots and room depend on the inspection type: each type draws on its capacity pool (inspection-capacity.ts).
 */
import { and, eq, gt, lt, ne, type SQL } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { inspections } from '../db/schema/inspections.ts';
import { jurisdictions } from '../db/schema/jurisdictions.ts';
import { permits } from '../db/schema/permits.ts';
import { badInput, conflict, notFound } from '../errors.ts';
import {
  type Calendar,
  earliestChange,
  inPool,
  loadCalendar,
  notOfferedBecause,
  type Pool,
  type Slot,
  slotsWithin,
} from './inspection-capacity.ts';
import { availabilitySchema } from './inputs.ts';
import { getPermit } from './permit-reads.ts';
import { hasScope, type Principal } from './principal.ts';

/** Statuses in which inspections can be booked (as scheduleInspection checks). */
const INSPECTABLE: ReadonlySet<string> = new Set(['ISSUED', 'INSPECTIONS']);

export interface OpenSlot extends Slot {
  remaining: number;
}

/** Inspectors are exempt from the contractor cut-off: they may move an inspection at short notice. */
export const exemptFromCutoff = (p: Principal) => hasScope(p, 'inspections:record');

/**
 * Pending inspections of a jurisdiction in one capacity pool overlapping [from, to) (a cancelled or resulted one frees
 * its place).
 */
async function bookedWindows(db: Executor, jurisdiction: string, pool: Pool, from: Date, to: Date, except?: string): Promise<Slot[]> {
  const conds: (SQL | undefined)[] = [
    inPool(pool, inspections.inspectionType),
    eq(permits.jurisdictionId, jurisdiction),
    eq(inspections.result, 'PENDING'),
    lt(inspections.windowStart, to),
    gt(inspections.windowEnd, from),
  ];
  if (except) conds.push(ne(inspections.id, except));
  return db
    .select({ start: inspections.windowStart, end: inspections.windowEnd })
    .from(inspections)
    .innerJoin(permits, eq(permits.id, inspections.permitId))
    .where(and(...conds));
}

const overlapping = (a: Slot, b: Slot) => a.start < b.end && a.end > b.start;

/** Slots with room left, from the calendar and what is booked. */
function openSlots(cal: Calendar, slots: Slot[], booked: Slot[]): OpenSlot[] {
  return slots
    .map((s) => ({ ...s, remaining: cal.capacity.inspectors - booked.filter((b) => overlapping(s, b)).length }))
    .filter((s) => s.remaining > 0);
}

/** Open slots for a permit the principal may see, between two instants. */
export async function inspectionAvailability(
  db: Executor,
  p: Principal,
  permitNumber: string,
  raw: { inspectionType: unknown; from: unknown; to: unknown },
  now = new Date(),
): Promise<OpenSlot[]> {
  const parsed = availabilitySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw badInput(issue.path.map(String).join('.') || 'from', issue.message);
  }
  const args = parsed.data;
  const permit = await getPermit(db, p, permitNumber);
  if (!permit) throw notFound(`permit ${permitNumber}`);
  if (!INSPECTABLE.has(permit.statusCurrent)) {
    throw badInput(
      'permitNumber',
      `inspections can be booked only for ISSUED permits or permits in INSPECTIONS, not ${permit.statusCurrent}`,
    );
  }
  const cal = await loadCalendar(db, permit.jurisdictionId, args.inspectionType, args.from, args.to);
  const from = new Date(Math.max(args.from.getTime(), earliestChange(cal, now, exemptFromCutoff(p)).getTime()));
  if (from >= args.to) return [];
  const booked = await bookedWindows(db, permit.jurisdictionId, cal.pool, from, args.to);
  return openSlots(cal, slotsWithin(cal, from, args.to), booked);
}

/**
 * Takes `window` for an inspection of `inspectionType` in `jurisdiction` inside the caller's transaction: refuses a window that is not an
 * offered slot with BAD_USER_INPUT naming `field` and the rule, and a full one with CONFLICT. `except` is the
 * inspection being moved, whose own place does not count.
 */
export async function takeSlot(
  tx: Executor,
  p: Principal,
  jurisdiction: string,
  inspectionType: string,
  window: Slot,
  field: string,
  now: Date,
  except?: string,
): Promise<void> {
  const cal = await loadCalendar(tx, jurisdiction, inspectionType, window.start, window.end);
  const why = notOfferedBecause(cal, window, now, exemptFromCutoff(p));
  if (why) throw badInput(field, `${window.start.toISOString()} ${why}`);
  await tx.select({ id: jurisdictions.id }).from(jurisdictions).where(eq(jurisdictions.id, jurisdiction)).for('no key update');
  const booked = await bookedWindows(tx, jurisdiction, cal.pool, window.start, window.end, except);
  if (booked.length >= cal.capacity.inspectors) {
    throw conflict(
      `the slot ${window.start.toISOString()} – ${window.end.toISOString()} is fully booked; ask inspectionAvailability for open slots`,
    );
  }
}
