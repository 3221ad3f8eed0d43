/** Licensed contractors of a jurisdiction: the applicants a permit names, and the license state that lets them apply. */
import { date, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { jurisdictions } from './jurisdictions.ts';

export const LICENSE_STATUSES = ['ACTIVE', 'SUSPENDED', 'EXPIRED', 'REVOKED'] as const;
export type LicenseStatus = (typeof LICENSE_STATUSES)[number];

export const contractors = pgTable(
  'contractors',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    jurisdictionId: text('jurisdiction_id')
      .notNull()
      .references(() => jurisdictions.id),
    licenseNumber: text('license_number').notNull(),
    name: text('name').notNull(),
    licenseStatus: text('license_status', { enum: LICENSE_STATUSES }).notNull(),
    licenseExpiresOn: date('license_expires_on').notNull(),
  },
  (t) => [uniqueIndex('contractors_jurisdiction_license_uq').on(t.jurisdictionId, t.licenseNumber)],
);
export type Contractor = typeof contractors.$inferSelect;
