/**
 * Issue 18 item 9: an admin manages the clients of its own jurisdiction only, over real HTTP.
 * Registering for another jurisdiction → FORBIDDEN naming `input.jurisdiction` (nothing written, asked before any
 * lookup, so an unknown jurisdiction gets the same answer); revoking another jurisdiction's client answers
 * `false`, exactly as for an id that does not exist (no oracle), and that client keeps working.
 * Registering across jurisdictions stays an operator's CLI action (test/cli/clients.test.ts).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { registerClient } from '../../src/auth/client-registry.ts';
import { rowsOf } from '../../src/db/rows.ts';
import { demoLicense } from '../../src/db/seed.ts';
import { countRows, startTestServer, type TestServer } from '../helpers/server.ts';

setDefaultTimeout(60_000);

let t: TestServer;
let cityAdmin: string;
let townAdmin: string;
let townClerkSecret: string;

const REGISTER = `mutation($input: RegisterClientInput!) { registerClient(input: $input) { clientId jurisdiction clientSecret } }`;
const REVOKE = `mutation($id: ID!) { revokeClient(clientId: $id) }`;

async function tokenFor(clientId: string, secret: string) {
  const res = await fetch(`${t.url}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }),
  });
  return { status: res.status, token: res.status === 200 ? ((await res.json()) as { access_token: string }).access_token : '' };
}

async function auditEntryOf(requestId: string): Promise<Record<string, any>> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const rows = rowsOf<{ entry: Record<string, any> | string }>(
      await t.tdb.database.db.execute(sql`select entry from audit_entries where entry->>'requestId' = ${requestId}`),
    );
    if (rows[0]) return typeof rows[0].entry === 'string' ? JSON.parse(rows[0].entry) : rows[0].entry;
    if (Date.now() > deadline) throw new Error(`no audit entry for request ${requestId}`);
    await Bun.sleep(200);
  }
}

beforeAll(async () => {
  t = await startTestServer();
  cityAdmin = await t.token('demo-admin');
  // other-town's admin and a clerk are an operator's doing (the CLI calls the same registry without a tenant)
  const db = t.tdb.database.db;
  const admin = await registerClient(db, { clientId: 'town-admin', role: 'admin', jurisdiction: 'other-town' });
  townClerkSecret = (await registerClient(db, { clientId: 'town-clerk', role: 'clerk', jurisdiction: 'other-town' })).secret;
  townAdmin = (await tokenFor('town-admin', admin.secret)).token;
  expect(townAdmin).not.toBe('');
}, 120_000);
afterAll(() => t?.stop());

describe('registerClient', () => {
  test('a demo-city admin cannot register any role for another (or an unknown) jurisdiction: FORBIDDEN naming input.jurisdiction, nothing written', async () => {
    const before = await countRows(t, 'api_clients');
    const attempts = [
      { clientId: 'x-clerk', role: 'clerk', jurisdiction: 'other-town' },
      { clientId: 'x-admin', role: 'admin', jurisdiction: 'other-town' },
      { clientId: 'x-compliance', role: 'compliance', jurisdiction: 'other-town' },
      { clientId: 'x-builder', role: 'contractor', jurisdiction: 'other-town', contractorLicense: demoLicense('other-town', 0) },
      { clientId: 'x-near-miss', role: 'clerk', jurisdiction: 'Demo-City' },
      { clientId: 'x-nowhere', role: 'clerk', jurisdiction: 'nowhere' },
    ];
    for (const input of attempts) {
      const r = await t.gql(REGISTER, { input }, cityAdmin);
      expect({ input, code: r.body.errors?.[0]?.extensions?.code, field: r.body.errors?.[0]?.extensions?.field }).toEqual({
        input,
        code: 'FORBIDDEN',
        field: 'input.jurisdiction',
      });
      expect(r.status).toBe(403);
      expect(r.body.data?.registerClient ?? null).toBeNull();
      expect(JSON.stringify(r.body)).not.toContain('clientSecret":"');
    }
    expect(await countRows(t, 'api_clients')).toBe(before);
  });

  test('the other direction too: an other-town admin cannot register for demo-city', async () => {
    const r = await t.gql(REGISTER, { input: { clientId: 'y-clerk', role: 'clerk', jurisdiction: 'demo-city' } }, townAdmin);
    expect(r.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(r.body.errors?.[0]?.extensions?.field).toBe('input.jurisdiction');
  });

  test('control: each admin registers clients of its own jurisdiction, and they get tokens of that jurisdiction', async () => {
    for (const [admin, jurisdiction, id] of [
      [cityAdmin, 'demo-city', 'own-city-clerk'],
      [townAdmin, 'other-town', 'own-town-clerk'],
    ] as const) {
      const r = await t.gql(REGISTER, { input: { clientId: id, role: 'clerk', jurisdiction } }, admin);
      expect(r.body.errors).toBeUndefined();
      expect(r.body.data.registerClient.jurisdiction).toBe(jurisdiction);
      const tok = await tokenFor(id, r.body.data.registerClient.clientSecret);
      expect(tok.status).toBe(200);
      const me = await t.gql(`{ me { jurisdiction } }`, {}, tok.token);
      expect(me.body.data.me.jurisdiction).toBe(jurisdiction);
    }
  });
});

describe('revokeClient', () => {
  test("a demo-city admin revoking other-town's clerk gets false, like an unknown id; the clerk keeps working", async () => {
    const requestId = `revoke-foreign-${crypto.randomUUID()}`;
    const foreign = await t.gql(REVOKE, { id: 'town-clerk' }, cityAdmin, { 'x-request-id': requestId });
    const unknown = await t.gql(REVOKE, { id: 'no-such-client-anywhere' }, cityAdmin);
    expect(foreign.status).toBe(200);
    expect(foreign.body).toEqual(unknown.body);
    expect(foreign.body.data).toEqual({ revokeClient: false });
    expect(foreign.body.errors).toBeUndefined();
    expect((await tokenFor('town-clerk', townClerkSecret)).status).toBe(200);
    // the audit does not name the foreign client as affected: nothing was changed
    const entry = await auditEntryOf(requestId);
    expect(entry.clientId).toBe('demo-admin');
    expect(entry.affected).toEqual([]);
    // other-town's own admin may revoke it
    const own = await t.gql(REVOKE, { id: 'town-clerk' }, townAdmin);
    expect(own.body.data).toEqual({ revokeClient: true });
    expect(own.body.errors).toBeUndefined();
    expect((await tokenFor('town-clerk', townClerkSecret)).status).toBe(401);
  });

  test('an other-town admin cannot revoke demo-city clients (demo-gis keeps working)', async () => {
    const r = await t.gql(REVOKE, { id: 'demo-gis' }, townAdmin);
    expect(r.body.data).toEqual({ revokeClient: false });
    expect(r.body.errors).toBeUndefined();
    const gis = t.clients.find((c) => c.client_id === 'demo-gis')!;
    expect((await tokenFor('demo-gis', gis.client_secret)).status).toBe(200);
  });
});
