/**
 * Every HTTP route has a rate-limit decision (src/http/route-table.ts), and this file holds each to it over real HTTP:
 * a `bucket` route answers 429 RATE_LIMITED with Retry-After once its caller's anonymous budget is spent, a `priced`
 * route once the caller's bucket is, `/oauth/token` once an address has failed too often, and an `exempt` route never,
 * even to a caller whose budget is gone. A route added to the table without a case here fails the first test.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { HTTP_ROUTES } from '../../src/app.ts';
import type { RouteLimit, RouteName } from '../../src/http/route-table.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

setDefaultTimeout(120_000);

interface Case {
  /** The decision this route must keep: changing a route's limit means changing it here too. */
  limit: RouteLimit;
  path: string;
  init?: RequestInit;
  /** A demo client whose token the request carries (a route that needs one). */
  client?: string;
}

const badLogin = new URLSearchParams({ grant_type: 'client_credentials', client_id: 'no-such-client', client_secret: 'wrong' });

const CASES: Record<RouteName, Case> = {
  '/graphql': {
    limit: 'priced',
    path: '/graphql',
    init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) },
  },
  '/oauth/token': { limit: 'login-throttle', path: '/oauth/token', init: { method: 'POST', body: badLogin } },
  '/graphiql-assets/{file}': { limit: 'exempt', path: '/graphiql-assets/graphiql.css' },
  '/ogc/{path}': { limit: 'priced', path: '/ogc/collections', client: 'demo-gis' },
  '/metrics': { limit: 'exempt', path: '/metrics' },
  '/.well-known/jwks.json': { limit: 'bucket', path: '/.well-known/jwks.json' },
  '/.well-known/oauth-authorization-server': { limit: 'exempt', path: '/.well-known/oauth-authorization-server' },
  '/audit/checkpoint': { limit: 'bucket', path: '/audit/checkpoint' },
  '/audit/verifier-key': { limit: 'bucket', path: '/audit/verifier-key' },
  '/healthz': { limit: 'exempt', path: '/healthz' },
  '/readyz': { limit: 'exempt', path: '/readyz' },
  '/audit/tile/{path}': { limit: 'bucket', path: '/audit/tile/0/000' },
  '/schema.graphql': { limit: 'priced', path: '/schema.graphql', client: 'demo-analyst' },
  '/status/{number}': { limit: 'bucket', path: '/status/NO-SUCH-PERMIT' },
};

test('every route in the table has a case here, with the decision the table gives it', () => {
  for (const name of Object.keys(HTTP_ROUTES) as RouteName[]) {
    expect({ name, limit: CASES[name]?.limit }).toEqual({ name, limit: HTTP_ROUTES[name].limit });
  }
  expect(Object.keys(CASES).sort()).toEqual(Object.keys(HTTP_ROUTES).sort());
});

describe('past its budget, every route answers as its decision says', () => {
  let t: TestServer;
  beforeAll(async () => {
    // anonymous: a burst of 2, half a token a second; gis_vendor: a burst of 15. The test's requests arrive through
    // a trusted proxy (the loopback address) naming a client address of their own, so each route drains its own bucket
    t = await startTestServer({ RATE_LIMIT_SCALE: '0.1', TRUSTED_PROXIES: '127.0.0.1' });
  }, 180_000);
  afterAll(() => t?.stop());

  let nextAddress = 1;
  const send = async (c: Pick<Case, 'path' | 'init' | 'client'>, address: string) => {
    const headers = new Headers(c.init?.headers);
    headers.set('x-forwarded-for', address);
    if (c.client) headers.set('authorization', `Bearer ${await t.token(c.client)}`);
    return fetch(`${t.url}${c.path}`, { ...c.init, headers });
  };
  /** Sends until the first 429 (returned, body unread) or `max` requests; every status on the way. */
  const drain = async (c: Pick<Case, 'path' | 'init' | 'client'>, address: string, max: number) => {
    const statuses: number[] = [];
    for (let i = 0; i < max; i++) {
      const res = await send(c, address);
      statuses.push(res.status);
      if (res.status === 429) return { statuses, refused: res };
      await res.arrayBuffer();
    }
    return { statuses, refused: null };
  };

  for (const [name, c] of Object.entries(CASES) as [RouteName, Case][]) {
    test(`${name} (${c.limit})`, async () => {
      const address = `198.51.100.${nextAddress++}`;
      if (c.limit === 'exempt') {
        // the caller's anonymous budget is spent on a limited route first
        expect((await drain(CASES['/status/{number}'], address, 10)).refused).not.toBeNull();
        for (let i = 0; i < 5; i++) {
          const res = await send(c, address);
          await res.arrayBuffer();
          expect({ name, status: res.status }).not.toEqual({ name, status: 429 });
        }
        return;
      }
      const { statuses, refused } = await drain(c, address, c.limit === 'bucket' ? 10 : 60);
      expect(statuses[0]).not.toBe(429);
      expect(refused).not.toBeNull();
      expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      const body = (await refused!.json()) as Record<string, any>;
      if (c.limit === 'bucket') {
        expect(body).toEqual({ error: 'rate_limited', code: 'RATE_LIMITED', message: expect.stringContaining('retry after') });
        // a route's own address: its own requests spent the budget (a burst of 2), not another route's
        expect(statuses.length).toBeLessThanOrEqual(4);
      } else if (c.limit === 'login-throttle') {
        expect(body).toMatchObject({ error: 'slow_down' });
      } else if (name === '/graphql') {
        expect(body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
      } else if (name === '/schema.graphql') {
        expect(body).toMatchObject({ code: 'RATE_LIMITED' });
        // without a token nothing is charged: 401, however spent the holder's budget is
        expect((await send({ path: c.path }, address)).status).toBe(401);
      } else {
        expect(body).toMatchObject({ code: 'TooManyRequests' });
        // without a token the OGC API reads nothing: 401, however spent the address's budget is
        const anonymous = await send({ path: c.path }, address);
        expect(anonymous.status).toBe(401);
      }
    });
  }
});
