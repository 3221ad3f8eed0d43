/**
 * The OGC API's rate limit (issue 21): the same per-client bucket as GraphQL, a page priced by the features it can
 * return (1 token on arrival, 1 more per 100 of `limit`, a full burst at most), 429 with Retry-After as an OGC
 * exception, and the refusal audited.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/rows.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

setDefaultTimeout(120_000);

let t: TestServer;
beforeAll(async () => {
  // gis_vendor: 5 tokens a second, a burst of 15; clerk: 3 a second, a burst of 9
  t = await startTestServer({ RATE_LIMIT_SCALE: '0.1', CORS_ORIGINS: 'http://localhost:5173' });
}, 180_000);
afterAll(() => t?.stop());

const get = (path: string, token: string) => fetch(`${t.url}${path}`, { headers: { authorization: `Bearer ${token}` } });

test('a 10,000-feature page takes the whole burst: the next request is refused with 429 and Retry-After', async () => {
  const gis = await t.token('demo-gis');
  const big = await get('/ogc/collections/permits/items?limit=10000', gis);
  expect(big.status).toBe(200);
  await big.arrayBuffer();
  const next = await get('/ogc/collections/permits/items?limit=1', gis);
  expect(next.status).toBe(429);
  expect(Number(next.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(await next.json()).toMatchObject({ code: 'TooManyRequests' });
  // the bucket is the client's, shared with GraphQL: a GraphQL request right after OGC emptied it is refused. It
  // refills a token every 200 ms, which a loaded machine can spend between two requests: empty it again and retry
  // (with buckets of their own, GraphQL's burst of 15 would never refuse this one request)
  let gqlStatus = 0;
  for (let attempt = 0; attempt < 5 && gqlStatus !== 429; attempt++) {
    if (attempt > 0) await (await get('/ogc/collections/permits/items?limit=10000', gis)).arrayBuffer();
    gqlStatus = (await t.gql('{ me { clientId } }', {}, gis)).status;
  }
  expect(gqlStatus).toBe(429);
  await t.running.audit.flush();
  const [refusal] = rowsOf<{ entry: any }>(
    await t.tdb.database.db.execute(
      sql`select entry from audit_entries where entry->>'kind' = 'ogc' and entry->>'httpStatus' = '429' order by seq limit 1`,
    ),
  ).map((r) => (typeof r.entry === 'string' ? JSON.parse(r.entry) : r.entry));
  expect(refusal).toMatchObject({ clientId: 'demo-gis', httpStatus: 429, outcome: 'DENIED', path: '/ogc/collections/permits/items' });
});

test('small pages cost little: a burst holds several of them', async () => {
  const clerk = await t.token('demo-clerk');
  // limit=100 costs 2 tokens: four fit in a burst of 9, a 10,000-feature page would not fit after them
  for (let i = 0; i < 4; i++) {
    const r = await get('/ogc/collections/permits/items?limit=100', clerk);
    expect(r.status).toBe(200);
    await r.arrayBuffer();
  }
  const big = await get('/ogc/collections/permits/items?limit=10000', clerk);
  expect(big.status).toBe(429);
});

test('OGC answers carry the RateLimit headers of the budget they were charged to, as GraphQL answers do', async () => {
  // a client whose bucket the tests above left alone: clerk's budget, another jurisdiction
  const clerk = await t.token('demo-clerk-other');
  const page = await get('/ogc/collections/permits/items?limit=100', clerk);
  expect(page.status).toBe(200);
  await page.arrayBuffer();
  const gql = await t.gql('{ me { clientId } }', {}, clerk);
  expect(gql.status).toBe(200);
  // the same policy on both, named by the role
  expect(page.headers.get('ratelimit-policy')).toBe(gql.headers.get('ratelimit-policy'));
  expect(page.headers.get('ratelimit-policy')).toMatch(/^"clerk";q=9;w=\d+$/);
  // 9 tokens, 2 taken by the page (1 on arrival, 1 for its 100 features), 1 by the GraphQL request
  const left = (h: Headers) => Number(/;r=(\d+);t=\d+$/.exec(h.get('ratelimit') ?? '')?.[1]);
  expect(left(page.headers)).toBeGreaterThanOrEqual(7); // 8 if a token was refilled between the two charges
  expect(left(page.headers)).toBeLessThan(9);
  expect(gql.headers.get('ratelimit')).toMatch(/^"clerk";r=\d+;t=\d+$/);
  // a refusal keeps its Retry-After beside them
  const refused = await get('/ogc/collections/permits/items?limit=10000', clerk);
  expect(refused.status).toBe(429);
  expect(refused.headers.get('retry-after')).toBeTruthy();
  expect(refused.headers.get('ratelimit')).toMatch(/^"clerk";r=\d+;t=\d+$/);
});

test('a plain route charged to the bucket shows the budget too, and a page of an allowed origin may read it', async () => {
  const status = await fetch(`${t.url}/status/NO-SUCH-PERMIT`, { headers: { origin: 'http://localhost:5173' } });
  await status.arrayBuffer();
  expect(status.headers.get('ratelimit-policy')).toMatch(/^"anonymous";q=\d+;w=\d+$/);
  expect(status.headers.get('ratelimit')).toMatch(/^"anonymous";r=\d+;t=\d+$/);
  const exposed = (status.headers.get('access-control-expose-headers') ?? '').toLowerCase().split(/\s*,\s*/);
  expect(status.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
  expect(exposed).toEqual(expect.arrayContaining(['ratelimit', 'ratelimit-policy']));
  // an answer shared caches may keep for everyone (the JWKS) must not hand one caller's budget to all
  const jwks = await fetch(`${t.url}/.well-known/jwks.json`);
  await jwks.arrayBuffer();
  expect(jwks.status).toBe(200);
  expect(jwks.headers.get('cache-control')).toContain('public');
  expect(jwks.headers.get('ratelimit')).toBeNull();
});
