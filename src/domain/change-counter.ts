/** The per-jurisdiction change counter (table jurisdiction_changes, bumped by triggers on permits and parcels). */
import { eq } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { jurisdictionChanges } from '../db/schema/change-counters.ts';

/** 0 for a jurisdiction nothing was ever written to. */
export async function changeCounter(db: Executor, jurisdiction: string): Promise<number> {
  const [row] = await db
    .select({ n: jurisdictionChanges.counter })
    .from(jurisdictionChanges)
    .where(eq(jurisdictionChanges.jurisdictionId, jurisdiction));
  return Number(row?.n ?? 0);
}
