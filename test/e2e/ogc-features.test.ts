/**
 * OGC API – Features under /ogc (issue 21) over real HTTP against the real app: documents and media types,
 * paging by next/prev links through exactly the permits GraphQL counts, filters, bbox and datetime, the
 * central policy (contractor own-only, no personal data, tenant isolation, tokens), conditional requests,
 * error responses and the audit entry of each request.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/rows.ts';
import { PARCEL_FEATURE_PROPERTIES } from '../../src/domain/parcel-features.ts';
import { PERMIT_FEATURE_PROPERTIES } from '../../src/domain/permit-features.ts';
import { BreakerOpenError } from '../../src/resilience/breaker.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// server start-up and whole-collection walks are slow on a shared machine (PGlite)
setDefaultTimeout(120_000);

type Link = { href: string; rel: string; type?: string };
type Feature = { type: string; id: string; geometry: { type: string; coordinates: any }; properties: Record<string, any>; links?: Link[] };
type FC = { type: string; features: Feature[]; links: Link[]; numberMatched?: number; numberReturned: number; timeStamp?: string };

let t: TestServer;
let gis: string;
let clerk: string;
let contractorA: string;
let otherClerk: string;
const SECRET_EMAIL = 'ogc-secret-applicant@example.org';

async function get(path: string, token: string | null = gis, headers: Record<string, string> = {}) {
  const res = await fetch(path.startsWith('http') ? path : t.url + path, {
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : null };
}

async function items(path: string, token = gis): Promise<FC> {
  const r = await get(path, token);
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toBe('application/geo+json');
  return r.body as FC;
}

const linkOf = (doc: { links: Link[] }, rel: string) => doc.links.find((l) => l.rel === rel);

/** Follows next links from `path`, checking each page; returns every feature in order. */
async function walk(path: string, token = gis) {
  const features: Feature[] = [];
  let page = await items(path, token);
  let pages = 1;
  const matched = page.numberMatched;
  for (;;) {
    expect(page.numberReturned).toBe(page.features.length);
    expect(page.numberMatched).toBe(matched!);
    features.push(...page.features);
    const next = linkOf(page, 'next');
    if (!next) break;
    expect(next.type).toBe('application/geo+json');
    page = await items(next.href, token);
    pages++;
  }
  return { features, pages, matched };
}

async function totalCount(token: string, filter: object | null = null): Promise<number> {
  const r = await t.gql(`query($f: PermitFilter) { permits(filter: $f) { totalCount } }`, { f: filter }, token);
  expect(r.body.errors).toBeUndefined();
  return r.body.data.permits.totalCount;
}

async function permitNumbers(token: string): Promise<string[]> {
  const out: string[] = [];
  let after: string | null = null;
  for (;;) {
    const r: { body: any } = await t.gql(
      `query($a: String) { permits(first: 200, after: $a) { edges { node { number } } pageInfo { hasNextPage endCursor } } }`,
      { a: after },
      token,
    );
    expect(r.body.errors).toBeUndefined();
    out.push(...r.body.data.permits.edges.map((e: any) => e.node.number));
    if (!r.body.data.permits.pageInfo.hasNextPage) return out;
    after = r.body.data.permits.pageInfo.endCursor;
  }
}

async function submitPermit(key: string, applicantEmail = 'someone@example.org') {
  const parcel = await t.gql(`{ permits(first: 1) { edges { node { parcel { id } } } } }`, {}, clerk);
  const r = await t.gql(
    `mutation($input: SubmitPermitInput!, $k: String!) { submitPermit(input: $input, idempotencyKey: $k) { receipt { permitNumber } } }`,
    {
      k: key,
      input: {
        parcelId: parcel.body.data.permits.edges[0].node.parcel.id,
        permitType: 'ELECTRICAL',
        workClass: 'REPAIR',
        description: 'Panel upgrade',
        valuation: 9000,
        applicant: { name: 'Oggy Secretname', email: applicantEmail, phone: '+1 555 010 0199' },
      },
    },
    contractorA,
  );
  expect(r.body.errors).toBeUndefined();
  return r.body.data.submitPermit.receipt.permitNumber as string;
}

beforeAll(async () => {
  t = await startTestServer();
  [gis, clerk, contractorA, otherClerk] = await Promise.all([
    t.token('demo-gis'),
    t.token('demo-clerk'),
    t.token('demo-contractor-a'),
    t.token('demo-clerk-other'),
  ]);
  await submitPermit('ogc-pii-0001', SECRET_EMAIL);
}, 180_000);
afterAll(() => t?.stop());

