/**
 * useCompiledExecution (src/graphql/use-compiled-execution.ts): graphql-jit runs queries and mutations, and a client
 * cannot tell — every answer (data, errors, their codes and paths, HTTP status) is the one Yoga's own executor gives,
 * compared request by request against the same server without the plugin. Also: each (document, operation) is
 * compiled once, a document with several operations runs the one named, subscriptions stay on Yoga's executor.
 */
import { describe, expect, test } from 'bun:test';
import { GraphQLError } from 'graphql';
import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import { useCompiledExecution } from '../../src/graphql/use-compiled-execution.ts';

const typeDefs = /* GraphQL */ `
  enum Colour { RED GREEN }
  input Paint { colour: Colour!, coats: Int! }
  type Item { id: ID!, name: String!, tags: [String!]!, owner: Item }
  type Query {
    a: String!
    b: String!
    item(id: ID!): Item
    echo(paint: Paint!): String!
    boom: String
    refused: String
    strict: String!
    unserialisable: String
    notAList: [String!]
    page: Page!
  }
  type Page { totalCount: Int!, later: String!, owner: Item! }
  type Mutation { bump(by: Int!): Int! }
  type Subscription { ticks(n: Int!): Int! }
`;

/** `compileAfter: 1` unless told: every request below is meant to run compiled. */
function server(
  compiled: boolean,
  onCompile?: (name: string | null, ok: boolean) => void,
  tuning: { compileAfter?: number } = { compileAfter: 1 },
) {
  let counter = 0;
  const stopper: Plugin = {
    onExecute({ args, setResultAndStopExecution }) {
      if (args.operationName === 'Stopped') setResultAndStopExecution({ errors: [new GraphQLError('stopped before execution')] });
    },
  };
  const resolverRuns: string[] = [];
  const schema = createSchema({
    typeDefs,
    resolvers: {
      Query: {
        a: () => 'from a',
        b: () => 'from b',
        item: (_: unknown, { id }: { id: string }) =>
          id === 'none' ? null : { id, name: `item ${id}`, tags: ['x', 'y'], owner: { id: 'o' } },
        echo: (_: unknown, { paint }: { paint: { colour: string; coats: number } }) => `${paint.colour}×${paint.coats}`,
        boom: () => {
          resolverRuns.push('boom');
          throw new Error('database password is hunter2');
        },
        refused: () => {
          throw new GraphQLError('not yours', { extensions: { code: 'FORBIDDEN', http: { status: 403 } } });
        },
        strict: () => null,
        unserialisable: () => ({ x: 1 }),
        notAList: () => 5,
        // no resolvers on Page: graphql-js's default one calls a function-valued property and awaits a promise
        page: () => ({ totalCount: () => 42, later: Promise.resolve('soon'), owner: async () => ({ id: 'o' }) }),
      },
      Item: { name: (i: { id: string; name?: string }) => i.name ?? `item ${i.id}`, tags: (i: { tags?: string[] }) => i.tags ?? [] },
      Mutation: { bump: (_: unknown, { by }: { by: number }) => (counter += by) },
      Subscription: {
        ticks: {
          subscribe: async function* (_: unknown, { n }: { n: number }) {
            for (let i = 1; i <= n; i++) yield { ticks: i };
          },
        },
      },
    },
  });
  const yoga = createYoga({
    schema,
    logging: false,
    plugins: [stopper, ...(compiled ? [useCompiledExecution({ onCompile, ...tuning })] : [])],
  });
  return { yoga, resolverRuns };
}

