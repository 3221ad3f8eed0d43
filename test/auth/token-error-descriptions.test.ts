/**
 * Issue 20, errors: a refused token says which category it fell in (expired, malformed, bad signature), in the
 * `WWW-Authenticate` header's `error_description` and in the error body, over real HTTP; nothing finer (which
 * claim, which key) reaches the client.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { startTestServer, type TestServer } from '../helpers/server.ts';

setDefaultTimeout(60_000);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
}, 120_000);
afterAll(() => t?.stop());

const ME = '{ me { clientId } }';
const now = () => Math.floor(Date.now() / 1000);

function claims(over: JWTPayload = {}): JWTPayload {
  const iat = now();
  return {
    iss: t.running.address.issuer(),
    aud: t.running.config.jwt.audience,
    sub: 'demo-clerk',
    jti: crypto.randomUUID(),
    iat,
    nbf: iat,
    exp: iat + 300,
    scope: 'permits:read',
    jurisdiction: 'demo-city',
    role: 'clerk',
    ...over,
  };
}

const sign = (payload: JWTPayload, key: CryptoKey = t.running.signingKey.privateKey) =>
  new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: t.running.signingKey.kid, typ: 'at+jwt' }).sign(key);

async function refusal(authorization: string) {
  const r = await t.gql(ME, undefined, undefined, { authorization });
  expect(r.status).toBe(401);
  expect(r.body.data ?? null).toBeNull();
  expect(r.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  return { www: r.headers.get('www-authenticate'), message: r.body.errors?.[0]?.message };
}

describe('a refused token says why, by category', () => {
  test('expired', async () => {
    const iat = now() - 600;
    const r = await refusal(`Bearer ${await sign(claims({ iat, nbf: iat, exp: now() - 120 }))}`);
    expect(r.www).toBe('Bearer error="invalid_token", error_description="the token expired"');
    expect(r.message).toBe('Invalid access token: the token expired');
  });

  test('malformed: not a JWT, a broken header, not a Bearer header', async () => {
    for (const authorization of ['Bearer not-a-jwt', 'Bearer eyJub3Q.eyJ9.c2ln', 'Basic dXNlcjpwYXNz']) {
      const r = await refusal(authorization);
      expect({ authorization, www: r.www }).toEqual({
        authorization,
        www: 'Bearer error="invalid_token", error_description="the token is malformed"',
      });
      expect(r.message).toBe('Invalid access token: the token is malformed');
    }
  });

  test('bad signature: signed by another key under the real kid', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const r = await refusal(`Bearer ${await sign(claims(), privateKey)}`);
    expect(r.www).toBe('Bearer error="invalid_token", error_description="the token signature is invalid"');
    expect(r.message).toBe('Invalid access token: the token signature is invalid');
  });

  test('anything else (wrong issuer) names no claim', async () => {
    const r = await refusal(`Bearer ${await sign(claims({ iss: 'https://evil.example' }))}`);
    expect(r.www).toBe('Bearer error="invalid_token", error_description="the token is not accepted"');
    expect(`${r.www} ${r.message}`).not.toMatch(/iss|evil|claim/);
  });
});
