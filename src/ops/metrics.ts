/**
 * Prometheus metrics on a registry of our own (never prom-client's global one, so two apps in one process —
 * the tests — do not share series). Every label set is bounded: routes are a fixed list, operation names are
 * capped (unknown names after the cap → `other`, no name → `anonymous`), error codes and auth-failure reasons
 * are classified into fixed sets. Gauges for state that lives elsewhere (breaker, outbox, audit chain, pool)
 * read it at scrape time through callbacks.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BreakerState } from '../resilience/breaker.ts';
import { CLIENT_CLOSED_CODE, recordedStatus } from './abandoned-requests.ts';

export interface MetricsOptions {
  /** Current database breaker state, read at scrape time. Absent: the gauge is not exported. */
  breakerState?: () => BreakerState;
  /** Number of QUEUED outbox items, read at scrape time. Absent: the gauge is not exported. */
  outboxDepth?: () => number;
  /**
   * Number of audit entries (head `seq`), read at scrape time. A failure or a call slower than
   * `callbackTimeoutMs` keeps the last known value (a scrape never waits on a database outage).
   */
  auditChainLength?: () => number | Promise<number>;
  /** Pool figures: `max` size and, when the driver tells, `inUse`. */
  pool?: () => { max: number; inUse?: number };
  /** Distinct operation names that get their own label; later new names are counted as `other`. @default 100 */
  maxOperationNames?: number;
  /** Export prom-client's default process metrics (CPU, memory, event loop lag, GC). @default true */
  defaultMetrics?: boolean;
  /** Longest wait for an async gauge callback at scrape time. @default 500 */
  callbackTimeoutMs?: number;
}

const defaults: Required<Omit<MetricsOptions, 'breakerState' | 'outboxDepth' | 'auditChainLength' | 'pool'>> = {
  maxOperationNames: 100,
  defaultMetrics: true,
  callbackTimeoutMs: 500,
};

/** Routes with their own label; anything else is `other` (no path-based cardinality explosion). */
const ROUTES = [
  '/graphql',
  '/oauth/token',
  '/.well-known/jwks.json',
  '/.well-known/oauth-authorization-server',
  '/healthz',
  '/readyz',
  '/metrics',
  '/schema.graphql',
];
const METHODS = new Set(['GET', 'POST', 'HEAD', 'OPTIONS']);
const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };
const NAME_RE = /^[_A-Za-z][_0-9A-Za-z]{0,63}$/;
const KNOWN_CODES = new Set([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'QUERY_REJECTED',
  'RATE_LIMITED',
  'BAD_USER_INPUT',
  'CONFLICT',
  'NOT_FOUND',
  'SERVICE_DEGRADED',
  'INTERNAL_SERVER_ERROR',
  'BAD_REQUEST',
  'GRAPHQL_VALIDATION_FAILED',
  'GRAPHQL_PARSE_FAILED',
  'PERSISTED_QUERY_NOT_FOUND',
  'UNAUTHORIZED_FIELD_OR_TYPE',
  CLIENT_CLOSED_CODE,
]);

/** Auth-failure classes (the `reason` label). */
export const AuthFailureReason = {
  MISSING_TOKEN: 'missing_token',
  INSUFFICIENT_SCOPE: 'insufficient_scope',
  MALFORMED: 'malformed',
  EXPIRED: 'expired',
  NOT_YET_VALID: 'not_yet_valid',
  BAD_SIGNATURE: 'bad_signature',
  ISSUER_AUDIENCE: 'issuer_audience',
  ALGORITHM: 'algorithm',
  LIFETIME: 'lifetime',
  UNKNOWN_KEY: 'unknown_key',
  REVOKED: 'revoked',
  CERTIFICATE_BINDING: 'certificate_binding',
  CLAIMS: 'claims',
  OTHER: 'other',
} as const;
export type AuthFailureReason = (typeof AuthFailureReason)[keyof typeof AuthFailureReason];

