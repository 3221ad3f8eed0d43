/**
 * Concurrent submissions of one jurisdiction share one statement (src/db/change-batches.ts): fewer transactions,
 * and still gap-free numbers in one sequence, one audit entry per submission naming its own permit, and every
 * request's own answer when a batch fails (a reused idempotency key in the middle of one).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/rows.ts';
import { loadAndVerify } from '../../src/audit/verify-chain.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// starts databases and servers: Bun's 5 s default is too short on a busy machine
setDefaultTimeout(120_000);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
}, 60_000);
afterAll(() => t.stop(), 30_000);

const SUBMIT = `mutation($input: SubmitPermitInput!, $key: String!) {
  submitPermit(input: $input, idempotencyKey: $key) { receipt { id state permitNumber } permit { number status } }
}`;

const input = (parcelId: string, description: string) => ({
  parcelId,
  permitType: 'ELECTRICAL',
  workClass: 'ALTERATION',
  description,
  valuation: 4200,
  applicant: { name: 'Grace Hopper', email: 'grace@example.org', phone: '+1 555 010 9999' },
});

const seqOf = (number: string) => Number(number.split('-').at(-1));

async function parcel(): Promise<string> {
  const r = await t.gql(`{ permits(first: 1) { edges { node { parcel { id } } } } }`, {}, await t.token('demo-clerk'));
  return r.body.data.permits.edges[0].node.parcel.id as string;
}

async function query<T>(text: string): Promise<T[]> {
  return rowsOf<T>(await t.tdb.database.db.execute(sql.raw(text)));
}

describe('concurrent submissions written together', () => {
  test('share transactions, keep one gap-free sequence and each audit entry names its own permit', async () => {
    const contractor = await t.token('demo-contractor-a');
    const p = await parcel();
    const rs = await Promise.all(
      Array.from({ length: 24 }, (_, i) => t.gql(SUBMIT, { input: input(p, `batch ${i}`), key: `batch-key-${i}` }, contractor)),
    );
    for (const r of rs) expect(r.body.errors).toBeUndefined();
    const numbers = rs.map((r) => r.body.data.submitPermit.receipt.permitNumber as string);
    expect(rs.every((r) => r.body.data.submitPermit.permit.number === r.body.data.submitPermit.receipt.permitNumber)).toBe(true);
    expect(new Set(numbers).size).toBe(24);
    const seqs = numbers.map(seqOf).sort((a, b) => a - b);
    expect(seqs.at(-1)! - seqs[0]!).toBe(23);

    // rows one statement inserted share its transaction id: fewer transactions than submissions
    const list = numbers.map((n) => `'${n}'`).join(',');
    const [tx] = await query<{ n: number }>(`select count(distinct xmin::text)::int as n from permits where permit_num in (${list})`);
    expect(tx!.n).toBeLessThan(24);
    // each permit kept what its own request sent
    const rows = await query<{ permit_num: string; description: string; idempotency_key: string }>(
      `select permit_num, description, idempotency_key from permits where permit_num in (${list})`,
    );
    const byKey = new Map(rs.map((r, i) => [`batch-key-${i}`, r.body.data.submitPermit.receipt.permitNumber]));
    for (const row of rows) {
      expect(byKey.get(row.idempotency_key)).toBe(row.permit_num);
      expect(row.description).toBe(`batch ${row.idempotency_key.slice(10)}`);
    }
    const history = await query<{ n: number }>(
      `select count(*)::int as n from permit_status_history h join permits p on p.id = h.permit_id where p.permit_num in (${list})`,
    );
    expect(history[0]!.n).toBe(24);

    await t.running.audit.flush();
    const entries = await query<{ affected: string[] }>(
      `select entry->'affected' as affected from audit_entries where entry->'affected' ?| array[${list}]`,
    );
    expect(entries.map((e) => e.affected).sort()).toEqual(numbers.map((n) => [n]).sort());
    expect((await loadAndVerify(t.tdb.database.db)).ok).toBe(true);
  });

  test('a failed batch answers every request as if alone, and no number is skipped', async () => {
    const contractor = await t.token('demo-contractor-b');
    const p = await parcel();
    // the same key with a different input in the middle of the burst makes the shared statement fail
    const rs = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        t.gql(SUBMIT, { input: input(p, `mixed ${i}`), key: i === 6 ? 'mixed-key-3' : `mixed-key-${i}` }, contractor),
      ),
    );
    const refused = rs.filter((r) => r.body.errors);
    const persisted = rs.filter((r) => !r.body.errors).map((r) => r.body.data.submitPermit.receipt.permitNumber as string);
    // key mixed-3 was sent twice with different inputs: one of the two is refused as CONFLICT, the rest persisted
    expect(refused.length).toBe(1);
    expect(refused[0]!.body.errors![0]!.extensions?.code).toBe('CONFLICT');
    expect(new Set(persisted).size).toBe(11);
    const seqs = persisted.map(seqOf).sort((a, b) => a - b);
    expect(seqs.at(-1)! - seqs[0]!).toBe(10);
    await t.running.audit.flush();
    expect((await loadAndVerify(t.tdb.database.db)).ok).toBe(true);
  });
});
