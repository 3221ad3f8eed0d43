/** Batched reads of a permit's children (inspections, checklist, history): one statement per batch. */
import { asc, inArray } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { inspectionChecklistItems, inspections } from '../db/schema/inspections.ts';
import { permitStatusHistory } from '../db/schema/permits.ts';

// Callers pass ids of permits/inspections they already loaded through visiblePermits().
export const inspectionsOfPermits = (db: Executor, permitIds: readonly string[]) =>
  db.select().from(inspections).where(inArray(inspections.permitId, [...permitIds])).orderBy(asc(inspections.windowStart), asc(inspections.id));

export const checklistOfInspections = (db: Executor, inspectionIds: readonly string[]) =>
  db
    .select()
    .from(inspectionChecklistItems)
    .where(inArray(inspectionChecklistItems.inspectionId, [...inspectionIds]))
    .orderBy(asc(inspectionChecklistItems.position));

export const historyOfPermits = (db: Executor, permitIds: readonly string[]) =>
  db.select().from(permitStatusHistory).where(inArray(permitStatusHistory.permitId, [...permitIds])).orderBy(asc(permitStatusHistory.id));
