/**
 * Verification of every bearer token with jose: ES256/RS256 only, exact `iss` and `aud`, `exp`/`nbf` with
 * 30 s tolerance, lifetime ≤ 900 s both as `exp - iat` and as `exp - now` (`iat` not in the future), `kid` must
 * be known, `jku`/`x5u` headers are never followed (jose does not fetch them), certificate binding (RFC 8705)
 * and client revocation are checked on every use.
 * Verified tokens are cached by their SHA-256 until `exp`: signature checks are the costliest step per request.
 */
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Principal } from '../domain/principal.ts';
import type { TokenFailure } from '../errors.ts';

export const MAX_TOKEN_LIFETIME_S = 900;
export const CLOCK_TOLERANCE_S = 30;
const MAX_TOKEN_CHARS = 8192;

export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError';
  /** What the client is told (src/errors.ts); the message, for logs, says which check failed. */
  constructor(
    message: string,
    readonly failure: TokenFailure = 'not_accepted',
  ) {
    super(message);
  }
}

/** The client-facing category of a jose error: expiry, structure and signature are worth telling apart. */
export function tokenFailureOf(err: unknown): TokenFailure {
  if (err instanceof InvalidTokenError) return err.failure;
  const { code, reason } = (err ?? {}) as { code?: string; reason?: string };
  if (code === 'ERR_JWT_EXPIRED') return 'expired';
  if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' || code === 'ERR_JWKS_NO_MATCHING_KEY') return 'bad_signature';
  if (code === 'ERR_JWT_INVALID' || code === 'ERR_JWS_INVALID') return 'malformed';
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && reason === 'missing') return 'malformed';
  return 'not_accepted';
}

export interface TokenVerifierOptions {
  /** The exact `iss` accepted; a function when it settles later (src/http/public-address.ts). */
  issuer: string | (() => string);
  audience: string;
  /** External identity provider's JWKS; unset uses `localKeys`. */
  jwksUrl?: string;
  /** Public keys of the built-in issuer (re-read on an unknown `kid`, at most every 30 s). */
  localKeys: () => Promise<JWK[]>;
  /** True when the client has been revoked (tokens stop working at once in this instance, ≤ 1 min elsewhere). */
  isRevoked: (clientId: string) => boolean;
  /** Verified-token cache size. @default 10000 */
  cacheSize?: number;
}

type Cached = { principal: Principal; exp: number; bound?: string };

function principalFrom(payload: JWTPayload): { principal: Principal; bound?: string } {
  const { sub, scope, jurisdiction, contractor, role, cnf } = payload as JWTPayload & Record<string, unknown>;
  if (typeof sub !== 'string' || !sub) throw new InvalidTokenError('sub missing', 'malformed');
  if (typeof scope !== 'string') throw new InvalidTokenError('scope missing', 'malformed');
  if (typeof jurisdiction !== 'string' || !jurisdiction) throw new InvalidTokenError('jurisdiction missing', 'malformed');
  if (contractor !== undefined && typeof contractor !== 'string') throw new InvalidTokenError('contractor malformed', 'malformed');
  const bound = (cnf as Record<string, unknown> | undefined)?.['x5t#S256'];
  if (cnf !== undefined && typeof bound !== 'string') throw new InvalidTokenError('cnf malformed', 'malformed');
  return {
    principal: {
      clientId: sub,
      role: typeof role === 'string' ? role : 'external',
      scopes: new Set(scope.split(' ').filter(Boolean)),
      jurisdiction,
      ...(contractor ? { contractor: contractor as string } : {}),
    },
    ...(bound ? { bound: bound as string } : {}),
  };
}

/**
 * The lifetime rule judged against our clock, not only the token's own claims: `exp - iat ≤ 900` alone lets a
 * token with a future `iat` live for years, so `iat` may not lie ahead of now (beyond the clock tolerance) and
 * `exp` may not lie more than 900 s (+ tolerance) ahead of now, whatever `iat` says.
 */
