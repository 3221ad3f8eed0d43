/**
 * Replay idempotency on the real PostgreSQL (issue 6, acceptance 3), at the module level: items are put into a
 * real bun:sqlite outbox and drained by the real replayer with the real replay handler.
 *
 * - the key already exists with the same input (the live request committed, but its client was answered QUEUED,
 *   or a crash came between commit and `markPersisted`) → PERSISTED, the same permit, one row;
 * - the key already exists with a different input → REJECTED with a reason naming the conflict, nothing written.
 *
 * Runs in a fresh database of TEST_DATABASE_URL (skipped without it, like the other fault tests).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { and, eq, sql } from 'drizzle-orm';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROLE_SCOPES } from '../../src/auth/policy.ts';
import { rowsOf } from '../../src/db/rows.ts';
import { parcels } from '../../src/db/schema/parcels.ts';
import { permits } from '../../src/db/schema/permits.ts';
import { demoLicense, seedDemoData } from '../../src/db/seed.ts';
import { submitPermit, validateSubmission } from '../../src/domain/permit-writes.ts';
import type { Principal } from '../../src/domain/principal.ts';
import { openOutbox, type Outbox } from '../../src/resilience/outbox.ts';
import { createBatchReplayHandler, createReplayHandler } from '../../src/resilience/replay-handler.ts';
import { createReplayer } from '../../src/resilience/replayer.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { submissionInput } from './load.ts';

describe.skipIf(!process.env.TEST_DATABASE_URL)('outbox replay idempotency (real PostgreSQL)', () => {
  let tdb: TestDatabase;
  let outbox: Outbox;
  let dir = '';
  let parcelId = '';
  const who = { clientId: 'replay-contractor', jurisdiction: 'demo-city', contractor: demoLicense('demo-city', 0) };
  const principal: Principal = { ...who, role: 'contractor', scopes: new Set(ROLE_SCOPES.contractor) };

  beforeAll(async () => {
    tdb = await createTestDatabase();
    await seedDemoData(tdb.database.db, 'small');
    const [p] = await tdb.database.db.select({ id: parcels.id }).from(parcels).where(eq(parcels.jurisdictionId, 'demo-city')).limit(1);
    parcelId = p!.id;
    dir = mkdtempSync(join(tmpdir(), 'replay-idem-'));
    outbox = openOutbox({ dir });
  }, 60_000);

  afterAll(async () => {
    outbox?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await tdb?.drop();
  });

  const permitsWithKey = async (key: string) =>
    tdb.database.db
      .select({ id: permits.id, number: permits.permitNum, description: permits.description })
      .from(permits)
      .where(and(eq(permits.submittedBy, who.clientId), eq(permits.idempotencyKey, key)));

  async function persistLive(key: string, input: ReturnType<typeof submissionInput>) {
    const v = validateSubmission(input, key);
    return tdb.database.db.transaction((tx) => submitPermit(tx, principal, v));
  }

  function drain() {
    const replayer = createReplayer({ outbox, handle: createReplayHandler(tdb.database.db), isAvailable: () => true });
    return replayer.drainOnce();
  }

  test('a key that already exists with the same input replays as PERSISTED, to the same permit, once', async () => {
    const input = submissionInput(parcelId, 1);
    const live = await persistLive('replay-same-0001', input);
    expect(live.state).toBe('PERSISTED');

    const receipt = outbox.enqueue({ kind: 'submitPermit', idempotencyKey: 'replay-same-0001', input, principal: who });
    const report = await drain();
    expect(report).toMatchObject({ persisted: 1, rejected: 0, remaining: 0 });
    const item = outbox.get(receipt.id)!;
    expect(item.state).toBe('PERSISTED');
    expect(item.resultId).toBe(live.permitNumber!);
    expect(await permitsWithKey('replay-same-0001')).toHaveLength(1);

    // a second replay of the same key (e.g. a crash between commit and markPersisted) changes nothing
    const again = await createReplayHandler(tdb.database.db)(item);
    expect(again).toEqual({ state: 'PERSISTED', resultId: live.permitNumber! });
    expect(await permitsWithKey('replay-same-0001')).toHaveLength(1);
  });

  test('a key that already exists with a different input replays as REJECTED with a reason, writing nothing', async () => {
    await persistLive('replay-diff-0001', submissionInput(parcelId, 2));
    const [before] = rowsOf<{ n: number }>(await tdb.database.db.execute(sql`select count(*)::int as n from permits`));

    const receipt = outbox.enqueue({
      kind: 'submitPermit',
      idempotencyKey: 'replay-diff-0001',
      input: submissionInput(parcelId, 3),
      principal: who,
    });
    const report = await drain();
    expect(report).toMatchObject({ persisted: 0, rejected: 1, remaining: 0 });
    const item = outbox.get(receipt.id)!;
    expect(item.state).toBe('REJECTED');
    expect(item.reason).toContain('replay-diff-0001');
    expect(item.resultId).toBeNull();

    const rows = await permitsWithKey('replay-diff-0001');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.description).toBe(submissionInput(parcelId, 2).description);
    const [after] = rowsOf<{ n: number }>(await tdb.database.db.execute(sql`select count(*)::int as n from permits`));
    expect(after!.n).toBe(before!.n);
  });

  test('a new key replays as PERSISTED once, with the receipt id as the permit id', async () => {
    const receipt = outbox.enqueue({
      kind: 'submitPermit',
      idempotencyKey: 'replay-new-0001',
      input: submissionInput(parcelId, 4),
      principal: who,
    });
    expect(await drain()).toMatchObject({ persisted: 1, remaining: 0 });
    const rows = await permitsWithKey('replay-new-0001');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.id).toBe(receipt.id);
    expect(outbox.get(receipt.id)!.resultId).toBe(rows[0]!.number);
  });

  test('a batch persists its submissions in order in one transaction, a refused one alone is REJECTED, and again changes nothing', async () => {
    const keys = ['replay-batch-0001', 'replay-batch-0002', 'replay-batch-0003'];
    const receipts = keys.map((k, i) =>
      outbox.enqueue({
        kind: 'submitPermit',
        idempotencyKey: k,
        // the second names a parcel that does not exist
        input: i === 1 ? { ...submissionInput(parcelId, 10 + i), parcelId: crypto.randomUUID() } : submissionInput(parcelId, 10 + i),
        principal: who,
      }),
    );
    const items = receipts.map((r) => outbox.get(r.id)!);
    const batch = createBatchReplayHandler(tdb.database.db);
    const results = await batch.handleBatch(items);
    expect(results.map((r) => r.state)).toEqual(['PERSISTED', 'REJECTED', 'PERSISTED']);
    const first = await permitsWithKey(keys[0]!);
    const third = await permitsWithKey(keys[2]!);
    expect(first).toHaveLength(1);
    expect(await permitsWithKey(keys[1]!)).toHaveLength(0);
    expect(results[0]).toEqual({ state: 'PERSISTED', resultId: first[0]!.number });
    expect(results[2]).toEqual({ state: 'PERSISTED', resultId: third[0]!.number });
    expect(first[0]!.id).toBe(receipts[0]!.id);
    // numbers in enqueue order
    expect(first[0]!.number < third[0]!.number).toBe(true);

    const again = await batch.handleBatch(items);
    expect(again).toEqual(results);
    expect(await permitsWithKey(keys[0]!)).toHaveLength(1);
    expect(await permitsWithKey(keys[2]!)).toHaveLength(1);
  });

  test('a batch writes its accepted submissions in one statement, each staging its own audit entry naming its permit', async () => {
    const keys = Array.from({ length: 6 }, (_, i) => `replay-one-stmt-${i}`);
    const items = keys.map(
      (k, i) =>
        outbox.get(
          outbox.enqueue({ kind: 'submitPermit', idempotencyKey: k, input: submissionInput(parcelId, 30 + i), principal: who }).id,
        )!,
    );
    const [{ n: pendingBefore }] = rowsOf<{ n: number }>(
      await tdb.database.db.execute(sql`select count(*)::int as n from audit_pending`),
    ) as [{ n: number }];
    const batch = createBatchReplayHandler(tdb.database.db, {
      stageEntry: (item) => JSON.stringify({ kind: 'graphql', receiptId: item.id, affected: [] }),
    });
    const results = await batch.handleBatch(items);
    expect(results.every((r) => r.state === 'PERSISTED')).toBe(true);
    // rows inserted by one command share its command id (cmin); one statement per item would give six
    const written = rowsOf<{ id: string; permit_num: string; cmin: string; xmin: string }>(
      await tdb.database.db.execute(
        sql`select id, permit_num, cmin::text, xmin::text from permits where submitted_by = ${who.clientId} and idempotency_key like 'replay-one-stmt-%' order by permit_num`,
      ),
    );
    expect(written.map((r) => r.id)).toEqual(items.map((i) => i.id));
    expect(written.map((r) => r.permit_num)).toEqual(results.map((r) => (r.state === 'PERSISTED' ? r.resultId : '')));
    expect(new Set(written.map((r) => `${r.xmin}/${r.cmin}`)).size).toBe(1);
    const staged = rowsOf<{ entry: { receiptId: string; affected: string[] } }>(
      await tdb.database.db.execute(sql`select entry from audit_pending order by id offset ${pendingBefore}`),
    );
    expect(staged.map((r) => r.entry)).toEqual(
      items.map((item, i) => expect.objectContaining({ receiptId: item.id, affected: [written[i]!.permit_num] })),
    );
    await tdb.database.db.execute(sql`delete from audit_pending`);
  });

  test('two items of one key in one batch: the batch rolls back whole, and alone the second gets the permit of the first', async () => {
    const key = 'replay-same-key-0001';
    const first = outbox.get(
      outbox.enqueue({ kind: 'submitPermit', idempotencyKey: key, input: submissionInput(parcelId, 50), principal: who }).id,
    )!;
    // the outbox keeps one item per key; two instances' outboxes may each hold one
    const twin = { ...first, id: crypto.randomUUID() };
    const other = outbox.get(
      outbox.enqueue({ kind: 'submitPermit', idempotencyKey: 'replay-same-key-0002', input: submissionInput(parcelId, 51), principal: who })
        .id,
    )!;
    await expect(createBatchReplayHandler(tdb.database.db).handleBatch([other, first, twin])).rejects.toThrow();
    expect(await permitsWithKey(key)).toHaveLength(0);
    expect(await permitsWithKey('replay-same-key-0002')).toHaveLength(0);
    const handle = createReplayHandler(tdb.database.db);
    const [a, b] = [await handle(first), await handle(twin)];
    const rows = await permitsWithKey(key);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.id).toBe(first.id);
    expect(a).toEqual({ state: 'PERSISTED', resultId: rows[0]!.number });
    expect(b).toEqual(a);
  });
});
