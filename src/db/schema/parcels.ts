import { doublePrecision, index, jsonb, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { jurisdictions } from './jurisdictions.ts';

/** Zoning code reference data (shared by all jurisdictions). */
export const zoningCodes = pgTable('zoning_codes', {
  code: text('code').primaryKey(),
  description: text('description').notNull(),
  category: text('category').notNull(),
});

export type Polygon = { type: 'Polygon'; coordinates: number[][][] };

export const parcels = pgTable(
  'parcels',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    jurisdictionId: text('jurisdiction_id')
      .notNull()
      .references(() => jurisdictions.id),
    apn: text('apn').notNull(), // Assessor's Parcel Number
    address: text('address').notNull(),
    zoningCode: text('zoning_code')
      .notNull()
      .references(() => zoningCodes.code),
    /** Centroid, used for bbox search and as the GeoJSON point of permits. */
    longitude: doublePrecision('longitude').notNull(),
    latitude: doublePrecision('latitude').notNull(),
    /** Parcel outline as a GeoJSON Polygon (RFC 7946, WGS 84). */
    geometry: jsonb('geometry').$type<Polygon>().notNull(),
  },
  (t) => [
    uniqueIndex('parcels_jurisdiction_apn_uq').on(t.jurisdictionId, t.apn),
    // bbox search: range on longitude within a jurisdiction, latitude filtered from the index rows
    index('parcels_bbox_idx').on(t.jurisdictionId, t.longitude, t.latitude),
  ],
);
export type Parcel = typeof parcels.$inferSelect;
