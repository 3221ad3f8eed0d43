/**
 * Issue 4, acceptance 1 against the real app (its own limits and schema): each hostile query is refused with
 * 400 QUERY_REJECTED before execution; no SQL statement runs for it.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';

setDefaultTimeout(120_000);
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ RATE_LIMIT_SCALE: '0' });
  await t.token('demo-analyst');
  await Bun.sleep(1000); // let start-up work (status cache warm-up) finish: only the request's statements count
});
afterAll(() => t.stop());

const deepIntrospection = (depth: number) => {
  let inner = 'name';
  for (let i = 0; i < depth; i++) inner = `ofType { ${inner} }`;
  return `{ __schema { types { fields { type { ${inner} } } } } }`;
};

const HOSTILE: Record<string, string> = {
  'depth 50': deepIntrospection(50),
  '1,000 aliases': `{ ${Array.from({ length: 1000 }, (_, i) => `a${i}: __typename`).join(' ')} }`,
  '500 repeated directives': `{ __typename ${'@skip(if: false) '.repeat(500)} }`,
  '10,000 tokens': `{ permits(first: 1) { edges { node { ${'number '.repeat(5000)} } } } }`,
  'circular fragment': `{ permits(first: 1) { edges { node { ...A } } } } fragment A on Permit { parcel { id } ...B } fragment B on Permit { ...A }`,
  'cost: permits(first: 200) × inspections(first: 200)': `{ permits(first: 200) { edges { node { number inspections(first: 200) { id result } } } } }`,
  'ten repeated directives on one field': `{ __typename ${'@include(if: true) '.repeat(10)} }`,
};

/** `run`'s result and how many SQL statements of execution it caused while it ran. */
async function executedStatements<T>(run: () => Promise<T>): Promise<{ result: T; statements: number }> {
  let statements = 0;
  const off = t.running.database.onQuery((sql) => {
    // token verification (signing keys), the audit trail and the health probe are not execution
    if (!/audit_entries|audit_pending|pg_advisory|select 1|signing_keys/.test(sql)) statements++;
  });
  try {
    return { result: await run(), statements };
  } finally {
    off();
  }
}

describe('hostile queries against the real app', () => {
  for (const [name, query] of Object.entries(HOSTILE)) {
    test(`${name} → 400 QUERY_REJECTED, nothing executed`, async () => {
      const tok = await t.token('demo-analyst');
      const { result: r, statements } = await executedStatements(() => t.gql(query, {}, tok));
      expect(r.status).toBe(400);
      expect(r.body.data ?? null).toBeNull();
      expect(r.body.errors?.map((e) => e.extensions?.code)).toContain('QUERY_REJECTED');
      expect(statements).toBe(0);
    });
  }

  test('a legitimate page of 200 permits with nested records is within the limits', async () => {
    const r = await t.gql(
      `{ permits(first: 200) { edges { node { number parcel { apn } contractor { name } inspections { result checklist { item } } } } } }`,
      {},
      await t.token('demo-clerk'),
    );
    expect(r.status).toBe(200);
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.permits.edges).toHaveLength(200);
  });

  test('a costly operation is refused even after a cheap operation of the same document was accepted', async () => {
    // Yoga caches validation per document: the cost verdict of the cheap operation must not answer for the costly one
    const query = `query Cheap { __typename } query Costly ${HOSTILE['cost: permits(first: 200) × inspections(first: 200)']}`;
    const tok = await t.token('demo-analyst');
    const send = (operationName: string) =>
      fetch(`${t.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tok}` },
        body: JSON.stringify({ query, operationName }),
      }).then(async (res) => ({
        status: res.status,
        body: (await res.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] },
      }));
    const cheap = await send('Cheap');
    expect(cheap.status).toBe(200);
    expect(cheap.body.errors).toBeUndefined();
    const { result: costly, statements } = await executedStatements(() => send('Costly'));
    expect(costly.status).toBe(400);
    expect(costly.body.data ?? null).toBeNull();
    expect(costly.body.errors?.map((e) => e.extensions?.code)).toContain('QUERY_REJECTED');
    expect(statements).toBe(0);
  });
});
