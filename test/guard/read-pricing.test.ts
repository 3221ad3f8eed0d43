/**
 * Issue 18 item 13: every read is priced by what it can return. A whole-jurisdiction permitsGeoJSON (up to 5,000
 * features, ~2.4 MB) used to cost one rate-limit token like a permitStatus read; now lists, connections and JSON
 * fields declare a price in the SDL (@listSize / @cost) that the cost limit and the rate-limit charge both follow.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { buildSchema as buildSdl, parse } from 'graphql';
import { QUERY_PRICING } from '../../src/app.ts';
import { registerClient } from '../../src/auth/client-registry.ts';
import { GEOJSON_DEFAULT_FEATURES, GEOJSON_MAX_FEATURES } from '../../src/domain/geojson.ts';
import { PAGE } from '../../src/domain/pagination.ts';
import { fieldPricesOf, fieldsWithoutPrice } from '../../src/guard/field-prices.ts';
import { computeQueryCost } from '../../src/guard/query-cost.ts';
import { buildSchema } from '../../src/graphql/schema.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

setDefaultTimeout(120_000);

const schema = buildSchema();
const prices = fieldPricesOf(schema);
const options = {
  listSizeArguments: ['first', 'last', 'limit'],
  defaultListSize: QUERY_PRICING.defaultListSize,
  connectionDefaultSize: PAGE.default,
  prices,
};
const cost = (query: string, variables?: Record<string, unknown>) => computeQueryCost(schema, parse(query), options, variables);
/** Rate-limit tokens the app charges for an operation (use-rate-limit.ts default weight with the app's costPerToken). */
const tokens = (query: string, variables?: Record<string, unknown>) => 1 + Math.floor(cost(query, variables) / QUERY_PRICING.costPerToken);

const BOX = '{ minLon: -180, minLat: -90, maxLon: 180, maxLat: 90 }';
const STATUS = `{ permitStatus(number: "X") { number status updatedAt stale asOf } }`;
const GEOJSON = `{ permitsGeoJSON(bbox: ${BOX}) }`;

describe('every field that can return many items has a price', () => {
  test('no list, connection or JSON field of the served schema is left unpriced', () => {
    expect(fieldsWithoutPrice(schema)).toEqual([]);
  });

  test('a new list or JSON field without a price is found', () => {
    const withNew = buildSdl(`
      directive @listSize(assumedSize: Int, slicingArguments: [String!]) on FIELD_DEFINITION
      directive @cost(weight: Int!) on FIELD_DEFINITION
      scalar JSON
      type PageInfo { hasNextPage: Boolean! }
      type E { node: String }
      type C { edges: [E!]! pageInfo: PageInfo! }
      type Query {
        priced: [String!]! @listSize(assumedSize: 10)
        weighted: JSON @cost(weight: 3)
        tiles: JSON
        names: [String!]!
        page(first: Int): C
        wrongPrice: [String!]! @cost(weight: 2)
      }`);
    expect(fieldsWithoutPrice(withNew)).toEqual(['Query.names', 'Query.page', 'Query.tiles', 'Query.wrongPrice']);
  });

  test('the declared sizes are the server caps and default pages', () => {
    expect(prices.get('Query.permitsGeoJSON')).toEqual({
      assumedSize: GEOJSON_DEFAULT_FEATURES,
      slicingArguments: ['first'],
      requireOneSlicingArgument: false,
      weight: 3,
    });
    // the largest page the server serves is exactly the cost limit
    expect(GEOJSON_MAX_FEATURES * 3).toBe(QUERY_PRICING.maxCost);
    for (const f of ['Query.permits', 'Query.parcels', 'Query.auditLog']) {
      expect(prices.get(f)).toEqual({
        assumedSize: PAGE.default,
        slicingArguments: ['first'],
        sizedFields: ['edges'],
        requireOneSlicingArgument: false,
      });
    }
  });
});