describe('documents and media types', () => {
  test('landing page links the API definition, conformance and the collections', async () => {
    const r = await get('/ogc');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    const rels = Object.fromEntries(r.body.links.map((l: Link) => [l.rel, l]));
    expect(rels.self.href).toBe(`${t.url}/ogc`);
    expect(rels['service-desc']).toMatchObject({ href: `${t.url}/ogc/api`, type: 'application/vnd.oai.openapi+json;version=3.0' });
    expect(rels.conformance).toMatchObject({ href: `${t.url}/ogc/conformance`, type: 'application/json' });
    expect(rels.data).toMatchObject({ href: `${t.url}/ogc/collections`, type: 'application/json' });
  });

  test('conformance declares Core, GeoJSON and OpenAPI 3.0', async () => {
    const r = await get('/ogc/conformance');
    expect(r.body.conformsTo).toEqual(
      expect.arrayContaining([
        'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core',
        'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson',
        'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30',
      ]),
    );
  });

  test('/ogc/api is an OpenAPI 3.0 document with every path and the limit bounds', async () => {
    const r = await get('/ogc/api');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/vnd.oai.openapi+json;version=3.0');
    expect(r.body.openapi).toMatch(/^3\.0\./);
    for (const p of ['/', '/conformance', '/api', '/collections', '/collections/permits/items', '/collections/parcels/items/{featureId}']) {
      expect(r.body.paths[p]?.get).toBeDefined();
    }
    expect(r.body.components.parameters.limit.schema).toEqual({ type: 'integer', minimum: 1, maximum: 10000, default: 100 });
    expect(r.body.components.securitySchemes.bearerAuth.scheme).toBe('bearer');
    // every $ref points at something in the document
    const refs = [...r.text.matchAll(/"\$ref":"#\/([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs)
      expect({ ref, found: ref.split('/').reduce((o: any, k) => o?.[k], r.body) !== undefined }).toEqual({ ref, found: true });
    // the items parameters GDAL and QGIS read, with the property filters as enums
    const items = r.body.paths['/collections/permits/items'].get.parameters;
    const status = items.find((x: any) => x.name === 'StatusCurrent');
    expect(status.schema.items.enum).toContain('ISSUED');
  });

  test('collections: permits (points) and parcels with extents in CRS84 and items links', async () => {
    const r = await get('/ogc/collections');
    expect(r.body.collections.map((c: any) => c.id)).toEqual(['permits', 'parcels']);
    for (const c of r.body.collections) {
      expect(c.crs).toContain('http://www.opengis.net/def/crs/OGC/1.3/CRS84');
      const [minLon, minLat, maxLon, maxLat] = c.extent.spatial.bbox[0];
      expect(minLon).toBeLessThan(maxLon);
      expect(minLat).toBeLessThan(maxLat);
      expect(linkOf(c, 'items')).toMatchObject({ href: `${t.url}/ogc/collections/${c.id}/items`, type: 'application/geo+json' });
    }
    const one = await get('/ogc/collections/permits');
    expect(one.body.id).toBe('permits');
    expect(linkOf(one.body, 'self')!.href).toBe(`${t.url}/ogc/collections/permits`);
  });

  test('items: a FeatureCollection with self, alternate and collection links; f=json answers application/json', async () => {
    const fc = await items('/ogc/collections/permits/items?limit=5');
    const crs84 = await get(
      '/ogc/collections/permits/items?limit=1&crs=http://www.opengis.net/def/crs/OGC/1.3/CRS84&bbox-crs=http://www.opengis.net/def/crs/OGC/1.3/CRS84',
    );
    expect(crs84.status).toBe(200);
    expect(crs84.headers.get('content-crs')).toBe('<http://www.opengis.net/def/crs/OGC/1.3/CRS84>');
    expect(fc.type).toBe('FeatureCollection');
    expect(fc.features).toHaveLength(5);
    expect(Number.isNaN(Date.parse(fc.timeStamp!))).toBe(false);
    expect(linkOf(fc, 'self')!.type).toBe('application/geo+json');
    expect(linkOf(fc, 'alternate')!.type).toBe('application/json');
    expect(linkOf(fc, 'collection')!.href).toBe(`${t.url}/ogc/collections/permits`);
    const asJson = await get(linkOf(fc, 'alternate')!.href);
    expect(asJson.headers.get('content-type')).toBe('application/json');
    expect(asJson.body.features.map((f: Feature) => f.id)).toEqual(fc.features.map((f) => f.id));
  });

  test('permits are points with BLDS properties; parcels are polygons', async () => {
    const p = await items('/ogc/collections/permits/items?limit=3');
    for (const f of p.features) {
      expect(f.geometry.type).toBe('Point');
      expect(f.id).toBe(f.properties.PermitNum);
      for (const k of ['PermitNum', 'PermitType', 'WorkClass', 'StatusCurrent', 'EstProjectCost', 'AppliedDate', 'PIN', 'OriginalAddress1'])
        expect(f.properties).toHaveProperty(k);
    }
    const q = await items('/ogc/collections/parcels/items?limit=3');
    for (const f of q.features) {
      expect(f.geometry.type).toBe('Polygon');
      expect(f.geometry.coordinates[0].length).toBeGreaterThanOrEqual(4);
      expect(f.id).toBe(f.properties.PIN);
    }
  });

  test('permits and parcels carry the BLDS facts (address parts, class, sq ft, units, expiry, master permit) in OGC and GraphQL', async () => {
    const [first, second] = (await items('/ogc/collections/permits/items?limit=2')).features;
    // every property the collection declares, and no other
    expect(Object.keys(first!.properties).sort()).toEqual(Object.keys(PERMIT_FEATURE_PROPERTIES).sort());
    const db = t.tdb.database.db;
    await db.execute(sql`update permits set total_sq_ft = 1850, housing_units = 2, expires_date = '2027-03-31',
      master_permit_num = ${second!.id} where permit_num = ${first!.id}`);
    await db.execute(sql`update parcels set address1 = '12 Elm St', address2 = 'Unit 4', city = 'Springfield', state = 'IL',
      zip = '62701' where id = (select parcel_id from permits where permit_num = ${first!.id})`);
    // written behind the server's back, as another instance would: the server hears of it at its next read of the
    // change feed, made now
    await t.tdb.database.catchUp();
    const [zoning] = rowsOf<{ category: string }>(
      await db.execute(sql`select z.category from permits p join parcels pa on pa.id = p.parcel_id
        join zoning_codes z on z.code = pa.zoning_code where p.permit_num = ${first!.id}`),
    );
    const one = await get(`/ogc/collections/permits/items/${encodeURIComponent(first!.id)}`);
    expect(one.status).toBe(200);
    expect(one.body.properties).toMatchObject({
      OriginalAddress1: '12 Elm St',
      OriginalAddress2: 'Unit 4',
      OriginalCity: 'Springfield',
      OriginalState: 'IL',
      OriginalZip: '62701',
      PermitClass: zoning!.category,
      PermitClassMapped: zoning!.category === 'residential' ? 'Residential' : 'Non-Residential',
      TotalSqFt: 1850,
      HousingUnits: 2,
      ExpiresDate: '2027-03-31',
      MasterPermitNum: second!.id,
    });
    // the same in the pages and in GraphQL's permitsGeoJSON
    const paged = (await items('/ogc/collections/permits/items?limit=2')).features.find((f) => f.id === first!.id);
    expect(paged!.properties.TotalSqFt).toBe(1850);
    const gj = await t.gql(`{ permitsGeoJSON(bbox: { minLon: -180, minLat: -90, maxLon: 180, maxLat: 90 }, first: 10000) }`, {}, gis);
    const viaGraphql = gj.body.data.permitsGeoJSON.features.find((f: Feature) => f.properties.PermitNum === first!.id);
    expect(viaGraphql.properties).toMatchObject({ ExpiresDate: '2027-03-31', HousingUnits: 2, OriginalZip: '62701' });
    // and on GraphQL's Permit and Parcel types (issue 24: "exposed in GraphQL and OGC properties")
    const asPermit = await t.gql(
      `query($n: String!) { permit(number: $n) { permitClass permitClassMapped totalSqFt housingUnits expiresOn masterPermitNumber
        parcel { address1 address2 city state zip } } }`,
      { n: first!.id },
      clerk,
    );
    expect(asPermit.body.errors).toBeUndefined();
    expect(asPermit.body.data.permit).toEqual({
      permitClass: zoning!.category,
      permitClassMapped: zoning!.category === 'residential' ? 'Residential' : 'Non-Residential',
      totalSqFt: 1850,
      housingUnits: 2,
      expiresOn: '2027-03-31',
      masterPermitNumber: second!.id,
      parcel: { address1: '12 Elm St', address2: 'Unit 4', city: 'Springfield', state: 'IL', zip: '62701' },
    });
    // the parcel's own feature carries the same address parts, by the same BLDS names
    const parcel = await get(`/ogc/collections/parcels/items/${encodeURIComponent(one.body.properties.PIN)}`);
    expect(parcel.status).toBe(200);
    expect(Object.keys(parcel.body.properties).sort()).toEqual(Object.keys(PARCEL_FEATURE_PROPERTIES).sort());
    expect(parcel.body.properties).toMatchObject({
      OriginalAddress1: '12 Elm St',
      OriginalAddress2: 'Unit 4',
      OriginalCity: 'Springfield',
      OriginalState: 'IL',
      OriginalZip: '62701',
    });
    // a permit whose source held none of these: nulls, and the jurisdiction's name as the city
    const plain = await get(`/ogc/collections/permits/items/${encodeURIComponent(second!.id)}`);
    expect(plain.body.properties).toMatchObject({ TotalSqFt: null, HousingUnits: null, ExpiresDate: null, MasterPermitNum: null });
    expect(plain.body.properties.OriginalCity).toBe('Demo City');
    const plainParcel = await get(`/ogc/collections/parcels/items/${encodeURIComponent(plain.body.properties.PIN)}`);
    expect(plainParcel.body.properties.OriginalCity).toBe(plain.body.properties.OriginalCity);
    expect(plainParcel.body.properties.OriginalAddress1).toBe(plain.body.properties.OriginalAddress1);
  });

  test('one feature by id, with its links; HEAD answers too', async () => {
    const [first] = (await items('/ogc/collections/permits/items?limit=1')).features;
    const r = await get(`/ogc/collections/permits/items/${encodeURIComponent(first!.id)}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/geo+json');
    expect(r.body).toMatchObject({ type: 'Feature', id: first!.id, properties: first!.properties });
    expect(linkOf(r.body, 'self')!.href).toBe(`${t.url}/ogc/collections/permits/items/${encodeURIComponent(first!.id)}`);
    expect(linkOf(r.body, 'collection')!.href).toBe(`${t.url}/ogc/collections/permits`);
    const head = await fetch(`${t.url}/ogc/collections/permits/items?limit=1`, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${gis}` },
    });
    expect(head.status).toBe(200);
    const parcel = (await items('/ogc/collections/parcels/items?limit=1')).features[0]!;
    expect((await get(`/ogc/collections/parcels/items/${parcel.id}`)).body.geometry).toEqual(parcel.geometry);
  });
});

