/**
 * POST /oauth/token — OAuth 2.0 client credentials grant (RFC 6749 §4.4), `client_secret_basic` or
 * `client_secret_post`, errors per §5.2. Certificate-bound clients get bound tokens (RFC 8705) only when the
 * trusted proxy forwarded their certificate. While the database is unreachable: 503 `temporarily_unavailable` with
 * `Retry-After`.
 */
import type { Executor } from '../db/client.ts';
import { issueAccessToken } from '../auth/access-token.ts';
import { authenticateClient } from '../auth/client-registry.ts';
import { throttleKeys, type LoginThrottle } from '../auth/login-throttle.ts';
import { isRole, ROLE_SCOPES } from '../auth/policy.ts';
import type { SigningKey } from '../auth/signing-keys.ts';
import type { TokenRequestResult } from '../audit/audit-entry.ts';
import type { RequestFacts } from '../request-scope.ts';
import { isDatabaseUnavailable } from '../resilience/breaker.ts';

export interface TokenEndpointDeps {
  db: Executor;
  key: SigningKey;
  /** The `iss` of every token issued; a function when it settles later (src/http/public-address.ts). */
  issuer: string | (() => string);
  audience: string;
  ttlSeconds: number;
  throttle: LoginThrottle;
  /** Told about every token request, granted or not (audit, metrics, alerts). */
  onResult?: (r: TokenRequestResult) => void | Promise<void>;
  /** Wraps the client lookup (the database circuit breaker). @default runs it directly */
  guardDb?: <T>(query: () => Promise<T>) => Promise<T>;
  /** True while the database is known to be unreachable (breaker open, not reached since start). @default never */
  isDown?: () => boolean;
  /** Seconds a client should wait during an outage. @default 5 */
  retryAfterSeconds?: () => number;
  /** Told about an unexpected error (it is answered as `server_error`, details only in the log). */
  onInternalError?: (err: unknown, meta: RequestFacts) => void;
}

const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

function oauthError(status: number, error: string, description: string, extra: Record<string, string> = {}) {
  return Response.json({ error, error_description: description }, { status, headers: { ...NO_STORE, ...extra } });
}

function basicCredentials(header: string | null): { id: string; secret: string } | null | 'malformed' {
  if (!header) return null;
  const m = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header.trim());
  if (!m) return 'malformed';
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return 'malformed';
  try {
    // RFC 6749 §2.3.1: both parts are form-urlencoded before base64
    return {
      id: decodeURIComponent(decoded.slice(0, i).replace(/\+/g, ' ')),
      secret: decodeURIComponent(decoded.slice(i + 1).replace(/\+/g, ' ')),
    };
  } catch {
    return 'malformed';
  }
}

export async function handleTokenRequest(request: Request, meta: RequestFacts, deps: TokenEndpointDeps): Promise<Response> {
  const state: { clientId: string | null } = { clientId: null };
  const finish = async (res: Response, extra: Partial<TokenRequestResult> = {}) => {
    const body = res.status === 200 ? null : ((await res.clone().json()) as { error: string });
    await deps.onResult?.({ meta, clientId: state.clientId, status: res.status, ...(body ? { error: body.error } : {}), ...extra });
    return res;
  };
  try {
    return await answerTokenRequest(request, meta, deps, state, finish);
  } catch (err) {
    // this is an OAuth endpoint: its failures answer in RFC 6749 §5.2 form, never as a GraphQL error
    if (isDatabaseUnavailable(err)) return finish(temporarilyUnavailable(deps));
    deps.onInternalError?.(err, meta);
    return finish(oauthError(500, 'server_error', 'internal error; the request id is in X-Request-Id', { 'X-Request-Id': meta.requestId }));
  }
}

/** RFC 6749 §4.1.2.1's `temporarily_unavailable`, the OAuth way of saying 503 (the client may retry). */
function temporarilyUnavailable(deps: TokenEndpointDeps) {
  const wait = Math.max(1, Math.ceil(deps.retryAfterSeconds?.() ?? 5));
  return oauthError(503, 'temporarily_unavailable', 'the client registry is unavailable; try again shortly', {
    'Retry-After': String(wait),
  });
}

