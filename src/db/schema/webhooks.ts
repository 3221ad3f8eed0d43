/**
 * Webhooks and their deliveries (issue 22). A delivery row is written by the database trigger that sees the change
 * (migration "webhook_event_triggers"), in the change's own transaction: a transactional outbox, so a committed
 * change always has its deliveries and a rolled-back one never does.
 */
import { sql } from 'drizzle-orm';
import { bigserial, boolean, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { jurisdictions } from './jurisdictions.ts';

export const webhooks = pgTable(
  'webhooks',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** The client that registered it: only it lists, reads and deletes it. */
    clientId: text('client_id').notNull(),
    jurisdictionId: text('jurisdiction_id')
      .notNull()
      .references(() => jurisdictions.id),
    /** Set for a contractor's webhook: it hears only the permits of this license (the read policy's own rule). */
    contractorLicense: text('contractor_license'),
    url: text('url').notNull(),
    /** Dotted event types (`permit.status_changed`). */
    events: text('events').array().notNull(),
    /**
     * The `whsec_…` signing secret, in plain: it must be usable to sign, and a key to encrypt it would sit beside it
     * on the same server. No API field returns it and nothing logs it; see the README ("Webhooks").
     */
    secret: text('secret').notNull(),
    active: boolean('active').notNull().default(true),
    /** Why the server disabled it (failing for days), shown to its owner. */
    disabledReason: text('disabled_reason'),
    lastSuccessAt: timestamp('last_success_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (t) => [index('webhooks_jurisdiction_idx').on(t.jurisdictionId).where(sql`${t.active}`), index('webhooks_client_idx').on(t.clientId)],
);
export type WebhookRow = typeof webhooks.$inferSelect;

export const DELIVERY_STATES = ['pending', 'delivered', 'dead'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    /** Creation order: deliveries of one permit to one webhook go out in this order. */
    seq: bigserial('seq', { mode: 'number' }).primaryKey(),
    /** The Standard Webhooks `webhook-id`: the same on every attempt, so receivers can de-duplicate. */
    messageId: text('message_id').notNull(),
    webhookId: uuid('webhook_id')
      .notNull()
      .references(() => webhooks.id),
    /** The ordering key (null for events without a permit). */
    permitId: uuid('permit_id'),
    eventType: text('event_type').notNull(),
    /** The signed body `{type, timestamp, data}`, fixed when the event happened. */
    body: jsonb('body').notNull(),
    state: text('state', { enum: DELIVERY_STATES }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    /** When it is due; a claim moves it forward by the claim's lease, so a dead instance's claim expires. */
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    lastStatus: integer('last_status'),
    lastError: text('last_error'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /** Where its retry window starts: when it was queued, or when an operator last replayed it (then it gets a full window again). */
    retryFrom: timestamp('retry_from', { withTimezone: true }).notNull().defaultNow(),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('webhook_deliveries_message_uq').on(t.messageId),
    index('webhook_deliveries_due_idx').on(t.nextAttemptAt).where(sql`${t.state} = 'pending'`),
    index('webhook_deliveries_order_idx').on(t.webhookId, t.permitId, t.seq),
  ],
);
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
