/**
 * The shape of an audit entry and how one is built from what a request did. Everything here is already
 * redacted: variables pass through `redactVariables`, tokens and secrets never enter, only the certificate
 * thumbprint (never its serial) is kept.
 */
import type { Principal } from '../domain/principal.ts';
import type { RequestFacts } from '../request-scope.ts';
import type { OperationRecord } from './operation-notes.ts';
import { LRUCache } from 'lru-cache';
import { redactVariables } from './redact.ts';
import { CLIENT_CLOSED_CODE, CLIENT_CLOSED_STATUS, clientClosedCodes } from '../ops/abandoned-requests.ts';

export type AuditOutcome = 'ALLOWED' | 'DENIED' | 'ERROR';

/** Codes that mean the request was refused by a control (authentication, authorization, limits). */
const DENIAL_CODES = new Set(['UNAUTHENTICATED', 'FORBIDDEN', 'RATE_LIMITED', 'QUERY_REJECTED']);

export function outcomeOf(httpStatus: number, errorCodes: readonly string[]): AuditOutcome {
  if (errorCodes.some((c) => DENIAL_CODES.has(c)) || [401, 403, 413, 429].includes(httpStatus)) return 'DENIED';
  if (errorCodes.length > 0 || httpStatus >= 400) return 'ERROR';
  return 'ALLOWED';
}

const STATUS_CODES: Readonly<Record<number, string>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  413: 'PAYLOAD_TOO_LARGE',
  429: 'RATE_LIMITED',
  [CLIENT_CLOSED_STATUS]: CLIENT_CLOSED_CODE,
  503: 'SERVICE_DEGRADED',
};

/** Error code implied by a status when no GraphQL error was produced (refused before GraphQL ran). */
export function codeForStatus(status: number): string | null {
  return STATUS_CODES[status] ?? (status >= 500 ? 'INTERNAL_SERVER_ERROR' : null);
}

export type { OperationRecord } from './operation-notes.ts';

/**
 * SHA-256 (hex) of recent documents: clients send the same few documents again and again, and hashing each
 * request's text anew was a measurable part of a small read. Bounded in entries and in characters held.
 */
const documentHashes = new LRUCache<string, string>({ max: 1_000, maxSize: 4_000_000, sizeCalculation: (_v, k) => k.length + 64 });

export function documentSha256(query: string): string {
  let hash = documentHashes.get(query);
  if (hash === undefined) {
    hash = new Bun.CryptoHasher('sha256').update(query).digest('hex');
    // a text larger than the whole budget is hashed each time instead of evicting everything else
    if (query.length < 1_000_000) documentHashes.set(query, hash);
  }
  return hash;
}

/** Params come straight from the client: anything may be of the wrong type here (Yoga refuses it afterwards). */
export function newOperation(params: { query?: unknown; operationName?: unknown; variables?: unknown }): OperationRecord {
  return {
    type: null,
    name: typeof params.operationName === 'string' ? params.operationName.slice(0, 128) : null,
    documentSha256: typeof params.query === 'string' && params.query ? documentSha256(params.query) : null,
    variables: params.variables ? redactVariables(params.variables) : null,
    affected: [],
    errorCodes: [],
    auditedInTx: false,
  };
}

/** Sorted scope lists per principal's scope set (a verified token's principal is reused until it expires). */
const sortedScopes = new WeakMap<ReadonlySet<string>, string[]>();
function scopeList(scopes: ReadonlySet<string>): string[] {
  let list = sortedScopes.get(scopes);
  if (!list) {
    list = [...scopes].sort();
    sortedScopes.set(scopes, list);
  }
  return [...list];
}

export function identityFields(principal: Principal | null, meta: RequestFacts) {
  return {
    requestId: meta.requestId,
    ip: meta.ip,
    clientId: principal?.clientId ?? null,
    role: principal?.role ?? 'anonymous',
    jurisdiction: principal?.jurisdiction ?? null,
    scopes: principal ? scopeList(principal.scopes) : [],
    certThumbprint: meta.certThumbprint ?? null,
    // with tracing on: one id leads from an auditor's question to the request's spans and log lines
    ...(meta.traceId ? { traceId: meta.traceId } : {}),
  };
}

export function graphqlEntry(
  principal: Principal | null,
  meta: RequestFacts,
  op: OperationRecord | null,
  httpStatus: number,
  durationMs: number,
) {
  let errorCodes = op?.errorCodes.length ? [...new Set(op.errorCodes)] : [codeForStatus(httpStatus)].filter((c): c is string => Boolean(c));
  if (httpStatus === CLIENT_CLOSED_STATUS) errorCodes = clientClosedCodes(errorCodes);
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

/** What the token endpoint reports of each request it answered. */
export interface TokenRequestResult {
  meta: RequestFacts;
  clientId: string | null;
  status: number;
  error?: string;
  scopes?: string[];
  role?: string;
  jurisdiction?: string;
}

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
    // a 5xx (the registry unreachable) refused nobody: it is an error, not a denial
    outcome: r.status === 200 ? 'ALLOWED' : [400, 404, 405].includes(r.status) || r.status >= 500 ? 'ERROR' : 'DENIED',
    errorCodes,
    httpStatus: r.status,
    durationMs: Math.round((performance.now() - r.meta.startedAt) * 100) / 100,
  };
}
