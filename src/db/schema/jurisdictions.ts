/** The tenants: every other table's rows belong to one jurisdiction, so this table is the root of every tenancy check. */
import { pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** A tenant: every row of permit data belongs to exactly one jurisdiction. */
export const jurisdictions = pgTable('jurisdictions', {
  id: text('id').primaryKey(), // slug, e.g. `demo-city`
  name: text('name').notNull(),
  /** Prefix of permit numbers (`DC-BLD-2026-000123`), so a number is unique across jurisdictions too. */
  permitPrefix: text('permit_prefix').notNull().unique(),
  /** Two-letter US state code (`cli jurisdictions create --state`); null for rows made before it existed. */
  state: text('state'),
  /** IANA time zone of the jurisdiction's offices, e.g. `America/Chicago`. */
  timezone: text('timezone').notNull().default('UTC'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});
export type Jurisdiction = typeof jurisdictions.$inferSelect;
