/** Issuing access tokens (RFC 9068-style JWTs) for the client credentials grant. */
import { SignJWT } from 'jose';
import type { SigningKey } from './signing-keys.ts';

export interface TokenSubject {
  clientId: string;
  role: string;
  jurisdiction: string;
  contractor?: string | null;
  scopes: readonly string[];
  /** RFC 8705 `x5t#S256` of the client certificate the token is bound to. */
  certThumbprint?: string | null;
}

export async function issueAccessToken(
  key: SigningKey,
  subject: TokenSubject,
  opts: { issuer: string; audience: string; ttlSeconds: number; now?: number },
): Promise<{ token: string; expiresIn: number }> {
  const iat = Math.floor((opts.now ?? Date.now()) / 1000);
  const token = await new SignJWT({
    scope: subject.scopes.join(' '),
    jurisdiction: subject.jurisdiction,
    role: subject.role,
    ...(subject.contractor ? { contractor: subject.contractor } : {}),
    ...(subject.certThumbprint ? { cnf: { 'x5t#S256': subject.certThumbprint } } : {}),
  })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'at+jwt' })
    .setIssuer(opts.issuer)
    .setAudience(opts.audience)
    .setSubject(subject.clientId)
    .setJti(crypto.randomUUID())
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + opts.ttlSeconds)
    .sign(key.privateKey);
  return { token, expiresIn: opts.ttlSeconds };
}
