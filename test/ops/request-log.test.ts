import { describe, expect, test } from 'bun:test';
import { GraphQLError } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import pino from 'pino';
import { Writable } from 'node:stream';
import { testScope } from '../helpers/scope.ts';
import { useRequestLog } from '../../src/ops/use-request-log.ts';

const lines: Record<string, unknown>[] = [];
const raw: string[] = [];
const log = pino(
  { level: 'info' },
  new Writable({
    write(chunk, _enc, cb) {
      raw.push(String(chunk));
      lines.push(JSON.parse(String(chunk)));
      cb();
    },
  }),
);

const yoga = createYoga({
  schema: createSchema({
    typeDefs: `
      input ApplicantInput { name: String! email: String! phone: String! }
      type Query { hello: String boom: String }
      type Mutation { submit(applicant: ApplicantInput!, secret: String): String }`,
    resolvers: {
      Query: {
        hello: () => 'hi',
        boom: () => {
          throw new GraphQLError('Applicant jane@example.org is in conflict', { extensions: { code: 'CONFLICT' } });
        },
      },
      Mutation: { submit: (_: unknown, a: { applicant: { name: string } }) => `ok ${a.applicant.name}` },
    },
  }),
  logging: false,
  batching: { limit: 10 },
  plugins: [useRequestLog({ log })],
});

const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2lnbmF0dXJl';
async function send(body: unknown, principal: unknown = { clientId: 'demo-contractor-a', role: 'contractor' }) {
  const request = new Request('http://gw.test/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${TOKEN}`,
      cookie: 'session=s3cr3t',
      'x-request-id': 'req-12345678',
    },
    body: JSON.stringify(body),
  });
  await (await yoga.fetch(request, { scope: testScope(request, '127.0.0.1', { principal: principal as never }) })).text();
  return lines.at(-1)!;
}

describe('request log', () => {
  test('one line per request with request id, client id, operation name, duration and outcome ok', async () => {
    const n = lines.length;
    const line = await send({ query: 'query Greeting { hello }' });
    expect(lines.length).toBe(n + 1);
    expect(line).toMatchObject({
      requestId: 'req-12345678',
      clientId: 'demo-contractor-a',
      role: 'contractor',
      operation: 'Greeting',
      operationType: 'query',
      outcome: 'ok',
      msg: 'graphql request',
    });
    expect(typeof line.durationMs).toBe('number');
    expect(line.errorCodes).toBeUndefined();
  });

  test('errors are logged as codes only, never their messages', async () => {
    const line = await send({ query: 'query Boom { boom }' });
    expect(line).toMatchObject({ outcome: 'error', errorCodes: ['CONFLICT'], operation: 'Boom' });
    expect(raw.at(-1)).not.toContain('jane@example.org');
  });

  test('a refused document is logged with its validation code and the requested name', async () => {
    const line = await send({ query: 'query Nope { nope }', operationName: 'Nope' }, null);
    expect(line).toMatchObject({
      outcome: 'error',
      errorCodes: ['GRAPHQL_VALIDATION_FAILED'],
      operation: 'Nope',
      clientId: null,
      role: 'anonymous',
    });
  });

  test('no variables, query text, tokens, headers or personal data reach the log', async () => {
    await send({
      query: 'mutation Submit($a: ApplicantInput!, $s: String) { submit(applicant: $a, secret: $s) }',
      variables: { a: { name: 'Jane Roe', email: 'jane@example.org', phone: '+1 555 0100' }, s: 'client-secret-xyz' },
    });
    await send({ query: 'mutation { submit(applicant: {name: "Inline Person", email: "inline@example.org", phone: "555"}) }' });
    const all = raw.join('');
    for (const s of [
      'Jane Roe',
      'jane@example.org',
      '+1 555 0100',
      'client-secret-xyz',
      'Inline Person',
      'inline@example.org',
      TOKEN,
      'Bearer',
      's3cr3t',
      'ApplicantInput',
      'submit(',
    ]) {
      expect(all).not.toContain(s);
    }
    expect(lines.at(-2)).toMatchObject({ operation: 'Submit', operationType: 'mutation', outcome: 'ok' });
    expect(lines.at(-1)).toMatchObject({ operation: null, operationType: 'mutation' });
  });

  test('operation names that are not GraphQL names are not logged', async () => {
    const line = await send({ query: '{ hello }', operationName: 'x"; DROP\nTABLE' });
    expect(raw.at(-1)).not.toContain('DROP');
    expect(line.outcome).toBe('error');
  });

  test('a batch is one line listing its operations', async () => {
    const line = await send([{ query: 'query A { hello }' }, { query: 'query B { boom }' }]);
    expect(line).toMatchObject({ batch: 2, outcome: 'error', errorCodes: ['CONFLICT'] });
    expect(String(line.operation).split(',').sort()).toEqual(['A', 'B']);
  });
});
