import { afterAll, beforeEach, describe, expect, test } from 'bun:test';
import { useArmorLimits, getQueryCost } from '../../src/guard/use-armor-limits.ts';
import { gql, startYoga, type Principal } from './helpers.ts';

const costs: number[] = [];
// Same limits but a huge token limit, to show each validation limit works on its own.
const noTokenLimit = startYoga([useArmorLimits({ maxTokens: 1_000_000 })]);
const app = startYoga([
  useArmorLimits({
    canSeeSuggestions: (ctx) => ((ctx as { principal?: Principal }).principal?.scopes ?? []).includes('schema:introspect'),
  }),
  {
    onExecute({ args }) {
      costs.push(getQueryCost(args.contextValue as object) ?? -1);
    },
  },
]);
afterAll(() => {
  app.stop();
  noTokenLimit.stop();
});
beforeEach(() => {
  app.calls.count = 0;
  costs.length = 0;
});

const analyst = { 'x-test-principal': 'a1:analyst:permits:read:public,analytics:read,schema:introspect' };
const contractor = { 'x-test-principal': 'c1:contractor:permits:read:own' };

async function expectRejected(query: string, pattern: RegExp, variables?: Record<string, unknown>, target: typeof app = app) {
  target.calls.count = 0;
  const r = await gql(target.url, query, { variables });
  expect(r.status).toBe(400);
  expect(r.body.errors?.[0]?.extensions?.code).toBe('QUERY_REJECTED');
  expect(r.body.errors?.[0]?.message).toMatch(pattern);
  expect(r.body.errors?.[0]?.message).not.toContain('Syntax Error');
  expect(r.body.data ?? null).toBeNull();
  expect(target.calls.count).toBe(0); // no resolver ran
  return r;
}

describe('acceptance: hostile queries are refused with 400 QUERY_REJECTED, no resolver runs', () => {
  test('depth 50', async () => {
    // The test schema is not recursive: nest inline fragments, which armor counts as levels.
    let deep = 'number';
    for (let i = 0; i < 49; i++) deep = `... on Permit { ${deep} }`;
    await expectRejected(`{ permits { ${deep} } }`, /depth limit of 10 exceeded, found 51/i);
  });
  test('1,000 aliases (also __typename)', async () => {
    const aliases = Array.from({ length: 1000 }, (_, i) => `a${i}: __typename`).join(' ');
    // 3,000 tokens: the token limit refuses it first …
    await expectRejected(`{ ${aliases} }`, /Token limit of 2000 exceeded, found 3002/);
    // … and without it the alias limit does.
    await expectRejected(`{ ${aliases} }`, /Aliases limit of 15 exceeded, found 1000/, undefined, noTokenLimit);
  });
  test('16 __typename aliases are already too many; 15 are fine', async () => {
    await expectRejected(`{ ${Array.from({ length: 16 }, (_, i) => `t${i}: __typename`).join(' ')} }`, /found 16/);
    const ok = await gql(app.url, `{ ${Array.from({ length: 15 }, (_, i) => `t${i}: __typename`).join(' ')} }`);
    expect(ok.status).toBe(200);
    expect(ok.body.errors).toBeUndefined();
  });
  test('500 repeated directives', async () => {
    const q = `{ hello ${'@skip(if: false) '.repeat(500)} }`;
    await expectRejected(q, /Token limit of 2000 exceeded/);
    await expectRejected(q, /Directives limit of 9 exceeded, found 500/, undefined, noTokenLimit);
  });
  test('ten repeated directives on one field are already too many', async () => {
    await expectRejected(`{ hello ${'@include(if: true) '.repeat(10)} }`, /Directives limit of 9 exceeded, found 10/);
  });
  test('10,000-token query', async () => {
    const fields = Array.from({ length: 5000 }, () => 'hello').join(' ');
    await expectRejected(`{ ${fields} }`, /Token limit of 2000 exceeded, found 500[0-9]/);
  });
  test('circular fragment', async () => {
    await expectRejected(
      `{ permits { ...A } } fragment A on Permit { number ...B } fragment B on Permit { ...A }`,
      /Cannot spread fragment/,
    );
  });
  test('permits(first: 200){ inspections(first: 200){ id } } is over the cost limit', async () => {
    await expectRejected(`{ permits(first: 200) { inspections(first: 200) { id } } }`, /Query cost limit of 5000 exceeded, found 40201/);
  });
  test('the same through variables', async () => {
    await expectRejected(`query Q($a: Int, $b: Int) { permits(first: $a) { inspections(first: $b) { id } } }`, /found 40201/, {
      a: 200,
      b: 200,
    });
  });
  test('field duplication', async () => {
    await expectRejected(`{ hello hello hello }`, /Field "hello" selected 3 times/);
  });
});

