/**
 * createApp(deps): the whole request pipeline, assembled here and nowhere else, top to bottom:
 *   edge steps (headers, metrics, CORS, body limit) → a route table → for /graphql: authentication, then Yoga with
 *   its plugins in one ordered list: audit (notes) → ops → guard (limits) → auth (field policy) → execution
 *   (compiled by graphql-jit).
 * Every step receives the request's scope (src/request-scope.ts), opened once by src/http/serve.ts.
 */
import type { GraphQLError } from 'graphql';
import { createYoga, type Plugin, maskError as yogaMaskError } from 'graphql-yoga';
import type { JWK } from 'jose';
import { tokenEntry } from './audit/audit-entry.ts';
import { createAuditedWork } from './audit/audited-work.ts';
import { useFreshCountersAfterWrites } from './http/ogc/use-fresh-counters-after-writes.ts';
import { registerEventMetrics } from './events/event-metrics.ts';
import type { AuditRecorder } from './audit/recorder.ts';
import { parseTilePath, TILE_WIDTH } from './audit/transparency/hash-tiles.ts';
import type { TransparencyLog } from './audit/transparency/transparency-log.ts';
import { auditGraphQLRequest, useAuditTrail } from './audit/use-audit-trail.ts';
import { RATE_LIMITS } from './auth/policy.ts';
import { authenticateRequest, useAccessPolicy } from './auth/use-access-policy.ts';
import type { TokenVerifier } from './auth/verify-access-token.ts';
import type { AppConfig } from './config.ts';
import type { Database } from './db/client.ts';
import type { Principal } from './domain/principal.ts';
import type { PublicAddress } from './http/public-address.ts';
import { serviceDegraded } from './errors.ts';
import type { GraphQLContext } from './graphql/context.ts';
import { useInputErrors } from './graphql/input-errors.ts';
import { useCompiledExecution } from './graphql/use-compiled-execution.ts';
import { buildSchema, loadTypeDefs } from './graphql/schema.ts';
import { SingleMutationFieldRule } from './graphql/single-mutation-rule.ts';
import { withBodyLimit } from './guard/body-limit.ts';
import { withCors } from './guard/cors.ts';
import { loadPersistedDocuments, useTrustedDocuments } from './guard/persisted-documents.ts';
import { withSecurityHeaders } from './guard/security-headers.ts';
import { withRequestIdHeader } from './guard/request-id-header.ts';
import { useArmorLimits } from './guard/use-armor-limits.ts';
import { useBatchLimit } from './guard/use-batch-limit.ts';
import { useCsrfPrevention } from './guard/use-csrf-prevention.ts';
import { useClientText } from './guard/use-client-text.ts';
import { useRequestBodyErrors } from './guard/use-request-body-errors.ts';
import { rateLimitedResponse } from './guard/rate-limited-response.ts';
import { createTokenBucketStore, MemoryTokenBucketStore, type TakeResult } from './guard/rate-limit.ts';
import { budgetAfter, useRateLimit } from './guard/use-rate-limit.ts';
import { setRateLimitHeaders, useCostReport } from './guard/use-cost-report.ts';
import { recordedStatus } from './ops/abandoned-requests.ts';
import { handleTokenRequest, type TokenEndpointDeps } from './http/oauth-token.ts';
import { createOgcRoute } from './http/ogc/ogc-route.ts';
import { findRoute, HTTP_ROUTES, type RouteName } from './http/route-table.ts';
import { authorizationServerMetadata, jwksResponse } from './http/well-known.ts';
import type { Logger } from './logger.ts';
import { createGraphiQLAssets } from './ops/graphiql-assets.ts';
import { graphiqlExampleTabs } from './ops/graphiql-examples.ts';
import { auditChainLength } from './ops/metric-sources.ts';
import { createMetrics, withHttpMetrics } from './ops/metrics.ts';
import { metricsResponse } from './ops/metrics-endpoint.ts';
import { useMetrics } from './ops/use-metrics.ts';
import { createInternalErrorLog } from './ops/internal-error-log.ts';
import { snapshotOf } from './ops/schema-snapshot.ts';
import { useRequestLog } from './ops/use-request-log.ts';
import { withRequestSpan } from './ops/request-span.ts';
import { inSpan } from './ops/tracing.ts';
import { useTracing } from './ops/use-tracing.ts';
import { redisClientName } from './ops/redis-client-name.ts';
import { logIds, noteCharge, type RequestScope, type ScopedHandler, type ServerContext, scopeOf } from './request-scope.ts';
import { isDatabaseUnavailable } from './resilience/breaker.ts';
import { useDegradedMode } from './resilience/use-degraded-mode.ts';
import type { AppServices } from './services.ts';

