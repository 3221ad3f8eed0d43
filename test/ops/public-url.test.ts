/**
 * Issue 18 item 10: discovery tells the truth. The OAuth metadata (RFC 8414) names where this server really is:
 * PUBLIC_URL when set, else (development, test) derived from HOST/PORT; `issuer` is the exact `iss` of the tokens
 * (JWT_ISSUER, by default PUBLIC_URL). It used to say port 4000 whatever PORT was.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { ConfigError, DEV_ISSUER, loadConfig } from '../../src/config.ts';
import { buildSchema } from '../../src/graphql/schema.ts';
import { productionProblems } from '../../src/ops/production-checks.ts';
import { startAppProcess, type AppProcess } from '../helpers/app-process.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

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
    // a client following the metadata gets a token there, and it is accepted; its iss is JWT_ISSUER's development
    // default, the same for every instance whatever its port (several instances on one database share tokens)
    const c = app.clients().find((x) => x.client_id === 'demo-analyst')!;
    const res = await fetch(m.token_endpoint!, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret }),
    });
    expect(res.status).toBe(200);
    const token = ((await res.json()) as { access_token: string }).access_token;
    expect(decodeJwt(token).iss).toBe(DEV_ISSUER);
    const me = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ me { clientId } }' }),
    });
    expect(me.status).toBe(200);
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
    expect(loadConfig({ PORT: '8123' }).jwt.issuer).toBe(DEV_ISSUER);
    expect(loadConfig({ PORT: '8123' }).metadataIssuer).toBe('http://127.0.0.1:8123');
    expect(loadConfig({ APP_ENV: 'test', HOST: '0.0.0.0', PORT: '9000' }).publicUrl).toBe('http://127.0.0.1:9000');
    expect(loadConfig({ HOST: '::', PORT: '9000' }).publicUrl).toBe('http://[::1]:9000');
    expect(loadConfig({ HOST: '::1', PORT: '9000' }).publicUrl).toBe('http://[::1]:9000');
    expect(loadConfig({ HOST: 'localhost' }).publicUrl).toBe('http://localhost:4000');
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
