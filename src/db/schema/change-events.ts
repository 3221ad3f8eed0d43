/** The table every instance's change feed reads committed changes from, in place of NOTIFY (why: see the table below). */
import { bigserial, pgTable, text } from 'drizzle-orm/pg-core';

/**
 * Committed changes for every instance's live listeners (subscriptions, the webhook dispatcher's wake-up, the OGC
 * change counters' caches), written by the triggers in the transaction of the change itself and read by each
 * instance's change feed (src/db/change-feed.ts). It replaces NOTIFY in those transactions: a transaction that
 * issued NOTIFY holds a database-wide lock from before its commit until its commit record is flushed, so every
 * notifying write committed alone, one WAL flush each, never sharing a group commit. Rows are kept a few minutes
 * (pruned by the feeds).
 */
export const changeEvents = pgTable('change_events', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  /** What a NOTIFY channel was: `permit_events` or `jurisdiction_changes`. */
  channel: text('channel').notNull(),
  /** What the NOTIFY payload was: the event's JSON, or the jurisdiction's id. */
  payload: text('payload').notNull(),
});
