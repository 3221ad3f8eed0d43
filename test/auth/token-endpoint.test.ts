/**
 * Issue 3, acceptance 6 and the token endpoint's contract (RFC 6749 §4.4 / §5.2) over real HTTP:
 * client authentication methods, error codes, scope narrowing, timing parity of unknown client vs wrong secret,
 * lock-out per client id and per address, and the claims of issued tokens.
 *
 * The lock-out also counts failures per peer address, so tests that fail on purpose send from their own
 * loopback addresses (127.0.0.x via node:http `localAddress`) and never lock the others out.
 */
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from 'bun:test';
import http from 'node:http';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// every request may run argon2 or start servers; shared CI machines are slow
setDefaultTimeout(60_000);

let t: TestServer;
let admin: string;
beforeAll(async () => {
  t = await startTestServer();
  admin = await t.token('demo-admin');
}, 120_000);
afterAll(() => t?.stop());

interface TokenResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, any>;
  ms: number;
}

/** POST /oauth/token from a chosen loopback source address. */
function tokenRequest(
  form: Record<string, string>,
  opts: { from?: string; headers?: Record<string, string>; server?: TestServer } = {},
): Promise<TokenResponse> {
  const url = new URL((opts.server ?? t).url);
  const body = new URLSearchParams(form).toString();
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: Number(url.port),
        method: 'POST',
        path: '/oauth/token',
        agent: false,
        ...(opts.from ? { localAddress: opts.from } : {}),
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), ...opts.headers },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          const ms = performance.now() - started;
          let parsed: Record<string, any>;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = { raw: text };
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed, ms });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const secretOf = (id: string) => t.clients.find((c) => c.client_id === id)!.client_secret;
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
let nextHost = 10;
/** A fresh loopback source address (127.0.0.10 … 127.0.0.250). */
const freshAddress = () => `127.0.0.${nextHost++}`;
let nextStranger = 10;
/** A fresh loopback source address for the lock-out tests (127.1.x.y, apart from freshAddress's range). */
const strangerAddress = () => `127.1.${Math.floor(nextStranger / 250)}.${(nextStranger++ % 250) + 1}`;

async function register(clientId: string, role = 'gis_vendor') {
  const r = await t.gql(
    `mutation($id: ID!, $role: Role!) { registerClient(input: { clientId: $id, role: $role, jurisdiction: "demo-city" }) { clientSecret } }`,
    { id: clientId, role },
    admin,
  );
  expect(r.body.errors).toBeUndefined();
  return r.body.data.registerClient.clientSecret as string;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

describe('client authentication', () => {
  test('client_secret_basic works', async () => {
    const r = await tokenRequest(
      { grant_type: 'client_credentials' },
      { headers: { authorization: basic('demo-gis', secretOf('demo-gis')) } },
    );
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ token_type: 'Bearer', expires_in: 900, scope: 'permits:read:public parcels:read' });
    expect(r.headers['cache-control']).toBe('no-store');
  }, 120_000);

  test('client_secret_post works', async () => {
    const r = await tokenRequest({ grant_type: 'client_credentials', client_id: 'demo-gis', client_secret: secretOf('demo-gis') });
    expect(r.status).toBe(200);
    expect(typeof r.body.access_token).toBe('string');
  }, 120_000);

  test('both methods at once → 400 invalid_request', async () => {
    const r = await tokenRequest(
      { grant_type: 'client_credentials', client_id: 'demo-gis', client_secret: secretOf('demo-gis') },
      { headers: { authorization: basic('demo-gis', secretOf('demo-gis')) } },
    );
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('invalid_request');
    expect(r.body.access_token).toBeUndefined();
  }, 120_000);

  test('wrong secret and unknown client → 401 invalid_client, indistinguishable bodies', async () => {
    const wrong = await tokenRequest(
      { grant_type: 'client_credentials', client_id: 'demo-gis', client_secret: 'nope' },
      { from: freshAddress() },
    );
    const unknown = await tokenRequest(
      { grant_type: 'client_credentials', client_id: 'no-such-client', client_secret: 'nope' },
      { from: freshAddress() },
    );
    for (const r of [wrong, unknown]) {
      expect(r.status).toBe(401);
      expect(r.body.error).toBe('invalid_client');
    }
    expect(wrong.body).toEqual(unknown.body);
    const wrongBasic = await tokenRequest(
      { grant_type: 'client_credentials' },
      { from: freshAddress(), headers: { authorization: basic('demo-gis', 'nope') } },
    );
    expect(wrongBasic.status).toBe(401);
    expect(wrongBasic.body.error).toBe('invalid_client');
    expect(wrongBasic.headers['www-authenticate']).toStartWith('Basic');
  }, 120_000);

  test('timing: unknown client vs wrong secret, 20 attempts each, medians within 50 % (argon2 runs either way)', async () => {
    // warm-up both paths (first argon2 use, JIT), with other ids so the measured ids stay under their lock-out
    await tokenRequest({ grant_type: 'client_credentials', client_id: 'demo-analyst', client_secret: 'warm' }, { from: freshAddress() });
    await tokenRequest({ grant_type: 'client_credentials', client_id: 'warm-unknown', client_secret: 'warm' }, { from: freshAddress() });
    // A skipped argon2 shows as a many-fold gap in every round; a busy shared machine can skew one round.
    // So: up to 3 rounds (a fresh client each, 20 + 20 attempts, interleaved in alternating order), one must pass.
    const diffs: string[] = [];
    for (let round = 0; round < 3; round++) {
      const id = `timing-${round}-${Date.now().toString(36)}`;
      await register(id);
      const wrong: number[] = [];
      const unknown: number[] = [];
      for (let i = 0; i < 20; i++) {
        const w = () =>
          tokenRequest({ grant_type: 'client_credentials', client_id: id, client_secret: `wrong-${i}` }, { from: freshAddress() });
        const u = () =>
          tokenRequest(
            { grant_type: 'client_credentials', client_id: `${id}-x${i}`, client_secret: `wrong-${i}` },
            { from: freshAddress() },
          );
        const [rw, ru] = i % 2 ? ([await w(), await u()] as const) : ((r) => [r[1], r[0]] as const)([await u(), await w()] as const);
        expect([rw.status, ru.status]).toEqual([401, 401]);
        expect(rw.body).toEqual(ru.body);
        wrong.push(rw.ms);
        unknown.push(ru.ms);
      }
      const [mw, mu] = [median(wrong), median(unknown)];
      const diff = Math.abs(mw - mu) / Math.min(mw, mu);
      diffs.push(`wrong secret ${mw.toFixed(1)} ms vs unknown client ${mu.toFixed(1)} ms (${(diff * 100).toFixed(0)} %)`);
      if (diff < 0.5) break;
    }
    console.log(`token endpoint failure medians: ${diffs.join('; ')}`);
    expect(Number(/\((\d+) %\)$/.exec(diffs.at(-1)!)![1])).toBeLessThan(50);
  }, 600_000);
});

