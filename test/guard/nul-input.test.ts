/**
 * U+0000 in any string input is refused with BAD_USER_INPUT naming where it was (src/guard/client-text.ts).
 * Before, such values reached PostgreSQL, failed the statement and came back as a masked INTERNAL_SERVER_ERROR
 * (transitionPermit, amendPermit, auditLog, revokeClient). A caller without access is still refused as FORBIDDEN.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import { nulPath } from '../../src/guard/client-text.ts';
import { countRows, startTestServer, type TestServer } from '../helpers/server.ts';

setDefaultTimeout(120_000);
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ RATE_LIMIT_SCALE: '0' });
});
afterAll(() => t?.stop());

const N = 'DC-\u0000-1';
const codes = (r: { body: { errors?: { extensions?: { code?: string } }[] } }) => r.body.errors?.map((e) => e.extensions?.code);

test('nulPath names the first string or key holding U+0000', () => {
  expect(nulPath({ a: 'x', b: [1, 'y'] })).toBeNull();
  expect(nulPath({ input: { applicant: { name: 'A\u0000' } } })).toBe('input.applicant.name');
  expect(nulPath({ list: ['ok', 'n\u0000'] })).toBe('list[1]');
  expect(nulPath({ input: { 'k\u0000': 1 } })).toBe('input');
});

test.each([
  ['transitionPermit', 'demo-clerk', 'mutation($n: String!) { transitionPermit(number: $n, to: UNDER_REVIEW) { status } }', { n: N }, 'n'],
  [
    'amendPermit',
    'demo-contractor-a',
    'mutation($n: String!) { amendPermit(number: $n, expectedVersion: 1, input: { description: "d" }) { version } }',
    { n: N },
    'n',
  ],
  [
    'auditLog',
    'demo-compliance',
    'query($n: String) { auditLog(first: 1, filter: { permitNumber: $n }) { edges { node { seq } } } }',
    { n: N },
    'n',
  ],
  ['revokeClient', 'demo-admin', 'mutation($c: ID!) { revokeClient(clientId: $c) }', { c: 'x\u0000y' }, 'c'],
  ['permit', 'demo-clerk', 'query($n: String!) { permit(number: $n) { number } }', { n: N }, 'n'],
])('%s: a variable with U+0000 is BAD_USER_INPUT naming it', async (_name, client, query, variables, field) => {
  const r = await t.gql(query, variables, await t.token(client));
  expect(r.status).toBe(200);
  expect(codes(r)).toEqual(['BAD_USER_INPUT']);
  expect(r.body.errors![0]!.extensions).toMatchObject({ field });
  expect(r.body.errors![0]!.message).toContain('U+0000');
});

test('nested in an input object, and as a string literal in the document; nothing is written', async () => {
  const before = await countRows(t, 'permits');
  const contractor = await t.token('demo-contractor-a');
  const nested = await t.gql(
    'mutation($i: SubmitPermitInput!) { submitPermit(input: $i, idempotencyKey: "nul-test-0001") { receipt { id } } }',
    {
      i: {
        parcelId: '00000000-0000-4000-8000-000000000000',
        permitType: 'SIGN',
        workClass: 'NEW',
        description: 'Sign',
        valuation: 10,
        applicant: { name: 'A\u0000B', email: 'a@example.org', phone: '+1 555 000 0000' },
      },
    },
    contractor,
  );
  expect(codes(nested)).toEqual(['BAD_USER_INPUT']);
  expect(nested.body.errors![0]!.extensions).toMatchObject({ field: 'i.applicant.name' });
  const literal = await t.gql(
    'mutation { transitionPermit(number: "DC-\\u0000", to: UNDER_REVIEW) { status } }',
    {},
    await t.token('demo-clerk'),
  );
  expect(codes(literal)).toEqual(['BAD_USER_INPUT']);
  expect(await countRows(t, 'permits')).toBe(before);
});

test('the refusal is audited with its code', async () => {
  const { sql } = await import('drizzle-orm');
  const { rowsOf } = await import('../../src/db/rows.ts');
  const r = await t.gql(
    'mutation Nul($n: String!) { transitionPermit(number: $n, to: UNDER_REVIEW) { status } }',
    { n: N },
    await t.token('demo-clerk'),
  );
  expect(codes(r)).toEqual(['BAD_USER_INPUT']);
  await t.running.audit.flush();
  const [last] = rowsOf<{ entry: string }>(
    await t.tdb.database.db.execute(
      sql`select entry::text as entry from audit_entries where entry->'operation'->>'name' = 'Nul' order by seq desc limit 1`,
    ),
  );
  expect(JSON.parse(last!.entry)).toMatchObject({
    outcome: 'ERROR',
    errorCodes: ['BAD_USER_INPUT'],
    operation: { type: 'mutation', name: 'Nul' },
  });
});

test('a caller without access to the field is refused as FORBIDDEN whatever it sent', async () => {
  const r = await t.gql('mutation($c: ID!) { revokeClient(clientId: $c) }', { c: 'x\u0000y' }, await t.token('demo-clerk'));
  expect(codes(r)).toEqual(['FORBIDDEN']);
});
