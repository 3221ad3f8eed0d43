/**
 * Issue 3, acceptance 3 (object and tenant isolation, over real HTTP):
 *  - contractor A cannot read, amend, transition or schedule on contractor B's permit, nor read B's receipt;
 *    the answers look exactly like those for a permit that does not exist (no oracle);
 *  - a clerk of other-town gets nothing of demo-city (by number, in lists, in aggregates, in GeoJSON, in writes);
 *  - a GIS vendor never sees applicant data, neither through the graph nor in GeoJSON.
 */
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from 'bun:test';
import { DEMO_CLIENTS } from '../../src/auth/demo-clients.ts';
import { startTestServer, type GqlResult, type TestServer } from '../helpers/server.ts';

// every request may run argon2 or start servers; shared CI machines are slow
setDefaultTimeout(60_000);

let t: TestServer;
let a: string; // demo-contractor-a
let b: string; // demo-contractor-b
let clerk: string; // demo-city
let clerkOther: string; // other-town
let gis: string;

const LICENSE_A = DEMO_CLIENTS.find((c) => c.client_id === 'demo-contractor-a')!.contractor!;
const LICENSE_B = DEMO_CLIENTS.find((c) => c.client_id === 'demo-contractor-b')!.contractor!;
const WORLD = { minLon: -180, minLat: -90, maxLon: 180, maxLat: 90 };
const PHONE = /\+1 555 \d{3} \d{4}/;

/** A permit of B submitted in this test (SUBMITTED) and its receipt. */
let bNumber: string;
let bReceipt: string;

const PERMIT = `query($n: String!) { permit(number: $n) { number version description contractor { licenseNumber } } }`;
const AMEND = `mutation($n: String!, $v: Int!) { amendPermit(number: $n, expectedVersion: $v, input: { description: "hijacked" }) { number } }`;
const TRANSITION = `mutation($n: String!) { transitionPermit(number: $n, to: WITHDRAWN, reason: "not mine") { number status } }`;
const SCHEDULE = `mutation($n: String!, $k: String!) { scheduleInspection(permitNumber: $n, idempotencyKey: $k,
  input: { inspectionType: "Final", windowStart: "2030-01-01T10:00:00-08:00", windowEnd: "2030-01-01T12:00:00-08:00" }) { id } }`;

beforeAll(async () => {
  t = await startTestServer();
  [a, b, clerk, clerkOther, gis] = (await Promise.all(
    ['demo-contractor-a', 'demo-contractor-b', 'demo-clerk', 'demo-clerk-other', 'demo-gis'].map((id) => t.token(id)),
  )) as [string, string, string, string, string];
  const parcel = (await t.gql(`{ permits(first: 1) { edges { node { parcel { id } } } } }`, {}, clerk)).body.data.permits.edges[0].node
    .parcel.id;
  const sub = await t.gql(
    `mutation($input: SubmitPermitInput!) { submitPermit(input: $input, idempotencyKey: "isolation-b-0001") { receipt { id permitNumber } } }`,
    {
      input: {
        parcelId: parcel,
        permitType: 'ELECTRICAL',
        workClass: 'ALTERATION',
        description: 'B’s panel upgrade',
        valuation: 9000,
        applicant: { name: 'Bea Bee', email: 'bea@example.org', phone: '+1 555 222 3333' },
      },
    },
    b,
  );
  expect(sub.body.errors).toBeUndefined();
  bNumber = sub.body.data.submitPermit.receipt.permitNumber;
  bReceipt = sub.body.data.submitPermit.receipt.id;
}, 120_000);
afterAll(() => t?.stop());

/** The error as a client sees it, with the permit number taken out (it is the caller's own input). */
const shape = (r: GqlResult<any>, n: string) => ({
  status: r.status,
  data: r.body.data ?? null,
  errors: (r.body.errors ?? []).map((e) => ({ code: e.extensions?.code, message: e.message.replaceAll(n, '<n>') })),
});

async function allPermits(token: string, filter?: Record<string, unknown>) {
  const out: { number: string; contractor: { licenseNumber: string } }[] = [];
  let after: string | null = null;
  for (let page = 0; page < 100; page++) {
    const r: GqlResult<any> = await t.gql(
      `query($after: String, $filter: PermitFilter) { permits(first: 200, after: $after, filter: $filter) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { number contractor { licenseNumber } } } } }`,
      { after, filter },
      token,
    );
    expect(r.body.errors).toBeUndefined();
    out.push(...r.body.data.permits.edges.map((e: any) => e.node));
    if (!r.body.data.permits.pageInfo.hasNextPage) return out;
    after = r.body.data.permits.pageInfo.endCursor;
  }
  throw new Error('too many pages');
}

