/**
 * The two feature collections and what serves them. Each names the GraphQL query field whose access rule it
 * shares (the central policy, read from the schema's directives): `permits` is governed like `Query.permits`
 * (a contractor sees its own permits only, by the same visibility rule), `parcels` like `Query.parcels`.
 */
import type { Executor } from '../../db/client.ts';
import { PERMIT_STATUSES, PERMIT_TYPES } from '../../db/schema/permits.ts';
import type { FeaturePage, FeatureTexts } from '../../domain/feature-page.ts';
import { parcelFeature, parcelFeaturePage, PARCEL_FEATURE_PROPERTIES } from '../../domain/parcel-features.ts';
import { permitFeature, permitFeaturePage, PERMIT_FEATURE_PROPERTIES } from '../../domain/permit-features.ts';
import type { PermitStatus, PermitType } from '../../db/schema/permits.ts';
import type { Principal } from '../../domain/principal.ts';
import { permitScopeKey, permitScopeOf } from '../../domain/visibility.ts';
import type { ItemsParams, PropertyFilter } from './items-params.ts';

export interface Collection {
  id: 'permits' | 'parcels';
  title: string;
  description: string;
  /** The `Query` field whose access rule applies. */
  ruleOf: string;
  /** Whether `datetime` selects on a feature time (the last update); parcels carry none. */
  temporal: boolean;
  geometry: 'Point' | 'Polygon';
  properties: Readonly<Record<string, string>>;
  filters: readonly PropertyFilter[];
  /** Who sees the same features: part of the ETag. */
  visibilityKey(p: Principal): string;
  /**
   * A page; `countMatched: false` when the caller already knows `numberMatched`; `texts`: features built earlier
   * for the same state of the jurisdiction (feature-texts.ts).
   */
  page(db: Executor, p: Principal, q: ItemsParams, countMatched: boolean, texts?: FeatureTexts | null): Promise<FeaturePage>;
  one(db: Executor, p: Principal, featureId: string): Promise<string | null>;
}

const permitsCollection: Collection = {
  id: 'permits',
  title: 'Building permits',
  description:
    'Permits at their parcel centroid, BLDS property names, no personal data. Withdrawn, rejected and expired permits stay ' +
    'with their status; datetime selects on LastUpdated (the last change), so a sync client asks for what changed since.',
  ruleOf: 'permits',
  temporal: true,
  geometry: 'Point',
  properties: PERMIT_FEATURE_PROPERTIES,
  filters: [
    { name: 'StatusCurrent', values: PERMIT_STATUSES },
    { name: 'PermitType', values: PERMIT_TYPES },
  ],
  visibilityKey: (p) => permitScopeKey(permitScopeOf(p)),
  page: (db, p, q, countMatched, texts) =>
    permitFeaturePage(db, p, {
      countMatched,
      texts: texts ?? null,
      filter: {
        status: (q.filters.StatusCurrent as PermitStatus[] | undefined) ?? null,
        type: (q.filters.PermitType as PermitType[] | undefined) ?? null,
      },
      bbox: q.bbox,
      datetime: q.datetime,
      limit: q.limit,
      cursor: q.cursor,
    }),
  one: (db, p, id) => permitFeature(db, p, id),
};

const parcelsCollection: Collection = {
  id: 'parcels',
  title: 'Parcels',
  description: "Parcel outlines (polygons) with the assessor's parcel number (PIN), address and zoning code.",
  ruleOf: 'parcels',
  temporal: false,
  geometry: 'Polygon',
  properties: PARCEL_FEATURE_PROPERTIES,
  filters: [],
  visibilityKey: (p) => p.jurisdiction,
  page: (db, p, q, countMatched, texts) =>
    parcelFeaturePage(db, p, { bbox: q.bbox, limit: q.limit, cursor: q.cursor, countMatched, texts: texts ?? null }),
  one: (db, p, id) => parcelFeature(db, p, id),
};

export const COLLECTIONS: readonly Collection[] = [permitsCollection, parcelsCollection];
export const collectionById = (id: string) => COLLECTIONS.find((c) => c.id === id);
