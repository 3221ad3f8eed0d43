/**
 * src/http/ogc/use-fresh-counters-after-writes.ts over real HTTP: a mutation of a principal with a jurisdiction drops
 * that jurisdiction's counter once it executed, a query or an anonymous request does not; the operation's type is
 * the one the audit trail noted when there is a note, read from the document where the trail is left out.
 * test/e2e/ogc-features.test.ts ("a write changes the ETag") covers it in the whole app.
 */
import { afterAll, expect, test } from 'bun:test';
import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import { newRequestAudit, type OperationRecord } from '../../src/audit/operation-notes.ts';
import { useFreshCountersAfterWrites } from '../../src/http/ogc/use-fresh-counters-after-writes.ts';
import type { RequestScope } from '../../src/request-scope.ts';

const forgotten: string[] = [];
/** What the audit trail would have noted (its type) for the next request; null: no note. */
let noted: OperationRecord['type'] | null = null;

/** Stands in for the audit trail's onParams note (src/audit/use-audit-trail.ts). */
const noteLikeTheAuditTrail: Plugin<{ scope: RequestScope }> = {
  onParams({ context }) {
    if (noted === null) return;
    const note = { type: noted, name: null, documentSha256: null, variables: null, affected: [], errorCodes: [], auditedInTx: false };
    (context as { scope: RequestScope }).scope.audit.byContext.set(context, note);
  },
};

const yoga = createYoga<{ scope: RequestScope }>({
  schema: createSchema({
    typeDefs: 'type Query { a: Int } type Mutation { b: Int }',
    resolvers: { Query: { a: () => 1 }, Mutation: { b: () => 2 } },
  }),
  logging: false,
  plugins: [noteLikeTheAuditTrail, useFreshCountersAfterWrites((jurisdiction) => forgotten.push(jurisdiction))],
});
const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  fetch: (request) => {
    const jurisdiction = request.headers.get('x-jurisdiction');
    const scope = { principal: jurisdiction ? { jurisdiction } : null, audit: newRequestAudit() } as unknown as RequestScope;
    return yoga.fetch(request, { scope });
  },
});
afterAll(() => void server.stop(true));

async function run(query: string, jurisdiction?: string): Promise<string[]> {
  forgotten.length = 0;
  const res = await fetch(`http://127.0.0.1:${server.port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(jurisdiction ? { 'x-jurisdiction': jurisdiction } : {}) },
    body: JSON.stringify({ query }),
  });
  const body = (await res.json()) as { errors?: unknown };
  expect(body.errors).toBeUndefined();
  return [...forgotten];
}

test('without an audit note: a mutation forgets its jurisdiction, a query or an anonymous mutation does not', async () => {
  noted = null;
  expect(await run('mutation { b }', 'demo-city')).toEqual(['demo-city']);
  expect(await run('{ a }', 'demo-city')).toEqual([]);
  expect(await run('mutation { b }')).toEqual([]);
});

test("the audit trail's note is what decides: the document is not read again", async () => {
  // notes that disagree with the document show which one the plugin believed
  noted = 'query';
  expect(await run('mutation { b }', 'demo-city')).toEqual([]);
  noted = 'mutation';
  expect(await run('{ a }', 'demo-city')).toEqual(['demo-city']);
  noted = null;
});
