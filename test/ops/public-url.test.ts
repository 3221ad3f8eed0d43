/**
 * Issue 18 item 10: discovery tells the truth. The OAuth metadata (RFC 8414) names where this server really is:
 * PUBLIC_URL when set, else (development, test) derived from HOST/PORT, with the port actually bound; `issuer` is
 * the exact `iss` of the tokens (JWT_ISSUER, by default PUBLIC_URL), as RFC 8414 §3.3 and RFC 9068 require. Both
 * used to say port 4000 whatever PORT was; then the metadata followed the port while tokens kept port 4000.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt, SignJWT } from 'jose';
import type { SigningKey } from '../../src/auth/signing-keys.ts';
import { ConfigError, DEV_ISSUER, loadConfig } from '../../src/config.ts';
import { buildSchema } from '../../src/graphql/schema.ts';
import { createPublicAddress } from '../../src/http/public-address.ts';
import { productionProblems } from '../../src/ops/production-checks.ts';
import { startAppProcess, type AppProcess } from '../helpers/app-process.ts';
import { startSiblingServer, startTestServer, type SiblingServer, type TestServer } from '../helpers/server.ts';

setDefaultTimeout(120_000);

const metadataOf = async (base: string) => {
  const r = await fetch(`${base}/.well-known/oauth-authorization-server`);
  expect(r.status).toBe(200);
  return (await r.json()) as Record<string, string>;
};

describe('the real server on a PORT other than 4000, PUBLIC_URL unset', () => {
  let app: AppProcess | undefined;
  afterAll(async () => {
    await app?.stop();
    if (app) rmSync(app.dataDir, { recursive: true, force: true });
  });

  test('metadata issuer, token_endpoint and jwks_uri name the port it listens on; they work', async () => {
    app = await startAppProcess({});
    const port = new URL(app.url).port;
    expect(port).not.toBe('4000');
    const m = await metadataOf(app.url);
    expect(m.issuer).toBe(app.url);
    expect(m.token_endpoint).toBe(`${app.url}/oauth/token`);
    expect(m.jwks_uri).toBe(`${app.url}/.well-known/jwks.json`);
    const jwks = await fetch(m.jwks_uri!);
    expect(jwks.status).toBe(200);
    // a client following the metadata gets a token there, and it is accepted; its iss is the metadata's issuer:
    // the URL the server listens on
    const c = app.clients().find((x) => x.client_id === 'demo-analyst')!;
    const res = await fetch(m.token_endpoint!, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret }),
    });
    expect(res.status).toBe(200);
    const token = ((await res.json()) as { access_token: string }).access_token;
    expect(decodeJwt(token).iss).toBe(m.issuer!);
    expect(decodeJwt(token).iss).toBe(app.url);
    const me = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ me { clientId } }' }),
    });
    expect(me.status).toBe(200);
  });
});

/** POST /graphql `{ me { clientId } }` with `token`: the status says whether the token was accepted. */
const meStatus = async (base: string, token: string) =>
  (
    await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ me { clientId } }' }),
    })
  ).status;

const tokenAt = async (base: string, t: TestServer, clientId: string) => {
  const c = t.clients.find((x) => x.client_id === clientId)!;
  const res = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
};

/** `token`'s claims with `iss`, signed with `key` (a fresh `jti`: a new token, not a cached one). */
const resign = (token: string, iss: string, key: SigningKey) =>
  new SignJWT({ ...decodeJwt(token), iss, jti: crypto.randomUUID() })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'at+jwt' })
    .sign(key.privateKey);

