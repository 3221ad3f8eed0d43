/**
 * `auditVerification` (and `cli audit verify`, same function) sees what a valid chain alone cannot: a permit change
 * without its audit entry (a staged entry removed before it was chained) and an entry appended twice.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalJson } from '../../src/audit/canonical-json.ts';
import { hashOfCanonical } from '../../src/audit/hash-chain.ts';
import { loadAndVerify } from '../../src/audit/verify-chain.ts';
import { verifyAuditTrail } from '../../src/audit/verify-trail.ts';
import { appendAuditEntries } from '../../src/audit/append.ts';
import { jsonOf, rowsOf } from '../../src/db/rows.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { createCliDatabase, runCli, type CliDatabase } from '../cli/support.ts';

setDefaultTimeout(120_000);

const SUBMIT = `mutation($i: SubmitPermitInput!, $k: String!) { submitPermit(input: $i, idempotencyKey: $k) { receipt { permitNumber } } }`;

describe('audit verification beyond the chain (GraphQL)', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t?.stop();
  });

  const verification = async () =>
    (await t.gql(`{ auditVerification { ok size firstBadSeq reason } }`, {}, await t.token('demo-compliance'))).body.data
      .auditVerification as {
      ok: boolean;
      firstBadSeq: number | null;
      reason: string | null;
    };

  async function submit(key: string): Promise<string> {
    const parcels = await t.gql(
      `{ parcels(bbox: {minLon: -180, minLat: -90, maxLon: 180, maxLat: 90}, first: 1) { edges { node { id } } } }`,
      {},
      await t.token('demo-gis'),
    );
    const parcelId = parcels.body.data.parcels.edges[0].node.id;
    const r = await t.gql(
      SUBMIT,
      {
        k: key,
        i: {
          parcelId,
          permitType: 'SIGN',
          workClass: 'NEW',
          description: 'Sign',
          valuation: 100,
          applicant: { name: 'A B', email: 'a@example.org', phone: '+1 555 000 1111' },
        },
      },
      await t.token('demo-contractor-a'),
    );
    expect(r.body.errors).toBeUndefined();
    await t.running.audit.flush();
    return r.body.data.submitPermit.receipt.permitNumber as string;
  }

  test('audited changes verify; a permit change whose entry is missing does not, naming the permit', async () => {
    const number = await submit('verify-trail-0001');
    expect(await verification()).toMatchObject({ ok: true, reason: null });

    // what a deleted staged entry leaves behind: the change committed, no entry chained or staged for it
    const db = t.tdb.database.db;
    await db.execute(sql`
      insert into permit_status_history (permit_id, from_status, to_status, actor)
      select id, 'SUBMITTED', 'WITHDRAWN', 'demo-contractor-a' from permits where permit_num = ${number}`);
    expect((await loadAndVerify(db)).ok).toBe(true); // the chain itself cannot see it
    const v = await verification();
    expect(v.ok).toBe(false);
    expect(v.reason).toContain(`permit ${number} has 2 status change(s) by clients but 1 mutation entry naming it`);
    const full = await verifyAuditTrail(db);
    expect(full.unauditedChanges).toEqual([{ permitNumber: number, changes: 2, entries: 1 }]);

    await db.execute(sql`delete from permit_status_history where to_status = 'WITHDRAWN' and actor = 'demo-contractor-a'`);
    expect((await verification()).ok).toBe(true);
  });

  test('an entry appended twice (the unique entry_id index gone) is reported with the seq of the copy', async () => {
    const db = t.tdb.database.db;
    const [appended] = await appendAuditEntries(db, [{ kind: 'graphql', tag: 'twice', entryId: 'verify-trail-dup-1' }]);
    // as an owner could, or a log from before the index: the same recorded entry chained a second time
    // the duplicate stays (append-only), so the index cannot come back: this test comes last in its describe
    await db.execute(sql`drop index audit_entries_entry_id_uq`);
    const [head] = rowsOf<{ seq: string; hash: string; created_at: string }>(
      await db.execute(
        sql`select seq::text as seq, hash, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created_at from audit_entries order by seq desc limit 1`,
      ),
    );
    const copy = { ...appended!.entry };
    const text = canonicalJson(copy);
    const seq = Number(head!.seq) + 1;
    await db.execute(sql`insert into audit_entries (seq, created_at, entry, prev_hash, hash)
      values (${seq}::bigint, ${head!.created_at}::timestamptz, ${text}::text::jsonb, ${head!.hash}, ${hashOfCanonical(head!.hash, text)})`);
    expect((await loadAndVerify(db)).ok).toBe(true);
    const v = await verification();
    expect(v.ok).toBe(false);
    expect(v.firstBadSeq).toBe(seq);
    expect(v.reason).toContain(`entry seq ${seq} repeats seq ${appended!.seq} (entryId verify-trail-dup-1, 2 copies)`);
    const stored = rowsOf<{ entry: unknown }>(await db.execute(sql`select entry from audit_entries where seq = ${seq}::bigint`));
    expect(jsonOf(stored[0]!.entry as Record<string, unknown>).entryId).toBe('verify-trail-dup-1');
  });
});

describe('cli audit verify reports an entry appended twice', () => {
  let cdb: CliDatabase;
  let home: string;
  beforeAll(async () => {
    cdb = await createCliDatabase({ seed: false });
    home = mkdtempSync(join(tmpdir(), 'pg-cli-dup-'));
  });
  afterAll(async () => {
    await cdb?.drop();
    rmSync(home, { recursive: true, force: true });
  });

  test('exit 1 naming the copy', async () => {
    const database = await cdb.open();
    try {
      const db = database.db;
      const [a] = await appendAuditEntries(db, [{ kind: 'graphql', tag: 'cli-twice', entryId: 'cli-dup-1' }]);
      await db.execute(sql`drop index audit_entries_entry_id_uq`);
      const text = canonicalJson(a!.entry);
      await db.execute(sql`insert into audit_entries (seq, created_at, entry, prev_hash, hash)
        values (2, ${a!.createdAt}::timestamptz, ${text}::text::jsonb, ${a!.hash}, ${hashOfCanonical(a!.hash, text)})`);
    } finally {
      await database.close();
    }
    const r = await runCli(['audit', 'verify', '--json'], cdb.env);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as {
      ok: boolean;
      firstBadSeq: number;
      duplicates: { entryId: string; seq: number; duplicateSeq: number; copies: number }[];
    };
    expect(out.ok).toBe(false);
    expect(out.firstBadSeq).toBe(2);
    expect(out.duplicates).toEqual([{ entryId: 'cli-dup-1', seq: 1, duplicateSeq: 2, copies: 2 }]);
  });
});
