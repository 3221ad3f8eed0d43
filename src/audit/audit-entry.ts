/**
 * The shape of an audit entry and how one is built from what a request did. Everything here is already
 * redacted: variables pass through `redactVariables`, tokens and secrets never enter, only the certificate
 * thumbprint (never its serial) is kept.
 */
import type { Principal } from '../domain/principal.ts';
import type { RequestMeta } from '../http/request-meta.ts';
import { redactVariables } from './redact.ts';
import type { TokenRequestResult } from '../http/oauth-token.ts';

export type AuditOutcome = 'ALLOWED' | 'DENIED' | 'ERROR';

/** Codes that mean the request was refused by a control (authentication, authorization, limits). */
const DENIAL_CODES = new Set(['UNAUTHENTICATED', 'FORBIDDEN', 'RATE_LIMITED', 'QUERY_REJECTED']);

export function outcomeOf(httpStatus: number, errorCodes: readonly string[]): AuditOutcome {
  if (errorCodes.some((c) => DENIAL_CODES.has(c)) || [401, 403, 413, 429].includes(httpStatus)) return 'DENIED';
  if (errorCodes.length > 0 || httpStatus >= 400) return 'ERROR';
  return 'ALLOWED';
}

/** Error code implied by a status when no GraphQL error was produced (refused before GraphQL ran). */
export function codeForStatus(status: number): string | null {
  return ({ 400: 'BAD_REQUEST', 401: 'UNAUTHENTICATED', 403: 'FORBIDDEN', 413: 'PAYLOAD_TOO_LARGE', 429: 'RATE_LIMITED', 503: 'SERVICE_DEGRADED' } as Record<number, string>)[status] ?? (status >= 500 ? 'INTERNAL_SERVER_ERROR' : null);
}

export interface OperationRecord {
  type: 'query' | 'mutation' | 'subscription' | null;
  name: string | null;
  documentSha256: string | null;
  variables: unknown;
  /** Permit numbers, `inspection:<id>`, `client:<id>` touched or asked for. */
  affected: string[];
  errorCodes: string[];
  /** Set once the entry was appended inside the mutation's transaction. */
  auditedInTx: boolean;
  /** The operation was accepted into the durable outbox (its entry is written on replay). */
  queued?: boolean;
}

/** Params come straight from the client: anything may be of the wrong type here (Yoga refuses it afterwards). */
export function newOperation(params: { query?: unknown; operationName?: unknown; variables?: unknown }): OperationRecord {
  return {
    type: null,
    name: typeof params.operationName === 'string' ? params.operationName.slice(0, 128) : null,
    documentSha256: typeof params.query === 'string' && params.query ? new Bun.CryptoHasher('sha256').update(params.query).digest('hex') : null,
    variables: params.variables ? redactVariables(params.variables) : null,
    affected: [],
    errorCodes: [],
    auditedInTx: false,
  };
}

export function identityFields(principal: Principal | null, meta: RequestMeta) {
  return {
    requestId: meta.requestId,
    ip: meta.ip,
    clientId: principal?.clientId ?? null,
    role: principal?.role ?? 'anonymous',
    jurisdiction: principal?.jurisdiction ?? null,
    scopes: principal ? [...principal.scopes].sort() : [],
    certThumbprint: meta.certThumbprint ?? null,
  };
}

export function graphqlEntry(
  principal: Principal | null,
  meta: RequestMeta,
  op: OperationRecord | null,
  httpStatus: number,
  durationMs: number,
) {
  const errorCodes = op?.errorCodes.length ? [...new Set(op.errorCodes)] : [codeForStatus(httpStatus)].filter((c): c is string => Boolean(c));
  return {
    kind: 'graphql',
    ...identityFields(principal, meta),
    operation: { type: op?.type ?? null, name: op?.name ?? null, documentSha256: op?.documentSha256 ?? null },
    variables: op?.variables ?? null,
    affected: [...new Set(op?.affected ?? [])],
    outcome: outcomeOf(httpStatus, errorCodes),
    errorCodes,
    httpStatus,
    durationMs: Math.round(durationMs * 100) / 100,
    ...(op?.queued ? { queued: true } : {}),
  };
}
export type AuditEntry = ReturnType<typeof graphqlEntry> | Record<string, unknown>;

/** One entry per token request, granted or not; the secret and the token itself never enter. */
export function tokenEntry(r: TokenRequestResult) {
  const errorCodes = r.error ? [r.error] : [];
  return {
    kind: 'token',
    requestId: r.meta.requestId,
    ip: r.meta.ip,
    clientId: r.clientId,
    role: r.role ?? null,
    jurisdiction: r.jurisdiction ?? null,
    scopes: r.scopes ?? [],
    certThumbprint: r.meta.certThumbprint ?? null,
    operation: { type: 'token', name: 'client_credentials', documentSha256: null },
    affected: [],
    outcome: r.status === 200 ? 'ALLOWED' : [400, 404, 405].includes(r.status) ? 'ERROR' : 'DENIED',
    errorCodes,
    httpStatus: r.status,
    durationMs: Math.round((performance.now() - r.meta.startedAt) * 100) / 100,
  };
}
