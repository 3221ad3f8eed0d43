/**
 * Issue 25, the cost contract over real HTTP with the real limits: every response carries `extensions.cost`
 * (estimated cost, tokens charged, budget left) and the IETF `RateLimit-Policy` / `RateLimit` headers; a 429 keeps
 * `Retry-After`; a measure-only client (RATE_LIMIT_MEASURE_ONLY) is let through and counted; cost and depth
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
    expect((r.body as { extensions?: { cost?: any } }).extensions?.cost.estimated).toBe(45_000);
  });

  test('a 429 keeps Retry-After and carries the empty budget', async () => {
    const tok = await t.token('demo-analyst');
    const results = await Promise.all(Array.from({ length: 5 }, () => t.gql(GEOJSON, {}, tok)));
    const refused = results.find((r) => r.status === 429);
    expect(refused).toBeDefined();
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused!.headers.get('ratelimit')).toMatch(/^"analyst";r=\d+;t=\d+$/);
    expect(refused!.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
  });
});

describe('measure-only mode', () => {
  test('a measure-only client over its budget is let through, counted and marked', async () => {
    const tok = await t.token('demo-gis');
    // gis_vendor: burst 150; a whole-box GeoJSON takes 26: twelve at once would refuse several
    const results = await Promise.all(Array.from({ length: 12 }, () => t.gql(GEOJSON, {}, tok)));
    expect(results.map((r) => r.status)).toEqual(Array(12).fill(200));
    const marked = results.filter((r) => (r.body as { extensions?: { cost?: any } }).extensions?.cost.wouldRefuse === true);
    expect(marked.length).toBeGreaterThanOrEqual(3);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    const measured = Number(/^rate_limit_measured_total\{role="gis_vendor"\} (\d+)/m.exec(metrics)?.[1]);
    expect(measured).toBe(marked.length);
    expect(metrics).not.toMatch(/^rate_limit_hits_total\{role="gis_vendor"\}/m);
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