/** The app's query cost limit and how cost turns into rate-limit tokens (tests price operations with the same). */
export const QUERY_PRICING = { maxCost: 30_000, defaultListSize: 5, costPerToken: 1000 } as const;

/** Operations in one batched request; measure-only clients are served up to the ceiling (Yoga's own limit). */
const BATCH_LIMIT = 10;
const BATCH_CEILING = 50;

export interface AppDeps {
  config: AppConfig;
  /** PUBLIC_URL and the issuer, following the port serve() binds when derived from HOST/PORT. */
  address: PublicAddress;
  database: Database;
  log: Logger;
  services: AppServices;
  verifier: TokenVerifier;
  tokenEndpoint: Omit<TokenEndpointDeps, 'db'>;
  publishedKeys: () => Promise<JWK[]>;
  /** False until the database was reached at least once (migrated, keys published). */
  isReady: () => boolean;
  audit: AuditRecorder;
  /** The audit log's signed checkpoints and proofs (C2SP tlog-checkpoint, RFC 9162). */
  transparency: TransparencyLog;
  /** Redis key prefix of rate-limit buckets (tests isolate themselves with it). @default 'pg:rl:' */
  rateLimitPrefix?: string;
}

/** Who a /graphql request is from: a principal (or null, anonymous), or a ready refusal. */
export type Authenticate = (request: Request, scope: RequestScope) => Promise<{ principal: Principal | null } | { reject: Response }>;

/** Ways to build a pipeline other than production's; bench/ builds its baselines with these. */
export interface AppOptions {
  /** Replaces bearer-token authentication. @default verifies the bearer token (src/auth/use-access-policy.ts) */
  authenticate?: Authenticate;
  /** Pipeline phases left out: `guard` and `auth` (limits, field policy), `audit` (the trail). @default [] */
  without?: ReadonlyArray<'guard' | 'auth' | 'audit'>;
  /** Bytes of OGC feature pages kept in memory (src/http/ogc/page-cache.ts); 0 answers every page from the database. */
  ogcPageCacheBytes?: number;
  /** Bytes of single OGC features' JSON kept in memory (src/http/ogc/feature-texts.ts); 0 builds every one anew. */
  ogcFeatureCacheBytes?: number;
}

/** Every HTTP route with its rate-limit decision (src/http/route-table.ts); the router below dispatches on it. */
export { HTTP_ROUTES };

/** A route's handler; `match` is its pattern's match of the path (the status number, the tile path…). */
type Route = (request: Request, scope: RequestScope, url: URL, match: RegExpExecArray) => Promise<Response> | Response;

