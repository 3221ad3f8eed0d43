/**
 * After a full flow with personal data, tokens and secrets flowing through every kind of request, none of them
 * appears anywhere in audit_entries (the whole table, as text).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/rows.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { setDefaultTimeout } from 'bun:test';

// starts databases and servers: Bun's 5 s default is too short on a busy machine
setDefaultTimeout(120_000);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ RATE_LIMIT_SCALE: '0' });
});
afterAll(() => t.stop());

test('no applicant email or phone, bearer token or client secret reaches audit_entries', async () => {
  const contractor = await t.token('demo-contractor-a');
  const clerk = await t.token('demo-clerk');
  const parcel = (await t.gql(`{ permits(first: 1) { edges { node { parcel { id } } } } }`, {}, clerk)).body.data.permits.edges[0].node
    .parcel.id;
  const applicant = { name: 'Zora Neale-Hurston', email: 'zora.secret@example.org', phone: '+1 555 987 6543' };
  const sub = await t.gql(
    `mutation($i: SubmitPermitInput!) { submitPermit(input: $i, idempotencyKey: "pii-audit-0001") { receipt { permitNumber } } }`,
    { i: { parcelId: parcel, permitType: 'BUILDING', workClass: 'NEW', description: 'Studio', valuation: 1000, applicant } },
    contractor,
  );
  const n = sub.body.data.submitPermit.receipt.permitNumber;
  await t.gql(
    `mutation { amendPermit(number: "${n}", expectedVersion: 1, input: { applicant: { name: "Inline Person", email: "inline.secret@example.org", phone: "+1 555 222 3333" } }) { version } }`,
    {},
    contractor,
  );
  await t.gql(`query($n: String!) { permit(number: $n) { applicant { name email phone } } }`, { n }, clerk);
  await t.gql(`{ me { clientId } }`, {}, `${clerk}x`); // a damaged token
  const secret = t.clients.find((c) => c.client_id === 'demo-gis')!.client_secret;
  await fetch(`${t.url}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'demo-gis', client_secret: `${secret}-wrong` }),
  });
  await fetch(`${t.url}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${btoa(`demo-gis:${secret}`)}` },
    body: new URLSearchParams({ grant_type: 'client_credentials' }),
  });
  await t.running.audit.flush();

  const [{ text }] = rowsOf<{ text: string }>(
    await t.tdb.database.db.execute(sql`select coalesce(string_agg(entry::text || prev_hash || hash, ' '), '') as text from audit_entries`),
  ) as [{ text: string }];
  expect(text.length).toBeGreaterThan(1000);
  for (const needle of [
    'zora.secret@example.org',
    '555 987 6543',
    'Zora Neale-Hurston',
    'inline.secret@example.org',
    '555 222 3333',
    'Inline Person',
    contractor,
    clerk,
    secret,
    contractor.split('.')[2]!,
  ]) {
    expect(text).not.toContain(needle);
  }
  expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\./); // no JWT at all
  expect(text).toContain(n); // the record itself is named
});
