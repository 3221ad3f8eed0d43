import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/rows.ts';
import { verifyCheckpoint } from '../../src/audit/checkpoint.ts';
import { verifyInclusion } from '../../src/audit/merkle.ts';
import { whileInsertsFail } from '../helpers/failing-inserts.ts';
import { countRows, startTestServer, type TestServer } from '../helpers/server.ts';
import { setDefaultTimeout } from 'bun:test';

// starts databases and servers: Bun's 5 s default is too short on a busy machine
setDefaultTimeout(120_000);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ RATE_LIMIT_SCALE: '0.05' });
});
afterAll(() => t.stop());

async function entriesSince(seq: number) {
  await t.running.audit.flush();
  return rowsOf<{ seq: string; entry: Record<string, any> }>(
    await t.tdb.database.db.execute(sql`select seq::text as seq, entry from audit_entries where seq > ${seq} order by seq`),
  );
}
async function head() {
  await t.running.audit.flush();
  const [r] = rowsOf<{ n: string }>(await t.tdb.database.db.execute(sql`select coalesce(max(seq),0)::text as n from audit_entries`));
  return Number(r!.n);
}

describe('one audit entry per operation', () => {
  test('an allowed read leaves one ALLOWED entry naming the permit', async () => {
    const tok = await t.token('demo-clerk');
    // a permit that exists: `affected` names what was returned (issue 18), and the small seed's numbers vary by type
    const number = (await t.gql(`{ permits(first: 1) { edges { node { number } } } }`, {}, tok)).body.data.permits.edges[0].node.number;
    const h = await head();
    const r = await t.gql(`query One($n: String!) { permit(number: $n) { number } }`, { n: number }, tok);
    expect(r.status).toBe(200);
    const es = await entriesSince(h);
    expect(es).toHaveLength(1);
    expect(es[0]!.entry).toMatchObject({
      kind: 'graphql',
      clientId: 'demo-clerk',
      role: 'clerk',
      jurisdiction: 'demo-city',
      outcome: 'ALLOWED',
      httpStatus: 200,
      operation: { type: 'query', name: 'One' },
    });
    expect(es[0]!.entry.affected).toEqual([number]);
    expect(es[0]!.entry.operation.documentSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  test('a mutation commits its entry in its own transaction, with the permit number and redacted variables', async () => {
    const tok = await t.token('demo-contractor-a');
    // a parcel of the contractor's jurisdiction, read from the database: this test is about the mutation's entry
    const [p] = rowsOf<{ id: string }>(
      await t.tdb.database.db.execute(sql`select id from parcels where jurisdiction_id = 'demo-city' limit 1`),
    );
    const parcel = p!.id;
    const h = await head();
    const r = await t.gql(
      `mutation Sub($i: SubmitPermitInput!) { submitPermit(input: $i, idempotencyKey: "audit-trail-0001") { receipt { permitNumber } } }`,
      {
        i: {
          parcelId: parcel,
          permitType: 'PLUMBING',
          workClass: 'REPAIR',
          description: 'Leak',
          valuation: 900,
          applicant: { name: 'Grace Hopper', email: 'grace@example.org', phone: '+1 555 123 4567' },
        },
      },
      tok,
    );
    expect(r.body.errors).toBeUndefined();
    const es = await entriesSince(h);
    expect(es).toHaveLength(1);
    const e = es[0]!.entry;
    expect(e.outcome).toBe('ALLOWED');
    expect(e.affected).toContain(r.body.data.submitPermit.receipt.permitNumber);
    const text = JSON.stringify(e);
    expect(text).not.toContain('grace@example.org');
    expect(text).not.toContain('555 123 4567');
    expect(text).not.toContain('Grace Hopper');
  });

  test('401, 403, 400 armor rejection and token requests each leave exactly one entry', async () => {
    const h = await head();
    const bad = await t.gql(`{ me { clientId } }`, {}, 'not.a.jwt');
    expect(bad.status).toBe(401);
    const forbidden = await t.gql(`{ auditVerification { ok } }`, {}, await t.token('demo-gis'));
    expect(forbidden.status).toBe(403);
    const deep = await t.gql(
      `{ permits { edges { node { parcel { id } inspections { checklist { item } } statusHistory { to } } } } ${'a: __typename '.repeat(20)} }`,
      {},
      await t.token('demo-clerk'),
    );
    expect(deep.status).toBe(400);
    const tokenFail = await fetch(`${t.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'demo-gis', client_secret: 'wrong' }),
    });
    expect(tokenFail.status).toBe(401);
    const es = await entriesSince(h);
    // the demo-gis token above was cached earlier? count token entries separately
    const kinds = es.map((e) => `${e.entry.kind}:${e.entry.httpStatus}`);
    expect(kinds.filter((k) => k === 'graphql:401')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'graphql:403')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'graphql:400')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'token:401')).toHaveLength(1);
    const e403 = es.find((e) => e.entry.httpStatus === 403)!.entry;
    expect(e403.outcome).toBe('DENIED');
    expect(e403.errorCodes).toContain('FORBIDDEN');
    expect(es.find((e) => e.entry.httpStatus === 400)!.entry.errorCodes).toContain('QUERY_REJECTED');
    expect(JSON.stringify(es)).not.toContain('wrong');
  });

  test('a rate-limited request leaves one DENIED entry with RATE_LIMITED', async () => {
    const tok = await t.token('demo-analyst');
    const h = await head();
    let limited = 0;
    for (let i = 0; i < 20 && limited === 0; i++) {
      const r = await t.gql(`{ me { clientId } }`, {}, tok);
      if (r.status === 429) limited++;
    }
    expect(limited).toBe(1);
    const es = await entriesSince(h);
    const e429 = es.filter((e) => e.entry.httpStatus === 429);
    expect(e429).toHaveLength(1);
    expect(e429[0]!.entry.errorCodes).toContain('RATE_LIMITED');
  });

  test('a mutation whose audit append fails leaves no change behind', async () => {
    // the mutation's transaction writes its entry to audit_pending (chained by the next group commit)
    await whileInsertsFail(t.tdb.database.db, 'audit_pending', 'injected audit failure', async () => {
      const before = await countRows(t, 'permits');
      const tok = await t.token('demo-contractor-b');
      const parcel =
        (await t.gql(`{ permits(first: 1) { edges { node { parcel { id } } } } }`, {}, await t.token('demo-clerk'))).body.data?.permits
          ?.edges?.[0]?.node?.parcel?.id ?? '00000000-0000-4000-8000-000000000000';
      const r = await t.gql(
        `mutation($i: SubmitPermitInput!) { submitPermit(input: $i, idempotencyKey: "audit-fail-0001") { receipt { id } } }`,
        {
          i: {
            parcelId: parcel,
            permitType: 'SIGN',
            workClass: 'NEW',
            description: 'Sign',
            valuation: 10,
            applicant: { name: 'A B', email: 'a@example.org', phone: '+1 555 000 0000' },
          },
        },
        tok,
      );
      expect(r.body.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(JSON.stringify(r.body)).not.toContain('injected');
      expect(await countRows(t, 'permits')).toBe(before);
    });
  });

  test('a mutation entry staged in its transaction is chained by the next group commit, none left pending', async () => {
    const h = await head();
    const tok = await t.token('demo-contractor-a');
    // a parcel of the contractor's jurisdiction, read from the database: this test is about the mutation's entry
    const [p] = rowsOf<{ id: string }>(
      await t.tdb.database.db.execute(sql`select id from parcels where jurisdiction_id = 'demo-city' limit 1`),
    );
    const parcel = p!.id;
    const r = await t.gql(
      `mutation Stage($i: SubmitPermitInput!) { submitPermit(input: $i, idempotencyKey: "audit-staged-0001") { receipt { id permitNumber } } }`,
      {
        i: {
          parcelId: parcel,
          permitType: 'SIGN',
          workClass: 'NEW',
          description: 'Sign',
          valuation: 10,
          applicant: { name: 'A B', email: 'a@example.org', phone: '+1 555 000 0000' },
        },
      },
      tok,
    );
    expect(r.body.errors).toBeUndefined();
    const es = await entriesSince(h);
    const mine = es.filter((e) => e.entry.operation?.name === 'Stage');
    expect(mine).toHaveLength(1);
    expect(mine[0]!.entry).toMatchObject({ outcome: 'ALLOWED', clientId: 'demo-contractor-a', operation: { type: 'mutation' } });
    expect(mine[0]!.entry.affected).toContain(r.body.data.submitPermit.receipt.permitNumber);
    expect(await countRows(t, 'audit_pending')).toBe(0);
  });

  test('entries another process staged and never announced are swept into the chain', async () => {
    const h = await head();
    const db = t.tdb.database.db;
    // as an instance that committed a mutation and died before its group commit
    await db.execute(
      sql`insert into audit_pending (entry) values (${JSON.stringify({ kind: 'graphql', outcome: 'ALLOWED', note: 'left-by-crashed-instance' })}::jsonb)`,
    );
    const es = await entriesSince(h);
    expect(es.filter((e) => e.entry.note === 'left-by-crashed-instance')).toHaveLength(1);
    expect(await countRows(t, 'audit_pending')).toBe(0);
  });

  test('the chain verifies through auditVerification for a compliance officer', async () => {
    await t.running.audit.flush();
    const r = await t.gql(`{ auditVerification { ok size firstBadSeq } }`, {}, await t.token('demo-compliance'));
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.auditVerification.ok).toBe(true);
    expect(r.body.data.auditVerification.size).toBeGreaterThan(5);
  });

  test('an entry read through auditEntry carries an RFC 9162 proof that verifies against the signed checkpoint', async () => {
    const tok = await t.token('demo-compliance');
    // this file's server has tiny rate budgets (for the 429 test): wait out a refusal
    const gql = async (q: string, v: Record<string, unknown>) => {
      for (;;) {
        const r = await t.gql(q, v, tok);
        if (r.status !== 429) return r;
        await Bun.sleep(Number(r.headers.get('retry-after') ?? 1) * 1000);
      }
    };
    await t.running.audit.flush();
    const log = await gql(`{ auditLog(first: 1, filter: { outcome: ALLOWED }) { edges { node { seq hash } } } }`, {});
    const { seq, hash } = log.body.data.auditLog.edges[0].node;
    await t.running.audit.checkpoint();
    const r = await gql(
      `query($s: Int!) { auditEntry(seq: $s) { seq hash proof { leafIndex treeSize leafHash rootHash path checkpoint } } }`,
      { s: seq },
    );
    expect(r.body.errors).toBeUndefined();
    const { proof } = r.body.data.auditEntry;
    expect(proof.leafIndex).toBe(seq - 1);
    const jwks = (await (await fetch(`${t.url}/.well-known/jwks.json`)).json()) as { keys: object[] };
    const statement = await verifyCheckpoint(proof.checkpoint, jwks as never);
    expect(statement.rootHash).toBe(proof.rootHash);
    expect(statement.size).toBe(proof.treeSize);
    expect(
      verifyInclusion({
        entryHash: hash,
        index: proof.leafIndex,
        treeSize: proof.treeSize,
        proof: proof.path,
        rootHash: statement.rootHash,
      }),
    ).toBe(true);
    const forged = (hash[0] === 'a' ? 'b' : 'a') + hash.slice(1);
    expect(
      verifyInclusion({
        entryHash: forged,
        index: proof.leafIndex,
        treeSize: proof.treeSize,
        proof: proof.path,
        rootHash: statement.rootHash,
      }),
    ).toBe(false);
  });
});