export function createApp(deps: AppDeps, options: AppOptions = {}) {
  const { config, database, log, services } = deps;
  const { changeCounters } = services;
  const without = new Set(options.without ?? []);
  const guardOn = !without.has('guard');
  const authOn = !without.has('auth');
  const auditOn = !without.has('audit');
  const schema = buildSchema(loadTypeDefs(config.schemaDir));
  const metrics = createMetrics({
    breakerState: () => services.breaker.state,
    outboxDepth: () => services.outbox.depth(),
    auditChainLength: () => services.breaker.execute(() => auditChainLength(database.db)),
    pool: () => database.poolStats(),
  });
  services.events.observeDeliveries(registerEventMetrics(metrics.registry, database.db, services.events.streams.total));
  const graphiqlAssets = createGraphiQLAssets();
  const rateLimitOn = config.rateLimitScale > 0 || config.env === 'production';
  const measureOnly = config.measureOnly;
  /** RATE_LIMIT_MEASURE_ONLY: clients (ids or roles) that every limit only measures, for rolling out tighter limits. */
  const isMeasureOnly = ({ principal: p }: RequestScope) =>
    Boolean(p && (measureOnly.clients.includes(p.clientId) || measureOnly.roles.includes(p.role)));
  /**
   * A measure-only client went over `limit` and is served: logged and counted (`limit_measured_total`, and the rate
   * limit's own `rate_limit_measured_total`) once per request and limit, and named in `extensions.cost.wouldRefuseBy`.
   */
  const wouldRefuse = (scope: RequestScope, limit: string, detail: Record<string, unknown>) => {
    const cost = scope.cost;
    if (cost.wouldRefuseBy?.includes(limit)) return;
    cost.wouldRefuse = true;
    (cost.wouldRefuseBy ??= []).push(limit);
    const role = scope.principal?.role ?? 'anonymous';
    metrics.limitMeasured.inc({ limit, role });
    if (limit === 'rate') metrics.rateLimitMeasured.inc({ role });
    log.info(
      { requestId: scope.requestId, client: scope.principal?.clientId, role, limit, ...detail },
      `${limit} limit would have refused (measure-only)`,
    );
  };
  const scale = Math.max(config.rateLimitScale, config.env === 'production' ? 1 : 0);
  const scaledLimits = Object.fromEntries(
    Object.entries(RATE_LIMITS).map(([role, l]) => [role, { ratePerSec: l.ratePerSec * scale, burst: Math.ceil(l.burst * scale) }]),
  ) as typeof RATE_LIMITS;
  /** One bucket per client (token `sub`), or per address for anonymous requests, shared by every route it limits. */
  const rateLimitIdentity = ({ principal: p, ip }: RequestScope) =>
    p ? { key: `sub:${p.clientId}`, role: p.role in scaledLimits ? p.role : 'anonymous' } : { key: `ip:${ip}`, role: 'anonymous' };
  const buckets =
    guardOn && rateLimitOn
      ? createTokenBucketStore({
          ...(config.redisUrl ? { redisUrl: config.redisUrl } : {}),
          keyPrefix: deps.rateLimitPrefix ?? 'pg:rl:',
          connectionName: redisClientName('rate-limit'),
        })
      : null;

  // plugins are typed for the context each one needs (Plugin's context parameter is invariant, so no one type fits all)
  // an internal error's log line names its request (the masking below sees the error, not the request)
  const internalErrors = createInternalErrorLog(log);
  // biome-ignore lint/suspicious/noExplicitAny: the list mixes plugins of different context types
  const plugins: Array<Plugin<any> | false> = [
    // audit: notes each operation as the client sent it, and what the client got; a mutation gets an audited unit
    // of work writing its entry in its transaction. First, so its onExecute runs whichever later plugin stops execution
    auditOn && useAuditTrail(deps.audit),
    // right after this instance's own write, a conditional OGC request sees the new change counter and a status
    // poll reads the new status (both remember only what the jurisdiction's changes since vouch for)
    useFreshCountersAfterWrites((jurisdiction) => changeCounters.forget(jurisdiction)),
    // ops: see every result, refusals included
    useMetrics({ metrics }),
    useRequestLog({ log }),
    internalErrors.plugin,
    // traces: the validation span, the trace id in error results (hooks return at once while tracing is off)
    useTracing({ captureDocument: config.otel.OTEL_INSTRUMENTATION_GRAPHQL_CAPTURE_DOCUMENT === 'true' }),
    // a body or parameter that is not JSON: a plain 400, not the parser's own words (nor a 500 for GET)
    useRequestBodyErrors(),
    // guard: cheap refusals before anything expensive (the principal is already on the scope)
    guardOn && useCsrfPrevention({ origins: config.corsOrigins }),
    guardOn && config.persistedOnly && useTrustedDocuments({ documents: loadPersistedDocuments() }),
    guardOn &&
      useBatchLimit({
        limit: BATCH_LIMIT,
        measureOnly: (c) => isMeasureOnly(scopeOf(c)),
        onWouldRefuse: (c, message) => wouldRefuse(scopeOf(c), 'batch', { refusal: message }),
      }),
    buckets !== null &&
      useRateLimit({
        policies: scaledLimits,
        store: buckets,
        // an operation costs 1 + cost/1000 tokens: a page of 200 permits with nested records (~8,600) takes 9, a
        // default permitsGeoJSON page (5,000 features at 3 each in the SDL, 15,000) takes 16
        costPerToken: QUERY_PRICING.costPerToken,
        identify: (c) => rateLimitIdentity(scopeOf(c)),
        onStoreError: (err) => log.warn({ err: (err as Error).message }, 'rate-limit store unavailable; using local buckets'),
        onBudget: (c, budget, tokens) => noteCharge(scopeOf(c).cost, budget, tokens),
        // measure-only clients are counted and logged, never refused (once per request, though both charges may go over)
        measureOnly: (c) => isMeasureOnly(scopeOf(c)),
        onWouldRefuse: (c, _who, retryAfterSeconds) => wouldRefuse(scopeOf(c), 'rate', { retryAfterSeconds }),
      }),
    // extensions.cost and the RateLimit headers, from what the cost rule and the rate limit noted on the scope
    guardOn && useCostReport(),
    guardOn &&
      useArmorLimits({
        // 200 permits with parcel, contractor, inspections and checklists (~10k) pass; 200 × 200 (40k) does not;
        // lists and JSON fields are priced by what they can return (@listSize / @cost in the SDL)
        maxCost: QUERY_PRICING.maxCost,
        defaultListSize: QUERY_PRICING.defaultListSize,
        canSeeSuggestions: (c) => Boolean(scopeOf(c).principal?.scopes.has('schema:introspect')),
        onCost: (c, cost, depth) => {
          const notes = scopeOf(c).cost;
          notes.estimated = cost;
          notes.depth = depth;
        },
        // measure-only clients are served over depth, cost, aliases, directives, tokens…: each refusal counted
        measureOnly: (c) => isMeasureOnly(scopeOf(c)),
        onWouldRefuse: (c, limit, message) => wouldRefuse(scopeOf(c), limit, { refusal: message }),
      }),
    // contract-shaped input errors: BAD_USER_INPUT naming the field path
    useInputErrors(),
    // database down: fail fast where there is no fallback
    useDegradedMode({ isDown: services.isDown }),
    guardOn && ({ onValidate: ({ addValidationRule }) => addValidationRule(SingleMutationFieldRule) } satisfies Plugin),
    // auth: check every field against the central policy (the token was verified by `authenticate`)
    authOn && useAccessPolicy(),
    // client text the service cannot carry (U+0000, lone surrogates) and JSON nested too deep: BAD_USER_INPUT naming
    // where. Nesting and the operation name are refused before parsing; text in variables after the access policy,
    // so a caller without access is refused as such whatever it sent
    useClientText(),
    // execution: queries and mutations compiled once per document by graphql-jit; last, so every refusal above
    // still stops execution before it (subscriptions and refused variables stay on Yoga's executor)
    useCompiledExecution(),
  ];

  // holds no request state: one for every request until the audit trail hands a mutation its own
  const unaudited = createAuditedWork(database.db, null);
  const yoga = createYoga<ServerContext, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    logging: false,
    // the ceiling even for measure-only clients; everyone else is refused over BATCH_LIMIT first (useBatchLimit)
    batching: { limit: guardOn ? BATCH_CEILING : BATCH_LIMIT },
    // the body limit is an edge step (src/guard/body-limit.ts, 413): Yoga's own would wrap every
    // request body in a second stream and Request
    maxRequestBodySize: false,
    cors: false, // withCors (src/guard/cors.ts) owns CORS: Yoga's default reflects any origin
    // GraphiQL's assets come from this server (/graphiql-assets/), never from a CDN; off when the bundle is not installed
    graphiql: graphiqlAssets.available && {
      title: 'Permit Gateway',
      isHeadersEditorEnabled: true,
      defaultEditorToolsVisibility: 'headers',
      shouldPersistHeaders: false,
      defaultTabs: graphiqlExampleTabs(),
    },
    renderGraphiQL: graphiqlAssets.render,
    context: () =>
      ({
        database,
        services,
        transparency: deps.transparency,
        work: unaudited,
      }) as Partial<GraphQLContext> as GraphQLContext,
    maskedErrors: {
      maskError(error, message, isDev) {
        const original = (error as GraphQLError).originalError ?? error;
        if (isDatabaseUnavailable(original)) return serviceDegraded();
        const masked = yogaMaskError(error, message, isDev);
        // a client that hung up mid-request is not a server fault
        if (masked !== error && (original as Error)?.name !== 'AbortError') internalErrors.masked(masked, original);
        return masked;
      },
      isDev: false,
    },
    // biome-ignore lint/suspicious/noExplicitAny: see the list above
    plugins: plugins.filter((p): p is Plugin<any> => Boolean(p)),
  });

  const authenticate: Authenticate =
    options.authenticate ??
    ((request, scope) =>
      authenticateRequest(request, scope, { verifier: deps.verifier, log, onAuthFailure: (reason) => metrics.recordAuthFailure(reason) }));

  // the discovery document names where this server really is: PUBLIC_URL, or (derived in development) the port it
  // bound, and then the issuer of its tokens is that URL too (src/http/public-address.ts)
  const { address } = deps;
  const listeningOn = (port: number) => address.listeningOn(port);
  // webhook deliveries link to the permit they are about under the same URL
  services.events.useBaseUrl(address.url);

  async function graphql(request: Request, scope: RequestScope): Promise<Response> {
    const auth = await inSpan('auth.verify_token', {}, () => authenticate(request, scope));
    scope.principal = 'reject' in auth ? null : auth.principal;
    let response: Response;
    try {
      response = 'reject' in auth ? auth.reject : await yoga.fetch(request, { scope });
    } catch (err) {
      if (auditOn) auditGraphQLRequest(deps.audit, scope, recordedStatus(request, 500));
      throw err;
    }
    if (auditOn) auditGraphQLRequest(deps.audit, scope, recordedStatus(request, response.status));
    return response;
  }

  // OGC API – Features: same token, policy, buckets, breaker and audit recorder as /graphql
  const localBuckets = new MemoryTokenBucketStore();
  /** Takes `tokens` from the caller's bucket (the one /graphql charges); local buckets while Redis is unreachable. */
  async function chargeBucket(scope: RequestScope, tokens: number) {
    const who = rateLimitIdentity(scope);
    const policy = scaledLimits[who.role as keyof typeof scaledLimits];
    // as for GraphQL, a request costs a full burst at most (the token on arrival plus burst - 1), else it could never run
    const cost = Math.min(tokens, Math.max(1, policy.burst - 1));
    let taken: TakeResult;
    try {
      taken = await (buckets ?? localBuckets).take(who.key, cost, policy);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'rate-limit store unavailable; using local buckets');
      taken = await localBuckets.take(who.key, cost, policy);
    }
    // what the client has left, for the answer's RateLimit headers (as GraphQL's onBudget notes it)
    noteCharge(scope.cost, budgetAfter(who.role, policy, taken.remaining), taken.allowed ? cost : 0);
    if (taken.allowed || !isMeasureOnly(scope)) return taken;
    wouldRefuse(scope, 'rate', { retryAfterSeconds: taken.retryAfterSeconds });
    return { ...taken, allowed: true };
  }
  const ogc = createOgcRoute({
    db: database.db,
    schema,
    authenticate,
    charge: buckets && chargeBucket,
    guard: (fn) => services.breaker.execute(fn),
    changeCounter: (jurisdiction) => changeCounters.get(jurisdiction),
    record: auditOn ? (entry) => deps.audit.record(entry) : null,
    ...(options.ogcPageCacheBytes === undefined ? {} : { pageCacheBytes: options.ogcPageCacheBytes }),
    ...(options.ogcFeatureCacheBytes === undefined ? {} : { featureCacheBytes: options.ogcFeatureCacheBytes }),
    // PUBLIC_URL: the address clients know this service by (behind a proxy, not the one it listens on)
    baseUrl: address.url,
    log,
  });

  async function publicStatus(number: string): Promise<Response> {
    try {
      const view = await services.permitStatus(number);
      if (!view) return Response.json({ error: 'not_found' }, { status: 404 });
      return Response.json({ ...view, updatedAt: view.updatedAt.toISOString(), asOf: view.asOf.toISOString() });
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'public status unavailable');
      return Response.json({ error: 'service_degraded' }, { status: 503, headers: { 'Retry-After': '5' } });
    }
  }

  /**
   * A `bucket` route's charge (src/http/route-table.ts): one token of the caller's bucket (by address: these routes
   * take no token), like an anonymous GraphQL read; the 429 to answer when it is empty, else null. Measure-only
   * clients are served and counted, as chargeBucket does for every route.
   */
  async function rateLimitRefusal(scope: RequestScope): Promise<Response | null> {
    if (!buckets) return null;
    const r = await chargeBucket(scope, 1);
    return r.allowed ? null : rateLimitedResponse(r.retryAfterSeconds);
  }

  /** The audit log's public reads (checkpoint, verifier key, hash tiles): a 503 while the log cannot be read. */
  async function publicAuditRead(body: () => Promise<Response>): Promise<Response> {
    try {
      return await body();
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'audit transparency read unavailable');
      return Response.json({ error: 'service_degraded' }, { status: 503, headers: { 'Retry-After': '5' } });
    }
  }

  const auditText = (body: () => Promise<string>) =>
    publicAuditRead(
      async () => new Response(await body(), { headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' } }),
    );

  /** GET /audit/tile/<L>/<N>[.p/<W>]: C2SP tlog-tiles hash tiles of the latest checkpoint's tree. */
  function auditTile(rest: string): Promise<Response> {
    return publicAuditRead(async () => {
      const coordinate = parseTilePath(rest);
      const bytes = coordinate && (await deps.transparency.hashTile(coordinate));
      if (!coordinate || !bytes) {
        return Response.json({ error: 'not_found' }, { status: 404, headers: { 'cache-control': 'no-store' } });
      }
      // a full tile never changes (the log is append-only); a partial one neither, but logs may drop it once full
      const cache = coordinate.width === TILE_WIDTH ? 'public, max-age=31536000, immutable' : 'public, max-age=86400';
      return new Response(bytes, { headers: { 'content-type': 'application/octet-stream', 'cache-control': cache } });
    });
  }

  function readiness(): Response {
    const state = services.breaker.state;
    const ok = state === 'closed' && deps.isReady();
    const reason = !deps.isReady() ? 'database not reached yet (start-up)' : `database circuit breaker is ${state}`;
    return Response.json(
      ok ? { status: 'ready', database: database.kind } : { status: 'degraded', reason, outboxDepth: services.outbox.depth() },
      { status: ok ? 200 : 503 },
    );
  }

  /** Each route's handler, typed by the route table: a route cannot be added here without its rate-limit decision. */
  const routes: Record<RouteName, Route> = {
    '/graphql': graphql,
    '/oauth/token': (request, scope) =>
      handleTokenRequest(request, scope, {
        ...deps.tokenEndpoint,
        db: database.db,
        guardDb: (query) => services.breaker.execute(query),
        isDown: services.isDown,
        retryAfterSeconds: () => Math.max(1, services.breaker.retryAfterMs() / 1000),
        onInternalError: (err, meta) => log.error({ err, ...logIds(meta) }, 'token endpoint: internal error'),
        onResult: (r) => {
          // who asked and what they got; never the secret or the token (neither is in `r`)
          const refused = r.status !== 200;
          (refused ? log.warn : log.info).call(
            log,
            {
              ...logIds(r.meta),
              ip: r.meta.ip,
              client: r.clientId,
              status: r.status,
              ...(refused ? { error: r.error } : { scope: r.scopes?.join(' ') }),
            },
            refused ? 'token refused' : 'token granted',
          );
          return deps.audit.record(tokenEntry(r));
        },
      }),
    '/graphiql-assets/{file}': async (request) =>
      (await graphiqlAssets.response(request)) ?? Response.json({ error: 'not_found' }, { status: 404 }),
    '/ogc/{path}': (request, scope, url) => ogc(request, scope, url),
    '/metrics': (request, scope) =>
      metricsResponse(request, {
        metrics,
        allow: config.metricsAllow,
        clientIp: scope.ip,
        verify: (token) => deps.verifier.verify(token, scope.certThumbprint),
        onAuthFailure: (reason) => metrics.recordAuthFailure(reason),
      }),
    '/.well-known/jwks.json': async () => jwksResponse(await deps.publishedKeys()),
    '/.well-known/oauth-authorization-server': () => authorizationServerMetadata(address.metadataIssuer(), address.url()),
    // public, like a CT log's get-sth: the signed tree head and the key to check it need no token
    '/audit/checkpoint': () => auditText(() => deps.transparency.checkpointNote()),
    '/audit/verifier-key': () => auditText(async () => `${deps.transparency.verifierKey()}\n`),
    '/healthz': () => Response.json({ status: 'ok' }),
    '/readyz': readiness,
    '/audit/tile/{path}': (_r, _s, _u, match) => auditTile(match[1]!),
    '/schema.graphql': (request, scope) => pricedSdl(request, scope),
    '/status/{number}': (_r, _s, _u, match) => publicStatus(match[1]!),
  };

  /**
   * The SDL with the cost directives the limits read (`@cost`, `@listSize`), so a client can price a query before it
   * sends it: introspection cannot carry applied directives. Whoever may introspect may read it.
   */
  let sdlText: string | undefined;
  async function pricedSdl(request: Request, scope: RequestScope): Promise<Response> {
    const auth = await authenticate(request, scope);
    if ('reject' in auth) return auth.reject;
    if (!auth.principal) {
      return Response.json(
        { error: 'unauthorized', message: 'a bearer token is required' },
        { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } },
      );
    }
    scope.principal = auth.principal;
    if (!auth.principal.scopes.has('schema:introspect')) {
      return Response.json({ error: 'forbidden', message: 'the schema needs the scope schema:introspect' }, { status: 403 });
    }
    // charged to its holder's bucket (authenticated first: an address's anonymous budget is not theirs)
    const refused = await rateLimitRefusal(scope);
    if (refused) return refused;
    sdlText ??= snapshotOf(schema);
    return new Response(sdlText, {
      headers: { 'Content-Type': 'application/graphql; charset=utf-8', 'Cache-Control': 'private, no-cache' },
    });
  }

  async function route(request: Request, scope: RequestScope): Promise<Response> {
    const url = new URL(request.url);
    const found = findRoute(url.pathname, request.method);
    if (found === 'method-not-allowed') {
      // every `read` route answers HEAD as well as GET (RFC 9110 §10.2.1: Allow lists them all)
      return Response.json({ error: 'method not allowed' }, { status: 405, headers: { Allow: 'GET, HEAD' } });
    }
    if (!found) return Response.json({ error: 'not_found' }, { status: 404 });
    if (HTTP_ROUTES[found.name].limit === 'bucket') {
      const refused = await rateLimitRefusal(scope);
      if (refused) return withBudget(refused, scope);
    }
    return withBudget(await routes[found.name](request, scope, url, found.match), scope);
  }

  /**
   * Whatever route charged the caller's bucket, its answer shows the budget left (the `RateLimit` headers); not an
   * answer any cache may keep for everyone (audit tiles, the JWKS), which would hand one caller's budget to all.
   */
  function withBudget(response: Response, scope: RequestScope): Response {
    const budget = scope.cost.budget;
    if (budget && !/\bpublic\b/i.test(response.headers.get('cache-control') ?? '')) setRateLimitHeaders(response.headers, budget);
    return response;
  }

  /** An edge step: one concern wrapped around everything after it. */
  type EdgeStep = (next: ScopedHandler) => ScopedHandler;
  // edge steps, outermost first, read top to bottom: each wraps the ones below it and, innermost, the routes
  const edgeSteps: EdgeStep[] = [
    // the request's span
    withRequestSpan,
    // the request id on every response
    withRequestIdHeader,
    // security headers on every response, and the one place an unhandled error is logged
    (next) =>
      withSecurityHeaders(next, {
        onError: (err, request, scope) => {
          // a client that hung up mid-request (a torn body, a load generator stopping) is not a server fault
          if (request.signal.aborted) {
            log.debug({ requestId: (scope as RequestScope).requestId }, 'client closed the connection before the response');
          } else {
            log.error({ err }, 'unhandled error');
          }
        },
        // GraphiQL's assets are served by this server (src/ops/graphiql-assets.ts)
        graphiqlAssets: "'self'",
        graphiqlFavicon: "'self'",
      }),
    // HTTP metrics
    (next) => withHttpMetrics(next, metrics),
    // CORS allowlist
    (next) => withCors(next, { origins: config.corsOrigins }),
    // body limit before parsing
    (next) =>
      withBodyLimit(next, {
        maxBytes: config.maxBodyBytes,
        // a refused body never reaches Yoga's request log: say so here, with the request's id
        onRefused: (request, scope) =>
          log.warn(
            {
              requestId: scope.requestId,
              ip: scope.ip,
              method: request.method,
              path: new URL(request.url).pathname,
              contentLength: request.headers.get('content-length'),
              maxBytes: config.maxBodyBytes,
            },
            'request body too large (413)',
          ),
      }),
  ];
  const handle = edgeSteps.reduceRight<ScopedHandler>((next, step) => step(next), route);

  /** Lets go of what the app opened itself: the change counters' feed subscription and the buckets' Redis connection. */
  async function close() {
    await changeCounters.close().catch(() => {});
    await buckets?.close?.();
  }

  return { yoga, schema, handle, metrics, changeCounters, listeningOn, close };
}
export type App = ReturnType<typeof createApp>;
