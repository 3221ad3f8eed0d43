/**
 * `GET /metrics`: Prometheus text format for
 *  - a bearer token carrying the `metrics:read` scope (a valid token without it → 403, a bad token → 401), or
 *  - no Authorization header at all, from an address on `METRICS_ALLOW` (default loopback) → else 401.
 * The address checked is the request scope's client address (a forwarded one only from a trusted proxy).
 */
import { bearerToken } from '../auth/use-access-policy.ts';
import { createTrustedProxyMatcher } from '../auth/trusted-proxy.ts';
import { tokenFailureOf } from '../auth/verify-access-token.ts';
import { invalidTokenChallenge, TOKEN_FAILURE_DESCRIPTION } from '../errors.ts';
import type { Principal } from '../domain/principal.ts';
import type { Metrics } from './metrics.ts';

export const METRICS_SCOPE = 'metrics:read';

export interface MetricsEndpointOptions {
  /** The registry to expose (`createMetrics()`). */
  metrics: Pick<Metrics, 'registry'>;
  /** Addresses/CIDRs allowed to scrape without a token (`config.metricsAllow`). @default ['127.0.0.1', '::1'] */
  allow?: readonly string[];
  /** Verifies a bearer token; throws when it is invalid (the app's TokenVerifier.verify). */
  verify: (token: string) => Promise<Pick<Principal, 'scopes'>>;
  /** Told about refused tokens (e.g. `metrics.recordAuthFailure`). @default () => {} */
  onAuthFailure?: (reason: string) => void;
  /** The client's address (the request scope's `ip`), checked against `allow` when no token is sent. */
  clientIp: string;
}

const problem = (status: number, error: string, description: string, headers: Record<string, string> = {}) =>
  Response.json({ error, error_description: description }, { status, headers: { 'cache-control': 'no-store', ...headers } });

// one matcher per allow list (config arrays live as long as the app); built on first use
const matchers = new WeakMap<readonly string[], ReturnType<typeof createTrustedProxyMatcher>>();
function allowed(list: readonly string[], ip: string) {
  let m = matchers.get(list);
  if (!m) {
    m = createTrustedProxyMatcher(list);
    matchers.set(list, m);
  }
  return m(ip);
}

/** The `/metrics` response for this request (the caller routes GET/HEAD /metrics here). */
export async function metricsResponse(request: Request, options: MetricsEndpointOptions): Promise<Response> {
  const { metrics } = options;
  const allow = options.allow ?? ['127.0.0.1', '::1'];
  const token = bearerToken(request);
  if (token === null) {
    options.onAuthFailure?.('malformed Authorization header');
    return problem(401, 'invalid_token', 'Authorization must be a Bearer token', { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
  }
  if (token !== undefined) {
    let principal: Pick<Principal, 'scopes'>;
    try {
      principal = await options.verify(token);
    } catch (err) {
      options.onAuthFailure?.((err as Error).message);
      const failure = tokenFailureOf(err);
      return problem(401, 'invalid_token', `Invalid access token: ${TOKEN_FAILURE_DESCRIPTION[failure]}`, {
        'WWW-Authenticate': invalidTokenChallenge(failure),
      });
    }
    if (!principal.scopes.has(METRICS_SCOPE)) {
      options.onAuthFailure?.('insufficient_scope');
      return problem(403, 'insufficient_scope', `The token lacks the ${METRICS_SCOPE} scope`, {
        'WWW-Authenticate': `Bearer error="insufficient_scope", scope="${METRICS_SCOPE}"`,
      });
    }
  } else if (!allowed(allow, options.clientIp)) {
    return problem(401, 'unauthorized', `Send a bearer token with the ${METRICS_SCOPE} scope`, {
      'WWW-Authenticate': `Bearer scope="${METRICS_SCOPE}"`,
    });
  }
  const body = await metrics.registry.metrics();
  return new Response(request.method === 'HEAD' ? null : body, {
    status: 200,
    headers: { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' },
  });
}