/** Maps a verifier's free-text reason (jose messages, InvalidTokenError reasons) to a bounded class. */
export function classifyAuthFailure(reason: string): AuthFailureReason {
  const r = reason.toLowerCase();
  if (/revoked/.test(r)) return AuthFailureReason.REVOKED;
  if (/certificate|cnf/.test(r)) return AuthFailureReason.CERTIFICATE_BINDING;
  if (/lifetime/.test(r)) return AuthFailureReason.LIFETIME;
  if (/"exp"|expired/.test(r)) return AuthFailureReason.EXPIRED;
  if (/"nbf"|"iat"/.test(r)) return AuthFailureReason.NOT_YET_VALID;
  if (/signature/.test(r)) return AuthFailureReason.BAD_SIGNATURE;
  if (/"iss"|"aud"|issuer|audience/.test(r)) return AuthFailureReason.ISSUER_AUDIENCE;
  if (/"alg"|algorithm/.test(r)) return AuthFailureReason.ALGORITHM;
  if (/kid|jwks|no matching key|key/.test(r)) return AuthFailureReason.UNKNOWN_KEY;
  if (/missing|malformed claim|sub |scope |jurisdiction|contractor/.test(r)) return AuthFailureReason.CLAIMS;
  if (/compact|jws|jwt|json|bearer|empty|too long|invalid/.test(r)) return AuthFailureReason.MALFORMED;
  return AuthFailureReason.OTHER;
}

export function routeLabel(pathname: string): string {
  if (ROUTES.includes(pathname)) return pathname;
  if (pathname.startsWith('/status/')) return '/status/:number';
  if (pathname.startsWith('/audit/tile/')) return '/audit/tile/*';
  if (pathname.startsWith('/graphiql-assets/')) return '/graphiql-assets/*';
  if (pathname === '/ogc' || pathname.startsWith('/ogc/')) return '/ogc/*';
  return 'other';
}

export function codeLabel(code: unknown): string {
  if (typeof code !== 'string' || !code) return 'NONE';
  return KNOWN_CODES.has(code) ? code : 'OTHER';
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}