describe('contractor A vs contractor B (BOLA)', () => {
  test('B sees its own permit (control)', async () => {
    const r = await t.gql(PERMIT, { n: bNumber }, b);
    expect(r.body.data.permit.number).toBe(bNumber);
    expect(r.body.data.permit.contractor.licenseNumber).toBe(LICENSE_B);
  });

  test('A reading B’s permit by number → null, like a permit that does not exist', async () => {
    const r = await t.gql(PERMIT, { n: bNumber }, a);
    expect(r.status).toBe(200);
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.permit).toBeNull();
  });

  test('A’s permit list holds only A’s permits, never B’s (also when filtering by B’s license)', async () => {
    const mine = await allPermits(a);
    expect(mine.length).toBeGreaterThan(0);
    expect(new Set(mine.map((p) => p.contractor.licenseNumber))).toEqual(new Set([LICENSE_A]));
    expect(mine.map((p) => p.number)).not.toContain(bNumber);
    expect(await allPermits(a, { contractorLicense: LICENSE_B })).toEqual([]);
  });

  test('A amending, transitioning or scheduling on B’s permit → the same answer as for a missing permit; nothing changes', async () => {
    const missing = bNumber.replace(/\d{6}$/, '999999');
    for (const [label, doc, vars] of [
      ['amend', AMEND, (n: string) => ({ n, v: 1 })],
      ['transition', TRANSITION, (n: string) => ({ n })],
      ['schedule', SCHEDULE, (n: string) => ({ n, k: `isolation-${n}` })],
    ] as const) {
      const onB = await t.gql(doc, vars(bNumber), a);
      const onMissing = await t.gql(doc, vars(missing), a);
      expect({ label, ...shape(onB, bNumber) }).toEqual({ label, ...shape(onMissing, missing) });
      expect(onB.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    }
    const after = await t.gql(PERMIT, { n: bNumber }, b);
    expect(after.body.data.permit).toMatchObject({ version: 1, description: 'B’s panel upgrade' });
    const inspections = await t.gql(`query($n: String!) { permit(number: $n) { status inspections { id } } }`, { n: bNumber }, clerk);
    expect(inspections.body.data.permit).toEqual({ status: 'SUBMITTED', inspections: [] });
  });

  test('A scheduling on an ISSUED permit of B (where scheduling would be legal) → NOT_FOUND, no inspection', async () => {
    const issued = await allPermits(b, { status: ['ISSUED', 'INSPECTIONS'] });
    if (issued.length === 0) return; // seed without such a permit: covered by the SUBMITTED case above
    const n = issued[0]!.number;
    const r = await t.gql(SCHEDULE, { n, k: `isolation-issued-${n}` }, a);
    expect(r.body.data ?? null).toBeNull();
    expect(r.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const none = await t.gql(`query($n: String!) { permit(number: $n) { inspections { inspectionType windowStart } } }`, { n }, clerk);
    expect(none.body.data.permit.inspections.filter((i: any) => i.windowStart === '2030-01-01T18:00:00.000Z')).toEqual([]);
  });

  test('A reading B’s submission receipt by id → null; B reads it', async () => {
    const q = `query($id: ID!) { submissionReceipt(id: $id) { id permitNumber } }`;
    expect((await t.gql(q, { id: bReceipt }, b)).body.data.submissionReceipt.permitNumber).toBe(bNumber);
    const r = await t.gql(q, { id: bReceipt }, a);
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.submissionReceipt).toBeNull();
  });

  test('A resubmitting with B’s idempotency key does not get B’s receipt', async () => {
    const parcel = (await t.gql(`{ permits(first: 1) { edges { node { parcel { id } } } } }`, {}, clerk)).body.data.permits.edges[0].node
      .parcel.id;
    const r = await t.gql(
      `mutation($input: SubmitPermitInput!) { submitPermit(input: $input, idempotencyKey: "isolation-b-0001") { receipt { id permitNumber } } }`,
      {
        input: {
          parcelId: parcel,
          permitType: 'ELECTRICAL',
          workClass: 'ALTERATION',
          description: 'B’s panel upgrade',
          valuation: 9000,
          applicant: { name: 'Bea Bee', email: 'bea@example.org', phone: '+1 555 222 3333' },
        },
      },
      a,
    );
    const receipt = r.body.data?.submitPermit?.receipt;
    if (receipt) {
      expect(receipt.id).not.toBe(bReceipt);
      expect(receipt.permitNumber).not.toBe(bNumber);
    }
  });
});

