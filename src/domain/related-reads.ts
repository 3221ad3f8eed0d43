/** Batched reads of a permit's children (inspections, checklist, history): one statement per batch. */
import { asc } from 'drizzle-orm';
import { anyOf } from '../db/coalesce.ts';
import type { Executor } from '../db/client.ts';
import { inspectionChecklistItems, inspections } from '../db/schema/inspections.ts';
import { permitStatusHistory } from '../db/schema/permits.ts';

// Callers pass ids of permits/inspections they already loaded through visiblePermits().
export const inspectionsOfPermits = (db: Executor, permitIds: readonly string[]) =>
  db.select().from(inspections).where(anyOf(inspections.permitId, permitIds, 'uuid')).orderBy(asc(inspections.windowStart), asc(inspections.id));

export const checklistOfInspections = (db: Executor, inspectionIds: readonly string[]) =>
  db
    .select()
    .from(inspectionChecklistItems)
    .where(anyOf(inspectionChecklistItems.inspectionId, inspectionIds, 'uuid'))
    .orderBy(asc(inspectionChecklistItems.position));

export const historyOfPermits = (db: Executor, permitIds: readonly string[]) =>
  db.select().from(permitStatusHistory).where(anyOf(permitStatusHistory.permitId, permitIds, 'uuid')).orderBy(asc(permitStatusHistory.id));
