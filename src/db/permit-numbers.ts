/** Permit numbers (`PREFIX-TYPE-YEAR-NNNNNN`, gap-free per jurisdiction and year): their format and the SQL that takes the next one. */
import { sql, type Placeholder, type SQL } from 'drizzle-orm';
import { jurisdictions } from './schema/jurisdictions.ts';
import type { PermitType } from './schema/permits.ts';

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

/** The number's part naming the permit type (`ELE` for ELECTRICAL). */
export const permitTypeCode = (type: PermitType) => TYPE_CODE[type];

export const formatPermitNumber = (prefix: string, type: PermitType, year: number, n: number) =>
  `${prefix}-${TYPE_CODE[type]}-${year}-${String(n).padStart(6, '0')}`;

/**
 * The next counter value of a jurisdiction for the year and the jurisdiction's prefix, as a statement to use as
 * the CTE `n(next, prefix)` of the statement that inserts the permit (see `permitNumberFrom`). The counter row's
 * lock serialises concurrent submissions in one jurisdiction until the surrounding transaction ends, so numbers
 * have no gaps; taking the number in the same statement as the insert keeps that window short.
 */
export function nextNumberStatement(jurisdiction: string | Placeholder, year: number | Placeholder): SQL {
  return sql`
    insert into permit_number_counters (jurisdiction_id, year, next) values (${jurisdiction}, ${year}, 1)
    on conflict (jurisdiction_id, year) do update set next = permit_number_counters.next + 1
    returning next, (select ${jurisdictions.permitPrefix} from ${jurisdictions} where ${jurisdictions.id} = ${jurisdiction}) as prefix`;
}

/** The permit number from the CTE `n` of {@link nextNumberStatement}: the same text as {@link formatPermitNumber}. */
export function permitNumberFrom(type: PermitType, year: number): SQL {
  return permitNumberOf(TYPE_CODE[type], String(year));
}

/** {@link permitNumberFrom} from the type's code and the year as text, either of them possibly a placeholder. */
export function permitNumberOf(typeCode: string | Placeholder, yearText: string | Placeholder): SQL {
  return sql`(select n.prefix || '-' || ${typeCode}::text || '-' || ${yearText}::text || '-' ||
    case when length(n.next::text) >= 6 then n.next::text else lpad(n.next::text, 6, '0') end from n)`;
}
