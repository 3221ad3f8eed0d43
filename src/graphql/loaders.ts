/** Per-request DataLoaders: a page of 200 permits with parcel, contractor and inspections costs four statements. */
import DataLoader from 'dataloader';
import type { Executor } from '../db/client.ts';
import type { ChecklistItem, Inspection } from '../db/schema/inspections.ts';
import type { Contractor } from '../db/schema/contractors.ts';
import type { Parcel } from '../db/schema/parcels.ts';
import type { PermitStatusChange } from '../db/schema/permits.ts';
import { batch } from '../domain/permit-reads.ts';
import type { Principal } from '../domain/principal.ts';
import { checklistOfInspections, historyOfPermits, inspectionsOfPermits } from '../domain/related-reads.ts';

function byId<T extends { id: string }>(ids: readonly string[], rows: T[]) {
  const m = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => m.get(id) ?? null);
}

function grouped<T>(ids: readonly string[], rows: T[], key: (r: T) => string) {
  const m = new Map<string, T[]>();
  for (const r of rows) {
    const k = key(r);
    const list = m.get(k);
    if (list) list.push(r);
    else m.set(k, [r]);
  }
  return ids.map((id) => m.get(id) ?? []);
}

export function createLoaders(db: Executor, p: Principal | null) {
  const none = async (ids: readonly string[]) => ids.map(() => null);
  return {
    parcel: new DataLoader<string, Parcel | null>(async (ids) => (p ? byId(ids, await batch.parcels(db, p, ids)) : none(ids))),
    contractor: new DataLoader<string, Contractor | null>(async (ids) => (p ? byId(ids, await batch.contractors(db, p, ids)) : none(ids))),
    inspections: new DataLoader<string, Inspection[]>(async (ids) => grouped(ids, await inspectionsOfPermits(db, ids), (r) => r.permitId)),
    checklist: new DataLoader<string, ChecklistItem[]>(async (ids) => grouped(ids, await checklistOfInspections(db, ids), (r) => r.inspectionId)),
    history: new DataLoader<string, PermitStatusChange[]>(async (ids) => grouped(ids, await historyOfPermits(db, ids), (r) => r.permitId)),
  };
}
export type Loaders = ReturnType<typeof createLoaders>;
