/**
 * A request that is not valid JSON gets a plain 400 with a stable code (issue 18, item 12). Yoga answered an invalid
 * POST body with its JSON parser's own message (`extensions.originalError`), and a GET or form request with broken
 * `variables` JSON threw from its parser: a masked 500 with a stack trace in the log.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/rows.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

setDefaultTimeout(120_000);

let t: TestServer;
const logs: string[] = [];
beforeAll(async () => {
  t = await startTestServer({ RATE_LIMIT_SCALE: '0' }, { logLines: logs });
});
afterAll(() => t?.stop());

const cases: [string, () => Request][] = [
  [
    'a POST body cut short',
    () =>
      new Request('http://x/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"query": "{ __typename }",',
      }),
  ],
  [
    'a POST body with a trailing comma in variables',
    () =>
      new Request('http://x/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"query":"{ __typename }","variables":{"a":1,}}',
      }),
  ],
  [
    'a POST body that is not JSON at all',
    () =>
      new Request('http://x/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'query { __typename }' }),
  ],
  [
    'GET variables that are not JSON',
    () =>
      new Request(`http://x/graphql?${new URLSearchParams({ query: '{ __typename }', variables: '{"a":' })}`, {
        headers: { accept: 'application/json' },
      }),
  ],
  [
    'GET extensions that are not JSON',
    () =>
      new Request(`http://x/graphql?${new URLSearchParams({ query: '{ __typename }', extensions: '{oops}' })}`, {
        headers: { accept: 'application/json' },
      }),
  ],
  [
    'form-encoded variables that are not JSON',
    () =>
      new Request('http://x/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'graphql-preflight': '1' },
        body: new URLSearchParams({ query: '{ __typename }', variables: "{'a': 1}" }).toString(),
      }),
  ],
];

test.each(cases)('%s: 400 BAD_REQUEST with a plain message, nothing from the parser, nothing logged as an error', async (_what, make) => {
  const template = make();
  const before = logs.length;
  const res = await fetch(`${t.url}${new URL(template.url).pathname}${new URL(template.url).search}`, {
    method: template.method,
    headers: { ...Object.fromEntries(template.headers), authorization: `Bearer ${await t.token('demo-clerk')}` },
    ...(template.method === 'POST' ? { body: await template.text() } : {}),
  });
  const text = await res.text();
  expect(res.status).toBe(400);
  const body = JSON.parse(text) as { errors: { message: string; extensions: Record<string, unknown> }[] };
  expect(body.errors).toHaveLength(1);
  expect(body.errors[0]!.extensions.code).toBe('BAD_REQUEST');
  expect(body.errors[0]!.extensions.originalError).toBeUndefined();
  expect(body.errors[0]!.message).toMatch(/not valid JSON/);
  // nothing of the engine's parser text (JavaScriptCore says "JSON Parse error: …", V8 "Unexpected token …")
  expect(text).not.toMatch(/JSON Parse error|Unexpected token|SyntaxError|Expected '|stack/);
  const errors = logs
    .slice(before)
    .map((l) => JSON.parse(l) as { level: number })
    .filter((l) => l.level >= 50);
  expect(errors).toEqual([]);
});

test('the refusal is audited as an ERROR with BAD_REQUEST and the caller', async () => {
  await t.running.audit.flush();
  const [h] = rowsOf<{ n: string }>(await t.tdb.database.db.execute(sql`select coalesce(max(seq), 0)::text as n from audit_entries`));
  const res = await fetch(`${t.url}/graphql?${new URLSearchParams({ query: '{ __typename }', variables: '{' })}`, {
    headers: { accept: 'application/json', authorization: `Bearer ${await t.token('demo-clerk')}` },
  });
  expect(res.status).toBe(400);
  await res.arrayBuffer();
  await t.running.audit.flush();
  const entries = rowsOf<{ entry: string }>(
    await t.tdb.database.db.execute(
      sql`select entry::text as entry from audit_entries where seq > ${Number(h!.n)} and entry->>'kind' = 'graphql'`,
    ),
  ).map((r) => JSON.parse(r.entry));
  expect(entries).toHaveLength(1);
  expect(entries[0]).toMatchObject({ clientId: 'demo-clerk', outcome: 'ERROR', errorCodes: ['BAD_REQUEST'], httpStatus: 400 });
});

test('valid requests are unchanged by it', async () => {
  const r = await t.gql('{ __typename }');
  expect(r.status).toBe(200);
  expect(r.body.data).toEqual({ __typename: 'Query' });
  const res = await fetch(
    `${t.url}/graphql?${new URLSearchParams({ query: 'query($a: String!) { permitStatus(number: $a) { status } }', variables: '{"a":"DC-NOPE-2024-999999"}' })}`,
    { headers: { accept: 'application/json' } },
  );
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ data: { permitStatus: null }, extensions: { cost: { estimated: 2 } } });
});
