/**
 * Issue 3, acceptance 4, end to end: the real app (TRUSTED_PROXIES=127.0.0.1) behind a real nginx
 * (deploy/nginx/permit-gateway.conf) with a generated city CA. A certificate-bound client (RFC 8705) gets a
 * token carrying `cnf.x5t#S256` only through nginx with its certificate, and that token works only together
 * with the same certificate. The forwarded-certificate header is believed only from a trusted proxy address.
 */
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from 'bun:test';
import http from 'node:http';
import { decodeJwt } from 'jose';
import { serve } from '../../src/http/serve.ts';
import { createTestPki, opensslThumbprint, type CertFiles, type TestPki } from '../helpers/certs.ts';
import { NGINX_BIN, nginxAvailable, startNginx, type RunningNginx } from '../helpers/nginx.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// every request may run argon2 or start servers; shared CI machines are slow
setDefaultTimeout(60_000);

const missing = !nginxAvailable();
if (missing) console.warn(`SKIPPED app mTLS tests: ${NGINX_BIN} not found (apt-get install -y nginx)`);

const BOUND = 'bound-gis-a';
const ME = `{ me { clientId role jurisdiction } }`;

describe.skipIf(missing)('certificate-bound tokens through real nginx (RFC 8705)', () => {
  let t: TestServer;
  let pki: TestPki;
  let nginx: RunningNginx;
  let thumbA: string;
  let secret: string;
  let boundToken: string;
  /** The same app and database on a second listener whose TRUSTED_PROXIES does not include 127.0.0.1. */
  let untrusted: ReturnType<typeof serve>;

  beforeAll(async () => {
    pki = createTestPki();
    thumbA = opensslThumbprint(pki.clientA.certPath);
    t = await startTestServer({ TRUSTED_PROXIES: '127.0.0.1' });
    const reg = await t.gql(
      `mutation($input: RegisterClientInput!) { registerClient(input: $input) { clientId clientSecret } }`,
      { input: { clientId: BOUND, role: 'gis_vendor', jurisdiction: 'demo-city', certThumbprint: thumbA } },
      await t.token('demo-admin'),
    );
    expect(reg.body.errors).toBeUndefined();
    secret = reg.body.data.registerClient.clientSecret;
    nginx = await startNginx({
      upstreams: [new URL(t.url).host],
      tlsCertPath: pki.server.certPath,
      tlsKeyPath: pki.server.keyPath,
      clientCaPath: pki.cityCa.certPath,
    });
    untrusted = serve(
      { ...t.running, config: { ...t.running.config, trustedProxies: ['10.0.0.0/8'] } },
      { hostname: '127.0.0.1', port: 0 },
    );
  }, 120_000);

  afterAll(async () => {
    await untrusted?.stop(true);
    await nginx?.stop();
    await t?.stop();
    pki?.cleanup();
  });

  /** A fresh TLS connection per request, so one request's client certificate never serves another. */
  const viaNginx = (client: CertFiles | null, path: string, init: RequestInit = {}) =>
    fetch(`${nginx.url}${path}`, {
      ...init,
      keepalive: false,
      tls: client ? { cert: client.cert, key: client.key, ca: pki.cityCa.cert } : { ca: pki.cityCa.cert },
    });

  const tokenForm = () => new URLSearchParams({ grant_type: 'client_credentials', client_id: BOUND, client_secret: secret });
  const gqlInit = (token: string, headers: Record<string, string> = {}): RequestInit => ({
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
    body: JSON.stringify({ query: ME }),
  });

  test('token request through nginx with the registered certificate → token with cnf.x5t#S256 of that certificate', async () => {
    const r = await viaNginx(pki.clientA, '/oauth/token', { method: 'POST', body: tokenForm() });
    expect(r.status).toBe(200);
    boundToken = ((await r.json()) as { access_token: string }).access_token;
    const claims = decodeJwt(boundToken);
    expect(claims.sub).toBe(BOUND);
    expect(claims.cnf).toEqual({ 'x5t#S256': thumbA });
  });

  test('GraphQL `me` through nginx with the same certificate → 200', async () => {
    const r = await viaNginx(pki.clientA, '/graphql', gqlInit(boundToken));
    expect(r.status).toBe(200);
    const body = (await r.json()) as any;
    expect(body.errors).toBeUndefined();
    expect(body.data.me).toEqual({ clientId: BOUND, role: 'gis_vendor', jurisdiction: 'demo-city' });
  });

  test('the bound token with another valid certificate (client B) → 401 invalid_token', async () => {
    const r = await viaNginx(pki.clientB, '/graphql', gqlInit(boundToken));
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toStartWith('Bearer error="invalid_token"');
    expect(((await r.json()) as any).data ?? null).toBeNull();
  });

  test('the bound token sent directly to the app (no certificate header) → 401', async () => {
    const r = await fetch(`${t.url}/graphql`, gqlInit(boundToken));
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toStartWith('Bearer error="invalid_token"');
  });

  test('no certificate → refused at nginx; certificate from another CA → refused at nginx', async () => {
    expect((await viaNginx(null, '/graphql', gqlInit(boundToken))).status).toBe(400);
    expect((await viaNginx(pki.foreignClient, '/graphql', gqlInit(boundToken))).status).toBe(400);
  });

  test('token request through nginx with another valid certificate (B), or directly without one → invalid_client', async () => {
    const withB = await viaNginx(pki.clientB, '/oauth/token', { method: 'POST', body: tokenForm() });
    expect(withB.status).toBe(401);
    expect(((await withB.json()) as any).error).toBe('invalid_client');
    const direct = await fetch(`${t.url}/oauth/token`, { method: 'POST', body: tokenForm() });
    expect(direct.status).toBe(401);
    expect(((await direct.json()) as any).error).toBe('invalid_client');
  });

  test('an unbound client works through nginx with any city certificate, and gets no cnf', async () => {
    const c = t.clients.find((x) => x.client_id === 'demo-gis')!;
    const r = await viaNginx(pki.clientB, '/oauth/token', {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret }),
    });
    expect(r.status).toBe(200);
    expect(decodeJwt(((await r.json()) as any).access_token).cnf).toBeUndefined();
  });

  describe('X-Client-Cert sent directly to the app from an address outside TRUSTED_PROXIES → ignored', () => {
    const forged = () => encodeURIComponent(pki.clientA.cert);

    test('app whose TRUSTED_PROXIES excludes 127.0.0.1: token request for the bound client → invalid_client', async () => {
      const r = await fetch(`http://127.0.0.1:${untrusted.port}/oauth/token`, {
        method: 'POST',
        headers: { 'x-client-cert': forged() },
        body: tokenForm(),
      });
      expect(r.status).toBe(401);
      expect(((await r.json()) as any).error).toBe('invalid_client');
    });

    test('same app: the bound token with a forged X-Client-Cert → 401', async () => {
      const r = await fetch(`http://127.0.0.1:${untrusted.port}/graphql`, gqlInit(boundToken, { 'x-client-cert': forged() }));
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toStartWith('Bearer error="invalid_token"');
    });

    test('the app trusting 127.0.0.1 ignores the header from 127.0.0.2 (token request and GraphQL)', async () => {
      const url = new URL(t.url);
      const post = (path: string, body: string, headers: Record<string, string>) =>
        new Promise<{ status: number; text: string }>((resolve, reject) => {
          const req = http.request(
            {
              host: url.hostname,
              port: Number(url.port),
              method: 'POST',
              path,
              localAddress: '127.0.0.2',
              agent: false,
              headers: { ...headers, 'content-length': Buffer.byteLength(body), 'x-client-cert': forged() },
            },
            (res) => {
              let text = '';
              res.on('data', (c) => (text += c));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
            },
          );
          req.on('error', reject);
          req.end(body);
        });
      const tok = await post('/oauth/token', tokenForm().toString(), { 'content-type': 'application/x-www-form-urlencoded' });
      expect(tok.status).toBe(401);
      expect(JSON.parse(tok.text).error).toBe('invalid_client');
      const me = await post('/graphql', JSON.stringify({ query: ME }), {
        'content-type': 'application/json',
        authorization: `Bearer ${boundToken}`,
      });
      expect(me.status).toBe(401);
    });

    test('control: the same forged header from the trusted address 127.0.0.1 is believed (so the refusals above are about trust)', async () => {
      const r = await fetch(`${t.url}/graphql`, gqlInit(boundToken, { 'x-client-cert': forged() }));
      expect(r.status).toBe(200);
    });
  });
});
