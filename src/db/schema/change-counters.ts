import { bigint, pgTable, text } from 'drizzle-orm/pg-core';
import { jurisdictions } from './jurisdictions.ts';

/**
 * How many write statements touched a jurisdiction's permits or parcels: bumped by triggers (migration
 * *_ogc_change_counter), so every writer (API, CLI, imports) counts without knowing about it. OGC items
 * responses carry it in their ETag: an unchanged counter means an unchanged answer.
 */
export const jurisdictionChanges = pgTable('jurisdiction_changes', {
  jurisdictionId: text('jurisdiction_id')
    .primaryKey()
    .references(() => jurisdictions.id),
  counter: bigint('counter', { mode: 'number' }).notNull().default(0),
});
