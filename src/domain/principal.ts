/** Who is acting: the verified identity behind a request, as the domain rules need it. */
export interface Principal {
  clientId: string;
  role: string;
  scopes: ReadonlySet<string>;
  jurisdiction: string;
  /** License number of the contractor record the client is bound to (role `contractor`). */
  contractor?: string;
  /** RFC 8705 certificate thumbprint, when the request came with a verified client certificate. */
  certThumbprint?: string;
}

export const hasScope = (p: Principal | null | undefined, scope: string) => Boolean(p?.scopes.has(scope));

/**
 * A principal that may read only its own contractor's permits (BOLA protection): it holds `permits:read:own`
 * but none of the jurisdiction-wide read scopes.
 */
export function ownPermitsOnly(p: Principal): boolean {
  return !p.scopes.has('permits:read') && !p.scopes.has('permits:read:public');
}
