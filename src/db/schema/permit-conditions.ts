/** Corrections and conditions attached to a permit, kept apart from the permit row because each has its own lifecycle. */
import { index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { PERMIT_STATUSES, permits } from './permits.ts';

/** A correction asks the applicant to fix the application; a condition must be met before the permit moves on. */
export const CONDITION_KINDS = ['CORRECTION', 'CONDITION'] as const;
export type ConditionKind = (typeof CONDITION_KINDS)[number];

/** OPEN until the contractor answers, ANSWERED until a clerk or inspector resolves it; only RESOLVED stops blocking. */
export const CONDITION_STATES = ['OPEN', 'ANSWERED', 'RESOLVED'] as const;
export type ConditionState = (typeof CONDITION_STATES)[number];

/** Items a clerk or inspector attaches to a permit; an unresolved one blocks the transitions it names. */
export const permitConditions = pgTable(
  'permit_conditions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    permitId: uuid('permit_id')
      .notNull()
      .references(() => permits.id),
    kind: text('kind', { enum: CONDITION_KINDS }).notNull(),
    description: text('description').notNull(),
    /** Statuses the permit may not move to while this item is unresolved. */
    blocks: text('blocks', { enum: PERMIT_STATUSES }).array().notNull(),
    state: text('state', { enum: CONDITION_STATES }).notNull().default('OPEN'),
    response: text('response'),
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    answeredBy: text('answered_by'),
    answeredAt: timestamp('answered_at', { withTimezone: true }),
    resolvedBy: text('resolved_by'),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
  },
  (t) => [index('permit_conditions_permit_idx').on(t.permitId, t.createdAt)],
);
export type PermitCondition = typeof permitConditions.$inferSelect;
