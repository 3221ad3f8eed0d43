/**
 * createApp(deps): the HTTP surface. Non-GraphQL routes first (token, JWKS, health, public status), then the
 * Yoga instance with its plugins in one ordered list:
 *   guard (limits) → auth (token, field policy) → execution → audit (watches the whole operation).
 */
import { createYoga, maskError as yogaMaskError, type Plugin } from 'graphql-yoga';
import type { GraphQLError } from 'graphql';
import { authenticateRequest, useAccessPolicy } from './auth/use-access-policy.ts';
import { RATE_LIMITS } from './auth/policy.ts';
import { useArmorLimits } from './guard/use-armor-limits.ts';
import { useNoNulInput } from './guard/use-no-nul-input.ts';
import { useBatchLimit } from './guard/use-batch-limit.ts';
import { useCsrfPrevention } from './guard/use-csrf-prevention.ts';
import { useRateLimit } from './guard/use-rate-limit.ts';
import type { Principal } from './domain/principal.ts';
import { benchPrincipal } from './http/bench-principal.ts';
import { loadPersistedDocuments, useTrustedDocuments } from './guard/persisted-documents.ts';
import { originalRequestOf } from './guard/body-limit.ts';
import type { TokenVerifier } from './auth/verify-access-token.ts';
import type { AppConfig } from './config.ts';
import type { Database } from './db/client.ts';
import { serviceDegraded } from './errors.ts';
import type { GraphQLContext } from './graphql/context.ts';
import { buildSchema } from './graphql/schema.ts';
import { SingleMutationFieldRule } from './graphql/single-mutation-rule.ts';
import { useInputErrors } from './graphql/input-errors.ts';
import { useDegradedMode } from './resilience/use-degraded-mode.ts';
import { createOneStatementUnit, createUnitOfWork } from './graphql/unit-of-work.ts';
import { handleTokenRequest, type TokenEndpointDeps } from './http/oauth-token.ts';
import { requestMeta } from './http/request-meta.ts';
import { authorizationServerMetadata, jwksResponse } from './http/well-known.ts';
import type { Logger } from './logger.ts';
import { isDatabaseUnavailable } from './resilience/breaker.ts';
import type { AppServices } from './services.ts';
import type { JWK } from 'jose';
import type { AuditRecorder } from './audit/recorder.ts';
import { auditGraphQLRequest, useAuditTrail } from './audit/use-audit-trail.ts';
import { tokenEntry } from './audit/audit-entry.ts';
import { recordedStatus } from './http/client-closed.ts';
import { loadTypeDefs } from './graphql/schema.ts';
import { createGraphiQLAssets } from './ops/graphiql-assets.ts';
import { auditChainLength } from './ops/metric-sources.ts';
import { createMetrics } from './ops/metrics.ts';
import { metricsResponse } from './ops/metrics-endpoint.ts';
import { useMetrics } from './ops/use-metrics.ts';
import { useRequestLog } from './ops/use-request-log.ts';

export interface AppDeps {
  config: AppConfig;
  database: Database;
  log: Logger;
  services: AppServices;
  verifier: TokenVerifier;
  tokenEndpoint: Omit<TokenEndpointDeps, 'db'>;
  publishedKeys: () => Promise<JWK[]>;
  /** False until the database was reached at least once (migrated, keys published). */
  isReady: () => boolean;
  audit: AuditRecorder;
  /** Redis key prefix of rate-limit buckets (tests isolate themselves with it). @default 'pg:rl:' */
  rateLimitPrefix?: string;
}

