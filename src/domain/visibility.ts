/**
 * Which permits a principal may see: always only its own jurisdiction's; a contractor client only the permits
 * of the contractor record it is bound to. Objects outside this scope behave as if they did not exist.
 */
import { and, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { contractors } from '../db/schema/contractors.ts';
import { permits } from '../db/schema/permits.ts';
import { ownPermitsOnly, type Principal } from './principal.ts';

export function visiblePermits(p: Principal): SQL {
  const tenant = eq(permits.jurisdictionId, p.jurisdiction);
  if (!ownPermitsOnly(p)) return tenant;
  if (!p.contractor) return sql`false`;
  const own = sql`(select ${contractors.id} from ${contractors} where ${contractors.jurisdictionId} = ${p.jurisdiction} and ${contractors.licenseNumber} = ${p.contractor})`;
  return and(tenant, inArray(permits.contractorId, own))!;
}
