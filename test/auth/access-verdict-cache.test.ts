/**
 * Issue 7 (hot path) without weakening issue 3: generic-auth's allowed verdicts are remembered per document
 * (src/auth/access-verdict-cache.ts). These tests try to make a remembered "allowed" leak:
 *  - to another role sending the very same document text,
 *  - to an anonymous caller,
 *  - across @include/@skip variables that decide whether a protected field is asked for,
 * and check the cache really spares the rule's walk on a repeated allowed request (counted on a real Yoga).
 */
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from 'bun:test';
import { useGenericAuth } from '@envelop/generic-auth';
import { GraphQLError } from 'graphql';
import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import { withVerdictCache } from '../../src/auth/access-verdict-cache.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

setDefaultTimeout(60_000);

let t: TestServer;
let clerk: string;
let gis: string;
let number: string;

beforeAll(async () => {
  t = await startTestServer();
  [clerk, gis] = (await Promise.all(['demo-clerk', 'demo-gis'].map((id) => t.token(id)))) as [string, string];
  number = (await t.gql('{ permits(first: 1) { edges { node { number } } } }', {}, clerk)).body.data.permits.edges[0].node.number;
}, 120_000);
afterAll(() => t?.stop());

const WITH_PII = 'query Pii($n: String!) { permit(number: $n) { number applicant { email } } }';

describe('a remembered allowed verdict does not leak', () => {
  test('to another role sending the same document', async () => {
    for (let i = 0; i < 3; i++) {
      const ok = await t.gql(WITH_PII, { n: number }, clerk);
      expect(ok.status).toBe(200);
      expect(ok.body.errors).toBeUndefined();
      expect(ok.body.data.permit.applicant.email).toContain('@');
    }
    for (let i = 0; i < 3; i++) {
      const denied = await t.gql(WITH_PII, { n: number }, gis);
      expect(denied.status).toBe(403);
      expect(denied.body.data ?? null).toBeNull();
      expect(denied.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(JSON.stringify(denied.body.errors)).toContain('permit.applicant');
    }
    // and the clerk is still allowed after the denials
    expect((await t.gql(WITH_PII, { n: number }, clerk)).body.data.permit.applicant.email).toContain('@');
  });

  test('to an anonymous caller', async () => {
    const q = 'query Anon($n: String!) { permit(number: $n) { number } }';
    expect((await t.gql(q, { n: number }, gis)).body.data.permit.number).toBe(number);
    const anon = await t.gql(q, { n: number });
    expect(anon.status).toBe(401);
    expect(anon.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  test('to the same role asking through another operation of the document', async () => {
    // generic-auth walks every operation of a document: a document holding a protected operation is refused
    // whichever operation is named, before and after the same text was allowed for a clerk
    const doc =
      'query Public($n: String!) { permit(number: $n) { number } } query Pii($n: String!) { permit(number: $n) { applicant { email } } }';
    const res = (op: string, token: string) =>
      fetch(`${t.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: doc, operationName: op, variables: { n: number } }),
      });
    expect((await res('Public', clerk)).status).toBe(200);
    expect((await res('Pii', clerk)).status).toBe(200);
    for (const op of ['Public', 'Pii']) expect((await res(op, gis)).status).toBe(403);
  });
});

/** A real Yoga with generic-auth wrapped by the cache, counting how often the rule runs. */
function countingYoga() {
  const counter = { checks: 0 };
  const auth = useGenericAuth<{ scopes: string[] }, { request: Request }, 'user'>({
    mode: 'protect-all',
    contextFieldName: 'user',
    resolveUserFn: (c) => {
      const s = c.request.headers.get('x-scopes');
      return s === null ? null : { scopes: s.split(' ') };
    },
    validateUser: ({ user, field }) => {
      counter.checks++;
      if (!user) return new GraphQLError('authentication required');
      return field.name === 'secret' && !user.scopes.includes('s') ? new GraphQLError('forbidden') : undefined;
    },
  }) as unknown as Plugin;
  const yoga = createYoga({
    schema: createSchema({
      typeDefs: 'type Query { a: Int b: Int secret: Int }',
      resolvers: { Query: { a: () => 1, b: () => 2, secret: () => 42 } },
    }),
    plugins: [withVerdictCache(auth, (c) => (c as { user?: { scopes: string[] } | null }).user?.scopes ?? null)],
    logging: false,
  });
  const ask = async (query: string, scopes: string | null, variables: Record<string, unknown> = {}) => {
    const r = await yoga.fetch('http://x/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(scopes === null ? {} : { 'x-scopes': scopes }) },
      body: JSON.stringify({ query, variables }),
    });
    return (await r.json()) as { data?: Record<string, number> | null; errors?: unknown[] };
  };
  return { counter, ask };
}

test('a repeated allowed request skips the rule; another scope set or a denial runs it', async () => {
  const { counter, ask } = countingYoga();
  expect((await ask('{ a b }', 'r')).data?.a).toBe(1);
  expect(counter.checks).toBe(2); // one check per field
  expect((await ask('{ a b }', 'r')).data?.a).toBe(1);
  expect((await ask('{ a b }', 'r')).data?.a).toBe(1);
  expect(counter.checks).toBe(2); // remembered
  expect((await ask('{ a b }', 'r w')).data?.a).toBe(1);
  expect(counter.checks).toBe(4); // another scope set: checked
  expect((await ask('{ a b }', null)).errors).toBeDefined(); // denied, never remembered
  expect((await ask('{ a b }', null)).errors).toBeDefined();
  expect(counter.checks).toBe(8);
});

test('@include with a variable: an allowed verdict with the field skipped does not allow it included', async () => {
  const { ask } = countingYoga();
  const q = 'query($x: Boolean!) { a secret @include(if: $x) }';
  for (let i = 0; i < 2; i++) {
    const skipped = await ask(q, 'r', { x: false });
    expect(skipped.errors).toBeUndefined();
    expect(skipped.data).toEqual({ a: 1 });
    const included = await ask(q, 'r', { x: true });
    expect(included.data ?? null).toBeNull();
    expect(included.errors).toBeDefined();
  }
  expect((await ask(q, 'r s', { x: true })).data).toEqual({ a: 1, secret: 42 });
});
