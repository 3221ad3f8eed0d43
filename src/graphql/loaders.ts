/**
 * Per-request DataLoaders (a page of 200 permits with parcel, contractor and inspections costs four statements),
 * each backed by a loader shared across concurrent requests (src/db/coalesce.ts): requests arriving together
 * share those statements too. The shared loaders are scoped by jurisdiction where the rows are tenant data;
 * children (inspections, checklist, history) are asked only for permits already read within the principal's scope.
 */
import DataLoader from 'dataloader';
import { byKey, coalesced, groupedByKey } from '../db/coalesce.ts';
import type { Db } from '../db/client.ts';
import type { ChecklistItem, Inspection } from '../db/schema/inspections.ts';
import type { Contractor } from '../db/schema/contractors.ts';
import type { Parcel } from '../db/schema/parcels.ts';
import type { PermitStatusChange } from '../db/schema/permits.ts';
import { batch } from '../domain/permit-reads.ts';
import type { Principal } from '../domain/principal.ts';
import { checklistOfInspections, historyOfPermits, inspectionsOfPermits } from '../domain/related-reads.ts';

/** A per-request loader whose batches go to the shared loader of `kind` in `scope`. */
function viaShared<V>(db: Db, kind: string, scope: string, load: (ids: readonly string[]) => Promise<(V | null)[]>) {
  return new DataLoader<string, V | null>(async (ids) => coalesced<V>(db, kind, scope, load).loadMany(ids));
}

export function createLoaders(db: Db, p: Principal | null) {
  const none = async (ids: readonly string[]) => ids.map(() => null);
  const j = p?.jurisdiction ?? '';
  return {
    parcel: p
      ? viaShared<Parcel>(db, 'parcel', j, async (ids) => byKey(ids, await batch.parcels(db, j, ids), (r) => r.id))
      : new DataLoader<string, Parcel | null>(none),
    contractor: p
      ? viaShared<Contractor>(db, 'contractor', j, async (ids) => byKey(ids, await batch.contractors(db, j, ids), (r) => r.id))
      : new DataLoader<string, Contractor | null>(none),
    inspections: viaShared<Inspection[]>(db, 'inspections', '', async (ids) => groupedByKey(ids, await inspectionsOfPermits(db, ids), (r) => r.permitId)) as DataLoader<string, Inspection[]>,
    checklist: viaShared<ChecklistItem[]>(db, 'checklist', '', async (ids) => groupedByKey(ids, await checklistOfInspections(db, ids), (r) => r.inspectionId)) as DataLoader<string, ChecklistItem[]>,
    history: viaShared<PermitStatusChange[]>(db, 'history', '', async (ids) => groupedByKey(ids, await historyOfPermits(db, ids), (r) => r.permitId)) as DataLoader<string, PermitStatusChange[]>,
  };
}
export type Loaders = ReturnType<typeof createLoaders>;