describe('paging', () => {
  test('next links walk every permit exactly once: as many as permits.totalCount', async () => {
    const total = await totalCount(gis);
    const { features, pages, matched } = await walk('/ogc/collections/permits/items?limit=37');
    expect(matched).toBe(total);
    expect(features.length).toBe(total);
    expect(new Set(features.map((f) => f.id)).size).toBe(total);
    expect(pages).toBe(Math.ceil(total / 37));
    expect(new Set(features.map((f) => f.id))).toEqual(new Set(await permitNumbers(gis)));
  });

  test('prev goes back to exactly the page before; the first page has no prev', async () => {
    const first = await items('/ogc/collections/permits/items?limit=10');
    expect(linkOf(first, 'prev')).toBeUndefined();
    const second = await items(linkOf(first, 'next')!.href);
    const back = await items(linkOf(second, 'prev')!.href);
    expect(back.features.map((f) => f.id)).toEqual(first.features.map((f) => f.id));
    expect(linkOf(back, 'next')).toBeDefined();
  });

  test('a permit written during a walk neither repeats nor hides the others', async () => {
    const total = await totalCount(gis);
    const first = await items('/ogc/collections/permits/items?limit=50');
    await submitPermit('ogc-walk-0001');
    const seen = [...first.features];
    let next = linkOf(first, 'next');
    while (next) {
      const page = await items(next.href);
      seen.push(...page.features);
      next = linkOf(page, 'next');
    }
    const ids = seen.map((f) => f.id);
    expect(new Set(ids).size).toBe(ids.length);
    // every permit of the start is there; the new one may or may not be (it sorts by number)
    expect(ids.length === total || ids.length === total + 1).toBe(true);
  });

  test('limit defaults to 100; larger than 10,000 is served as 10,000', async () => {
    const d = await items('/ogc/collections/permits/items');
    expect(d.numberReturned).toBe(100);
    expect(linkOf(d, 'next')!.href).toContain('limit=100');
    const big = await items('/ogc/collections/permits/items?limit=50000');
    expect(big.numberReturned).toBe(big.numberMatched!);
    expect(linkOf(big, 'self')!.href).toContain('limit=10000');
  });

  test('parcels page by APN the same way', async () => {
    const { features, matched } = await walk('/ogc/collections/parcels/items?limit=70');
    expect(features.length).toBe(matched!);
    expect(new Set(features.map((f) => f.id)).size).toBe(matched!);
  });
});

