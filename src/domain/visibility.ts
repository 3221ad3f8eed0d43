/**
 * Which permits a principal may see: always only its own jurisdiction's; a contractor client only the permits
 * of the contractor record it is bound to. Objects outside this scope behave as if they did not exist.
 *
 * `PermitScope` holds everything the rule depends on, so requests with equal scope keys may share one statement
 * (see src/db/batched-reads.ts) and requests with different ones never do.
 */
import { and, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { contractors } from '../db/schema/contractors.ts';
import { permits } from '../db/schema/permits.ts';
import { ownPermitsOnly, type Principal } from './principal.ts';

export interface PermitScope {
  jurisdiction: string;
  /** only the permits of `contractor` (BOLA protection for contractor clients) */
  ownOnly: boolean;
  contractor: string | null;
}

export const permitScopeOf = (p: Principal): PermitScope => ({
  jurisdiction: p.jurisdiction,
  ownOnly: ownPermitsOnly(p),
  contractor: p.contractor ?? null,
});

/** Equal keys ⇔ equal visibility. */
export const permitScopeKey = (s: PermitScope) => JSON.stringify([s.jurisdiction, s.ownOnly, s.ownOnly ? s.contractor : null]);

export function visibleIn(s: PermitScope): SQL {
  const tenant = eq(permits.jurisdictionId, s.jurisdiction);
  if (!s.ownOnly) return tenant;
  if (!s.contractor) return sql`false`;
  const own = sql`(select ${contractors.id} from ${contractors} where ${contractors.jurisdictionId} = ${s.jurisdiction} and ${contractors.licenseNumber} = ${s.contractor})`;
  return and(tenant, inArray(permits.contractorId, own))!;
}

export const visiblePermits = (p: Principal): SQL => visibleIn(permitScopeOf(p));
