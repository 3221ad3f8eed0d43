/**
 * Batched reads of a permit's children (inspections, checklist, history): one statement per batch, prepared once per
 * loader and run with `.execute({ keys })` (the parents' ids), so drizzle builds the SQL text once (db/batched-reads.ts).
 */
import { asc } from 'drizzle-orm';
import { anyOfKeys } from '../db/batched-reads.ts';
import type { Executor } from '../db/client.ts';
import { inspectionChecklistItems, inspections } from '../db/schema/inspections.ts';
import { permitStatusHistory } from '../db/schema/permits.ts';

// Callers pass ids of permits/inspections they already loaded through visiblePermits().
export const inspectionsOfPermits = (db: Executor) =>
  db
    .select()
    .from(inspections)
    .where(anyOfKeys(inspections.permitId, 'uuid'))
    .orderBy(asc(inspections.windowStart), asc(inspections.id))
    .prepare('inspections_of_permits');

export const checklistOfInspections = (db: Executor) =>
  db
    .select()
    .from(inspectionChecklistItems)
    .where(anyOfKeys(inspectionChecklistItems.inspectionId, 'uuid'))
    .orderBy(asc(inspectionChecklistItems.position))
    .prepare('checklist_of_inspections');

export const historyOfPermits = (db: Executor) =>
  db
    .select()
    .from(permitStatusHistory)
    .where(anyOfKeys(permitStatusHistory.permitId, 'uuid'))
    .orderBy(asc(permitStatusHistory.id))
    .prepare('history_of_permits');