export function createApp(deps: AppDeps) {
  const { config, database, log, services } = deps;
  const schema = buildSchema(loadTypeDefs(config.schemaDir));
  const metrics = createMetrics({
    breakerState: () => services.breaker.state,
    outboxDepth: () => services.outbox.depth(),
    auditChainLength: () => services.breaker.execute(() => auditChainLength(database.db)),
    pool: () => database.poolStats(),
  });
  const graphiqlAssets = createGraphiQLAssets();
  const securityOff = config.benchMode === 'security-off';
  const principals = new WeakMap<Request, Principal | null>();
  const noAudit = config.benchMode === 'no-audit';
  const rateLimitOn = config.rateLimitScale > 0 || config.env === 'production';
  const scale = Math.max(config.rateLimitScale, config.env === 'production' ? 1 : 0);
  const scaledLimits = Object.fromEntries(
    Object.entries(RATE_LIMITS).map(([role, l]) => [role, { ratePerSec: l.ratePerSec * scale, burst: Math.ceil(l.burst * scale) }]),
  ) as typeof RATE_LIMITS;

  const yoga = createYoga<Record<string, unknown>, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    logging: false,
    batching: { limit: 10 },
    // the body limit is enforced before Yoga (src/guard/body-limit.ts, at the fetch level, CONTRACT's 413): Yoga's
    // own would wrap every request body in a second stream and Request
    maxRequestBodySize: false,
    cors: false, // withCors (src/guard/cors.ts) owns CORS: Yoga's default reflects any origin
    // GraphiQL's assets come from this server (/graphiql-assets/), never from a CDN; off when the bundle is not installed
    graphiql: graphiqlAssets.available && { title: 'Permit Gateway', isHeadersEditorEnabled: true, defaultEditorToolsVisibility: 'headers', shouldPersistHeaders: false },
    renderGraphiQL: graphiqlAssets.render,
    context: ({ request }) => {
      const commitHooks: GraphQLContext['commitHooks'] = [];
      return {
        meta: requestMeta(request),
        database,
        services,
        commitHooks,
        unitOfWork: createUnitOfWork(database.db, commitHooks),
        oneStatement: createOneStatementUnit(database.db, commitHooks),
      } as unknown as GraphQLContext;
    },
    maskedErrors: {
      maskError(error, message, isDev) {
        const original = (error as GraphQLError).originalError ?? error;
        if (isDatabaseUnavailable(original)) return serviceDegraded();
        const masked = yogaMaskError(error, message, isDev);
        // a client that hung up mid-request is not a server fault
        if (masked !== error && (original as Error)?.name !== 'AbortError') log.error({ err: original }, 'internal error');
        return masked;
      },
      isDev: false,
    },
    // BENCH_MODE=security-off drops the guard and auth plugins only: operations (metrics, request log), input
    // errors, degraded mode and the audit trail stay, so the benchmark's ratio measures what security costs
    plugins: securityOff ? [
      useMetrics({ metrics }),
      useRequestLog({ log }),
      useInputErrors(),
      useDegradedMode({ isDown: services.isDown }),
      useAuditTrail(deps.audit),
      useNoNulInput(),
    ] : [
      // guard: cheap refusals before anything expensive (the principal is already on the server context)
      // ops: see every result, refusals included
      useMetrics({ metrics }),
      useRequestLog({ log }),
      useCsrfPrevention({ origins: config.corsOrigins }),
      config.persistedOnly && useTrustedDocuments({ documents: loadPersistedDocuments(), principalOf: (r) => principals.get(originalRequestOf(r)) ?? null }),
      useBatchLimit({ limit: 10 }),
      rateLimitOn && useRateLimit({
        policies: scaledLimits,
        ...(config.redisUrl ? { redisUrl: config.redisUrl } : {}),
        keyPrefix: deps.rateLimitPrefix ?? 'pg:rl:',
        // an operation costs 1 + cost/1000 tokens: a page of 200 permits with nested records (~8,600) takes 9
        costPerToken: 1000,
        identify: (c) => {
          const p = c.principal as Principal | null | undefined;
          return p ? { key: `sub:${p.clientId}`, role: p.role in scaledLimits ? p.role : 'anonymous' } : { key: `ip:${String(c.clientIp ?? 'unknown')}`, role: 'anonymous' };
        },
        onStoreError: (err) => log.warn({ err: (err as Error).message }, 'rate-limit store unavailable; using local buckets'),
      }),
      useArmorLimits({
        // 200 permits with parcel, contractor, inspections and checklists (~10k) pass; 200 × 200 (40k) does not
        maxCost: 30_000,
        defaultListSize: 5,
        canSeeSuggestions: (c) => Boolean((c as { principal?: Principal | null }).principal?.scopes.has('schema:introspect')),
      }),
      // contract-shaped input errors: BAD_USER_INPUT naming the field path
      useInputErrors(),
      // database down: fail fast where there is no fallback
      useDegradedMode({ isDown: services.isDown }),
      { onValidate: ({ addValidationRule }) => addValidationRule(SingleMutationFieldRule) } satisfies Plugin,
      // auth: check every field against the central policy (the token was verified in route())
      useAccessPolicy(),
      // audit: notes each operation; mutations append their entry inside their own transaction
      !noAudit && useAuditTrail(deps.audit),
      // U+0000 in any string input: BAD_USER_INPUT (PostgreSQL cannot take it as text). After the access policy, so
      // a caller without access is refused as such whatever it sent, and after the audit trail, so the refusal is
      // recorded with its code (a plugin that stops execution skips the onExecute of the plugins after it)
      useNoNulInput(),
    ],
  });

  // the discovery document names where this server really is: PUBLIC_URL, or (derived in development) the port it bound
  let publicUrl = config.publicUrl;
  const listeningOn = (port: number) => {
    if (config.publicUrlDerived) publicUrl = publicUrl.replace(/:\d+$/, `:${port}`);
  };

  async function route(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const path = url.pathname;
    if (path === '/graphql') {
      const auth = securityOff ? { principal: await benchPrincipal(database.db, request) } : await authenticateRequest(request, { verifier: deps.verifier, log, onAuthFailure: (reason) => metrics.recordAuthFailure(reason) });
      const principal = 'reject' in auth ? null : auth.principal;
      principals.set(originalRequestOf(request), principal);
      let response: Response;
      try {
        response = 'reject' in auth ? auth.reject : await yoga.fetch(request, { principal, clientIp: requestMeta(request).ip });
      } catch (err) {
        auditGraphQLRequest(deps.audit, request, principal, recordedStatus(request, 500));
        throw err;
      }
      if (!noAudit) auditGraphQLRequest(deps.audit, request, principal, recordedStatus(request, response.status));
      return response;
    }
    if (path === '/oauth/token') {
      return handleTokenRequest(request, requestMeta(request), {
        ...deps.tokenEndpoint,
        db: database.db,
        guardDb: (query) => services.breaker.execute(query),
        isDown: services.isDown,
        retryAfterSeconds: () => Math.max(1, services.breaker.retryAfterMs() / 1000),
        onInternalError: (err, meta) => log.error({ err, requestId: meta.requestId }, 'token endpoint: internal error'),
        onResult: (r) => deps.audit.record(tokenEntry(r)),
      });
    }
    const asset = await graphiqlAssets.response(request);
    if (asset) return asset;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return Response.json({ error: 'method not allowed' }, { status: 405, headers: { Allow: 'GET' } });
    }
    if (path === '/metrics') {
      return metricsResponse(request, {
        metrics,
        allow: config.metricsAllow,
        verify: (token) => deps.verifier.verify(token, requestMeta(request).certThumbprint),
        onAuthFailure: (reason) => metrics.recordAuthFailure(reason),
      });
    }
    if (path === '/.well-known/jwks.json') return jwksResponse(await deps.publishedKeys());
    if (path === '/.well-known/oauth-authorization-server') return authorizationServerMetadata(config.metadataIssuer, publicUrl);
    if (path === '/healthz') return Response.json({ status: 'ok' });
    if (path === '/readyz') {
      const state = services.breaker.state;
      const ok = state === 'closed' && deps.isReady();
      const reason = !deps.isReady() ? 'database not reached yet (start-up)' : `database circuit breaker is ${state}`;
      return Response.json(
        ok ? { status: 'ready', database: database.kind } : { status: 'degraded', reason, outboxDepth: services.outbox.depth() },
        { status: ok ? 200 : 503 },
      );
    }
    const status = /^\/status\/([A-Za-z0-9-]{1,64})$/.exec(path);
    if (status) {
      try {
        const view = await services.permitStatus(status[1]!);
        if (!view) return Response.json({ error: 'not_found' }, { status: 404 });
        return Response.json({ ...view, updatedAt: view.updatedAt.toISOString(), asOf: view.asOf.toISOString() });
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'public status unavailable');
        return Response.json({ error: 'service_degraded' }, { status: 503, headers: { 'Retry-After': '5' } });
      }
    }
    return Response.json({ error: 'not_found' }, { status: 404 });
  }

  return { yoga, schema, route, metrics, listeningOn };
}
export type App = ReturnType<typeof createApp>;