export function checkLifetime(payload: JWTPayload, now: number): void {
  const { iat, exp } = payload;
  // jose already requires both as numbers; checked again so this rule holds whoever calls it
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw new InvalidTokenError('iat missing or malformed');
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw new InvalidTokenError('exp missing or malformed');
  if (iat > now + CLOCK_TOLERANCE_S) throw new InvalidTokenError(`iat ${iat - now} s in the future`);
  if (exp <= iat) throw new InvalidTokenError('exp is not after iat');
  if (exp - iat > MAX_TOKEN_LIFETIME_S) throw new InvalidTokenError(`lifetime ${exp - iat} s exceeds ${MAX_TOKEN_LIFETIME_S} s`);
  if (exp > now + MAX_TOKEN_LIFETIME_S + CLOCK_TOLERANCE_S) {
    throw new InvalidTokenError(`exp ${exp - now} s ahead exceeds ${MAX_TOKEN_LIFETIME_S} s`);
  }
}

export function createTokenVerifier(opts: TokenVerifierOptions) {
  const cache = new LRUCache<string, Cached>({ max: opts.cacheSize ?? 10_000 });
  const remote = opts.jwksUrl
    ? createRemoteJWKSet(new URL(opts.jwksUrl), { cacheMaxAge: 300_000, cooldownDuration: 30_000, timeoutDuration: 5_000 })
    : null;
  let local: ReturnType<typeof createLocalJWKSet> | null = null;
  let localLoadedAt = 0;
  const reloadLocal = async (force: boolean) => {
    if (local && (!force || Date.now() - localLoadedAt < 30_000)) return local;
    local = createLocalJWKSet({ keys: await opts.localKeys() });
    localLoadedAt = Date.now();
    return local;
  };

  async function verifySignature(token: string): Promise<JWTPayload> {
    const options = {
      issuer: typeof opts.issuer === 'function' ? opts.issuer() : opts.issuer,
      audience: opts.audience,
      algorithms: ['ES256', 'RS256'],
      clockTolerance: CLOCK_TOLERANCE_S,
      requiredClaims: ['iss', 'aud', 'sub', 'exp', 'iat', 'nbf', 'jti'],
    };
    // jose picks the only key of a set when the header names none; we require a `kid` (and then a known one)
    let kid: unknown;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch (err) {
      throw new InvalidTokenError(`header undecodable: ${(err as Error).message}`, 'malformed');
    }
    if (typeof kid !== 'string') throw new InvalidTokenError('kid missing');
    if (remote) return (await jwtVerify(token, remote, options)).payload;
    try {
      return (await jwtVerify(token, await reloadLocal(false), options)).payload;
    } catch (err) {
      // a key rotated by another instance: re-read the published keys (rate-limited) and try once more
      if ((err as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw err;
      return (await jwtVerify(token, await reloadLocal(true), options)).payload;
    }
  }

  return {
    /** Returns the principal or throws InvalidTokenError (the reason is for logs, never for clients). */
    async verify(token: string, certThumbprint?: string): Promise<Principal> {
      if (!token || token.length > MAX_TOKEN_CHARS) throw new InvalidTokenError('token empty or too long', 'malformed');
      const id = new Bun.CryptoHasher('sha256').update(token).digest('base64url');
      const now = Math.floor(Date.now() / 1000);
      let hit = cache.get(id);
      if (!hit || hit.exp + CLOCK_TOLERANCE_S < now) {
        let payload: JWTPayload;
        try {
          payload = await verifySignature(token);
        } catch (err) {
          throw new InvalidTokenError((err as Error).message, tokenFailureOf(err));
        }
        checkLifetime(payload, now);
        const { principal, bound } = principalFrom(payload);
        hit = { principal, exp: payload.exp!, ...(bound ? { bound } : {}) };
        cache.set(id, hit);
      }
      if (opts.isRevoked(hit.principal.clientId)) throw new InvalidTokenError('client revoked');
      if (hit.bound && hit.bound !== certThumbprint) {
        throw new InvalidTokenError('certificate-bound token presented without its certificate');
      }
      return hit.bound ? { ...hit.principal, certThumbprint: hit.bound } : hit.principal;
    },
  };
}
export type TokenVerifier = ReturnType<typeof createTokenVerifier>;
