/** Permits, their status history and their number counters: the core records every other part of the service serves. */
import { bigserial, date, index, integer, numeric, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { contractors } from './contractors.ts';
import { jurisdictions } from './jurisdictions.ts';
import { parcels } from './parcels.ts';

export const PERMIT_STATUSES = [
  'SUBMITTED',
  'UNDER_REVIEW',
  'CORRECTIONS_REQUIRED',
  'APPROVED',
  'ISSUED',
  'INSPECTIONS',
  'FINALED',
  'EXPIRED',
  'REJECTED',
  'WITHDRAWN',
] as const;
export type PermitStatus = (typeof PERMIT_STATUSES)[number];

export const PERMIT_TYPES = ['BUILDING', 'ELECTRICAL', 'PLUMBING', 'MECHANICAL', 'DEMOLITION', 'GRADING', 'FIRE', 'SIGN'] as const;
export type PermitType = (typeof PERMIT_TYPES)[number];

/** BLDS WorkClass values. */
export const WORK_CLASSES = ['NEW', 'ADDITION', 'ALTERATION', 'REPAIR', 'DEMOLITION', 'OTHER'] as const;
export type WorkClass = (typeof WORK_CLASSES)[number];

/** Column names follow the BLDS open permit data standard where one exists. */
export const permits = pgTable(
  'permits',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    jurisdictionId: text('jurisdiction_id')
      .notNull()
      .references(() => jurisdictions.id),
    permitNum: text('permit_num').notNull(),
    permitType: text('permit_type', { enum: PERMIT_TYPES }).notNull(),
    workClass: text('work_class', { enum: WORK_CLASSES }).notNull(),
    description: text('description').notNull(),
    estProjectCost: numeric('est_project_cost', { precision: 14, scale: 2, mode: 'number' }).notNull(),
    // personal data: only for `permits:read:pii` or the owning contractor
    applicantName: text('applicant_name').notNull(),
    applicantEmail: text('applicant_email').notNull(),
    applicantPhone: text('applicant_phone').notNull(),
    parcelId: uuid('parcel_id')
      .notNull()
      .references(() => parcels.id),
    contractorId: uuid('contractor_id')
      .notNull()
      .references(() => contractors.id),
    statusCurrent: text('status_current', { enum: PERMIT_STATUSES }).notNull(),
    version: integer('version').notNull().default(1),
    appliedDate: timestamp('applied_date', { withTimezone: true }).notNull().defaultNow(),
    issuedDate: timestamp('issued_date', { withTimezone: true }),
    completedDate: timestamp('completed_date', { withTimezone: true }),
    statusDate: timestamp('status_date', { withTimezone: true }).notNull().defaultNow(),
    /**
     * BLDS facts a legacy system may hold (imported, exported; null when unknown): ExpiresDate, TotalSqFt,
     * HousingUnits, MasterPermitNum.
     */
    expiresDate: date('expires_date', { mode: 'string' }),
    totalSqFt: integer('total_sq_ft'),
    housingUnits: integer('housing_units'),
    masterPermitNum: text('master_permit_num'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    /** Who submitted (client id) and the key they chose: one permit per (submitter, key). */
    submittedBy: text('submitted_by'),
    idempotencyKey: text('idempotency_key'),
    /** SHA-256 of the canonical submission input, to tell a replay from a conflicting reuse of the key. */
    requestHash: text('request_hash'),
  },
  (t) => [
    uniqueIndex('permits_jurisdiction_num_uq').on(t.jurisdictionId, t.permitNum),
    // the public status lookup (`permitStatus`, `/status/{n}`) has no jurisdiction; the prefix makes numbers unique
    uniqueIndex('permits_num_uq').on(t.permitNum),
    uniqueIndex('permits_idempotency_uq').on(t.submittedBy, t.idempotencyKey),
    // filters of `permits(filter)`; keyset pagination runs on (updated_at, id)
    index('permits_jurisdiction_updated_idx').on(t.jurisdictionId, t.updatedAt, t.id),
    index('permits_jurisdiction_status_idx').on(t.jurisdictionId, t.statusCurrent),
    index('permits_jurisdiction_type_idx').on(t.jurisdictionId, t.permitType),
    index('permits_contractor_idx').on(t.contractorId),
    index('permits_parcel_idx').on(t.parcelId),
  ],
);
export type Permit = typeof permits.$inferSelect;
export type NewPermit = typeof permits.$inferInsert;

export const permitStatusHistory = pgTable(
  'permit_status_history',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    permitId: uuid('permit_id')
      .notNull()
      .references(() => permits.id),
    fromStatus: text('from_status', { enum: PERMIT_STATUSES }),
    toStatus: text('to_status', { enum: PERMIT_STATUSES }).notNull(),
    reason: text('reason'),
    actor: text('actor').notNull(),
    changedAt: timestamp('changed_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('permit_status_history_permit_idx').on(t.permitId, t.id)],
);
export type PermitStatusChange = typeof permitStatusHistory.$inferSelect;

/** Next permit number per jurisdiction and year (row lock serialises concurrent submissions). */
export const permitNumberCounters = pgTable(
  'permit_number_counters',
  {
    jurisdictionId: text('jurisdiction_id')
      .notNull()
      .references(() => jurisdictions.id),
    year: integer('year').notNull(),
    next: integer('next').notNull(),
  },
  (t) => [uniqueIndex('permit_number_counters_pk').on(t.jurisdictionId, t.year)],
);