describe('filters, bbox and datetime', () => {
  test('StatusCurrent and PermitType select as permits(filter) does; comma lists are any-of', async () => {
    const s = await walk('/ogc/collections/permits/items?StatusCurrent=ISSUED,FINALED&limit=500');
    for (const f of s.features) expect(['ISSUED', 'FINALED']).toContain(f.properties.StatusCurrent);
    expect(s.features.length).toBe(await totalCount(gis, { status: ['ISSUED', 'FINALED'] }));
    const ty = await walk('/ogc/collections/permits/items?PermitType=electrical&limit=500');
    for (const f of ty.features) expect(f.properties.PermitType).toBe('ELECTRICAL');
    expect(ty.features.length).toBe(await totalCount(gis, { type: ['ELECTRICAL'] }));
    expect(ty.features.length).toBeGreaterThan(0);
    // filters survive in the next links
    const paged = await walk('/ogc/collections/permits/items?StatusCurrent=ISSUED&limit=7');
    expect(paged.pages).toBeGreaterThan(1);
    for (const f of paged.features) expect(f.properties.StatusCurrent).toBe('ISSUED');
    expect(paged.features.length).toBe(await totalCount(gis, { status: ['ISSUED'] }));
  });

  test('bbox: only permits inside, as many as permits(filter: {bbox}); parcels by their polygon', async () => {
    const c = (await get('/ogc/collections/permits')).body.extent.spatial.bbox[0] as number[];
    const box = [c[0]!, c[1]!, (c[0]! + c[2]!) / 2, (c[1]! + c[3]!) / 2];
    const fc = await walk(`/ogc/collections/permits/items?bbox=${box.join(',')}&limit=60`);
    expect(fc.features.length).toBeGreaterThan(0);
    for (const f of fc.features) {
      const [lon, lat] = f.geometry.coordinates;
      expect(lon >= box[0]! && lon <= box[2]! && lat >= box[1]! && lat <= box[3]!).toBe(true);
    }
    expect(fc.features.length).toBe(await totalCount(gis, { bbox: { minLon: box[0], minLat: box[1], maxLon: box[2], maxLat: box[3] } }));
    const parcels = await walk(`/ogc/collections/parcels/items?bbox=${box.join(',')}&limit=500`);
    const all = await walk('/ogc/collections/parcels/items?limit=10000');
    const meets = (f: Feature) => {
      const ring = f.geometry.coordinates[0] as number[][];
      const xs = ring.map((p) => p[0]!);
      const ys = ring.map((p) => p[1]!);
      return Math.min(...xs) <= box[2]! && Math.max(...xs) >= box[0]! && Math.min(...ys) <= box[3]! && Math.max(...ys) >= box[1]!;
    };
    expect(parcels.features.map((f) => f.id).sort()).toEqual(
      all.features
        .filter(meets)
        .map((f) => f.id)
        .sort(),
    );
    expect(parcels.features.length).toBeLessThan(all.features.length);
    // six numbers (with heights) are the same box; one far away is empty
    expect((await items(`/ogc/collections/permits/items?bbox=${box[0]},${box[1]},0,${box[2]},${box[3]},100&limit=1`)).numberMatched).toBe(
      fc.matched!,
    );
    expect((await items('/ogc/collections/permits/items?bbox=10,-10,11,-9')).numberMatched).toBe(0);
    // across the antimeridian: 170..-170 holds nothing near San Francisco, 100..-100 (wrapping) nothing either
    expect((await items('/ogc/collections/permits/items?bbox=170,-90,-170,90')).numberMatched).toBe(0);
    expect((await items('/ogc/collections/permits/items?bbox=-123,-90,-124,90')).numberMatched).toBe(await totalCount(gis));
  });

  test('datetime on the last update: open ends, closed intervals, instants, dates', async () => {
    const total = await totalCount(gis);
    const sample = (await items('/ogc/collections/permits/items?limit=200')).features.map((f) => f.properties.LastUpdated as string).sort();
    const mid = sample[100]!;
    const since = await totalCount(gis, { updatedSince: mid });
    expect((await items(`/ogc/collections/permits/items?datetime=${mid}/..&limit=1`)).numberMatched).toBe(since);
    expect((await items(`/ogc/collections/permits/items?datetime=${mid}/&limit=1`)).numberMatched).toBe(since);
    const justBefore = new Date(Date.parse(mid) - 1).toISOString();
    expect((await items(`/ogc/collections/permits/items?datetime=../${justBefore}&limit=1`)).numberMatched).toBe(total - since);
    const exact = await walk(`/ogc/collections/permits/items?datetime=${mid}`);
    expect(exact.features.length).toBeGreaterThan(0);
    for (const f of exact.features) expect(f.properties.LastUpdated).toBe(mid);
    const day = mid.slice(0, 10);
    const onDay = await walk(`/ogc/collections/permits/items?datetime=${day}&limit=500`);
    for (const f of onDay.features) expect(String(f.properties.LastUpdated).slice(0, 10)).toBe(day);
    const closed = await walk(`/ogc/collections/permits/items?datetime=${sample[20]}/${sample[120]}&limit=500`);
    for (const f of closed.features) expect(f.properties.LastUpdated >= sample[20]! && f.properties.LastUpdated <= sample[120]!).toBe(true);
    // an offset other than Z is the same instant
    const offset = new Date(Date.parse(mid)).toISOString().replace('Z', '+00:00');
    expect((await items(`/ogc/collections/permits/items?datetime=${encodeURIComponent(offset)}/..&limit=1`)).numberMatched).toBe(since);
    // parcels carry no time: datetime is accepted and selects nothing away
    const parcelsAll = (await items('/ogc/collections/parcels/items?limit=1')).numberMatched;
    expect((await items(`/ogc/collections/parcels/items?datetime=${mid}/..&limit=1`)).numberMatched).toBe(parcelsAll!);
  });

  test('sync: a change shows up in datetime=<before>/.. with its new status; withdrawn permits stay', async () => {
    const before = new Date(Date.now() - 1000).toISOString();
    const number = await submitPermit('ogc-sync-0001');
    const w = await t.gql(
      `mutation($n: String!) { transitionPermit(number: $n, to: WITHDRAWN, reason: "no longer needed") { status } }`,
      { n: number },
      contractorA,
    );
    expect(w.body.errors).toBeUndefined();
    const changed = await walk(`/ogc/collections/permits/items?datetime=${before}/..`);
    const f = changed.features.find((x) => x.id === number);
    expect(f?.properties.StatusCurrent).toBe('WITHDRAWN');
  });

  test('sync: an expired permit stays with its status, and GraphQL updatedSince returns the same changes', async () => {
    const issued = (await items('/ogc/collections/permits/items?StatusCurrent=ISSUED&limit=1')).features[0]!;
    const before = new Date(Date.now() - 1000).toISOString();
    const etag = (await get(`/ogc/collections/permits/items?datetime=${before}/..`)).headers.get('etag')!;
    const withdrawn = await submitPermit('ogc-sync-0002');
    for (const [n, to, token] of [
      [withdrawn, 'WITHDRAWN', contractorA],
      [issued.id, 'EXPIRED', clerk],
    ] as const) {
      const r = await t.gql(
        `mutation($n: String!, $to: PermitStatus!) { transitionPermit(number: $n, to: $to, reason: "sync test") { status } }`,
        { n, to },
        token,
      );
      expect(r.body.errors).toBeUndefined();
    }
    // the client's copy of the changes is stale: not a 304
    expect((await get(`/ogc/collections/permits/items?datetime=${before}/..`, gis, { 'if-none-match': etag })).status).toBe(200);
    const viaOgc = await walk(`/ogc/collections/permits/items?datetime=${before}/..`);
    const statusOf = (fs: Feature[]) => Object.fromEntries(fs.map((f) => [f.id, f.properties.StatusCurrent]));
    expect(statusOf(viaOgc.features)).toMatchObject({ [withdrawn]: 'WITHDRAWN', [issued.id]: 'EXPIRED' });
    // GraphQL's sync filter: the same permits, in the list and as GeoJSON
    const filter = { updatedSince: before };
    expect(await totalCount(gis, filter)).toBe(viaOgc.features.length);
    const gj = await t.gql(
      `query($f: PermitFilter) { permitsGeoJSON(bbox: { minLon: -180, minLat: -90, maxLon: 180, maxLat: 90 }, filter: $f) }`,
      { f: filter },
      gis,
    );
    expect(gj.body.errors).toBeUndefined();
    const features = gj.body.data.permitsGeoJSON.features as Feature[];
    expect(Object.fromEntries(features.map((f) => [f.properties.PermitNum, f.properties.StatusCurrent]))).toEqual(
      statusOf(viaOgc.features),
    );
  });
});

