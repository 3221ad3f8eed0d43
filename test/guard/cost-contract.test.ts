/**
 * Issue 25, the cost contract over real HTTP with the real limits: every response carries `extensions.cost`
 * (estimated cost, tokens charged, budget left) and the IETF `RateLimit-Policy` / `RateLimit` headers; a 429 keeps
 * `Retry-After`; a measure-only client (RATE_LIMIT_MEASURE_ONLY) is let through and counted, over the rate limit and
 * over every query limit (aliases, depth, tokens, cost), without Yoga's caches serving that leniency to others; cost and depth
 * histograms per role are exported at /metrics.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';

setDefaultTimeout(120_000);
const BOX = '{ minLon: -180, minLat: -90, maxLon: 180, maxLat: 90 }';
const GEOJSON = `{ permitsGeoJSON(bbox: ${BOX}) }`;
const PAGE = `query Page { permits(first: 10) { edges { node { number inspections { id } } } pageInfo { hasNextPage } } }`;

let t: TestServer;
beforeAll(async () => {
  // demo-gis only measures; every analyst is limited as usual
  t = await startTestServer({ RATE_LIMIT_SCALE: '1', RATE_LIMIT_MEASURE_ONLY: 'demo-gis,role:inspector' });
});
afterAll(() => t?.stop());

describe('cost and budget visible to clients', () => {
  test("a response carries extensions.cost and the RateLimit headers of the caller's policy", async () => {
    const tok = await t.token('demo-clerk');
    const r = await t.gql(PAGE, {}, tok);
    expect(r.status).toBe(200);
    const cost = (r.body as { extensions?: { cost?: any } }).extensions?.cost;
    // permits 1 + edges 10 × (1 + node 1 + number 1 + inspections 1 + 5 × id 1) + pageInfo 1 + hasNextPage 1
    expect(cost.estimated).toBe(1 + 10 * (1 + 1 + 1 + 1 + 5) + 1 + 1);
    expect(cost.tokens).toBe(1);
    expect(cost.budget).toMatchObject({ policy: 'clerk', limit: 90, refillPerSecond: 30 });
    expect(cost.budget.remaining).toBeGreaterThanOrEqual(88);
    expect(cost.budget.remaining).toBeLessThanOrEqual(89);
    expect(r.headers.get('ratelimit-policy')).toBe('"clerk";q=90;w=3');
    expect(r.headers.get('ratelimit')).toMatch(/^"clerk";r=(88|89);t=[01]$/);
  });

  test('an expensive read is charged by its cost and says so', async () => {
    const tok = await t.token('demo-analyst');
    const r = await t.gql(`{ permitStats(groupBy: MONTH) { key count } }`, {}, tok);
    expect(r.status).toBe(200);
    const cost = (r.body as { extensions?: { cost?: any } }).extensions?.cost;
    expect(cost.estimated).toBe(1000 + 120 * 2);
    expect(cost.tokens).toBe(2);
  });

  test('a query refused over the cost limit still tells its estimated cost', async () => {
    const tok = await t.token('demo-clerk');
    const r = await t.gql(`{ a: permitsGeoJSON(bbox: ${BOX}) b: permitsGeoJSON(bbox: ${BOX}) c: permitsGeoJSON(bbox: ${BOX}) }`, {}, tok);
    expect(r.status).toBe(400);
    const cost = (r.body as { extensions?: { cost?: any } }).extensions?.cost;
    expect(cost.estimated).toBe(45_000);
    // and, like every response, the budget left (the request's first token was taken before validation)
    expect(cost.budget).toMatchObject({ policy: 'clerk', limit: 90 });
    expect(r.headers.get('ratelimit-policy')).toBe('"clerk";q=90;w=3');
    expect(r.headers.get('ratelimit')).toMatch(/^"clerk";r=\d+;t=\d+$/);
  });

  test('a 429 keeps Retry-After and carries the empty budget', async () => {
    const tok = await t.token('demo-analyst');
    const results = await Promise.all(Array.from({ length: 5 }, () => t.gql(GEOJSON, {}, tok)));
    const refused = results.find((r) => r.status === 429);
    expect(refused).toBeDefined();
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused!.headers.get('ratelimit')).toMatch(/^"analyst";r=\d+;t=\d+$/);
    // the budget it met: fewer tokens left than the 15 the page takes after its first
    const budget = (refused!.body as { extensions?: { cost?: any } }).extensions?.cost.budget;
    expect(budget.policy).toBe('analyst');
    expect(budget.remaining).toBeLessThan(15);
    expect(refused!.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
  });
});

describe('measure-only mode', () => {
  test('a measure-only client over its budget is let through, counted and marked', async () => {
    const tok = await t.token('demo-gis');
    // gis_vendor: burst 150, 50 a second; two GeoJSON pages (15,000 each by the SDL) take 31 tokens whatever they
    // find, so twelve at once over an empty box (quick to answer, before much refills) would refuse several
    const EMPTY = '{ minLon: 0, minLat: 0, maxLon: 0.001, maxLat: 0.001 }';
    const two = `{ a: permitsGeoJSON(bbox: ${EMPTY}) b: permitsGeoJSON(bbox: ${EMPTY}) }`;
    const results = await Promise.all(Array.from({ length: 12 }, () => t.gql(two, {}, tok)));
    expect(results.map((r) => r.status)).toEqual(Array(12).fill(200));
    const marked = results.filter((r) => (r.body as { extensions?: { cost?: any } }).extensions?.cost.wouldRefuse === true);
    expect(marked.length).toBeGreaterThanOrEqual(3);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    const measured = Number(/^rate_limit_measured_total\{role="gis_vendor"\} (\d+)/m.exec(metrics)?.[1]);
    expect(measured).toBe(marked.length);
    expect(metrics).not.toMatch(/^rate_limit_hits_total\{role="gis_vendor"\}/m);
  });
});

describe('measure-only mode covers every limit a client can hit', () => {
  const aliases = (prefix: string) => `{ ${Array.from({ length: 16 }, (_, i) => `${prefix}${i}: __typename`).join(' ')} }`;
  const nested = (levels: number) => `{ ${'... on Query { '.repeat(levels)}__typename${' }'.repeat(levels)} }`;
  // six tokens per fragment, and nothing else over a limit (fields merged through fragments are not repeats)
  const manyTokens = (fragments: number) => `{ ${'... on Query { __typename } '.repeat(fragments)}}`;
  const costly = `{ a: permitsGeoJSON(bbox: ${BOX}) b: permitsGeoJSON(bbox: ${BOX}) c: permitsGeoJSON(bbox: ${BOX}) }`;
  const cases: [limit: string, query: string][] = [
    ['aliases', aliases('m')],
    ['depth', nested(12)],
    ['tokens', manyTokens(400)],
    ['cost', costly],
  ];

  const measuredCount = async (limit: string, role: string) => {
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    return Number(new RegExp(`^limit_measured_total\\{limit="${limit}",role="${role}"\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0);
  };

  for (const [limit, query] of cases) {
    test(`over the ${limit} limit: a measure-only client is served, logged and counted; others are still refused`, async () => {
      const before = await measuredCount(limit, 'gis_vendor');
      const served = await t.gql(query, {}, await t.token('demo-gis'));
      expect(served.status).toBe(200);
      expect(served.body.errors).toBeUndefined();
      expect(served.body.data).toBeDefined();
      const cost = (served.body as { extensions?: { cost?: any } }).extensions?.cost;
      expect(cost.wouldRefuse).toBe(true);
      expect(cost.wouldRefuseBy).toContain(limit);
      expect(await measuredCount(limit, 'gis_vendor')).toBe(before + 1);
      // the same document from a client that is not measure-only, after it (Yoga's caches carry no leniency)
      const refused = await t.gql(query, {}, await t.token('demo-analyst'));
      expect(refused.status).toBe(400);
      expect(refused.body.errors?.[0]?.extensions?.code).toBe('QUERY_REJECTED');
      expect(await measuredCount(limit, 'analyst')).toBe(0);
    });
  }

  test('a document refused to another client first is still served to a measure-only one', async () => {
    for (const query of [aliases('r'), manyTokens(401)]) {
      const refused = await t.gql(query, {}, await t.token('demo-analyst'));
      expect(refused.status).toBe(400);
      const served = await t.gql(query, {}, await t.token('demo-gis'));
      expect(served.status).toBe(200);
      expect(served.body.errors).toBeUndefined();
    }
  });

  test('a batch over the limit is served to them, and refused to others', async () => {
    const body = JSON.stringify(Array.from({ length: 11 }, () => ({ query: '{ me { clientId } }' })));
    const post = async (client: string) =>
      fetch(`${t.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await t.token(client)}` },
        body,
      });
    const before = await measuredCount('batch', 'gis_vendor');
    const served = await post('demo-gis');
    expect(served.status).toBe(200);
    expect((await served.json()) as unknown[]).toHaveLength(11);
    expect(await measuredCount('batch', 'gis_vendor')).toBe(before + 1);
    const refused = await post('demo-clerk');
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('QUERY_REJECTED');
  });

  test("the OGC API's rate limit only measures them too", async () => {
    const gis = await t.token('demo-gis');
    const before = await measuredCount('rate', 'gis_vendor');
    // a 10,000-feature page takes 100 tokens of a burst of 150: the second in a row is over the budget
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`${t.url}/ogc/collections/permits/items?limit=10000`, { headers: { authorization: `Bearer ${gis}` } });
      expect(r.status).toBe(200);
      await r.arrayBuffer();
    }
    expect(await measuredCount('rate', 'gis_vendor')).toBeGreaterThan(before);
    // an analyst (not measure-only) is refused as before
    const analyst = await t.token('demo-analyst');
    const statuses: number[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`${t.url}/ogc/collections/permits/items?limit=10000`, { headers: { authorization: `Bearer ${analyst}` } });
      statuses.push(r.status);
      await r.arrayBuffer();
    }
    expect(statuses).toContain(429);
  });

  test('a measure-only role is served too; rules that are not limits still refuse it', async () => {
    const inspector = await t.token('demo-inspector');
    expect((await t.gql(aliases('i'), {}, inspector)).status).toBe(200);
    // a fragment cycle is not a limit to roll out: refused as for anyone
    const cycle = await t.gql(`query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }`, {}, inspector);
    expect(cycle.status).toBe(400);
  });
});

describe('metrics', () => {
  test('cost and depth histograms per role are exported at /metrics', async () => {
    const tok = await t.token('demo-compliance');
    await t.gql(`{ auditVerification { ok } }`, {}, tok);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/^graphql_query_cost_bucket\{le="5000",role="compliance"\} 0$/m);
    expect(metrics).toMatch(/^graphql_query_cost_bucket\{le="10000",role="compliance"\} 1$/m);
    expect(metrics).toMatch(/^graphql_query_cost_sum\{role="compliance"\} 5001$/m);
    expect(metrics).toMatch(/^graphql_query_depth_bucket\{le="2",role="compliance"\} 1$/m);
    expect(metrics).toMatch(/^graphql_query_depth_count\{role="clerk"\} \d+$/m);
  });
});
