/**
 * Authentication and field authorization as one envelop plugin built on @envelop/generic-auth (protect-all):
 * the bearer token is verified with jose (a bad token is a 401 before anything runs), then every requested
 * field is checked against its SDL rule (policy.ts). Denials are mapped to the contract's codes:
 * no token → 401 UNAUTHENTICATED; token lacking a scope → 403 FORBIDDEN listing the refused field paths.
 */
import { useGenericAuth } from '@envelop/generic-auth';
import type { Plugin } from 'graphql-yoga';
import { forbidden, invalidToken, invalidTokenChallenge, unauthenticated } from '../errors.ts';
import type { Principal } from '../domain/principal.ts';
import { type RequestFacts, scopeOf } from '../request-scope.ts';
import type { Logger } from '../logger.ts';
import { fieldRule, ruleSatisfied } from './policy.ts';
import { InvalidTokenError, tokenFailureOf } from './verify-access-token.ts';
import { withVerdictCache } from './access-verdict-cache.ts';
import type { TokenVerifier } from './verify-access-token.ts';

export interface AccessPolicyPluginOptions {
  verifier: TokenVerifier;
  log: Logger;
  /** Told about each authentication failure (metrics, audit alerts). */
  onAuthFailure?: (reason: string, ip: string) => void;
}

/**
 * Verifies the request's bearer token: `null` principal without an Authorization header, the principal for a
 * valid token, and a ready 401 response (`WWW-Authenticate: Bearer error="invalid_token", error_description=…`
 * naming the category: expired, malformed, bad signature, not accepted) for anything else.
 */
export async function authenticateRequest(
  request: Request,
  meta: RequestFacts,
  opts: AccessPolicyPluginOptions,
): Promise<{ principal: Principal | null } | { reject: Response }> {
  const token = bearerToken(request);
  if (token === undefined) return { principal: null };
  try {
    if (token === null) throw new InvalidTokenError('Authorization header is not a Bearer token', 'malformed');
    return { principal: await opts.verifier.verify(token, meta.certThumbprint) };
  } catch (err) {
    // the client learns the category (expired, malformed, bad signature); the log keeps which check failed
    const failure = tokenFailureOf(err);
    opts.log.info({ requestId: meta.requestId, ip: meta.ip, failure, reason: (err as Error).message }, 'invalid access token');
    opts.onAuthFailure?.((err as Error).message, meta.ip);
    const e = invalidToken(failure);
    return {
      reject: Response.json(
        { errors: [{ message: e.message, extensions: { code: e.extensions.code } }] },
        { status: 401, headers: { 'WWW-Authenticate': invalidTokenChallenge(failure) } },
      ),
    };
  }
}

/** Extracts the bearer token; `undefined` when there is no Authorization header at all. */
export function bearerToken(request: Request): string | undefined | null {
  const h = request.headers.get('authorization');
  if (h === null) return undefined;
  const m = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(h.trim());
  return m ? m[1]! : null;
}

export function useAccessPolicy(): Plugin {
  const auth = useGenericAuth<Principal, { request: Request }, 'principal'>({
    mode: 'protect-all',
    contextFieldName: 'principal',
    authDirectiveName: 'public',
    // the token was verified before Yoga ran (authenticateRequest): guard plugins need the principal at parse time
    resolveUserFn: (context) => scopeOf(context).principal,
    extractScopes: (p) => (p ? [...p.scopes] : []),
    validateUser({ user, parentType, field, path }) {
      if (!('getFields' in parentType) || !('isTypeOf' in parentType)) return undefined;
      const verdict = ruleSatisfied(fieldRule(parentType as never, field), user ? user.scopes : null);
      if (verdict === 'ok') return undefined;
      const where = path.length ? path.join('.') : `${parentType.name}.${field.name}`;
      return verdict === 'unauthenticated' ? unauthenticated(`Authentication required for ${where}`) : forbidden([where]);
    },
  }) as unknown as Plugin;
  // the rule's walk is the costliest step per request: allowed verdicts are remembered (access-verdict-cache.ts)
  return withVerdictCache(auth, (context) => {
    const p = scopeOf(context).principal;
    return p ? [...p.scopes] : null;
  });
}
