/**
 * Per-request DataLoaders (a page of 200 permits with parcel, contractor and inspections costs four statements),
 * each backed by a loader shared across concurrent requests (src/db/batched-reads.ts): requests arriving together
 * share those statements too. The shared loaders are scoped by jurisdiction where the rows are tenant data;
 * children (inspections, checklist, history) are asked only for permits already read within the principal's scope.
 */
import DataLoader from 'dataloader';
import { byKey, coalesced, groupedByKey, once } from '../db/batched-reads.ts';
import type { Db } from '../db/client.ts';
import type { ChecklistItem, Inspection } from '../db/schema/inspections.ts';
import type { Contractor } from '../db/schema/contractors.ts';
import type { PermitStatusChange } from '../db/schema/permits.ts';
import type { PermitCondition } from '../db/schema/permit-conditions.ts';
import { conditionsOfPermits } from '../domain/condition-reads.ts';
import { batch, type ClassifiedParcel } from '../domain/permit-reads.ts';
import type { Principal } from '../domain/principal.ts';
import { checklistOfInspections, historyOfPermits, inspectionsOfPermits } from '../domain/related-reads.ts';

/** A per-request loader whose batches go to the shared loader of `kind` in `scope`. */
function viaShared<V>(db: Db, kind: string, scope: string, load: (ids: readonly string[]) => Promise<(V | null)[]>) {
  return new DataLoader<string, V | null>(async (ids) => coalesced<V>(db, kind, scope, load).loadMany(ids));
}

/**
 * {@link viaShared} running a statement prepared on the shared loader's first batch (`prepare` is called once per
 * shared loader: later requests' closures are not used by it) with the batch's ids as `keys`.
 */
function viaStatement<R, V>(
  db: Db,
  kind: string,
  scope: string,
  prepare: () => { execute(values: { keys: string[] }): Promise<R[]> },
  pick: (ids: readonly string[], rows: R[]) => (V | null)[],
) {
  const statement = once(prepare);
  return viaShared<V>(db, kind, scope, async (ids) => pick(ids, await statement().execute({ keys: [...ids] })));
}

export function createLoaders(db: Db, p: Principal | null) {
  const none = async (ids: readonly string[]) => ids.map(() => null);
  const j = p?.jurisdiction ?? '';
  return {
    parcel: p
      ? viaStatement<ClassifiedParcel, ClassifiedParcel>(
          db,
          'parcel',
          j,
          () => batch.parcels(db, j),
          (ids, rows) => byKey(ids, rows, (r) => r.id),
        )
      : new DataLoader<string, ClassifiedParcel | null>(none),
    contractor: p
      ? viaStatement<Contractor, Contractor>(
          db,
          'contractor',
          j,
          () => batch.contractors(db, j),
          (ids, rows) => byKey(ids, rows, (r) => r.id),
        )
      : new DataLoader<string, Contractor | null>(none),
    inspections: viaStatement<Inspection, Inspection[]>(
      db,
      'inspections',
      '',
      () => inspectionsOfPermits(db),
      (ids, rows) => groupedByKey(ids, rows, (r) => r.permitId),
    ) as DataLoader<string, Inspection[]>,
    checklist: viaStatement<ChecklistItem, ChecklistItem[]>(
      db,
      'checklist',
      '',
      () => checklistOfInspections(db),
      (ids, rows) => groupedByKey(ids, rows, (r) => r.inspectionId),
    ) as DataLoader<string, ChecklistItem[]>,
    history: viaStatement<PermitStatusChange, PermitStatusChange[]>(
      db,
      'history',
      '',
      () => historyOfPermits(db),
      (ids, rows) => groupedByKey(ids, rows, (r) => r.permitId),
    ) as DataLoader<string, PermitStatusChange[]>,
    // rarely asked for (not in any page a GIS client reads): batched per request, not shared across requests
    conditions: new DataLoader<string, PermitCondition[]>(async (ids) => {
      const rows = await conditionsOfPermits(db, ids);
      return ids.map((id) => rows.filter((r) => r.permitId === id));
    }),
  };
}
export type Loaders = ReturnType<typeof createLoaders>;