describe('costs follow what a read can return', () => {
  test('a whole-box permitsGeoJSON costs its page of features, not one field', () => {
    expect(cost(GEOJSON)).toBe(GEOJSON_DEFAULT_FEATURES * 3);
    expect(cost(`{ permitsGeoJSON(bbox: ${BOX}, first: 10000) }`)).toBe(GEOJSON_MAX_FEATURES * 3);
    expect(cost(`{ permitsGeoJSON(bbox: ${BOX}, first: 100) }`)).toBe(300);
    expect(cost(GEOJSON)).toBeLessThanOrEqual(QUERY_PRICING.maxCost); // a GIS client can still ask for it
    expect(tokens(GEOJSON)).toBeGreaterThanOrEqual(15);
    expect(tokens(STATUS)).toBe(1);
    // the same price through variables and with a filter
    expect(cost(`query($b: BBoxInput!, $f: PermitFilter) { permitsGeoJSON(bbox: $b, filter: $f) }`, { b: {} })).toBe(cost(GEOJSON));
  });

  test('more GeoJSON features in one operation than the largest page are over the cost limit', () => {
    expect(cost(`{ a: permitsGeoJSON(bbox: ${BOX}) b: permitsGeoJSON(bbox: ${BOX}) }`)).toBe(QUERY_PRICING.maxCost);
    expect(cost(`{ a: permitsGeoJSON(bbox: ${BOX}) b: permitsGeoJSON(bbox: ${BOX}) c: parcelsGeoJSON(bbox: ${BOX}) }`)).toBeGreaterThan(
      QUERY_PRICING.maxCost,
    );
  });

  test('pages cost in proportion to the page size asked (literal or variable), the default page without one', () => {
    const reads = [
      (first: string) => `parcels(bbox: ${BOX}${first && `, first: ${first}`}) { edges { node { apn geometry } } }`,
      (first: string) => `permits${first && `(first: ${first})`} { edges { node { number } } }`,
      (first: string) => `auditLog${first && `(first: ${first})`} { edges { node { seq entry } } }`,
    ];
    for (const read of reads) {
      const at = (first: string) => cost(`{ ${read(first)} }`);
      expect(at('200')).toBeGreaterThan(at('10') * 15);
      expect(at('')).toBe(at(String(PAGE.default)));
      expect(cost(`query($n: Int) { ${read('$n')} }`, { n: 200 })).toBe(at('200'));
      expect(at('200')).toBeGreaterThan(cost(STATUS));
    }
  });

  test('JSON scalars inside pages weigh in: a parcel page with geometry costs more than one without', () => {
    const page = (fields: string) => cost(`{ parcels(bbox: ${BOX}, first: 200) { edges { node { ${fields} } } } }`);
    expect(page('apn geometry')).toBeGreaterThanOrEqual(page('apn') + 200 * 19);
    const audit = (fields: string) => cost(`{ auditLog(first: 200) { edges { node { ${fields} } } } }`);
    expect(audit('seq entry')).toBeGreaterThanOrEqual(audit('seq') + 200 * 9);
  });

  test('aggregates and verification are priced above a status read', () => {
    expect(cost(`{ permitStats(groupBy: MONTH) { key count totalValuation } }`)).toBe(1000 + 120 * 3);
    expect(tokens(`{ permitStats(groupBy: STATUS) { key count } }`)).toBeGreaterThan(tokens(STATUS));
    expect(tokens(`{ auditVerification { ok } }`)).toBeGreaterThan(1);
  });

  test('the legitimate page of 200 permits with nested records keeps its cost (~8,600)', () => {
    expect(
      cost(
        `{ permits(first: 200) { edges { node { number parcel { apn } contractor { name } inspections { result checklist { item } } } } } }`,
      ),
    ).toBe(8601);
  });
});

describe('over HTTP with the real rate limits', () => {
  let t: TestServer;
  let gis: string;
  let cheapGis: string;
  beforeAll(async () => {
    t = await startTestServer({ RATE_LIMIT_SCALE: '1' });
    gis = await t.token('demo-gis');
    // a second GIS client with its own budget, for the cheap reads
    const { secret } = await registerClient(t.tdb.database.db, {
      clientId: 'pricing-gis-2',
      role: 'gis_vendor',
      jurisdiction: 'demo-city',
    });
    const res = await fetch(`${t.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'pricing-gis-2', client_secret: secret }),
    });
    cheapGis = ((await res.json()) as { access_token: string }).access_token;
  });
  afterAll(() => t?.stop());

  test('a GIS client asking for the whole jurisdiction repeatedly is refused with 429 long before cheap reads are', async () => {
    // gis_vendor: burst 150 at 50/s. A permitStatus read takes 1 token: sixty at once all pass
    const cheap = await Promise.all(Array.from({ length: 60 }, () => t.gql(STATUS, {}, cheapGis)));
    expect(cheap.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
    // a whole-box GeoJSON takes 16: twenty at once cannot all pass (before: 1 token each, all twenty passed)
    const geo = await Promise.all(Array.from({ length: 20 }, () => t.gql(GEOJSON, {}, gis)));
    const ok = geo.filter((r) => r.status === 200);
    const refused = geo.filter((r) => r.status === 429);
    // 150 / 16 = 9 at once, a few more if the machine is slow enough for the bucket to refill meanwhile
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeGreaterThanOrEqual(5);
    expect(refused.length).toBe(20 - ok.length);
    for (const r of refused) {
      expect(r.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(r.body.data ?? null).toBeNull();
    }
    expect(ok[0]!.body.data.permitsGeoJSON.type).toBe('FeatureCollection');
  });

  test('three whole-box reads in one operation are refused as over the cost limit, also after a cheap operation of the same document', async () => {
    const query = `query Cheap { permitStatus(number: "X") { status } } query Double { a: permitsGeoJSON(bbox: ${BOX}) b: permitsGeoJSON(bbox: ${BOX}) c: permitsGeoJSON(bbox: ${BOX}) }`;
    const send = (operationName: string) =>
      fetch(`${t.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${cheapGis}` },
        body: JSON.stringify({ query, operationName }),
      }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] },
      }));
    expect((await send('Cheap')).status).toBe(200);
    const double = await send('Double');
    expect(double.status).toBe(400);
    expect(double.body.errors?.[0]?.extensions?.code).toBe('QUERY_REJECTED');
    expect(double.body.errors?.[0]?.message).toMatch(/Query cost limit of 30000 exceeded, found 45000\./);
    expect(double.body.data ?? null).toBeNull();
  });
});
