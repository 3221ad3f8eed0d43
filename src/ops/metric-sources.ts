/** Readers for the metrics gauges whose values live in the database. */
import { max } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { auditEntries } from '../db/schema/audit.ts';

/** Length of the audit chain: its head `seq` (seq is gap-free from 1), 0 when empty. */
export async function auditChainLength(db: Executor): Promise<number> {
  const [row] = await db.select({ head: max(auditEntries.seq) }).from(auditEntries);
  return Number(row?.head ?? 0);
}
