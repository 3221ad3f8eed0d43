/**
 * What an operator sets about a jurisdiction's inspections (`cli jurisdictions capacity|holidays …`): capacity rows,
 * the jurisdiction's default or one inspection type's, and holidays. Before these, capacity and holidays could be set
 * only in SQL. Every value is checked at once and each problem names its flag, so a city's IT person fixes the
 * command line in one go; a change that is refused writes nothing.
 */
import { and, asc, eq, gte } from 'drizzle-orm';
import type { Db, Executor } from '../db/client.ts';
import { inspectionCapacity, inspectionHolidays } from '../db/schema/inspections.ts';
import { jurisdictions } from '../db/schema/jurisdictions.ts';
import { DEFAULT_CAPACITY, DEFAULT_TYPE_KEY, inspectionTypeKey } from './inspection-capacity.ts';
import { minutesOf } from './zoned-time.ts';

/** Refused input: each problem starts with the option it is about (`inspectors: …`). */
export class CalendarInputError extends Error {
  override name = 'CalendarInputError';
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
  }
}

/** The jurisdiction named does not exist (not the command line's shape, so a failure rather than a usage error). */
export class UnknownJurisdictionError extends Error {
  override name = 'UnknownJurisdictionError';
}

/** One capacity row as shown to operators: `inspectionType` null for the jurisdiction's default. */
export interface CapacityView {
  jurisdiction: string;
  inspectionType: string | null;
  inspectors: number;
  hours: string;
  slotMinutes: number;
  workdays: number[];
  cutoffHours: number;
  /** `set`: a row the operator wrote; `built-in`: DEFAULT_CAPACITY, what a jurisdiction without a default row gets. */
  source: 'set' | 'built-in';
}

/** What `capacity set` may change; an option left out keeps the row's value (or the fallback's, for a new row). */
export interface CapacityChange {
  inspectors?: string | undefined;
  hours?: string | undefined;
  slotMinutes?: string | undefined;
  workdays?: string | undefined;
  cutoffHours?: string | undefined;
}

const LIMITS = { inspectors: 1000, slotMinutes: 1440, cutoffHours: 24 * 365, typeLength: 100 } as const;
const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;

type Row = typeof inspectionCapacity.$inferSelect;

const view = (r: Row, source: CapacityView['source'] = 'set'): CapacityView => ({
  jurisdiction: r.jurisdictionId,
  inspectionType: r.inspectionType === DEFAULT_TYPE_KEY ? null : r.inspectionType,
  inspectors: r.inspectors,
  hours: `${r.dayStart}-${r.dayEnd}`,
  slotMinutes: r.slotMinutes,
  workdays: r.workdays.split(',').map(Number),
  cutoffHours: r.cutoffHours,
  source,
});

async function assertJurisdiction(db: Executor, jurisdiction: string): Promise<void> {
  const [j] = await db.select({ id: jurisdictions.id }).from(jurisdictions).where(eq(jurisdictions.id, jurisdiction));
  if (!j) throw new UnknownJurisdictionError(`jurisdiction ${jurisdiction} does not exist (see \`cli jurisdictions list\`)`);
}

/** The key of an `--inspection-type` option: undefined is the default row; a blank or overlong type is refused. */
export function typeKeyOf(type: string | undefined, problems: string[]): string {
  if (type === undefined) return DEFAULT_TYPE_KEY;
  const key = inspectionTypeKey(type);
  if (key === '' || key.length > LIMITS.typeLength) problems.push(`inspection-type: must be 1-${LIMITS.typeLength} characters`);
  return key;
}

function wholeNumber(raw: string, flag: string, min: number, max: number, problems: string[]): number {
  const n = /^\d{1,9}$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push(`${flag}: "${raw}" must be a whole number from ${min} to ${max}`);
    return min;
  }
  return n;
}

/** ISO weekdays from `1-5`, `1,2,3,4,5` or `1-3,6` (1 Monday … 7 Sunday), sorted, without repeats. */
function parseWorkdays(raw: string, problems: string[]): string {
  const days = new Set<number>();
  for (const part of raw.split(',').map((p) => p.trim())) {
    const m = /^([1-7])(?:-([1-7]))?$/.exec(part);
    if (!m || (m[2] && Number(m[2]) < Number(m[1]))) {
      problems.push(`workdays: "${raw}" must list ISO weekdays 1 (Monday) to 7 (Sunday), e.g. 1-5 or 1,2,3,4,5`);
      return '';
    }
    for (let d = Number(m[1]); d <= Number(m[2] ?? m[1]); d++) days.add(d);
  }
  return [...days].sort().join(',');
}