describe('policy', () => {
  test('no token: 401 with a Bearer challenge and an OGC exception body, on every resource', async () => {
    for (const path of ['/ogc', '/ogc/conformance', '/ogc/api', '/ogc/collections', '/ogc/collections/permits/items']) {
      const r = await get(path, null);
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(r.body.code).toBe('Unauthorized');
      expect(r.text).not.toContain('features');
    }
  });

  test('a bad token: 401 invalid_token', async () => {
    const r = await get('/ogc/collections/permits/items', `${gis.slice(0, -4)}AAAA`);
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toContain('invalid_token');
  });

  test('a contractor sees exactly its own permits and no parcels', async () => {
    const own = await permitNumbers(contractorA);
    const { features } = await walk('/ogc/collections/permits/items?limit=25', contractorA);
    expect(features.map((f) => f.id).sort()).toEqual(own.sort());
    expect(features.length).toBeLessThan(await totalCount(gis));
    const other = (await walk('/ogc/collections/permits/items?limit=500')).features.find((f) => !own.includes(f.id))!;
    expect((await get(`/ogc/collections/permits/items/${other.id}`, contractorA)).status).toBe(404);
    expect((await get('/ogc/collections/parcels/items', contractorA)).status).toBe(403);
    expect((await get('/ogc/collections', contractorA)).body.collections.map((c: any) => c.id)).toEqual(['permits']);
  });

  test('no personal data in any GIS property, for the GIS vendor or the clerk', async () => {
    for (const token of [gis, clerk]) {
      const r = await get('/ogc/collections/permits/items?limit=10000', token);
      expect(r.text).not.toContain(SECRET_EMAIL);
      expect(r.text).not.toContain('Secretname');
      expect(r.text).not.toMatch(/@example\.(org|com)/);
      for (const f of r.body.features as Feature[])
        for (const k of Object.keys(f.properties)) expect(k).not.toMatch(/applicant|email|phone|contact|name$/i);
    }
  });

  test("another jurisdiction's permits are invisible: not listed, 404 by id", async () => {
    const mine = await walk('/ogc/collections/permits/items?limit=500', otherClerk);
    expect(mine.features.length).toBe(await totalCount(otherClerk));
    for (const f of mine.features) expect(f.id).toMatch(/^OT-/);
    const dc = (await items('/ogc/collections/permits/items?limit=1')).features[0]!;
    expect((await get(`/ogc/collections/permits/items/${dc.id}`, otherClerk)).status).toBe(404);
    // a demo-city page cursor places nothing for other-town: its walk is its own
    const firstDc = await items('/ogc/collections/permits/items?limit=1');
    const cursorLink = linkOf(firstDc, 'next')!.href.replace(t.url, '');
    const r = await get(cursorLink, otherClerk);
    for (const f of r.body.features as Feature[]) expect(f.id).toMatch(/^OT-/);
  });

  test('a token without a permit or parcel scope is refused the collections (403) and lists none', async () => {
    const admin = await t.token('demo-admin');
    expect((await get('/ogc/collections/permits/items', admin)).status).toBe(403);
    expect((await get('/ogc/collections/parcels', admin)).body.code).toBe('Forbidden');
    expect((await get('/ogc/collections', admin)).body.collections).toEqual([]);
  });
});

