import { bigserial, boolean, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { permits } from './permits.ts';

export const INSPECTION_RESULTS = ['PENDING', 'PASS', 'FAIL', 'PARTIAL'] as const;
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
