/**
 * An audit entry's outcome, codes and `affected` are what happened (issue 18, item 2). Before: parse errors were
 * recorded ALLOWED (POST, GET, in a batch), validation errors as INTERNAL_SERVER_ERROR, persisted-document and batch
 * refusals as BAD_REQUEST, and a contractor's read of another contractor's permit (answered null) as an ALLOWED read
 * of that permit, because `affected` listed what arguments named rather than what was returned or changed.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/rows.ts';
import { loadPersistedDocuments } from '../../src/guard/persisted-documents.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

setDefaultTimeout(120_000);

type Entry = Record<string, any>;

async function head(t: TestServer) {
  await t.running.audit.flush();
  const [r] = rowsOf<{ n: string }>(await t.tdb.database.db.execute(sql`select coalesce(max(seq), 0)::text as n from audit_entries`));
  return Number(r!.n);
}

/** The GraphQL entries appended after `seq` (token requests left out). */
async function entriesSince(t: TestServer, seq: number): Promise<Entry[]> {
  await t.running.audit.flush();
  return rowsOf<{ entry: Entry | string }>(
    await t.tdb.database.db.execute(sql`select entry from audit_entries where seq > ${seq} order by seq`),
  )
    .map((r) => (typeof r.entry === 'string' ? (JSON.parse(r.entry) as Entry) : r.entry))
    .filter((e) => e.kind === 'graphql');
}

/** Sends one request and returns its status, body and the GraphQL entries it left. */
async function audited(t: TestServer, send: () => Promise<Response>) {
  const before = await head(t);
  const res = await send();
  const body = (await res.json()) as any;
  return { status: res.status, body, entries: await entriesSince(t, before) };
}

const post = (t: TestServer, body: unknown, token?: string) => () =>
  fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

const get = (t: TestServer, params: Record<string, string>, token?: string) => () =>
  fetch(`${t.url}/graphql?${new URLSearchParams(params)}`, {
    headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });

