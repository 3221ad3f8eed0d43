/**
 * Issue 25: the IBM cost directives the SDL declares are the ones the cost rule reads, `sizedFields` and
 * `requireOneSlicingArgument` included.
 */
import { describe, expect, test } from 'bun:test';
import { buildSchema, parse, validate, specifiedRules } from 'graphql';
import { fieldPricesOf } from '../../src/guard/field-prices.ts';
import { computeQueryCost, queryDepth, selectOperation } from '../../src/guard/query-cost.ts';
import { useArmorLimits } from '../../src/guard/use-armor-limits.ts';
import { createYoga } from 'graphql-yoga';

const SDL = /* GraphQL */ `
  directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION
  directive @cost(weight: Int!) on FIELD_DEFINITION
  type Item { id: ID! tags: [String!]! @listSize(assumedSize: 3) heavy: String @cost(weight: 7) }
  type Edge { node: Item! cursor: String! }
  type PageInfo { hasNextPage: Boolean! endCursor: String }
  type ItemConnection { edges: [Edge!]! pageInfo: PageInfo! }
  type Query {
    page(first: Int, after: String): ItemConnection! @listSize(assumedSize: 50, slicingArguments: ["first"], sizedFields: ["edges"], requireOneSlicingArgument: false)
    strict(first: Int, last: Int): [Item!]! @listSize(slicingArguments: ["first", "last"])
  }
`;
const schema = buildSchema(SDL);
const prices = fieldPricesOf(schema);
const cost = (q: string, variables?: Record<string, unknown>) =>
  computeQueryCost(schema, parse(q), { listSizeArguments: ['first'], defaultListSize: 5, prices }, variables);

describe('the IBM cost directives', () => {
  test('are read with their defaults (requireOneSlicingArgument true unless said otherwise)', () => {
    expect(prices.get('Query.page')).toEqual({
      assumedSize: 50,
      slicingArguments: ['first'],
      sizedFields: ['edges'],
      requireOneSlicingArgument: false,
    });
    expect(prices.get('Query.strict')).toEqual({ slicingArguments: ['first', 'last'], requireOneSlicingArgument: true });
    expect(prices.get('Item.heavy')).toEqual({ weight: 7 });
  });

  test('sizedFields: the page size multiplies the edges, pageInfo counts once', () => {
    // page 1 + edges 10 × (1 + node 1 + id 1 + heavy 7 + tags 3) + pageInfo 1 + hasNextPage 1
    expect(cost(`{ page(first: 10) { edges { node { id heavy tags } } pageInfo { hasNextPage } } }`)).toBe(1 + 10 * 13 + 2);
    expect(cost(`query($n: Int) { page(first: $n) { edges { cursor } } }`, { n: 3 })).toBe(1 + 3 * 2);
    expect(cost(`{ page { edges { cursor } } }`)).toBe(1 + 50 * 2);
    // fragments are costed with the size they are spread under
    expect(cost(`{ a: page(first: 2) { ...E } b: page(first: 4) { ...E } } fragment E on ItemConnection { edges { cursor } }`)).toBe(
      1 + 2 * 2 + 1 + 4 * 2,
    );
  });

  test('requireOneSlicingArgument refuses none or several of the slicing arguments', async () => {
    const yoga = createYoga({ schema, plugins: [useArmorLimits({ maxCost: 100_000 })], logging: false, maskedErrors: false });
    const ask = async (query: string) => {
      const res = await yoga.fetch('http://x/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query }),
      });
      return (await res.json()) as { errors?: { message: string; extensions?: { code?: string } }[] };
    };
    expect((await ask(`{ strict(first: 2) { id } }`)).errors?.map((e) => e.extensions?.code)).not.toContain('QUERY_REJECTED');
    for (const q of [`{ strict { id } }`, `{ strict(first: 1, last: 1) { id } }`]) {
      const r = await ask(q);
      expect(r.errors?.[0]?.extensions?.code).toBe('QUERY_REJECTED');
      expect(r.errors?.[0]?.message).toMatch(/needs exactly one of the arguments first, last; found [02]\./);
    }
    // a field that says false may go without (the execution error is only the test schema having no resolvers)
    expect((await ask(`{ page { edges { cursor } } }`)).errors?.map((e) => e.extensions?.code)).not.toContain('QUERY_REJECTED');
  });

  test('depth follows fragments once each', () => {
    const doc = parse(`{ page { edges { node { ...I } } } } fragment I on Item { id }`);
    expect(queryDepth(doc, selectOperation(doc))).toBe(4);
    expect(validate(schema, doc, specifiedRules)).toEqual([]);
  });
});
