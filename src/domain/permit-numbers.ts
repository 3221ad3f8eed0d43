import { sql } from 'drizzle-orm';
import { rowsOf, type Executor } from '../db/client.ts';
import { jurisdictions } from '../db/schema/jurisdictions.ts';
import type { PermitType } from '../db/schema/permits.ts';

const TYPE_CODE: Record<PermitType, string> = {
  BUILDING: 'BLD',
  ELECTRICAL: 'ELE',
  PLUMBING: 'PLM',
  MECHANICAL: 'MEC',
  DEMOLITION: 'DEM',
  GRADING: 'GRD',
  FIRE: 'FIR',
  SIGN: 'SGN',
};

export const formatPermitNumber = (prefix: string, type: PermitType, year: number, n: number) =>
  `${prefix}-${TYPE_CODE[type]}-${year}-${String(n).padStart(6, '0')}`;

/**
 * Next permit number of a jurisdiction for the year, e.g. `DC-BLD-2026-000123`. The counter row's lock
 * serialises concurrent submissions in one jurisdiction until the surrounding transaction ends.
 */
export async function nextPermitNumber(tx: Executor, jurisdiction: string, type: PermitType, now: Date): Promise<string> {
  const year = now.getUTCFullYear();
  const rows = rowsOf<{ next: number; prefix: string }>(
    await tx.execute(sql`
      insert into permit_number_counters (jurisdiction_id, year, next) values (${jurisdiction}, ${year}, 1)
      on conflict (jurisdiction_id, year) do update set next = permit_number_counters.next + 1
      returning next, (select ${jurisdictions.permitPrefix} from ${jurisdictions} where ${jurisdictions.id} = ${jurisdiction}) as prefix`),
  );
  const row = rows[0]!;
  return formatPermitNumber(row.prefix, type, year, Number(row.next));
}