export function createMetrics(options: MetricsOptions = {}) {
  const o = { ...defaults, ...options };
  const registry = new Registry();
  if (o.defaultMetrics) collectDefaultMetrics({ register: registry });

  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const operationDuration = new Histogram({
    name: 'graphql_operation_duration_seconds',
    help: 'GraphQL operation duration (request start to execution done) by operation name and type',
    labelNames: ['operation', 'type'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const graphqlErrors = new Counter({
    name: 'graphql_errors_total',
    help: 'GraphQL errors returned to clients by extensions.code',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const authFailures = new Counter({
    name: 'auth_failures_total',
    help: 'Refused authentications and authorizations by reason class',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const rateLimitHits = new Counter({
    name: 'rate_limit_hits_total',
    help: 'Requests refused by the rate limit, by role',
    labelNames: ['role'] as const,
    registers: [registry],
  });

  // cost and depth per role, so operators see expensive queries building up before the limits bite; the buckets
  // span one field (1) to the cost limit (30,000) and depth 1 to past armor's limit
  const queryCost = new Histogram({
    name: 'graphql_query_cost',
    help: 'Static cost (SDL @cost / @listSize) of validated GraphQL operations, by client role',
    labelNames: ['role'] as const,
    buckets: [1, 10, 50, 100, 500, 1000, 2500, 5000, 10000, 20000, 30000],
    registers: [registry],
  });
  const queryDepth = new Histogram({
    name: 'graphql_query_depth',
    help: 'Selection depth of validated GraphQL operations, by client role',
    labelNames: ['role'] as const,
    buckets: [1, 2, 3, 4, 5, 6, 8, 10, 15],
    registers: [registry],
  });
  const rateLimitMeasured = new Counter({
    name: 'rate_limit_measured_total',
    help: 'Requests of measure-only clients that the rate limit would have refused, by role',
    labelNames: ['role'] as const,
    registers: [registry],
  });
  const limitMeasured = new Counter({
    name: 'limit_measured_total',
    help: 'Requests of measure-only clients that a limit (rate, cost, depth, aliases, directives, tokens, …) would have refused, by limit and role',
    labelNames: ['limit', 'role'] as const,
    registers: [registry],
  });

  if (o.breakerState) {
    const read = o.breakerState;
    new Gauge({
      name: 'db_breaker_state',
      help: 'Database circuit breaker state: 0 closed, 1 half-open, 2 open',
      registers: [registry],
      collect() {
        this.set(BREAKER_VALUE[read()] ?? 2);
      },
    });
  }
  if (o.outboxDepth) {
    const read = o.outboxDepth;
    new Gauge({
      name: 'outbox_depth',
      help: 'Requests queued in the durable outbox waiting for the database',
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  }
  if (o.auditChainLength) {
    const read = o.auditChainLength;
    let last = 0;
    new Gauge({
      name: 'audit_chain_length',
      help: 'Entries in the audit hash chain (last known value while the database is unreachable)',
      registers: [registry],
      async collect() {
        try {
          last = await withTimeout(Promise.resolve().then(read), o.callbackTimeoutMs);
        } catch {
          /* keep the last known value */
        }
        this.set(last);
      },
    });
  }
  if (o.pool) {
    const read = o.pool;
    new Gauge({
      name: 'db_pool_connections',
      help: 'Database connection pool: state="max" is the pool size, state="in_use" the busy connections (when known)',
      labelNames: ['state'] as const,
      registers: [registry],
      collect() {
        const p = read();
        this.set({ state: 'max' }, p.max);
        if (p.inUse !== undefined) this.set({ state: 'in_use' }, p.inUse);
      },
    });
  }

  const operationNames = new Set<string>();

  return {
    registry,
    httpDuration,
    operationDuration,
    graphqlErrors,
    authFailures,
    rateLimitHits,
    queryCost,
    queryDepth,
    rateLimitMeasured,
    limitMeasured,
    /**
     * The label of an operation name. `register` is true only for operations that passed validation and the
     * field policy (so refused or anonymous callers cannot fill the name budget with junk names).
     */
    operationLabel(name: string | null | undefined, register = false): string {
      if (!name) return 'anonymous';
      if (!NAME_RE.test(name)) return 'other';
      if (operationNames.has(name)) return name;
      if (register && operationNames.size < o.maxOperationNames) {
        operationNames.add(name);
        return name;
      }
      return 'other';
    },
    /** Counts a refused token (the verifier's reason text is classified, never used as a label). */
    recordAuthFailure(reason: string | AuthFailureReason) {
      const known = (Object.values(AuthFailureReason) as string[]).includes(reason);
      authFailures.inc({ reason: known ? reason : classifyAuthFailure(reason) });
    },
    observeHttp(request: Request, status: number, seconds: number) {
      const url = new URL(request.url);
      httpDuration.observe(
        { route: routeLabel(url.pathname), method: METHODS.has(request.method) ? request.method : 'other', status: String(status) },
        seconds,
      );
    },
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

/**
 * Fetch-level wrapper recording `http_request_duration_seconds` for every response (thrown errors as 500). A request
 * whose client hung up before the response is counted as 499, as the audit records it (ops/abandoned-requests.ts).
 */
export function withHttpMetrics<A extends unknown[]>(
  handler: (request: Request, ...rest: A) => Response | Promise<Response>,
  metrics: Pick<Metrics, 'observeHttp'>,
): (request: Request, ...rest: A) => Promise<Response> {
  return async (request, ...rest) => {
    const t = performance.now();
    try {
      const response = await handler(request, ...rest);
      metrics.observeHttp(request, recordedStatus(request, response.status), (performance.now() - t) / 1000);
      return response;
    } catch (err) {
      metrics.observeHttp(request, recordedStatus(request, 500), (performance.now() - t) / 1000);
      throw err;
    }
  };
}