/** The row `base` with `change` applied, or every problem with the change. */
export function applyCapacityChange(base: Row, change: CapacityChange): Row {
  const problems: string[] = [];
  const next = { ...base };
  if (change.inspectors !== undefined) next.inspectors = wholeNumber(change.inspectors, 'inspectors', 1, LIMITS.inspectors, problems);
  if (change.hours !== undefined) {
    const [start, end, ...rest] = change.hours.split('-').map((h) => h.trim());
    if (!start || !end || rest.length || !HHMM.test(start) || !HHMM.test(end)) {
      problems.push(`hours: "${change.hours}" must be HH:MM-HH:MM in the jurisdiction's time zone, e.g. 08:00-16:00`);
    } else {
      next.dayStart = start;
      next.dayEnd = end;
    }
  }
  if (change.slotMinutes !== undefined) next.slotMinutes = wholeNumber(change.slotMinutes, 'slot-minutes', 5, LIMITS.slotMinutes, problems);
  if (change.workdays !== undefined) next.workdays = parseWorkdays(change.workdays, problems);
  if (change.cutoffHours !== undefined) next.cutoffHours = wholeNumber(change.cutoffHours, 'cutoff-hours', 0, LIMITS.cutoffHours, problems);
  if (problems.length === 0) {
    const day = minutesOf(next.dayEnd) - minutesOf(next.dayStart);
    if (day <= 0) problems.push(`hours: the day must end after it starts (${next.dayStart}-${next.dayEnd})`);
    else if (next.slotMinutes > day)
      problems.push(`slot-minutes: ${next.slotMinutes} minutes do not fit in the working day ${next.dayStart}-${next.dayEnd}`);
  }
  if (problems.length) throw new CalendarInputError(problems);
  return next;
}

const fromDefault = (jurisdiction: string, inspectionType: string): Row => ({
  jurisdictionId: jurisdiction,
  inspectionType,
  inspectors: DEFAULT_CAPACITY.inspectors,
  dayStart: DEFAULT_CAPACITY.dayStart,
  dayEnd: DEFAULT_CAPACITY.dayEnd,
  slotMinutes: DEFAULT_CAPACITY.slotMinutes,
  workdays: DEFAULT_CAPACITY.workdays.join(','),
  cutoffHours: DEFAULT_CAPACITY.cutoffHours,
});

/**
 * Checks what can be checked without the stored row (formats, ranges, an empty change), so a bad command line is
 * refused before the database is opened; answers the type's key.
 */
export function checkCapacityChange(type: string | undefined, change: CapacityChange): string {
  const problems: string[] = [];
  const key = typeKeyOf(type, problems);
  if (Object.values(change).every((v) => v === undefined))
    problems.push('nothing to set: give at least one of --inspectors, --hours, --slot-minutes, --workdays, --cutoff-hours');
  if (problems.length) throw new CalendarInputError(problems);
  // the widest day and the shortest slot: only a change that is wrong whatever row it is applied to fails here
  applyCapacityChange({ ...fromDefault('', key), dayStart: '00:00', dayEnd: '23:59', slotMinutes: 5 }, change);
  return key;
}

/**
 * Sets the capacity of a jurisdiction (no type) or of one inspection type. A new type row starts from what the type
 * got until now (the jurisdiction's default row, else the built-in default), so only what differs needs saying.
 */
export async function setCapacity(db: Db, jurisdiction: string, type: string | undefined, change: CapacityChange): Promise<CapacityView> {
  const key = checkCapacityChange(type, change);
  return db.transaction(async (tx) => {
    await assertJurisdiction(tx, jurisdiction);
    const rows = await tx.select().from(inspectionCapacity).where(eq(inspectionCapacity.jurisdictionId, jurisdiction));
    const base =
      rows.find((r) => r.inspectionType === key) ??
      rows.find((r) => r.inspectionType === DEFAULT_TYPE_KEY) ??
      fromDefault(jurisdiction, key);
    const row = applyCapacityChange({ ...base, inspectionType: key }, change);
    const { jurisdictionId: _j, inspectionType: _t, ...values } = row;
    const [saved] = await tx
      .insert(inspectionCapacity)
      .values(row)
      .onConflictDoUpdate({ target: [inspectionCapacity.jurisdictionId, inspectionCapacity.inspectionType], set: values })
      .returning();
    return view(saved!);
  });
}

