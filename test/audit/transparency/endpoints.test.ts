/**
 * Issue 23 over real HTTP: the public checkpoint and verifier key, GraphQL auditCheckpoint and auditConsistency
 * (audit:verify only), and a consistency proof between two published checkpoints checked with nothing but the
 * two notes and the verifier key.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { openCheckpoint } from '../../../src/audit/transparency/checkpoint-note.ts';
import { verifyConsistencyHex } from '../../../src/audit/transparency/consistency.ts';
import { parseVerifierKey } from '../../../src/audit/transparency/signed-note.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';
import { getText, growAndCheckpoint } from './support.ts';

setDefaultTimeout(120_000);

const ORIGIN = 'permits.test.example/audit';
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ AUDIT_LOG_ORIGIN: ORIGIN });
});
afterAll(() => t.stop());

describe('GET /audit/checkpoint and /audit/verifier-key', () => {
  test('both are public text/plain; the note opens with the served key and names our origin', async () => {
    await growAndCheckpoint(t, 3);
    const key = await getText(`${t.url}/audit/verifier-key`);
    expect(key.status).toBe(200);
    expect(key.type).toBe('text/plain; charset=utf-8');
    expect(key.body).toMatch(/^permits\.test\.example\/audit\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*\n$/);
    const cp = await getText(`${t.url}/audit/checkpoint`);
    expect(cp.status).toBe(200);
    expect(cp.type).toBe('text/plain; charset=utf-8');
    const opened = openCheckpoint(cp.body, [parseVerifierKey(key.body)], ORIGIN);
    expect(opened.size).toBeGreaterThanOrEqual(3);
    expect(cp.body.split('\n').slice(0, 3)).toEqual([ORIGIN, String(opened.size), Buffer.from(opened.rootHash, 'hex').toString('base64')]);
  });

  test('the note carries the tree of the newest signed ES256 checkpoint', async () => {
    const { sql } = await import('drizzle-orm');
    const { rowsOf } = await import('../../../src/db/rows.ts');
    const [row] = rowsOf<{ size: string; root_hash: string }>(
      await t.tdb.database.db.execute(sql`select size::text as size, root_hash from audit_checkpoints order by size desc limit 1`),
    );
    const key = parseVerifierKey((await getText(`${t.url}/audit/verifier-key`)).body);
    const opened = openCheckpoint((await getText(`${t.url}/audit/checkpoint`)).body, [key]);
    expect({ size: opened.size, root: opened.rootHash }).toEqual({ size: Number(row!.size), root: row!.root_hash });
  });
});

describe('GraphQL auditCheckpoint and auditConsistency', () => {
  test('auditCheckpoint needs no token and is the served note', async () => {
    const r = await t.gql('{ auditCheckpoint }');
    expect(r.status).toBe(200);
    expect(r.body.data?.auditCheckpoint).toBe((await getText(`${t.url}/audit/checkpoint`)).body);
  });

  test('a consistency proof between two published checkpoints verifies with the notes alone', async () => {
    const key = parseVerifierKey((await getText(`${t.url}/audit/verifier-key`)).body);
    const older = openCheckpoint((await getText(`${t.url}/audit/checkpoint`)).body, [key], ORIGIN);
    await growAndCheckpoint(t, 4);
    const newer = openCheckpoint((await getText(`${t.url}/audit/checkpoint`)).body, [key], ORIGIN);
    expect(newer.size).toBeGreaterThan(older.size);
    const tok = await t.token('demo-compliance');
    const r = await t.gql<{ auditConsistency: string[] }>(
      'query($a: Int!, $b: Int!) { auditConsistency(fromSize: $a, toSize: $b) }',
      { a: older.size, b: newer.size },
      tok,
    );
    expect(r.body.errors).toBeUndefined();
    const proof = r.body.data!.auditConsistency;
    expect(proof.length).toBeGreaterThan(0);
    expect(
      verifyConsistencyHex({ fromSize: older.size, toSize: newer.size, fromRoot: older.rootHash, toRoot: newer.rootHash, proof }),
    ).toBe(true);
    // the same proof does not make a different old root consistent
    expect(
      verifyConsistencyHex({ fromSize: older.size, toSize: newer.size, fromRoot: 'c'.repeat(64), toRoot: newer.rootHash, proof }),
    ).toBe(false);
  });

  test('only audit:verify gets consistency proofs; impossible sizes are BAD_USER_INPUT', async () => {
    const q = '{ auditConsistency(fromSize: 1, toSize: 2) }';
    expect((await t.gql(q)).status).toBe(401);
    const gis = await t.gql(q, undefined, await t.token('demo-gis'));
    expect(gis.status).toBe(403);
    expect(gis.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const tok = await t.token('demo-compliance');
    for (const [a, b] of [
      [0, 2],
      [3, 2],
      [1, 2_000_000_000],
    ]) {
      const r = await t.gql(`{ auditConsistency(fromSize: ${a}, toSize: ${b}) }`, undefined, tok);
      expect(r.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });
});

// last: the table is append-only, so the forged row stays and would hold back later checkpoints
describe('forged checkpoint rows', () => {
  test('a checkpoint row written straight into the database is not published', async () => {
    const { sql } = await import('drizzle-orm');
    const before = (await getText(`${t.url}/audit/checkpoint`)).body;
    await t.tdb.database.db.execute(sql`
      insert into audit_checkpoints (size, head_hash, root_hash, signature)
      values (1000000, ${'a'.repeat(64)}, ${'b'.repeat(64)}, 'eyJhbGciOiJFUzI1NiJ9.e30.AAAA')`);
    expect((await getText(`${t.url}/audit/checkpoint`)).body).toBe(before);
  });

  test('more forged rows than one read holds do not roll the published tree back to an older or empty one', async () => {
    const { sql } = await import('drizzle-orm');
    const before = (await getText(`${t.url}/audit/checkpoint`)).body;
    expect(Number(before.split('\n')[1])).toBeGreaterThan(0);
    for (let i = 1; i <= 40; i++) {
      await t.tdb.database.db.execute(sql`
        insert into audit_checkpoints (size, head_hash, root_hash, signature)
        values (${1_000_000 + i}, ${'a'.repeat(64)}, ${'b'.repeat(64)}, ${`eyJhbGciOiJFUzI1NiJ9.e30.forged${i}`})`);
    }
    expect((await getText(`${t.url}/audit/checkpoint`)).body).toBe(before);
  });
});
