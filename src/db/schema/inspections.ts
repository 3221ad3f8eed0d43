/** Inspections of a permit, their checklists, and the capacity and holidays that decide which slots can be booked. */
import { bigserial, boolean, date, index, integer, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { jurisdictions } from './jurisdictions.ts';
import { permits } from './permits.ts';

/** CANCELLED is set by `cancelInspection` only; it is not an outcome an inspector records. */
export const INSPECTION_RESULTS = ['PENDING', 'PASS', 'FAIL', 'PARTIAL', 'CANCELLED'] as const;
export type InspectionResult = (typeof INSPECTION_RESULTS)[number];

export const inspections = pgTable(
  'inspections',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    permitId: uuid('permit_id')
      .notNull()
      .references(() => permits.id),
    inspectionType: text('inspection_type').notNull(),
    windowStart: timestamp('window_start', { withTimezone: true }).notNull(),
    windowEnd: timestamp('window_end', { withTimezone: true }).notNull(),
    /** Client id of the inspector who recorded the result. */
    inspector: text('inspector'),
    result: text('result', { enum: INSPECTION_RESULTS }).notNull().default('PENDING'),
    notes: text('notes'),
    recordedAt: timestamp('recorded_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    requestedBy: text('requested_by'),
    idempotencyKey: text('idempotency_key'),
    requestHash: text('request_hash'),
    /** BLDS `Final`: the inspection that closes the permit (type "Final"). */
    isFinal: boolean('is_final').notNull().default(false),
    /** BLDS `ReInspection`: an earlier inspection of the same type on this permit did not pass. */
    isReinspection: boolean('is_reinspection').notNull().default(false),
    /** Client id of the inspector who took the inspection (set when an inspector moves or records it). */
    assignedInspector: text('assigned_inspector'),
    cancelReason: text('cancel_reason'),
    cancelledAt: timestamp('cancelled_at', { withTimezone: true }),
  },
  (t) => [
    index('inspections_permit_idx').on(t.permitId, t.windowStart),
    uniqueIndex('inspections_idempotency_uq').on(t.requestedBy, t.idempotencyKey),
  ],
);
export type Inspection = typeof inspections.$inferSelect;

export const inspectionChecklistItems = pgTable(
  'inspection_checklist_items',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    inspectionId: uuid('inspection_id')
      .notNull()
      .references(() => inspections.id),
    position: integer('position').notNull(),
    item: text('item').notNull(),
    passed: boolean('passed').notNull(),
    notes: text('notes'),
  },
  (t) => [index('inspection_checklist_inspection_idx').on(t.inspectionId, t.position)],
);
export type ChecklistItem = typeof inspectionChecklistItems.$inferSelect;

/**
 * Inspection capacity: how many inspectors work, their day in the jurisdiction's time zone, the slot length and the
 * cut-off before a slot after which a contractor can no longer change it. A row with an empty `inspection_type` is the
 * jurisdiction's default; a row naming a type (stored as its key: trimmed, lower case) gives that type inspectors of
 * its own. A type without a row shares the default; a jurisdiction without any row gets the demo defaults
 * (src/domain/inspection-capacity.ts). Set with `cli jurisdictions capacity set`.
 */
export const inspectionCapacity = pgTable(
  'inspection_capacity',
  {
    jurisdictionId: text('jurisdiction_id')
      .notNull()
      .references(() => jurisdictions.id),
    /** `''`: the jurisdiction's default; else the key of one inspection type (`framing`, `final`, …). */
    inspectionType: text('inspection_type').notNull().default(''),
    inspectors: integer('inspectors').notNull(),
    /** Local wall-clock times `HH:MM`. */
    dayStart: text('day_start').notNull(),
    dayEnd: text('day_end').notNull(),
    slotMinutes: integer('slot_minutes').notNull(),
    /** ISO weekdays that are working days, e.g. `1,2,3,4,5` (Monday to Friday). */
    workdays: text('workdays').notNull(),
    cutoffHours: integer('cutoff_hours').notNull(),
  },
  (t) => [primaryKey({ columns: [t.jurisdictionId, t.inspectionType] })],
);
export type InspectionCapacity = typeof inspectionCapacity.$inferSelect;

/** Days on which a jurisdiction's inspectors do not work. */
export const inspectionHolidays = pgTable(
  'inspection_holidays',
  {
    jurisdictionId: text('jurisdiction_id')
      .notNull()
      .references(() => jurisdictions.id),
    day: date('day').notNull(),
    name: text('name').notNull(),
  },
  (t) => [primaryKey({ columns: [t.jurisdictionId, t.day] })],
);
