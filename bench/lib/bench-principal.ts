/**
 * The security-off baseline's authentication: the principal of the registered client named in `x-bench-client`,
 * without any token, so the benchmark can measure what the security stack costs.
 */
import { eq } from 'drizzle-orm';
import { LRUCache } from 'lru-cache';
import { ROLE_SCOPES, isRole } from '../../src/auth/policy.ts';
import type { Executor } from '../../src/db/client.ts';
import { apiClients } from '../../src/db/schema/clients.ts';
import type { Principal } from '../../src/domain/principal.ts';

const cache = new LRUCache<string, Principal>({ max: 100 });

export async function benchPrincipal(db: Executor, request: Request): Promise<Principal | null> {
  const id = request.headers.get('x-bench-client');
  if (!id) return null;
  const hit = cache.get(id);
  if (hit) return hit;
  const [c] = await db.select().from(apiClients).where(eq(apiClients.clientId, id));
  if (!c || !isRole(c.role)) return null;
  const p: Principal = {
    clientId: c.clientId,
    role: c.role,
    scopes: new Set(ROLE_SCOPES[c.role]),
    jurisdiction: c.jurisdictionId,
    ...(c.contractorLicense ? { contractor: c.contractorLicense } : {}),
  };
  cache.set(id, p);
  return p;
}