async function answerTokenRequest(
  request: Request,
  meta: RequestFacts,
  deps: TokenEndpointDeps,
  state: { clientId: string | null },
  finish: (res: Response, extra?: Partial<TokenRequestResult>) => Promise<Response>,
): Promise<Response> {
  if (request.method !== 'POST') return finish(oauthError(405, 'invalid_request', 'use POST', { Allow: 'POST' }));
  const type = request.headers.get('content-type') ?? '';
  if (!type.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    return finish(oauthError(400, 'invalid_request', 'the body must be application/x-www-form-urlencoded'));
  }
  const form = new URLSearchParams(await request.text());
  for (const [k] of form) {
    if (form.getAll(k).length > 1) return finish(oauthError(400, 'invalid_request', `parameter ${k} is repeated`));
  }
  const basic = basicCredentials(request.headers.get('authorization'));
  if (basic === 'malformed')
    return finish(oauthError(401, 'invalid_client', 'malformed Basic credentials', { 'WWW-Authenticate': 'Basic realm="permit-gateway"' }));
  if (basic && form.has('client_secret'))
    return finish(oauthError(400, 'invalid_request', 'use one client authentication method, not two'));
  const id = basic?.id ?? form.get('client_id') ?? '';
  const secret = basic?.secret ?? form.get('client_secret') ?? '';
  state.clientId = id ? id.slice(0, 64) : null;

  const grant = form.get('grant_type');
  if (!grant) return finish(oauthError(400, 'invalid_request', 'grant_type is required'));
  if (grant !== 'client_credentials') return finish(oauthError(400, 'unsupported_grant_type', 'only client_credentials is supported'));
  if (!id || !secret) {
    return finish(
      oauthError(401, 'invalid_client', 'client authentication failed', { 'WWW-Authenticate': 'Basic realm="permit-gateway"' }),
    );
  }

  // per (client, address) and per address, never per client alone: see login-throttle.ts
  const keys = throttleKeys(id, meta.ip);
  const wait = deps.throttle.retryAfter(keys);
  if (wait > 0) {
    return finish(oauthError(429, 'slow_down', 'too many failed attempts; try again later', { 'Retry-After': String(wait) }));
  }
  // during an outage: no lookup that would wait for a connect timeout, and no failure counted against the client
  if (deps.isDown?.()) return finish(temporarilyUnavailable(deps));
  const client = await authenticateClient(deps.db, id, secret, deps.guardDb);
  if (!client || !isRole(client.role)) {
    deps.throttle.fail(keys);
    return finish(
      oauthError(401, 'invalid_client', 'client authentication failed', { 'WWW-Authenticate': 'Basic realm="permit-gateway"' }),
    );
  }
  if (client.certThumbprint && client.certThumbprint !== meta.certThumbprint) {
    deps.throttle.fail(keys);
    return finish(oauthError(401, 'invalid_client', 'this client must present its registered certificate (mTLS)'));
  }

  deps.throttle.succeed(keys[0]!);
  const allowed = ROLE_SCOPES[client.role];
  const requested = form.get('scope');
  let scopes: string[] = [...allowed];
  if (requested !== null) {
    scopes = [...new Set(requested.split(' ').filter(Boolean))];
    const extra = scopes.filter((s) => !allowed.includes(s));
    if (scopes.length === 0 || extra.length) {
      return finish(
        oauthError(400, 'invalid_scope', extra.length ? `scope not allowed for this client: ${extra.join(' ')}` : 'scope is empty'),
      );
    }
  }
  const { token, expiresIn } = await issueAccessToken(
    deps.key,
    {
      clientId: client.clientId,
      role: client.role,
      jurisdiction: client.jurisdictionId,
      contractor: client.contractorLicense,
      scopes,
      certThumbprint: client.certThumbprint,
    },
    { issuer: typeof deps.issuer === 'function' ? deps.issuer() : deps.issuer, audience: deps.audience, ttlSeconds: deps.ttlSeconds },
  );
  return finish(
    Response.json({ access_token: token, token_type: 'Bearer', expires_in: expiresIn, scope: scopes.join(' ') }, { headers: NO_STORE }),
    { scopes, role: client.role, jurisdiction: client.jurisdictionId },
  );
}