describe('PORT=0, PUBLIC_URL and JWT_ISSUER unset: the issuer is the URL actually bound', () => {
  let a: TestServer | undefined;
  const siblings: SiblingServer[] = [];
  afterAll(async () => {
    for (const s of siblings) await s.stop();
    await a?.stop();
  });

  test('metadata issuer = tokens iss = the bound URL (not :0, not :4000); the tokens are accepted', async () => {
    a = await startTestServer({ PORT: '0' });
    expect(a.running.config.publicUrl).toBe('http://127.0.0.1:0');
    expect(new URL(a.url).port).not.toBe('4000');
    const m = await metadataOf(a.url);
    expect(m.issuer).toBe(a.url);
    expect(m.token_endpoint).toBe(`${a.url}/oauth/token`);
    expect(a.running.address.issuer()).toBe(a.url);
    const token = await a.token('demo-gis');
    expect(decodeJwt(token).iss).toBe(a.url);
    expect(await meStatus(a.url, token)).toBe(200);
  });

  test("a token whose iss is another instance's URL is refused (401), though signed with a key both know", async () => {
    // another instance on the same database: it publishes its signing key there, so it knows A's key (it reads the
    // published keys at its first verification); the issuer alone tells their tokens apart
    const b = await startSiblingServer(a!);
    siblings.push(b);
    expect(b.url).not.toBe(a!.url);
    expect((await metadataOf(b.url)).issuer).toBe(b.url);
    const fromB = await tokenAt(b.url, a!, 'demo-gis');
    expect(decodeJwt(fromB).iss).toBe(b.url);
    expect(await meStatus(b.url, fromB)).toBe(200);
    const fromA = await a!.token('demo-gis');
    expect(await meStatus(b.url, fromA)).toBe(401);
    // the refusal is the issuer's: A's token with B's issuer, signed with A's key, is accepted by B
    expect(await meStatus(b.url, await resign(fromA, b.url, a!.running.signingKey))).toBe(200);
    // and A refuses a token of its own key that names B as its issuer
    expect(await meStatus(a!.url, await resign(fromA, b.url, a!.running.signingKey))).toBe(401);
  });

  test('instances given one JWT_ISSUER accept each other’s tokens; the metadata names that issuer', async () => {
    const shared = { JWT_ISSUER: 'https://permits.example.test' };
    const c = await startSiblingServer(a!, shared);
    siblings.push(c);
    const d = await startSiblingServer(a!, shared);
    siblings.push(d);
    const m = await metadataOf(c.url);
    expect(m.issuer).toBe('https://permits.example.test');
    // the endpoints are still where the instance listens (PUBLIC_URL derived from HOST/PORT)
    expect(m.token_endpoint).toBe(`${c.url}/oauth/token`);
    const fromC = await tokenAt(c.url, a!, 'demo-gis');
    expect(decodeJwt(fromC).iss).toBe('https://permits.example.test');
    expect(await meStatus(d.url, fromC)).toBe(200);
    expect(await meStatus(c.url, await tokenAt(d.url, a!, 'demo-gis'))).toBe(200);
    // an instance with an issuer of its own (A: its URL) refuses that issuer, even under its own key
    expect(await meStatus(a!.url, await resign(fromC, 'https://permits.example.test', a!.running.signingKey))).toBe(401);
  });
});

describe('PUBLIC_URL set', () => {
  let t: TestServer | undefined;
  afterAll(() => t?.stop());

  test('the metadata uses it (path prefix kept, trailing slash dropped); issuer = tokens iss = PUBLIC_URL by default', async () => {
    t = await startTestServer({ PUBLIC_URL: 'https://permits.example.gov/gateway/' });
    const m = await metadataOf(t.url);
    expect(m).toMatchObject({
      issuer: 'https://permits.example.gov/gateway',
      token_endpoint: 'https://permits.example.gov/gateway/oauth/token',
      jwks_uri: 'https://permits.example.gov/gateway/.well-known/jwks.json',
    });
    expect(decodeJwt(await t.token('demo-gis')).iss).toBe('https://permits.example.gov/gateway');
    // and the issuer is still checked exactly: the server accepts its own tokens
    expect((await t.gql('{ me { clientId } }', {}, await t.token('demo-gis'))).status).toBe(200);
  });

  test('an explicit JWT_ISSUER stays the exact iss and the metadata issuer; the endpoints stay under PUBLIC_URL', () => {
    const c = loadConfig({ PUBLIC_URL: 'https://api.example.gov', JWT_ISSUER: 'https://id.example.gov/tenant' });
    expect(c.jwt.issuer).toBe('https://id.example.gov/tenant');
    expect(c.metadataIssuer).toBe('https://id.example.gov/tenant');
    expect(c.publicUrl).toBe('https://api.example.gov');
  });
});