describe('outcomes and codes', () => {
  let t: TestServer;
  let clerk: string;
  beforeAll(async () => {
    t = await startTestServer({ RATE_LIMIT_SCALE: '0' });
    clerk = await t.token('demo-clerk');
  });
  afterAll(() => t?.stop());

  test('a parse error (POST and GET) is recorded as ERROR with GRAPHQL_PARSE_FAILED, with who sent it', async () => {
    for (const send of [post(t, { query: 'query Broken { permit( ' }, clerk), get(t, { query: 'query Broken { permit( ' }, clerk)]) {
      const r = await audited(t, send);
      expect(r.body.errors[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
      expect(r.entries).toHaveLength(1);
      expect(r.entries[0]).toMatchObject({ clientId: 'demo-clerk', role: 'clerk', outcome: 'ERROR', errorCodes: ['GRAPHQL_PARSE_FAILED'] });
    }
  });

  test('a validation error is recorded with GRAPHQL_VALIDATION_FAILED, not INTERNAL_SERVER_ERROR', async () => {
    const r = await audited(t, post(t, { query: 'query Nope { nope }' }, clerk));
    expect(r.body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(r.entries).toHaveLength(1);
    expect(r.entries[0]).toMatchObject({
      outcome: 'ERROR',
      errorCodes: ['GRAPHQL_VALIDATION_FAILED'],
      operation: { type: 'query', name: 'Nope' },
    });
  });

  test('in a batch each operation is recorded with its own outcome', async () => {
    const r = await audited(
      t,
      post(t, [{ query: 'query Fine { __typename }' }, { query: '{ broken( ' }, { query: 'query Invalid { nope }' }], clerk),
    );
    expect(r.status).toBe(200);
    expect(r.entries).toHaveLength(3);
    const byName = (n: string | null) => r.entries.find((e) => e.operation.name === n)!;
    expect(byName('Fine')).toMatchObject({ outcome: 'ALLOWED', errorCodes: [] });
    expect(byName(null)).toMatchObject({ outcome: 'ERROR', errorCodes: ['GRAPHQL_PARSE_FAILED'] });
    expect(byName('Invalid')).toMatchObject({ outcome: 'ERROR', errorCodes: ['GRAPHQL_VALIDATION_FAILED'] });
  });

  test('a batch over the limit leaves one DENIED entry with QUERY_REJECTED', async () => {
    const r = await audited(
      t,
      post(
        t,
        Array.from({ length: 11 }, () => ({ query: '{ __typename }' })),
        clerk,
      ),
    );
    expect(r.status).toBe(400);
    expect(r.entries).toHaveLength(1);
    expect(r.entries[0]).toMatchObject({ clientId: 'demo-clerk', outcome: 'DENIED', errorCodes: ['QUERY_REJECTED'] });
  });

  test('a field the token may not read is recorded DENIED with FORBIDDEN', async () => {
    const r = await audited(t, post(t, { query: 'query Verify { auditVerification { ok } }' }, await t.token('demo-gis')));
    expect(r.status).toBe(403);
    expect(r.entries[0]).toMatchObject({
      clientId: 'demo-gis',
      outcome: 'DENIED',
      errorCodes: ['FORBIDDEN'],
      operation: { type: 'query', name: 'Verify' },
    });
  });

  test('a mutation by GET is recorded with its refusal, not ALLOWED', async () => {
    const r = await audited(t, get(t, { query: 'mutation Revoke { revokeClient(clientId: "x") }' }, await t.token('demo-admin')));
    expect(r.status).toBe(405);
    expect(r.entries).toHaveLength(1);
    expect(r.entries[0]!.outcome).not.toBe('ALLOWED');
    expect(r.entries[0]!.errorCodes).toEqual(['BAD_REQUEST']);
  });
});

describe('affected lists what was returned or changed', () => {
  let t: TestServer;
  let ownedByB: string;
  beforeAll(async () => {
    t = await startTestServer({ RATE_LIMIT_SCALE: '0' });
    const r = await t.gql('{ permits(first: 1) { edges { node { number } } } }', {}, await t.token('demo-contractor-b'));
    ownedByB = r.body.data.permits.edges[0].node.number;
  });
  afterAll(() => t?.stop());

  test("another contractor's permit, answered null, is not in affected", async () => {
    const a = await t.token('demo-contractor-a');
    const r = await audited(
      t,
      post(t, { query: 'query Peek($n: String!) { permit(number: $n) { number } }', variables: { n: ownedByB } }, a),
    );
    expect(r.body.data.permit).toBeNull();
    expect(r.entries).toHaveLength(1);
    expect(r.entries[0]).toMatchObject({ clientId: 'demo-contractor-a', affected: [] });
    // the owner's read of it names it
    const own = await audited(
      t,
      post(
        t,
        { query: 'query Own($n: String!) { permit(number: $n) { number } }', variables: { n: ownedByB } },
        await t.token('demo-contractor-b'),
      ),
    );
    expect(own.body.data.permit.number).toBe(ownedByB);
    expect(own.entries[0]).toMatchObject({ clientId: 'demo-contractor-b', outcome: 'ALLOWED', affected: [ownedByB] });
  });

  test('a permit returned through an alias or a fragment is named; one that does not exist is not', async () => {
    const clerk = await t.token('demo-clerk');
    const r = await audited(
      t,
      post(
        t,
        {
          query: `query Pair { b: permit(number: "DC-NOPE-2024-999999") { status } ...More } fragment More on Query { a: permit(number: "${ownedByB}") { status } s: permitStatus(number: "${ownedByB}") { status } }`,
        },
        clerk,
      ),
    );
    expect(r.body.data.a).not.toBeNull();
    expect(r.body.data.b).toBeNull();
    expect(r.entries).toHaveLength(1);
    expect(r.entries[0]!.affected).toEqual([ownedByB]);
  });

  test('a refused mutation names nothing; a mutation that changed a permit names it', async () => {
    const clerk = await t.token('demo-clerk');
    const missing = await audited(
      t,
      post(t, { query: 'mutation Gone { transitionPermit(number: "DC-NOPE-2024-999999", to: UNDER_REVIEW) { status } }' }, clerk),
    );
    expect(missing.body.errors[0].extensions.code).toBe('NOT_FOUND');
    expect(missing.entries).toHaveLength(1);
    expect(missing.entries[0]).toMatchObject({ outcome: 'ERROR', errorCodes: ['NOT_FOUND'], affected: [] });
    // a permit that can move to UNDER_REVIEW
    const submitted = await t.gql('{ permits(first: 1, filter: { status: [SUBMITTED] }) { edges { node { number } } } }', {}, clerk);
    const n: string = submitted.body.data.permits.edges[0].node.number;
    const moved = await audited(
      t,
      post(t, { query: `mutation Move { transitionPermit(number: "${n}", to: UNDER_REVIEW) { status } }` }, clerk),
    );
    expect(moved.body.errors).toBeUndefined();
    expect(moved.entries).toHaveLength(1);
    expect(moved.entries[0]).toMatchObject({ outcome: 'ALLOWED', affected: [n] });
  });
});

describe('trusted documents (PERSISTED_ONLY=true)', () => {
  let t: TestServer;
  const docs = loadPersistedDocuments();
  const hashOf = (name: string) => [...docs].find(([, text]) => text.includes(`query ${name}(`))![0];
  beforeAll(async () => {
    t = await startTestServer({ PERSISTED_ONLY: 'true', RATE_LIMIT_SCALE: '0' });
  });
  afterAll(() => t?.stop());

  test('an unregistered document is recorded DENIED with QUERY_REJECTED, a registered one with its name', async () => {
    const tok = await t.token('demo-contractor-a');
    const refused = await audited(t, post(t, { query: 'query Mine { me { clientId } }' }, tok));
    expect(refused.status).toBe(400);
    expect(refused.entries).toHaveLength(1);
    expect(refused.entries[0]).toMatchObject({ clientId: 'demo-contractor-a', outcome: 'DENIED', errorCodes: ['QUERY_REJECTED'] });
    const unknown = await audited(t, post(t, { documentId: 'f'.repeat(64) }, tok));
    expect(unknown.entries[0]).toMatchObject({ outcome: 'DENIED', errorCodes: ['QUERY_REJECTED'] });
    const ran = await audited(t, post(t, { documentId: hashOf('PermitStatus'), variables: { number: 'DC-NOPE-2024-999999' } }, tok));
    expect(ran.status).toBe(200);
    expect(ran.entries[0]).toMatchObject({
      outcome: 'ALLOWED',
      errorCodes: [],
      affected: [],
      operation: { type: 'query', name: 'PermitStatus' },
    });
  });
});
