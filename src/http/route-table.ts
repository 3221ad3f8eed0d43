/**
 * Every HTTP route the app answers, in the order the router tries them, each with how its callers are rate limited.
 * The app's handlers are typed by this table (src/app.ts), so a route cannot be added without an entry and a decision,
 * and test/guard/route-rate-limits.test.ts drains a budget against every entry and expects what its decision says.
 */
import { GRAPHIQL_ASSETS_PATH } from '../ops/graphiql-assets.ts';

/**
 * - `bucket`: the router takes a token of the caller's bucket (by address: these routes take no token) before the
 *   route runs; 429 RATE_LIMITED with Retry-After when it is empty, the shape the /graphql refusal has.
 * - `priced`: the route charges the caller's bucket itself, priced by what it reads (a query's cost, a page's size).
 * - `login-throttle`: failed client authentications lock the address out (src/auth/login-throttle.ts), 429 slow_down.
 * - `exempt`: never limited; `why` says why that is safe.
 */
export type RouteLimit = 'bucket' | 'priced' | 'login-throttle' | 'exempt';

export interface RouteSpec {
  /** The paths it answers (anchored). */
  pattern: RegExp;
  /** `any`: the route answers every method itself; `read`: GET and HEAD, others are 405 before it runs. */
  methods: 'any' | 'read';
  limit: RouteLimit;
  /** Why this limit (and for `exempt`, why none is needed). */
  why: string;
}

const exact = (path: string) => new RegExp(`^${path.replace(/[.]/g, '\\.')}$`);

export const HTTP_ROUTES = {
  '/graphql': {
    pattern: exact('/graphql'),
    methods: 'any',
    limit: 'priced',
    why: 'each operation by its cost (src/guard/use-rate-limit.ts), anonymous callers by address',
  },
  '/oauth/token': {
    pattern: exact('/oauth/token'),
    methods: 'any',
    limit: 'login-throttle',
    why: 'only malformed requests are answered before the throttle; every client lookup is counted when it fails',
  },
  '/graphiql-assets/{file}': {
    pattern: new RegExp(`^${GRAPHIQL_ASSETS_PATH}`),
    methods: 'any',
    limit: 'exempt',
    why: 'a fixed set of static files sent from disk (no database, no computing), cached by browsers',
  },
  '/ogc/{path}': {
    pattern: /^\/ogc(\/.*)?$/,
    // `any`: other methods get the OGC API's own 405 (an OGC exception, audited), not the router's
    methods: 'any',
    limit: 'priced',
    why: 'needs a token (anonymous: 401 before anything is read); each request by the page it reads',
  },
  '/metrics': {
    pattern: exact('/metrics'),
    methods: 'read',
    limit: 'exempt',
    why: 'METRICS_ALLOW addresses or a metrics:read token only (others: 401 first); a scraper must never be throttled',
  },
  '/.well-known/jwks.json': {
    pattern: exact('/.well-known/jwks.json'),
    methods: 'read',
    limit: 'bucket',
    why: 'reads the published keys from the database',
  },
  '/.well-known/oauth-authorization-server': {
    pattern: exact('/.well-known/oauth-authorization-server'),
    methods: 'read',
    limit: 'exempt',
    why: 'a constant document built from configuration: cheaper than charging a bucket',
  },
  '/audit/checkpoint': {
    pattern: exact('/audit/checkpoint'),
    methods: 'read',
    limit: 'bucket',
    why: 'reads the latest signed checkpoint',
  },
  '/audit/verifier-key': {
    pattern: exact('/audit/verifier-key'),
    methods: 'read',
    limit: 'bucket',
    why: 'public like the checkpoint, limited like it',
  },
  '/healthz': {
    pattern: exact('/healthz'),
    methods: 'read',
    limit: 'exempt',
    why: 'a constant answer; a liveness probe must never be refused',
  },
  '/readyz': {
    pattern: exact('/readyz'),
    methods: 'read',
    limit: 'exempt',
    why: 'answered from memory (breaker state, outbox depth); a readiness probe must never be refused',
  },
  '/audit/tile/{path}': {
    pattern: /^\/audit\/tile\/(.*)$/,
    methods: 'read',
    limit: 'bucket',
    why: 'reads hash tiles of the log from the database',
  },
  '/schema.graphql': {
    pattern: exact('/schema.graphql'),
    methods: 'read',
    limit: 'priced',
    why: "needs a schema:introspect token (others: 401/403 before any charge); one token of its holder's bucket",
  },
  '/status/{number}': {
    pattern: /^\/status\/([A-Za-z0-9-]{1,64})$/,
    methods: 'read',
    limit: 'bucket',
    why: "reads a permit's public status (database or status cache)",
  },
} as const satisfies Record<string, RouteSpec>;

export type RouteName = keyof typeof HTTP_ROUTES;

const NAMES = Object.keys(HTTP_ROUTES) as RouteName[];

/**
 * The route a request goes to with the pattern's match, `method-not-allowed` (a path no `any` route answers, with a
 * method other than GET or HEAD: 405 whatever the path, as before there was a table), or null (404).
 */
export function findRoute(pathname: string, method: string): { name: RouteName; match: RegExpExecArray } | 'method-not-allowed' | null {
  const readMethod = method === 'GET' || method === 'HEAD';
  for (const name of NAMES) {
    const spec: RouteSpec = HTTP_ROUTES[name];
    if (spec.methods === 'read' && !readMethod) continue;
    const match = spec.pattern.exec(pathname);
    if (match) return { name, match };
  }
  return readMethod ? null : 'method-not-allowed';
}