async function post(yoga: ReturnType<typeof server>['yoga'], body: unknown) {
  const res = await yoga.fetch('http://local/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

const REQUESTS: Array<[string, unknown]> = [
  ['a nested query', { query: '{ item(id: "7") { id name tags owner { id name tags owner { id } } } }' }],
  ['a null object', { query: 'query Q($id: ID!) { item(id: $id) { id } }', variables: { id: 'none' } }],
  ['an input object variable', { query: 'query Q($p: Paint!) { echo(paint: $p) }', variables: { p: { colour: 'RED', coats: 2 } } }],
  ['a bad enum in a variable', { query: 'query Q($p: Paint!) { echo(paint: $p) }', variables: { p: { colour: 'BLUE', coats: 2 } } }],
  ['a missing input field', { query: 'query Q($p: Paint!) { echo(paint: $p) }', variables: { p: { colour: 'RED' } } }],
  ['an unknown input field', { query: 'query Q($p: Paint!) { echo(paint: $p) }', variables: { p: { colour: 'RED', coats: 1, x: 1 } } }],
  ['a string for an Int', { query: 'mutation M($by: Int!) { bump(by: $by) }', variables: { by: 'two' } }],
  ['a missing variable', { query: 'query Q($id: ID!) { item(id: $id) { id } }', variables: {} }],
  ['an unexpected resolver error (masked)', { query: '{ a boom }' }],
  ['a GraphQLError with a code and status', { query: '{ a refused }' }],
  ['null for a non-null field', { query: '{ a strict }' }],
  ['an error on the third line', { query: 'query Q {\n  a\n    boom\n}' }],
  ['aliases and fragments', { query: '{ x: item(id: "1") { ...F } y: item(id: "2") { ...F } } fragment F on Item { id n: name }' }],
  ['a value the scalar cannot serialise', { query: '{ unserialisable }' }],
  ['a list field resolving to a non-list', { query: '{ notAList }' }],
  ['properties that are functions and promises', { query: '{ page { totalCount later owner { id name } } }' }],
  ['a plugin stopping execution', { query: 'query Stopped { a }', operationName: 'Stopped' }],
];

describe('compiled execution answers exactly as Yoga’s own executor', () => {
  const plain = server(false);
  const jit = server(true);
  for (const [what, body] of REQUESTS) {
    test(what, async () => {
      expect(await post(jit.yoga, body)).toEqual(await post(plain.yoga, body));
    });
  }

  test('the unexpected error is masked, the refusal keeps its code, the stop runs no resolver', async () => {
    const boom = await post(jit.yoga, { query: '{ a boom }' });
    expect(boom.body.errors[0].message).toBe('Unexpected error.');
    expect(JSON.stringify(boom.body)).not.toContain('hunter2');
    const refused = await post(jit.yoga, { query: '{ a refused }' });
    expect(refused.body.errors[0]).toMatchObject({ message: 'not yours', path: ['refused'], extensions: { code: 'FORBIDDEN' } });
    const before = jit.resolverRuns.length;
    await post(jit.yoga, { query: 'query Stopped { boom }', operationName: 'Stopped' });
    expect(jit.resolverRuns.length).toBe(before);
  });

  test('a mutation runs once, even when its variables were refused first', async () => {
    const { yoga } = server(true);
    await post(yoga, { query: 'mutation M($by: Int!) { bump(by: $by) }', variables: { by: 'two' } });
    expect((await post(yoga, { query: 'mutation M($by: Int!) { bump(by: $by) }', variables: { by: 2 } })).body).toEqual({
      data: { bump: 2 },
    });
  });
});

describe('what is compiled', () => {
  test('one compilation per document and operation; a many-operation document runs the operation named', async () => {
    const compiles: Array<[string | null, boolean]> = [];
    const { yoga } = server(true, (name, ok) => compiles.push([name, ok]));
    const doc = 'query A { a } query B { b }';
    for (let i = 0; i < 3; i++) {
      expect((await post(yoga, { query: doc, operationName: 'A' })).body).toEqual({ data: { a: 'from a' } });
      expect((await post(yoga, { query: doc, operationName: 'B' })).body).toEqual({ data: { b: 'from b' } });
      expect((await post(yoga, { query: '{ a }' })).body).toEqual({ data: { a: 'from a' } });
    }
    expect(compiles).toEqual([
      ['A', true],
      ['B', true],
      [null, true],
    ]);
  });

  test('by default a document is compiled on its fifth execution; one seen once (values in its text) never is', async () => {
    const compiles: Array<[string | null, boolean]> = [];
    const { yoga } = server(true, (name, ok) => compiles.push([name, ok]), {});
    for (let i = 0; i < 4; i++) expect((await post(yoga, { query: 'query Q { a }' })).body).toEqual({ data: { a: 'from a' } });
    expect(compiles).toEqual([]);
    for (let i = 0; i < 20; i++) expect((await post(yoga, { query: `{ item(id: "${i}") { id } }` })).body.data.item.id).toBe(String(i));
    expect((await post(yoga, { query: 'query Q { a }' })).body).toEqual({ data: { a: 'from a' } });
    expect((await post(yoga, { query: 'query Q { a }' })).body).toEqual({ data: { a: 'from a' } });
    expect(compiles).toEqual([[null, true]]);
  });

  test('subscriptions stay on Yoga’s executor and still stream', async () => {
    const compiles: Array<[string | null, boolean]> = [];
    const { yoga } = server(true, (name, ok) => compiles.push([name, ok]));
    const res = await yoga.fetch('http://local/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription S { ticks(n: 3) }' }),
    });
    const text = await res.text();
    expect([...text.matchAll(/"ticks":(\d)/g)].map((m) => Number(m[1]))).toEqual([1, 2, 3]);
    expect(compiles).toEqual([]);
  });
});
