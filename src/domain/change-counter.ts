/** The per-jurisdiction change counter (table jurisdiction_changes, bumped by triggers on permits and parcels). */
import { eq, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { jurisdictionChanges } from '../db/schema/change-counters.ts';

/** The sum of the jurisdiction's slots: committed write statements so far (0 when there were none). */
export async function changeCounter(db: Executor, jurisdiction: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<string>`coalesce(sum(${jurisdictionChanges.counter}), 0)::text` })
    .from(jurisdictionChanges)
    .where(eq(jurisdictionChanges.jurisdictionId, jurisdiction));
  return Number(row?.n ?? 0);
}
