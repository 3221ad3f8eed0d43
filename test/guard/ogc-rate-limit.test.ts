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
  t = await startTestServer({ RATE_LIMIT_SCALE: '0.1' });
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
