/** Fills the status cache from the database at start-up, in pages, so an outage right after start still has answers. */
import { asc, gt } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { permits } from '../db/schema/permits.ts';
import type { StatusCache } from './status-cache.ts';

export async function warmStatusCache(database: Database, cache: StatusCache, pageSize = 5000): Promise<number> {
  let after = '';
  let total = 0;
  const asOf = new Date();
  for (;;) {
    const rows = await database.db
      .select({
        id: permits.id,
        number: permits.permitNum,
        jurisdiction: permits.jurisdictionId,
        status: permits.statusCurrent,
        updatedAt: permits.updatedAt,
      })
      .from(permits)
      .where(after ? gt(permits.id, after) : undefined)
      .orderBy(asc(permits.id))
      .limit(pageSize);
    if (rows.length === 0) return total;
    total += await cache.warm(rows.map(({ id: _id, ...r }) => ({ ...r, asOf })));
    after = rows.at(-1)!.id;
  }
}
