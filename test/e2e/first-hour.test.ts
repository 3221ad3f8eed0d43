/**
 * A new user's first hour: a contractor finds the parcel it builds on by the APN from the county's records
 * (`parcel(apn:)`) and submits a permit naming it by `apn` instead of our internal `parcelId` (exactly one of the
 * two); every response carries the `X-Request-Id` to quote when something goes wrong.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';

setDefaultTimeout(120_000);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
}, 60_000);
afterAll(() => t.stop(), 30_000);

const PARCEL = `query($apn: String!) { parcel(apn: $apn) { id apn address address1 address2 city state zip zoningCode } }`;
const SUBMIT = `mutation($input: SubmitPermitInput!, $key: String!) { submitPermit(input: $input, idempotencyKey: $key) { receipt { state permitNumber } permit { parcel { apn } } } }`;
const input = (parcel: { parcelId?: string; apn?: string }) => ({
  ...parcel,
  permitType: 'ELECTRICAL',
  workClass: 'ALTERATION',
  description: 'Panel upgrade',
  valuation: 4200,
  applicant: { name: 'Ada Lovelace', email: 'ada@example.org', phone: '+1 555 010 2030' },
});

describe('parcel(apn:) and submitPermit by apn', () => {
  test('a contractor looks a parcel up by APN and submits with it; other tenants and unknown APNs are absent', async () => {
    const clerk = await t.token('demo-clerk');
    const first = await t.gql(`{ permits(first: 1) { edges { node { parcel { id apn } } } } }`, {}, clerk);
    const { id, apn } = first.body.data.permits.edges[0].node.parcel as { id: string; apn: string };

    const contractor = await t.token('demo-contractor-a');
    const found = await t.gql(PARCEL, { apn }, contractor);
    expect(found.body.errors).toBeUndefined();
    // demo parcels predate the address parts: the one-line address only
    expect(found.body.data.parcel).toMatchObject({ id, apn, address1: null, city: null, zip: null });
    expect((await t.gql(PARCEL, { apn: 'no-such-apn' }, contractor)).body.data.parcel).toBeNull();
    // the clerk of other-town sees none of demo-city's parcels
    expect((await t.gql(PARCEL, { apn }, await t.token('demo-clerk-other'))).body.data.parcel).toBeNull();

    const byApn = await t.gql(SUBMIT, { input: input({ apn }), key: 'apn-submit-0001' }, contractor);
    expect(byApn.body.errors).toBeUndefined();
    expect(byApn.body.data.submitPermit.receipt.state).toBe('PERSISTED');
    expect(byApn.body.data.submitPermit.permit.parcel.apn).toBe(apn);

    const unknown = await t.gql(SUBMIT, { input: input({ apn: 'no-such-apn' }), key: 'apn-submit-0002' }, contractor);
    expect(unknown.body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    expect(unknown.body.errors![0]!.message).toContain('input.apn');

    for (const parcel of [{ apn, parcelId: id }, {}]) {
      const r = await t.gql(SUBMIT, { input: input(parcel), key: 'apn-submit-0003' }, contractor);
      expect(r.body.data).toBeNull();
      expect(r.body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
      expect(r.body.errors![0]!.message).toContain('exactly one of parcelId and apn');
    }
  });
});

describe('X-Request-Id', () => {
  test('every response carries one: GraphQL, refusals, token errors, health, unknown paths; a sane incoming id is kept', async () => {
    const responses = [
      await fetch(`${t.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"query":"{ me { role } }"}',
      }),
      await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' }),
      await fetch(`${t.url}/oauth/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'nobody', client_secret: 'x' }),
      }),
      await fetch(`${t.url}/healthz`),
      await fetch(`${t.url}/no-such-path`),
    ];
    const ids = responses.map((r) => r.headers.get('x-request-id'));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(ids).size).toBe(ids.length);
    const mine = await fetch(`${t.url}/healthz`, { headers: { 'x-request-id': 'support-ticket-4711' } });
    expect(mine.headers.get('x-request-id')).toBe('support-ticket-4711');
  });
});

describe('GraphiQL', () => {
  test('opens with the example operations of docs/examples as preset tabs, the analyst first', async () => {
    const page = await fetch(`${t.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    const html = await page.text();
    for (const operation of ['PermitsByStatus', 'FindParcel', 'ReviewQueue', 'VerifyChain', 'RegisterGisVendor'])
      expect(html).toContain(operation);
    expect(html.indexOf('PermitsByStatus')).toBeLessThan(html.indexOf('FindParcel'));
  });
});
