/** The per-jurisdiction change counters the OGC routes' ETags are made of, kept by triggers so no writer has to know. */
import { bigint, integer, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { jurisdictions } from './jurisdictions.ts';

/**
 * How many write statements touched a jurisdiction's permits or parcels, bumped by triggers (migration
 * *_ogc_change_counter) so every writer (API, CLI, imports) counts without knowing about it. The count is spread
 * over slots (one per database backend, modulo 32) and read as their sum: one row per jurisdiction would be a lock
 * every write of the jurisdiction waits for until the previous one commits. OGC items responses carry the sum in
 * their ETag.
 */
export const jurisdictionChanges = pgTable(
  'jurisdiction_changes',
  {
    jurisdictionId: text('jurisdiction_id')
      .notNull()
      .references(() => jurisdictions.id),
    slot: integer('slot').notNull(),
    counter: bigint('counter', { mode: 'number' }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.jurisdictionId, t.slot] })],
);
