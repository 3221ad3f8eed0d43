/**
 * permitsGeoJSON(bbox) on the seeded data (issue 2, acceptance 5): a valid RFC 7946 FeatureCollection, only
 * features inside the box, the same permits `permits(filter: {bbox})` counts, no personal data.
 */
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from 'bun:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// server start-up and whole-jurisdiction walks are slow on shared machines (PGlite)
setDefaultTimeout(60_000);

let t: TestServer;
let gis: string;
let clerk: string;
/** The box around every seeded demo-city parcel. */
let extent: Box;
const SECRET_EMAIL = 'geojson-secret-applicant@example.org';
const SECRET_PHONE = '+1 555 777 0101';

type Box = { minLon: number; minLat: number; maxLon: number; maxLat: number };
type Feature = { type: string; id?: unknown; geometry: { type: string; coordinates: unknown }; properties: Record<string, unknown> | null };
type FC = { type: string; features: Feature[]; bbox?: number[] };

const GEO = `query($b: BBoxInput!, $f: PermitFilter) { permitsGeoJSON(bbox: $b, filter: $f) }`;
const COUNT = `query($f: PermitFilter) { permits(filter: $f) { totalCount } }`;
const WORLD: Box = { minLon: -180, minLat: -90, maxLon: 180, maxLat: 90 };

async function geo(b: Box, tok = gis, filter?: object): Promise<FC> {
  const r = await t.gql(GEO, { b, f: filter ?? null }, tok);
  expect(r.status).toBe(200);
  expect(r.body.errors).toBeUndefined();
  return r.body.data.permitsGeoJSON;
}

async function total(b: Box, tok = gis, extra: object = {}): Promise<number> {
  const r = await t.gql(COUNT, { f: { bbox: b, ...extra } }, tok);
  expect(r.body.errors).toBeUndefined();
  return r.body.data.permits.totalCount;
}

/** RFC 7946 §3.2/§3.3 shape, Point geometry with [lon, lat] numbers in WGS 84 range. */
function expectValidFeatureCollection(fc: FC) {
  expect(fc.type).toBe('FeatureCollection');
  expect(Array.isArray(fc.features)).toBe(true);
  if (fc.bbox !== undefined) {
    expect(fc.bbox).toHaveLength(4);
    for (const n of fc.bbox) expect(typeof n).toBe('number');
  }
  for (const f of fc.features) {
    expect(f.type).toBe('Feature');
    if (f.id !== undefined) expect(['string', 'number']).toContain(typeof f.id);
    expect(f.geometry.type).toBe('Point');
    const c = f.geometry.coordinates as unknown[];
    expect(Array.isArray(c)).toBe(true);
    expect(c).toHaveLength(2);
    const [lon, lat] = c as [number, number];
    expect(typeof lon).toBe('number');
    expect(typeof lat).toBe('number');
    expect(Number.isFinite(lon) && lon >= -180 && lon <= 180).toBe(true);
    expect(Number.isFinite(lat) && lat >= -90 && lat <= 90).toBe(true);
    expect(f.properties !== null && typeof f.properties === 'object' && !Array.isArray(f.properties)).toBe(true);
  }
  // JSON round-trip: nothing non-JSON (Dates, undefined) in the answer
  expect(JSON.parse(JSON.stringify(fc))).toEqual(fc);
}

const inside = (f: Feature, b: Box) => {
  const [lon, lat] = f.geometry.coordinates as [number, number];
  return lon >= b.minLon && lon <= b.maxLon && lat >= b.minLat && lat <= b.maxLat;
};

beforeAll(async () => {
  t = await startTestServer();
  gis = await t.token('demo-gis');
  clerk = await t.token('demo-clerk');
  // a permit with recognisable personal data, to look for it later
  const contractor = await t.token('demo-contractor-a');
  const p = await t.gql(`{ permits(first: 1) { edges { node { parcel { id } } } } }`, {}, clerk);
  const sub = await t.gql(
    `mutation($input: SubmitPermitInput!) { submitPermit(input: $input, idempotencyKey: "geojson-pii-0001") { receipt { permitNumber } } }`,
    {
      input: {
        parcelId: p.body.data.permits.edges[0].node.parcel.id,
        permitType: 'ELECTRICAL',
        workClass: 'REPAIR',
        description: 'Panel upgrade',
        valuation: 9000,
        applicant: { name: 'Geo Jason Secretname', email: SECRET_EMAIL, phone: SECRET_PHONE },
      },
    },
    contractor,
  );
  expect(sub.body.errors).toBeUndefined();
  const all = await geo(WORLD);
  const lons = all.features.map((f) => (f.geometry.coordinates as number[])[0]!);
  const lats = all.features.map((f) => (f.geometry.coordinates as number[])[1]!);
  extent = { minLon: Math.min(...lons), minLat: Math.min(...lats), maxLon: Math.max(...lons), maxLat: Math.max(...lats) };
}, 180_000); // start-up (PGlite, migrations, seed) can take a minute on a loaded machine
afterAll(() => t?.stop());