describe('grant and scope', () => {
  test('unsupported grant → 400 unsupported_grant_type; missing grant → invalid_request; GET → 405', async () => {
    for (const grant_type of ['password', 'authorization_code', 'urn:ietf:params:oauth:grant-type:jwt-bearer']) {
      const r = await tokenRequest({ grant_type, client_id: 'demo-gis', client_secret: secretOf('demo-gis') });
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('unsupported_grant_type');
    }
    const none = await tokenRequest({ client_id: 'demo-gis', client_secret: secretOf('demo-gis') });
    expect(none.status).toBe(400);
    expect(none.body.error).toBe('invalid_request');
    expect((await fetch(`${t.url}/oauth/token`)).status).toBe(405);
  }, 120_000);

  test('scope narrowing: a clerk token with only permits:read reads permits, is refused applicant data and transitions', async () => {
    const r = await tokenRequest({
      grant_type: 'client_credentials',
      client_id: 'demo-clerk',
      client_secret: secretOf('demo-clerk'),
      scope: 'permits:read',
    });
    expect(r.status).toBe(200);
    expect(r.body.scope).toBe('permits:read');
    const token = r.body.access_token as string;
    expect(decodeJwt(token).scope).toBe('permits:read');
    const ok = await t.gql(`{ permits(first: 1) { edges { node { number } } } }`, {}, token);
    expect(ok.status).toBe(200);
    expect(ok.body.errors).toBeUndefined();
    const pii = await t.gql(`{ permits(first: 1) { edges { node { applicant { email } } } } }`, {}, token);
    expect(pii.status).toBe(403);
    expect(pii.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(pii.body.errors?.[0]?.extensions?.fields).toContain('permits.edges.node.applicant');
    const move = await t.gql(`mutation { transitionPermit(number: "DC-X", to: UNDER_REVIEW) { status } }`, {}, token);
    expect(move.status).toBe(403);
    expect(move.body.errors?.[0]?.extensions?.fields).toEqual(['transitionPermit']);
    // the full-scope token of the same client is allowed (control)
    const full = await t.gql(`{ permits(first: 1) { edges { node { applicant { email } } } } }`, {}, await t.token('demo-clerk'));
    expect(full.status).toBe(200);
  }, 120_000);

  test('a scope outside the role → 400 invalid_scope (also mixed with allowed ones, and an empty scope)', async () => {
    for (const scope of ['clients:manage', 'permits:submit clients:manage', 'permits:read:pii', 'nonsense', ' ']) {
      const r = await tokenRequest({
        grant_type: 'client_credentials',
        client_id: 'demo-contractor-a',
        client_secret: secretOf('demo-contractor-a'),
        scope,
      });
      expect({ scope, status: r.status, error: r.body.error }).toEqual({ scope, status: 400, error: 'invalid_scope' });
    }
  }, 120_000);
});

describe('lock-out', () => {
  // Issue 18 item 6 changed this test's expectation: the lock-out was per client id from any address, so 20 wrong
  // secrets from strangers locked the real client out. It is now per (client, address) and per address.
  test('20 failures for one client from one address → that address gets 429 for it (even with the right secret); the owner elsewhere gets tokens', async () => {
    const id = `lockout-${Date.now().toString(36)}`;
    const secret = await register(id);
    const attacker = strangerAddress();
    for (let i = 0; i < 20; i++) {
      const r = await tokenRequest({ grant_type: 'client_credentials', client_id: id, client_secret: `bad-${i}` }, { from: attacker });
      expect({ i, status: r.status }).toEqual({ i, status: 401 });
    }
    const locked = await tokenRequest({ grant_type: 'client_credentials', client_id: id, client_secret: 'bad-21' }, { from: attacker });
    expect(locked.status).toBe(429);
    expect(locked.body.error).toBe('slow_down');
    const retryAfter = Number(locked.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    const rightFromAttacker = await tokenRequest(
      { grant_type: 'client_credentials', client_id: id, client_secret: secret },
      { from: attacker },
    );
    expect(rightFromAttacker.status).toBe(429);
    // the owner at its own address, by either authentication method
    const owner = strangerAddress();
    const post = await tokenRequest({ grant_type: 'client_credentials', client_id: id, client_secret: secret }, { from: owner });
    expect(post.status).toBe(200);
    const viaBasic = await tokenRequest(
      { grant_type: 'client_credentials' },
      { from: owner, headers: { authorization: basic(id, secret) } },
    );
    expect(viaBasic.status).toBe(200);
    // other clients are not affected
    const other = await tokenRequest(
      { grant_type: 'client_credentials', client_id: 'demo-gis', client_secret: secretOf('demo-gis') },
      { from: strangerAddress() },
    );
    expect(other.status).toBe(200);
  }, 120_000);

  test('issue 18 item 6: wrong secrets for one client from many addresses never lock its owner out', async () => {
    const id = `spread-${Date.now().toString(36)}`;
    const secret = await register(id);
    const owner = strangerAddress();
    // 3 strangers × 15 failures, then 30 strangers × 1: 75 failures for this client id, none over a pair's limit
    for (let a = 0; a < 3; a++) {
      const from = strangerAddress();
      for (let i = 0; i < 15; i++) {
        const r = await tokenRequest({ grant_type: 'client_credentials', client_id: id, client_secret: `bad-${a}-${i}` }, { from });
        expect(r.status).toBe(401);
      }
    }
    for (let a = 0; a < 30; a++) {
      const r = await tokenRequest(
        { grant_type: 'client_credentials', client_id: id, client_secret: `bad-${a}` },
        { from: strangerAddress() },
      );
      expect(r.status).toBe(401);
    }
    const ok = await tokenRequest({ grant_type: 'client_credentials', client_id: id, client_secret: secret }, { from: owner });
    expect(ok.status).toBe(200);
    // the default source address (the other tests' one) is not locked either
    expect((await tokenRequest({ grant_type: 'client_credentials', client_id: id, client_secret: secret })).status).toBe(200);
  }, 120_000);

  test('20 failures in a minute from one address (different ids) → that address gets 429, others do not', async () => {
    const from = freshAddress();
    for (let i = 0; i < 20; i++) {
      const r = await tokenRequest({ grant_type: 'client_credentials', client_id: `spray-${i}`, client_secret: 'x' }, { from });
      expect(r.status).toBe(401);
    }
    const locked = await tokenRequest(
      { grant_type: 'client_credentials', client_id: 'demo-gis', client_secret: secretOf('demo-gis') },
      { from },
    );
    expect(locked.status).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    const elsewhere = await tokenRequest(
      { grant_type: 'client_credentials', client_id: 'demo-gis', client_secret: secretOf('demo-gis') },
      { from: freshAddress() },
    );
    expect(elsewhere.status).toBe(200);
  }, 120_000);
});

describe('issue 18 item 6: lock-out behind a trusted proxy keys on the forwarded client address', () => {
  const PROXY = '127.2.0.1';
  let p: TestServer;
  beforeAll(async () => {
    p = await startTestServer({ TRUSTED_PROXIES: PROXY });
  }, 120_000);
  afterAll(() => p?.stop());

  const viaProxy = (form: Record<string, string>, peer: string, forwardedFor: string) =>
    tokenRequest(form, { server: p, from: peer, headers: { 'x-forwarded-for': forwardedFor } });

  test('an attacking client address is slowed down, the owner behind the same proxy is not', async () => {
    const gis = p.clients.find((c) => c.client_id === 'demo-gis')!;
    for (let i = 0; i < 20; i++) {
      const r = await viaProxy(
        { grant_type: 'client_credentials', client_id: 'demo-gis', client_secret: `bad-${i}` },
        PROXY,
        '203.0.113.9',
      );
      expect(r.status).toBe(401);
    }
    const attacker = await viaProxy(
      { grant_type: 'client_credentials', client_id: 'demo-gis', client_secret: gis.client_secret },
      PROXY,
      '203.0.113.9',
    );
    expect(attacker.status).toBe(429);
    const owner = await viaProxy(
      { grant_type: 'client_credentials', client_id: 'demo-gis', client_secret: gis.client_secret },
      PROXY,
      '198.51.100.7',
    );
    expect(owner.status).toBe(200);
  }, 120_000);

  test('from an untrusted peer X-Forwarded-For is ignored: rotating it does not dodge the lock-out', async () => {
    const gis = p.clients.find((c) => c.client_id === 'demo-gis')!;
    const peer = '127.2.0.2';
    for (let i = 0; i < 20; i++) {
      const r = await viaProxy(
        { grant_type: 'client_credentials', client_id: 'demo-gis', client_secret: `bad-${i}` },
        peer,
        `198.51.100.${i + 20}`,
      );
      expect(r.status).toBe(401);
    }
    const r = await viaProxy(
      { grant_type: 'client_credentials', client_id: 'demo-gis', client_secret: gis.client_secret },
      peer,
      '198.51.100.99',
    );
    expect(r.status).toBe(429);
  }, 120_000);
});

describe('issued tokens', () => {
  test('ES256 with a published kid; iss aud sub jti iat nbf exp scope jurisdiction (+ contractor); lifetime ≤ 900 s', async () => {
    const jwks = (await (await fetch(`${t.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
    const keySet = createLocalJWKSet(jwks);
    for (const [id, contractor] of [
      ['demo-contractor-a', true],
      ['demo-clerk', false],
      ['demo-admin', false],
    ] as const) {
      const issued = await tokenRequest({ grant_type: 'client_credentials', client_id: id, client_secret: secretOf(id) });
      expect(issued.status).toBe(200);
      const token = issued.body.access_token as string;
      const header = decodeProtectedHeader(token);
      expect(header.alg).toBe('ES256');
      expect(typeof header.kid).toBe('string');
      expect(jwks.keys.map((k) => k.kid)).toContain(header.kid!);
      const { payload } = await jwtVerify(token, keySet, {
        issuer: t.running.address.issuer(),
        audience: t.running.config.jwt.audience,
        algorithms: ['ES256'],
      });
      for (const claim of ['iss', 'aud', 'sub', 'jti', 'iat', 'nbf', 'exp', 'scope', 'jurisdiction']) {
        expect({ id, claim, present: payload[claim] !== undefined }).toEqual({ id, claim, present: true });
      }
      expect(payload.sub).toBe(id);
      expect(payload.jurisdiction).toBe('demo-city');
      expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(900);
      expect(payload.nbf).toBeLessThanOrEqual(payload.iat! + 1);
      expect(Math.abs(payload.iat! - Date.now() / 1000)).toBeLessThan(120);
      const client = t.clients.find((c) => c.client_id === id)!;
      if (contractor) expect(payload.contractor).toBe(client.contractor!);
      else expect(payload.contractor).toBeUndefined();
      expect(payload.cnf).toBeUndefined();
      expect(JSON.stringify(payload)).not.toContain(client.client_secret);
    }
    const a = decodeJwt(await t.token('demo-contractor-a'));
    const b = decodeJwt(await t.token('demo-contractor-b'));
    expect(a.jti).not.toBe(b.jti);
    expect(a.contractor).not.toBe(b.contractor);
  }, 120_000);

  test('RFC 8414 metadata names the token endpoint and the auth methods', async () => {
    const r = await fetch(`${t.url}/.well-known/oauth-authorization-server`);
    expect(r.status).toBe(200);
    const m = (await r.json()) as Record<string, any>;
    // issuer = the tokens' exact iss = the URL the server bound (test, no JWT_ISSUER nor PUBLIC_URL)
    expect(m.issuer).toBe(t.running.address.issuer());
    expect(m.issuer).toBe(t.url);
    expect(m.token_endpoint).toEndWith('/oauth/token');
    expect(m.grant_types_supported).toEqual(['client_credentials']);
    expect(m.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(['client_secret_basic', 'client_secret_post']));
  }, 120_000);
});