describe('jurisdiction isolation (other-town clerk vs demo-city)', () => {
  test('a demo-city permit by number → null for other-town (the demo-city clerk sees it)', async () => {
    expect((await t.gql(PERMIT, { n: bNumber }, clerk)).body.data.permit.number).toBe(bNumber);
    const r = await t.gql(PERMIT, { n: bNumber }, clerkOther);
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.permit).toBeNull();
  });

  test('the permit list of other-town holds only OT- numbers', async () => {
    const list = await allPermits(clerkOther);
    expect(list.length).toBeGreaterThan(0);
    expect(list.filter((p) => !p.number.startsWith('OT-'))).toEqual([]);
    expect(list.filter((p) => !p.contractor.licenseNumber.startsWith('OT-'))).toEqual([]);
    expect(await allPermits(clerkOther, { contractorLicense: LICENSE_A })).toEqual([]);
  });

  test('permitStats of other-town counts only its own permits', async () => {
    const stats = async (tok: string) =>
      (await t.gql(`{ permitStats(groupBy: STATUS) { key count } }`, {}, tok)).body.data.permitStats as { count: number }[];
    const sum = (s: { count: number }[]) => s.reduce((n, x) => n + x.count, 0);
    const other = await stats(clerkOther);
    const city = await stats(clerk);
    expect(sum(other)).toBe((await allPermits(clerkOther)).length);
    expect(sum(city)).toBe((await allPermits(clerk)).length);
    expect(sum(other)).toBeLessThan(sum(city));
  });

  test('GeoJSON over the whole world for other-town has only other-town permits', async () => {
    const r = await t.gql(`query($b: BBoxInput!) { permitsGeoJSON(bbox: $b) }`, { b: WORLD }, clerkOther);
    expect(r.body.errors).toBeUndefined();
    const fc = r.body.data.permitsGeoJSON;
    expect(fc.type).toBe('FeatureCollection');
    expect(JSON.stringify(fc)).not.toContain('DC-');
    expect(JSON.stringify(fc)).not.toContain(bNumber);
  });

  test('other-town cannot transition, amend or schedule on a demo-city permit (NOT_FOUND), and nothing changes', async () => {
    const tr = await t.gql(TRANSITION, { n: bNumber }, clerkOther);
    expect(tr.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const review = await t.gql(
      `mutation($n: String!) { transitionPermit(number: $n, to: UNDER_REVIEW) { status } }`,
      { n: bNumber },
      clerkOther,
    );
    expect(review.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await t.gql(`query($n: String!) { permit(number: $n) { status } }`, { n: bNumber }, clerk)).body.data.permit.status).toBe(
      'SUBMITTED',
    );
  });
});

describe('GIS vendor: no personal data', () => {
  test('asking for applicant in permits or permit → 403 FORBIDDEN, no data', async () => {
    for (const q of [
      `{ permits(first: 5) { edges { node { number applicant { name email phone } } } } }`,
      `{ permit(number: "DC-X") { applicant { email } } }`,
    ]) {
      const r = await t.gql(q, {}, gis);
      expect(r.status).toBe(403);
      expect(r.body.data ?? null).toBeNull();
      expect(r.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
  });

  test('permitsGeoJSON contains no applicant email, phone or name', async () => {
    // the applicant names and emails of demo-city, as a clerk (with permits:read:pii) sees them
    const pii = await t.gql(`{ permits(first: 200) { edges { node { applicant { name email phone } } } } }`, {}, clerk);
    expect(pii.body.errors).toBeUndefined();
    const applicants = pii.body.data.permits.edges.map((e: any) => e.node.applicant).filter(Boolean);
    expect(applicants.length).toBeGreaterThan(0);

    const r = await t.gql(`query($b: BBoxInput!) { permitsGeoJSON(bbox: $b) }`, { b: WORLD }, gis);
    expect(r.body.errors).toBeUndefined();
    const fc = r.body.data.permitsGeoJSON;
    expect(fc.type).toBe('FeatureCollection');
    expect(fc.features.length).toBeGreaterThan(0);
    const text = JSON.stringify(fc);
    expect(text).not.toContain('@');
    expect(text).not.toMatch(PHONE);
    expect(text).not.toContain('bea@example.org');
    for (const a of applicants) expect(text).not.toContain(a.name);
    const keys = new Set(fc.features.flatMap((f: any) => Object.keys(f.properties ?? {})).map((k: string) => k.toLowerCase()));
    for (const k of keys) expect(k as string).not.toMatch(/applicant|email|phone|name/);
  });

  test('the public permit fields a GIS vendor may read carry no applicant data either', async () => {
    const r = await t.gql(
      `{ permits(first: 50) { edges { node { number description status parcel { address apn } contractor { name licenseNumber } statusHistory { reason } } } } }`,
      {},
      gis,
    );
    expect(r.body.errors).toBeUndefined();
    const text = JSON.stringify(r.body.data);
    expect(text).not.toContain('@');
    expect(text).not.toMatch(PHONE);
  });
});
