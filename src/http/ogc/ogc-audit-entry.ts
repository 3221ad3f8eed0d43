/**
 * The audit entry of one OGC request, shaped like the GraphQL ones (identity, outcome, status, duration) so
 * export, alerts and verification treat it alike. The path and query are kept as the client sent them
 * (percent-encoded, so plain ASCII); OGC parameters carry no personal data.
 */
import { codeForStatus, identityFields, outcomeOf } from '../../audit/audit-entry.ts';
import type { RequestScope } from '../../request-scope.ts';

export interface OgcRequestFacts {
  /** `landing`, `conformance`, `api`, `collections`, `collection`, `items`, `feature`, or `unknown`. */
  resource: string;
  url: URL;
  status: number;
  /** OGC exception code of a refused request. */
  code?: string;
  collection?: string;
  /** The feature asked for by id (a permit number or an APN). */
  featureId?: string;
  returned?: number;
}

export function ogcEntry(scope: RequestScope, r: OgcRequestFacts) {
  const errorCodes = r.status >= 400 ? [codeForStatus(r.status) ?? r.code ?? 'ERROR'] : [];
  return {
    kind: 'ogc',
    ...identityFields(scope.principal, scope),
    operation: { type: 'ogc', name: r.resource, documentSha256: null },
    path: r.url.pathname.slice(0, 256),
    query: r.url.search.slice(0, 512),
    collection: r.collection ?? null,
    affected: r.featureId ? [r.featureId.slice(0, 64)] : [],
    ...(r.returned !== undefined ? { numberReturned: r.returned } : {}),
    outcome: outcomeOf(r.status, errorCodes),
    errorCodes,
    httpStatus: r.status,
    durationMs: Math.round((performance.now() - scope.startedAt) * 100) / 100,
  };
}