describe('configuration', () => {
  test('derived from HOST/PORT in development and test (wildcards become loopback, IPv6 bracketed)', () => {
    expect(loadConfig({ PORT: '8123' }).publicUrl).toBe('http://127.0.0.1:8123');
    // the issuer is that URL too: metadata issuer = tokens' iss
    expect(loadConfig({ PORT: '8123' }).jwt.issuer).toBe('http://127.0.0.1:8123');
    expect(loadConfig({ PORT: '8123' }).metadataIssuer).toBe('http://127.0.0.1:8123');
    expect(loadConfig({ PORT: '8123' }).issuerDerived).toBe(true);
    expect(loadConfig({ PORT: '8123', JWT_ISSUER: 'https://id.example.gov' }).issuerDerived).toBe(false);
    expect(loadConfig({ PORT: '8123', PUBLIC_URL: 'https://api.example.gov' }).issuerDerived).toBe(false);
    expect(loadConfig({ APP_ENV: 'test', HOST: '0.0.0.0', PORT: '9000' }).publicUrl).toBe('http://127.0.0.1:9000');
    expect(loadConfig({ HOST: '::', PORT: '9000' }).publicUrl).toBe('http://[::1]:9000');
    expect(loadConfig({ HOST: '::1', PORT: '9000' }).publicUrl).toBe('http://[::1]:9000');
    expect(loadConfig({ HOST: 'localhost' }).publicUrl).toBe('http://localhost:4000');
  });

  test('a derived address follows the port bound; PUBLIC_URL and JWT_ISSUER do not', () => {
    const derived = createPublicAddress(loadConfig({ APP_ENV: 'test', PORT: '0' }));
    expect(derived.issuer()).toBe('http://127.0.0.1:0');
    derived.listeningOn(41234);
    expect([derived.url(), derived.issuer(), derived.metadataIssuer()]).toEqual(Array(3).fill('http://127.0.0.1:41234'));
    const fixedIssuer = createPublicAddress(loadConfig({ PORT: '0', JWT_ISSUER: 'https://id.example.gov' }));
    fixedIssuer.listeningOn(41234);
    expect([fixedIssuer.url(), fixedIssuer.issuer(), fixedIssuer.metadataIssuer()]).toEqual([
      'http://127.0.0.1:41234',
      'https://id.example.gov',
      'https://id.example.gov',
    ]);
    const publicUrl = createPublicAddress(loadConfig({ PORT: '0', PUBLIC_URL: 'https://permits.example.gov' }));
    publicUrl.listeningOn(41234);
    expect([publicUrl.url(), publicUrl.issuer(), publicUrl.metadataIssuer()]).toEqual(Array(3).fill('https://permits.example.gov'));
  });

  test('production: JWT_ISSUER unset leaves the development placeholder, which the production checks refuse', () => {
    const c = loadConfig({ APP_ENV: 'production', PUBLIC_URL: 'https://permits.example.gov', PORT: '8123' });
    expect(c.jwt.issuer).toBe(DEV_ISSUER);
    expect(c.issuerDerived).toBe(false);
    const p = productionProblems(c, { signingKey: { development: false }, schema: buildSchema() });
    expect(p.some((x) => x.startsWith('JWT_ISSUER is the development default'))).toBe(true);
  });

  for (const bad of [
    'not a url',
    'ftp://permits.example.gov',
    'https://permits.example.gov/?x=1',
    'https://permits.example.gov/#top',
    'https://user:pw@permits.example.gov',
  ]) {
    test(`PUBLIC_URL=${bad} stops start-up naming PUBLIC_URL`, () => {
      expect(() => loadConfig({ PUBLIC_URL: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ PUBLIC_URL: bad })).toThrow(/PUBLIC_URL/);
    });
  }

  test('a bad PUBLIC_URL stops the real server with a message naming it', async () => {
    const proc = Bun.spawn([process.execPath, 'run', 'src/main.ts'], {
      cwd: join(import.meta.dir, '../..'),
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        PUBLIC_URL: 'permits.example.gov',
        DATA_DIR: '/nonexistent/never-created',
      },
      stdout: 'pipe',
      stderr: 'pipe',
    });
    const timer = setTimeout(() => proc.kill(), 30_000);
    const code = await proc.exited;
    clearTimeout(timer);
    expect(code).not.toBe(0);
    expect(await new Response(proc.stderr).text()).toContain('PUBLIC_URL');
  });

  test('production: PUBLIC_URL defaults to JWT_ISSUER; with JWKS_URL it must be set', async () => {
    const schema = buildSchema();
    const prod = {
      APP_ENV: 'production',
      SIGNING_KEY_PEM: 'x',
      JWT_ISSUER: 'https://permits.example.gov',
      JWT_AUDIENCE: 'pg-prod',
      CORS_ORIGINS: '',
    };
    expect(loadConfig(prod).publicUrl).toBe('https://permits.example.gov');
    expect(loadConfig({ ...prod, PUBLIC_URL: 'https://edge.example.gov' }).publicUrl).toBe('https://edge.example.gov');
    const external = { ...prod, JWT_ISSUER: 'https://idp.example.gov', JWKS_URL: 'https://idp.example.gov/jwks' };
    const p = productionProblems(loadConfig(external), { signingKey: { development: false }, schema });
    expect(p).toHaveLength(1);
    expect(p[0]).toStartWith('PUBLIC_URL');
    expect(
      productionProblems(loadConfig({ ...external, PUBLIC_URL: 'https://permits.example.gov' }), {
        signingKey: { development: false },
        schema,
      }),
    ).toEqual([]);
  });
});