describe('conditional requests', () => {
  test('If-None-Match with the ETag answers 304 without touching the database; a write changes the ETag', async () => {
    await t.running.app.changeCounters.ready();
    const path = '/ogc/collections/permits/items?limit=50&StatusCurrent=ISSUED';
    const first = await get(path);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^W\/".+"$/);
    const statements: string[] = [];
    const stop = t.tdb.database.onQuery((q) => statements.push(q));
    const again = await fetch(t.url + path, { headers: { authorization: `Bearer ${gis}`, 'if-none-match': etag } });
    stop();
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    expect(again.headers.get('etag')).toBe(etag);
    // (the audit recorder's group commits may run meanwhile; they are not this request's)
    expect(statements.filter((q) => !/audit_/.test(q))).toEqual([]);
    // the same query in another parameter order is the same answer
    const reordered = await get('/ogc/collections/permits/items?StatusCurrent=ISSUED&limit=50', gis, { 'if-none-match': etag });
    expect(reordered.status).toBe(304);
    // another principal's view of the same query has its own ETag
    expect((await get(path, contractorA)).headers.get('etag')).not.toBe(etag);
    await submitPermit('ogc-etag-0001');
    // at once, not after the change feed's next poll: the instance that committed the write forgot its cached counter
    const after = await get(path, gis, { 'if-none-match': etag });
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).not.toBe(etag);
    expect((await get(path, gis, { 'if-none-match': `"x", ${after.headers.get('etag')}` })).status).toBe(304);
  });

  test('single features are conditional too', async () => {
    const [f] = (await items('/ogc/collections/parcels/items?limit=1')).features;
    const r = await get(`/ogc/collections/parcels/items/${f!.id}`);
    expect((await get(`/ogc/collections/parcels/items/${f!.id}`, gis, { 'if-none-match': r.headers.get('etag')! })).status).toBe(304);
  });
});

