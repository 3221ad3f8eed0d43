/** Land parcels and the zoning codes they fall under: where a permit's work takes place, searchable by bounding box. */
import { doublePrecision, index, jsonb, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { jurisdictions } from './jurisdictions.ts';

/** Zoning code reference data (shared by all jurisdictions). */
export const zoningCodes = pgTable('zoning_codes', {
  code: text('code').primaryKey(),
  description: text('description').notNull(),
  category: text('category').notNull(),
});

export type Polygon = { type: 'Polygon'; coordinates: number[][][] };
export type MultiPolygon = { type: 'MultiPolygon'; coordinates: number[][][][] };

export const parcels = pgTable(
  'parcels',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    jurisdictionId: text('jurisdiction_id')
      .notNull()
      .references(() => jurisdictions.id),
    apn: text('apn').notNull(), // Assessor's Parcel Number
    /** One-line situs address (address1 and address2 joined), what the API and exports show. */
    address: text('address').notNull(),
    /** Address parts as BLDS names them (OriginalAddress1/2, City, State, Zip); null where a source lacks them. */
    address1: text('address1'),
    address2: text('address2'),
    city: text('city'),
    state: text('state'),
    zip: text('zip'),
    zoningCode: text('zoning_code')
      .notNull()
      .references(() => zoningCodes.code),
    /** Centroid, used for bbox search and as the GeoJSON point of permits. */
    longitude: doublePrecision('longitude').notNull(),
    latitude: doublePrecision('latitude').notNull(),
    /** Parcel outline as a GeoJSON Polygon or MultiPolygon (RFC 7946, WGS 84); imported parcels may be either. */
    geometry: jsonb('geometry').$type<Polygon | MultiPolygon>().notNull(),
  },
  (t) => [
    uniqueIndex('parcels_jurisdiction_apn_uq').on(t.jurisdictionId, t.apn),
    // bbox search: range on longitude within a jurisdiction, latitude filtered from the index rows
    index('parcels_bbox_idx').on(t.jurisdictionId, t.longitude, t.latitude),
  ],
);
export type Parcel = typeof parcels.$inferSelect;
