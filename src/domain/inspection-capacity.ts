/**
 * A jurisdiction's inspection capacity and the slots it offers. Slots are cut from each working day's hours in the
 * jurisdiction's time zone; a slot has room for as many inspections as there are inspectors, and is offered only
 * while it has room left, starts in the future and (for contractors) after the cut-off.
 *
 * Capacity is per inspection type where the jurisdiction set one (`cli jurisdictions capacity set --inspection-type`),
 * else the jurisdiction's default: a type with its own row has its own inspectors (its pool), every other type shares
 * the default pool. Holidays are the jurisdiction's, whatever the type.
 */
import { and, between, eq, notInArray, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { inspectionCapacity, inspectionHolidays } from '../db/schema/inspections.ts';
import { jurisdictions } from '../db/schema/jurisdictions.ts';
import { isoWeekday, minutesOf, nextDay, zonedDay, zonedInstant } from './zoned-time.ts';

export interface Capacity {
  inspectors: number;
  dayStart: string;
  dayEnd: string;
  slotMinutes: number;
  workdays: readonly number[];
  cutoffHours: number;
}

/** What a jurisdiction without an `inspection_capacity` row gets: two inspectors, four two-hour slots a weekday. */
export const DEFAULT_CAPACITY: Capacity = {
  inspectors: 2,
  dayStart: '08:00',
  dayEnd: '16:00',
  slotMinutes: 120,
  workdays: [1, 2, 3, 4, 5],
  cutoffHours: 24,
};

/** The key capacity rows are stored under: case and surrounding spaces do not make another inspection type. */
export const inspectionTypeKey = (type: string) => type.trim().toLowerCase();

/** The key of the jurisdiction's default row. */
export const DEFAULT_TYPE_KEY = '';

/**
 * Whose inspectors a calendar's slots draw on: one type's own, or the default pool shared by every type that has no
 * row of its own (`ownTypes` lists those that have one, so their bookings do not fill the default pool).
 */
export type Pool = { kind: 'type'; key: string } | { kind: 'default'; ownTypes: string[] };

export interface Calendar {
  capacity: Capacity;
  pool: Pool;
  timeZone: string;
  /** Local days (YYYY-MM-DD) nobody inspects. */
  holidays: ReadonlySet<string>;
}

export interface Slot {
  start: Date;
  end: Date;
}

/**
 * The capacity of `inspectionType` in a jurisdiction (its own row, else the default row, else DEFAULT_CAPACITY), its
 * time zone and the holidays between two instants.
 */
export async function loadCalendar(db: Executor, jurisdiction: string, inspectionType: string, from: Date, to: Date): Promise<Calendar> {
  const [j] = await db.select({ timeZone: jurisdictions.timezone }).from(jurisdictions).where(eq(jurisdictions.id, jurisdiction));
  const timeZone = j?.timeZone ?? 'UTC';
  const rows = await db.select().from(inspectionCapacity).where(eq(inspectionCapacity.jurisdictionId, jurisdiction));
  const key = inspectionTypeKey(inspectionType);
  const own = key === DEFAULT_TYPE_KEY ? undefined : rows.find((r) => r.inspectionType === key);
  const c = own ?? rows.find((r) => r.inspectionType === DEFAULT_TYPE_KEY);
  const capacity: Capacity = c ? { ...c, workdays: c.workdays.split(',').map(Number) } : DEFAULT_CAPACITY;
  const pool: Pool = own
    ? { kind: 'type', key }
    : { kind: 'default', ownTypes: rows.map((r) => r.inspectionType).filter((t) => t !== DEFAULT_TYPE_KEY) };
  const days = await db
    .select({ day: inspectionHolidays.day })
    .from(inspectionHolidays)
    .where(
      and(
        eq(inspectionHolidays.jurisdictionId, jurisdiction),
        between(inspectionHolidays.day, zonedDay(from, timeZone), zonedDay(to, timeZone)),
      ),
    );
  return { capacity, pool, timeZone, holidays: new Set(days.map((d) => String(d.day))) };
}

/** The condition on an inspection's type that puts it in `pool` (an inspection's key, as inspectionTypeKey makes it). */
export function inPool(pool: Pool, inspectionType: SQL | unknown): SQL | undefined {
  const key = sql`lower(btrim(${inspectionType}))`;
  if (pool.kind === 'type') return sql`${key} = ${pool.key}`;
  return pool.ownTypes.length ? notInArray(key, pool.ownTypes) : undefined;
}

/** Every slot of the calendar lying within [from, to], earliest first, whether booked or not. */
export function slotsWithin(cal: Calendar, from: Date, to: Date): Slot[] {
  const { capacity: c, timeZone } = cal;
  const out: Slot[] = [];
  const first = minutesOf(c.dayStart);
  const last = minutesOf(c.dayEnd);
  const end = zonedDay(to, timeZone);
  for (let day = zonedDay(from, timeZone); day <= end; day = nextDay(day)) {
    if (!c.workdays.includes(isoWeekday(day)) || cal.holidays.has(day)) continue;
    for (let m = first; m + c.slotMinutes <= last; m += c.slotMinutes) {
      const slot = { start: zonedInstant(day, m, timeZone), end: zonedInstant(day, m + c.slotMinutes, timeZone) };
      if (slot.start >= from && slot.end <= to) out.push(slot);
    }
  }
  return out;
}

/** The earliest start a principal may still book or change: now, plus the cut-off unless it is exempt. */
export const earliestChange = (cal: Calendar, now: Date, exemptFromCutoff: boolean) =>
  new Date(now.getTime() + (exemptFromCutoff ? 0 : cal.capacity.cutoffHours * 3600_000));

/**
 * Why a window is not a slot this calendar offers (null when it is one): the reason names the rule, so a client
 * sees what to fix. Room left is checked separately, under the jurisdiction's lock.
 */
export function notOfferedBecause(cal: Calendar, window: Slot, now: Date, exemptFromCutoff: boolean): string | null {
  const day = zonedDay(window.start, cal.timeZone);
  if (cal.holidays.has(day)) return `${day} is a holiday in this jurisdiction`;
  if (!cal.capacity.workdays.includes(isoWeekday(day))) return `${day} is not a working day for inspections`;
  const slot = slotsWithin(cal, window.start, window.end).find(
    (s) => s.start.getTime() === window.start.getTime() && s.end.getTime() === window.end.getTime(),
  );
  if (!slot) {
    return `is not an offered slot: slots are ${cal.capacity.slotMinutes} minutes from ${cal.capacity.dayStart} to ${cal.capacity.dayEnd} (${cal.timeZone}); ask inspectionAvailability`;
  }
  if (window.start < now) return 'is in the past';
  if (window.start < earliestChange(cal, now, exemptFromCutoff)) {
    return `is too soon: slots can be booked or changed until ${cal.capacity.cutoffHours} hours before they start`;
  }
  return null;
}