describe('features built once per state of the jurisdiction', () => {
  test('a first-time page builds only the features no earlier page held; a change builds them anew', async () => {
    await t.running.app.changeCounters.ready();
    const wide = await items('/ogc/collections/permits/items?limit=40&PermitType=BUILDING,ELECTRICAL,PLUMBING,MECHANICAL');
    expect(wide.features.length).toBeGreaterThan(10);
    const statements: string[] = [];
    const stop = t.tdb.database.onQuery((q) => statements.push(q));
    // another query (not in the page cache) over some of the same features
    const narrow = await items('/ogc/collections/permits/items?limit=10&PermitType=BUILDING,ELECTRICAL,PLUMBING,MECHANICAL');
    stop();
    expect(narrow.features).toEqual(wide.features.slice(0, 10));
    expect(statements.length).toBeGreaterThan(0);
    expect(statements.filter((q) => q.includes('"Feature"'))).toEqual([]);
    // which features a principal gets is decided per request: the contractor still sees only its own
    const own = new Set(await permitNumbers(contractorA));
    const theirs = await items('/ogc/collections/permits/items?limit=40&PermitType=BUILDING,ELECTRICAL,PLUMBING,MECHANICAL', contractorA);
    for (const f of theirs.features) expect(own.has(f.id)).toBe(true);
    // a change to the jurisdiction (here a parcel's address, which no permit row records) builds them anew
    const first = wide.features[0]!;
    await t.tdb.database.db.execute(
      sql`update parcels set address1 = 'OGC Rebuilt Street 1' where id = (select parcel_id from permits where permit_num = ${first.id})`,
    );
    let again = await items('/ogc/collections/permits/items?limit=10&PermitType=BUILDING,ELECTRICAL,PLUMBING,MECHANICAL');
    for (let i = 0; i < 60 && again.features[0]!.properties.OriginalAddress1 !== 'OGC Rebuilt Street 1'; i++) {
      await Bun.sleep(50);
      again = await items('/ogc/collections/permits/items?limit=10&PermitType=BUILDING,ELECTRICAL,PLUMBING,MECHANICAL');
    }
    expect(again.features[0]!.id).toBe(first.id);
    expect(again.features[0]!.properties.OriginalAddress1).toBe('OGC Rebuilt Street 1');
  });
});

describe('database outage (circuit breaker open)', () => {
  test('a current copy still gets its 304, a page in memory is served, anything else is 503', async () => {
    await t.running.app.changeCounters.ready();
    const kept = await get('/ogc/collections/permits/items?limit=7&PermitType=PLUMBING');
    expect(kept.status).toBe(200);
    const breaker = t.running.services.breaker;
    const execute = breaker.execute;
    breaker.execute = (() => Promise.reject(new BreakerOpenError(5000))) as typeof breaker.execute;
    try {
      const conditional = await get('/ogc/collections/permits/items?limit=7&PermitType=PLUMBING', gis, {
        'if-none-match': kept.headers.get('etag')!,
      });
      expect(conditional.status).toBe(304);
      const again = await get('/ogc/collections/permits/items?limit=7&PermitType=PLUMBING');
      expect(again.status).toBe(200);
      expect(again.body.features).toEqual(kept.body.features);
      const other = await get('/ogc/collections/permits/items?limit=8&PermitType=PLUMBING');
      expect(other.status).toBe(503);
      expect(other.headers.get('retry-after')).toBeTruthy();
      expect(other.body.code).toBe('ServiceUnavailable');
      expect(other.text).not.toMatch(/select|permits_|stack/i);
    } finally {
      breaker.execute = execute;
    }
  });
});