describe('acceptable queries run', () => {
  test('cost under the limit runs and is exposed to later plugins', async () => {
    const r = await gql(app.url, `{ permits(first: 10) { number inspections(first: 10) { id items } } }`);
    expect(r.status).toBe(200);
    expect(r.body.errors).toBeUndefined();
    expect(costs).toEqual([1 + 10 + 10 + 100 + 100]);
  });
  test('validation cache does not leak a cost verdict across variable values', async () => {
    const q = `query Q($a: Int) { permits(first: $a) { inspections(first: 100) { id } } }`;
    const small = await gql(app.url, q, { variables: { a: 2 } });
    expect(small.status).toBe(200);
    const big = await gql(app.url, q, { variables: { a: 100 } });
    expect(big.status).toBe(400);
    expect(big.body.errors?.[0]?.extensions?.code).toBe('QUERY_REJECTED');
    // costs are remembered per document and list-size values: the small one again gets its own cost, not the big one's
    const again = await gql(app.url, q, { variables: { a: 2 } });
    expect(again.status).toBe(200);
    expect(costs).toHaveLength(2);
    expect(costs[1]).toBe(costs[0]);
    const third = await gql(app.url, q, { variables: { a: 3 } });
    expect(third.status).toBe(200);
    expect(costs[2]).toBeGreaterThan(costs[0]!);
  });
  test('validation cache does not leak a cost verdict across the operations of one document', async () => {
    // one document, a cheap and a costly operation: the cheap one validated first must not let the costly one through
    const query = `query Cheap { hello } query Costly { permits(first: 200) { inspections(first: 200) { id } } }`;
    const run = (operationName: string) =>
      fetch(app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, operationName }),
      }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { errors?: { message: string; extensions?: { code?: string } }[] },
      }));
    const cheap = await run('Cheap');
    expect(cheap.status).toBe(200);
    expect(cheap.body.errors).toBeUndefined();
    app.calls.count = 0;
    const costly = await run('Costly');
    expect(costly.status).toBe(400);
    expect(costly.body.errors?.[0]?.extensions?.code).toBe('QUERY_REJECTED');
    expect(costly.body.errors?.[0]?.message).toMatch(/Query cost limit of 5000 exceeded, found 40201/);
    expect(app.calls.count).toBe(0); // no resolver ran
    // and the other way round: the costly one refused first does not refuse the cheap one
    expect((await run('Cheap')).status).toBe(200);
  });
  test('list fields without first count defaultListSize (50)', async () => {
    const r = await gql(app.url, `{ permits { inspections { id } } }`);
    expect(r.status).toBe(200);
    expect(costs).toEqual([1 + 50 + 2500]);
    await expectRejected(`{ permits { inspections { id items } } }`, /found 5051/);
  });
});

describe('field suggestions and introspection', () => {
  test('no "Did you mean" for anonymous or contractors, validation or variable errors', async () => {
    for (const headers of [{}, contractor]) {
      const a = await gql(app.url, `{ helo }`, { headers });
      expect(a.text).toContain('Cannot query field');
      expect(a.text).not.toContain('Did you mean');
      const b = await gql(app.url, `query($k: Kind) { kind(k: $k) }`, { headers, variables: { k: 'BUILDIN' } });
      expect(b.body.errors?.length).toBeGreaterThan(0);
      expect(b.text).not.toContain('Did you mean');
    }
  });
  test('analysts keep suggestions (and the cache does not mix them up)', async () => {
    await gql(app.url, `{ helo }`); // cached for anonymous first
    const r = await gql(app.url, `{ helo }`, { headers: analyst });
    expect(r.text).toContain('Did you mean');
    const again = await gql(app.url, `{ helo }`);
    expect(again.text).not.toContain('Did you mean');
  });
  test('introspection refused (403 FORBIDDEN) except for schema:introspect', async () => {
    const q = `{ __schema { queryType { name } } }`;
    const anon = await gql(app.url, q);
    expect(anon.status).toBe(403);
    expect(anon.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const t = await gql(app.url, `{ __type(name: "Permit") { name } }`, { headers: contractor });
    expect(t.status).toBe(403);
    const ok = await gql(app.url, q, { headers: analyst });
    expect(ok.status).toBe(200);
    expect(ok.body.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    const anonAgain = await gql(app.url, q);
    expect(anonAgain.status).toBe(403);
  });
  test('__typename is not introspection', async () => {
    const r = await gql(app.url, `{ __typename }`);
    expect(r.status).toBe(200);
  });
});