describe('permitsGeoJSON', () => {
  test('the whole world: a valid FeatureCollection of every permit the GIS client may see', async () => {
    const fc = await geo(WORLD);
    expectValidFeatureCollection(fc);
    expect(fc.features.length).toBeGreaterThan(100);
    expect(fc.features.length).toBe(await total(WORLD));
    expect(new Set(fc.features.map((f) => f.id)).size).toBe(fc.features.length);
    // its own jurisdiction only: demo-city numbers (DC-…), never other-town's
    for (const f of fc.features) expect(String(f.properties!.PermitNum)).toMatch(/^DC-/);
  });

  test('boxes inside the seeded area: only features inside, as many as permits(filter:{bbox}) counts', async () => {
    const w = extent.maxLon - extent.minLon;
    const h = extent.maxLat - extent.minLat;
    const boxes: Box[] = [
      {
        minLon: extent.minLon + w * 0.25,
        minLat: extent.minLat + h * 0.25,
        maxLon: extent.minLon + w * 0.75,
        maxLat: extent.minLat + h * 0.75,
      },
      { minLon: extent.minLon, minLat: extent.minLat, maxLon: extent.minLon + w / 2, maxLat: extent.minLat + h / 2 },
      { minLon: extent.minLon + w / 2, minLat: extent.minLat + h / 2, maxLon: extent.maxLon, maxLat: extent.maxLat },
      { minLon: extent.minLon + w * 0.1, minLat: extent.minLat, maxLon: extent.minLon + w * 0.2, maxLat: extent.maxLat },
    ];
    const all = await geo(WORLD);
    let sum = 0;
    for (const b of boxes) {
      const fc = await geo(b);
      expectValidFeatureCollection(fc);
      expect(fc.features.length).toBeGreaterThan(0);
      expect(fc.features.length).toBeLessThan(all.features.length);
      for (const f of fc.features) expect({ id: f.id, inside: inside(f, b) }).toEqual({ id: f.id, inside: true });
      // exactly the permits of the world collection that fall inside the box
      expect(fc.features.map((f) => f.id).sort()).toEqual(
        all.features
          .filter((f) => inside(f, b))
          .map((f) => f.id)
          .sort(),
      );
      expect(fc.features.length).toBe(await total(b));
      sum += fc.features.length;
    }
    expect(sum).toBeGreaterThan(0);
  });

  test('the filter narrows the collection the same way it narrows permits()', async () => {
    const fc = await geo(extent, gis, { status: ['ISSUED', 'FINALED'] });
    expectValidFeatureCollection(fc);
    for (const f of fc.features) expect(['ISSUED', 'FINALED']).toContain(String(f.properties!.StatusCurrent));
    expect(fc.features.length).toBe(await total(extent, gis, { status: ['ISSUED', 'FINALED'] }));
  });

  test('a box with no parcels gives zero features (still a valid collection)', async () => {
    const empty: Box = { minLon: 10, minLat: -10, maxLon: 11, maxLat: -9 }; // Gulf of Guinea
    const fc = await geo(empty);
    expectValidFeatureCollection(fc);
    expect(fc.features).toEqual([]);
    expect(await total(empty)).toBe(0);
  });

  test('a degenerate box (a single point) is accepted', async () => {
    const fc = await geo({ minLon: 0, minLat: 0, maxLon: 0, maxLat: 0 });
    expectValidFeatureCollection(fc);
    expect(fc.features).toEqual([]);
  });

  test.each([
    ['inverted longitudes', { ...WORLD, minLon: -122.4, maxLon: -122.5 }],
    ['inverted latitudes', { ...WORLD, minLat: 37.8, maxLat: 37.7 }],
    ['longitude out of range', { ...WORLD, maxLon: 181 }],
    ['latitude out of range', { ...WORLD, minLat: -91 }],
  ])('%s → BAD_USER_INPUT naming the bbox', async (_, b) => {
    const r = await t.gql(GEO, { b }, gis);
    expect(r.body.data ?? null).toBeNull();
    const e = r.body.errors![0]!;
    expect(e.extensions?.code).toBe('BAD_USER_INPUT');
    expect(String(e.extensions?.field)).toMatch(/^bbox\./);
  });

  test('no personal data in any feature, whoever asks', async () => {
    for (const tok of [gis, clerk]) {
      const fc = await geo(WORLD, tok);
      const text = JSON.stringify(fc);
      expect(text).not.toContain(SECRET_EMAIL);
      expect(text).not.toContain(SECRET_PHONE);
      expect(text).not.toContain('Secretname');
      expect(text).not.toMatch(/@example\.(org|com)/);
      for (const f of fc.features) {
        for (const key of Object.keys(f.properties!)) expect(key).not.toMatch(/applicant|email|phone|contact|name$/i);
      }
    }
  });

  test('the GIS client needs no personal-data scope and is refused the applicant field elsewhere', async () => {
    const r = await t.gql(`{ permits(first: 1) { edges { node { applicant { email } } } } }`, {}, gis);
    expect(r.body.data ?? null).toBeNull();
    expect(r.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('permitsGeoJSON pages (first/after) and parcelsGeoJSON', () => {
  const PAGE = `query($b: BBoxInput!, $f: PermitFilter, $first: Int, $after: String) { permitsGeoJSON(bbox: $b, filter: $f, first: $first, after: $after) }`;

  async function walkGeo(query: string, field: string, first: number, filter: object | null = null) {
    const ids: unknown[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const r: { body: any } = await t.gql(query, { b: WORLD, f: filter, first, after }, gis);
      expect(r.body.errors).toBeUndefined();
      const fc = r.body.data[field];
      expect(fc.features.length).toBeLessThanOrEqual(first);
      expect(fc.truncated).toBe(fc.next !== null);
      ids.push(...fc.features.map((f: Feature) => f.id));
      pages++;
      if (!fc.next) return { ids, pages };
      expect(fc.features.length).toBe(first);
      after = fc.next;
    }
  }

  test('next cursors walk every permit once: as many as permits.totalCount', async () => {
    const all = await total(WORLD);
    const { ids, pages } = await walkGeo(PAGE, 'permitsGeoJSON', 37);
    expect(ids.length).toBe(all);
    expect(new Set(ids).size).toBe(all);
    expect(pages).toBe(Math.ceil(all / 37));
    const filtered = await walkGeo(PAGE, 'permitsGeoJSON', 9, { status: ['ISSUED'] });
    expect(filtered.ids.length).toBe(await total(WORLD, gis, { status: ['ISSUED'] }));
  });

  test('without first: one page of up to 5,000, next null and truncated false when all fit', async () => {
    const fc = await geo(WORLD);
    expect(fc.features.length).toBe(await total(WORLD));
    expect((fc as any).next).toBeNull();
    expect((fc as any).truncated).toBe(false);
  });

  test.each([
    ['first 0', { first: 0 }, 'first'],
    ['a cursor this API did not issue', { after: 'bm9wZQ' }, 'after'],
  ])('%s → BAD_USER_INPUT', async (_, args, field) => {
    const r = await t.gql(PAGE, { b: WORLD, ...args }, gis);
    expect(r.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.body.errors?.[0]?.extensions?.field).toBe(field);
  });

  test('first above 10,000 is refused: priced past the cost limit (QUERY_REJECTED, 400) before its value is checked', async () => {
    const r = await t.gql(PAGE, { b: WORLD, first: 10_001 }, gis);
    expect(r.status).toBe(400);
    expect(r.body.errors?.[0]?.extensions?.code).toBe('QUERY_REJECTED');
    expect(r.body.data ?? null).toBeNull();
  });

  test('parcelsGeoJSON: polygons, paged the same way', async () => {
    const q = `query($b: BBoxInput!, $first: Int, $after: String) { parcelsGeoJSON(bbox: $b, first: $first, after: $after) }`;
    const r = await t.gql(q, { b: WORLD, first: 2 }, gis);
    expect(r.body.errors).toBeUndefined();
    const fc = r.body.data.parcelsGeoJSON;
    expect(fc.features[0].geometry.type).toBe('Polygon');
    expect(fc.next).toBeString();
    const { ids } = await walkGeo(q, 'parcelsGeoJSON', 50);
    const count = (
      await t.gql(
        `query($b: BBoxInput!) { parcels(bbox: $b, first: 200) { edges { cursor } pageInfo { hasNextPage } } }`,
        { b: WORLD },
        gis,
      )
    ).body.data.parcels;
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThanOrEqual(count.edges.length);
  });
});