/** The jurisdiction's default capacity (set or built-in) first, then each inspection type's, by type. */
export async function listCapacity(db: Executor, jurisdiction: string): Promise<CapacityView[]> {
  await assertJurisdiction(db, jurisdiction);
  const rows = await db
    .select()
    .from(inspectionCapacity)
    .where(eq(inspectionCapacity.jurisdictionId, jurisdiction))
    .orderBy(asc(inspectionCapacity.inspectionType));
  const hasDefault = rows.some((r) => r.inspectionType === DEFAULT_TYPE_KEY);
  return [...(hasDefault ? [] : [view(fromDefault(jurisdiction, DEFAULT_TYPE_KEY), 'built-in')]), ...rows.map((r) => view(r))];
}

/** Removes a capacity row (the type then shares the default again); false when there was none. */
export async function removeCapacity(db: Executor, jurisdiction: string, type: string | undefined): Promise<boolean> {
  const problems: string[] = [];
  const key = typeKeyOf(type, problems);
  if (problems.length) throw new CalendarInputError(problems);
  await assertJurisdiction(db, jurisdiction);
  const gone = await db
    .delete(inspectionCapacity)
    .where(and(eq(inspectionCapacity.jurisdictionId, jurisdiction), eq(inspectionCapacity.inspectionType, key)))
    .returning({ t: inspectionCapacity.inspectionType });
  return gone.length > 0;
}

export interface HolidayView {
  jurisdiction: string;
  date: string;
  name: string;
}

/** A real calendar day written YYYY-MM-DD (2026-02-30 is refused). */
export function checkDay(raw: string, flag: string, problems: string[]): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw.trim());
  const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
  if (!m || !d || d.toISOString().slice(0, 10) !== raw.trim()) {
    problems.push(`${flag}: "${raw}" must be a calendar day written YYYY-MM-DD, e.g. 2026-12-25`);
    return '';
  }
  return raw.trim();
}

/** The holiday's day and name, or every problem with them (checked before the database is opened). */
export function checkHoliday(rawDay: string, rawName: string | undefined): { day: string; name: string } {
  const problems: string[] = [];
  const day = checkDay(rawDay, 'date', problems);
  const name = (rawName ?? 'Holiday').trim();
  if (name.length === 0 || name.length > 200) problems.push('name: must be 1-200 characters');
  if (problems.length) throw new CalendarInputError(problems);
  return { day, name };
}

/** Adds a holiday (or renames the one on that day): nobody inspects on it, whatever the inspection type. */
export async function addHoliday(db: Executor, jurisdiction: string, rawDay: string, rawName: string | undefined): Promise<HolidayView> {
  const { day, name } = checkHoliday(rawDay, rawName);
  await assertJurisdiction(db, jurisdiction);
  await db
    .insert(inspectionHolidays)
    .values({ jurisdictionId: jurisdiction, day, name })
    .onConflictDoUpdate({ target: [inspectionHolidays.jurisdictionId, inspectionHolidays.day], set: { name } });
  return { jurisdiction, date: day, name };
}

/** The jurisdiction's holidays in date order, from `from` (YYYY-MM-DD) on when given. */
export async function listHolidays(db: Executor, jurisdiction: string, rawFrom?: string): Promise<HolidayView[]> {
  const problems: string[] = [];
  const from = rawFrom === undefined ? undefined : checkDay(rawFrom, 'from', problems);
  if (problems.length) throw new CalendarInputError(problems);
  await assertJurisdiction(db, jurisdiction);
  const rows = await db
    .select({ day: inspectionHolidays.day, name: inspectionHolidays.name })
    .from(inspectionHolidays)
    .where(and(eq(inspectionHolidays.jurisdictionId, jurisdiction), from ? gte(inspectionHolidays.day, from) : undefined))
    .orderBy(asc(inspectionHolidays.day));
  return rows.map((r) => ({ jurisdiction, date: String(r.day), name: r.name }));
}

/** Removes a holiday; false when the jurisdiction had none on that day. */
export async function removeHoliday(db: Executor, jurisdiction: string, rawDay: string): Promise<boolean> {
  const problems: string[] = [];
  const day = checkDay(rawDay, 'date', problems);
  if (problems.length) throw new CalendarInputError(problems);
  await assertJurisdiction(db, jurisdiction);
  const gone = await db
    .delete(inspectionHolidays)
    .where(and(eq(inspectionHolidays.jurisdictionId, jurisdiction), eq(inspectionHolidays.day, day)))
    .returning({ day: inspectionHolidays.day });
  return gone.length > 0;
}
