/** Permit statistics for dashboards, aggregated in the database and scoped to the caller's jurisdiction. */
import { and, gte, lt, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { permits } from '../db/schema/permits.ts';
import { badInput } from '../errors.ts';
import type { Principal } from './principal.ts';

export type StatsGrouping = 'STATUS' | 'TYPE' | 'MONTH';

/** Aggregates over the principal's jurisdiction, by AppliedDate in [from, to). */
export async function permitStats(db: Executor, p: Principal, groupBy: StatsGrouping, from?: Date | null, to?: Date | null) {
  if (from && to && from > to) throw badInput('to', 'must not be before from');
  const key =
    groupBy === 'STATUS'
      ? sql<string>`${permits.statusCurrent}`
      : groupBy === 'TYPE'
        ? sql<string>`${permits.permitType}`
        : sql<string>`to_char(${permits.appliedDate} at time zone 'UTC', 'YYYY-MM')`;
  const rows = await db
    .select({ key, count: sql<number>`count(*)::int`, totalValuation: sql<string>`sum(${permits.estProjectCost})` })
    .from(permits)
    .where(
      and(
        sql`${permits.jurisdictionId} = ${p.jurisdiction}`,
        from ? gte(permits.appliedDate, from) : undefined,
        to ? lt(permits.appliedDate, to) : undefined,
      ),
    )
    .groupBy(key)
    .orderBy(key);
  return rows.map((r) => ({
    key: String(r.key),
    count: Number(r.count),
    totalValuation: r.totalValuation === null ? null : Number(r.totalValuation),
  }));
}