describe('errors', () => {
  test.each([
    ['an unknown parameter', '/ogc/collections/permits/items?color=red'],
    ['limit 0', '/ogc/collections/permits/items?limit=0'],
    ['limit not a number', '/ogc/collections/permits/items?limit=ten'],
    ['bbox of three numbers', '/ogc/collections/permits/items?bbox=1,2,3'],
    ['bbox latitude out of range', '/ogc/collections/permits/items?bbox=-122,-91,-121,38'],
    ['bbox latitudes inverted', '/ogc/collections/permits/items?bbox=-123,38,-122,37'],
    ['datetime not RFC 3339', '/ogc/collections/permits/items?datetime=yesterday'],
    ['datetime without an offset', '/ogc/collections/permits/items?datetime=2025-01-01T00:00:00'],
    ['datetime interval backwards', '/ogc/collections/permits/items?datetime=2025-01-02T00:00:00Z/2025-01-01T00:00:00Z'],
    ['a status that does not exist', '/ogc/collections/permits/items?StatusCurrent=PENDING'],
    ['a forged cursor', '/ogc/collections/permits/items?cursor=bm9wZQ'],
    ['a parameter twice', '/ogc/collections/permits/items?limit=1&limit=2'],
    ['an unsupported format', '/ogc/collections/permits/items?f=html'],
    ['a parameter on the landing page', '/ogc?limit=1'],
    ['a permit filter on parcels', '/ogc/collections/parcels/items?StatusCurrent=ISSUED'],
    ['a CRS other than CRS84', '/ogc/collections/permits/items?crs=http://www.opengis.net/def/crs/EPSG/0/3857'],
    ['a bbox-crs other than CRS84', '/ogc/collections/permits/items?bbox=1,2,3,4&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4326'],
  ])('%s → 400 with an OGC exception body', async (_, path) => {
    const r = await get(path);
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toStartWith('application/json');
    expect(r.body.code).toBe('InvalidParameterValue');
    expect(typeof r.body.description).toBe('string');
  });

  test.each([
    ['an unknown collection', '/ogc/collections/inspections'],
    ["an unknown collection's items", '/ogc/collections/inspections/items'],
    ['an unknown feature', '/ogc/collections/permits/items/DC-NOPE-0000'],
    ['an unknown parcel', '/ogc/collections/parcels/items/000-000-00'],
    ['an unknown resource', '/ogc/collections/permits/queryables/x'],
  ])('%s → 404 with an OGC exception body', async (_, path) => {
    const r = await get(path);
    expect(r.status).toBe(404);
    expect(r.body.code).toBe('NotFound');
  });

  test('a method other than GET or HEAD → 405 with an OGC exception body, Allow naming both, audited', async () => {
    await t.running.audit.flush();
    const [h] = rowsOf<{ n: string }>(await t.tdb.database.db.execute(sql`select coalesce(max(seq),0)::text as n from audit_entries`));
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const r = await fetch(`${t.url}/ogc/collections/permits/items`, { method, headers: { authorization: `Bearer ${gis}` } });
      expect(r.status).toBe(405);
      expect(r.headers.get('allow')).toBe('GET, HEAD');
      expect(r.headers.get('content-type')).toStartWith('application/json');
      const body = (await r.json()) as { code: string; description: string };
      expect(body.code).toBe('MethodNotAllowed');
      expect(typeof body.description).toBe('string');
    }
    // without a token: the same 401 as a GET gets
    expect((await fetch(`${t.url}/ogc/collections/permits/items`, { method: 'POST' })).status).toBe(401);
    await t.running.audit.flush();
    const rows = rowsOf<{ entry: Record<string, any> }>(
      await t.tdb.database.db.execute(
        sql`select entry from audit_entries where seq > ${Number(h!.n)} and entry->>'kind' = 'ogc' order by seq`,
      ),
    ).map((r) => (typeof r.entry === 'string' ? JSON.parse(r.entry) : r.entry));
    expect(rows.map((e) => e.httpStatus)).toEqual([405, 405, 405, 401]);
    expect(rows[0]).toMatchObject({
      clientId: 'demo-gis',
      path: '/ogc/collections/permits/items',
      outcome: 'ERROR',
      errorCodes: ['MethodNotAllowed'],
    });
  });

  test("other routes' 405 names HEAD too: every read route answers it", async () => {
    const r = await fetch(`${t.url}/healthz`, { method: 'POST' });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(`${t.url}/healthz`, { method: 'HEAD' })).status).toBe(200);
  });
});

describe('audit', () => {
  test('one entry per request, kind ogc, with identity, path, status and outcome', async () => {
    await t.running.audit.flush();
    const [h] = rowsOf<{ n: string }>(await t.tdb.database.db.execute(sql`select coalesce(max(seq),0)::text as n from audit_entries`));
    await get('/ogc/collections/permits/items?limit=3&PermitType=BUILDING');
    await get('/ogc/collections/permits/items?limit=0');
    await get('/ogc/collections/permits/items', null);
    await get('/ogc/collections/parcels/items', contractorA);
    await t.running.audit.flush();
    const rows = rowsOf<{ entry: Record<string, any> }>(
      await t.tdb.database.db.execute(
        sql`select entry from audit_entries where seq > ${Number(h!.n)} and entry->>'kind' = 'ogc' order by seq`,
      ),
    ).map((r) => (typeof r.entry === 'string' ? JSON.parse(r.entry) : r.entry));
    expect(rows).toHaveLength(4);
    expect(rows[0]).toMatchObject({
      kind: 'ogc',
      clientId: 'demo-gis',
      role: 'gis_vendor',
      jurisdiction: 'demo-city',
      path: '/ogc/collections/permits/items',
      httpStatus: 200,
      outcome: 'ALLOWED',
      numberReturned: 3,
    });
    expect(rows[0]!.query).toContain('PermitType=BUILDING');
    expect(rows[1]).toMatchObject({ httpStatus: 400, outcome: 'ERROR' });
    expect(rows[2]).toMatchObject({ clientId: null, httpStatus: 401, outcome: 'DENIED' });
    expect(rows[3]).toMatchObject({ clientId: 'demo-contractor-a', httpStatus: 403, outcome: 'DENIED', collection: 'parcels' });
  });
});
