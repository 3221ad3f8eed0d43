import { afterAll, afterEach, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDbBreaker } from '../../src/resilience/breaker.ts';
import { openOutbox, type Outbox, type OutboxItem } from '../../src/resilience/outbox.ts';
import { createReplayer, type ReplayResult } from '../../src/resilience/replayer.ts';

const root = mkdtempSync(join(tmpdir(), 'replayer-test-'));
let n = 0;
const open: Outbox[] = [];
function freshOutbox(): Outbox {
  const outbox = openOutbox({ dir: join(root, `case-${++n}`) });
  open.push(outbox);
  return outbox;
}
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const principal = { clientId: 'contractor-a', jurisdiction: 'demo-city', contractor: 'LIC-1' };
function fill(outbox: Outbox, keys: string[]) {
  return keys.map((k) => outbox.enqueue({ kind: 'submitPermit', idempotencyKey: k, principal, input: { k } }));
}
const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A stand-in for the domain's idempotent submit: one permit per idempotency key. */
function fakeDatabase() {
  const permits = new Map<string, { number: string; input: string }>();
  let up = true;
  return {
    permits,
    setUp(v: boolean) {
      up = v;
    },
    async submit(item: OutboxItem): Promise<ReplayResult> {
      if (!up) throw refused();
      const input = JSON.stringify(item.payload.input);
      const existing = permits.get(item.idempotencyKey);
      if (existing) {
        return existing.input === input
          ? { state: 'PERSISTED', resultId: existing.number }
          : { state: 'REJECTED', reason: 'idempotency key already used with a different input' };
      }
      const number = `BP-${permits.size + 1}`;
      permits.set(item.idempotencyKey, { number, input });
      return { state: 'PERSISTED', resultId: number };
    },
  };
}

describe('createReplayer', () => {
  test('it drains queued items in enqueue order, one at a time, and records their permit numbers', async () => {
    const outbox = freshOutbox();
    const receipts = fill(outbox, ['a', 'b', 'c', 'd']);
    const seen: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const replayer = createReplayer({
      outbox,
      isAvailable: () => true,
      batchSize: 3,
      handle: async (item) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await sleep(2);
        seen.push(item.idempotencyKey);
        inFlight--;
        return { state: 'PERSISTED', resultId: `BP-${item.idempotencyKey}` };
      },
    });
    const report = await replayer.drainOnce();
    expect(report).toEqual({ persisted: 4, rejected: 0, remaining: 0 });
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
    expect(maxInFlight).toBe(1);
    expect(outbox.get(receipts[2]!.id)).toMatchObject({ state: 'PERSISTED', resultId: 'BP-c' });
  });

  test('a connection failure stops the round, leaves the item queued, and the next round resumes in order', async () => {
    const outbox = freshOutbox();
    const [a, b, c] = fill(outbox, ['a', 'b', 'c']);
    const seen: string[] = [];
    let failB = true;
    const replayer = createReplayer({
      outbox,
      isAvailable: () => true,
      handle: async (item) => {
        seen.push(item.idempotencyKey);
        if (item.idempotencyKey === 'b' && failB) throw refused();
        return { state: 'PERSISTED', resultId: `BP-${item.idempotencyKey}` };
      },
    });
    const first = await replayer.drainOnce();
    expect(first).toEqual({ persisted: 1, rejected: 0, stoppedBy: 'connection-failure', remaining: 2 });
    expect(outbox.get(b!.id)).toMatchObject({ state: 'QUEUED', attempts: 1, lastError: expect.stringContaining('ECONNREFUSED') });
    expect(outbox.get(c!.id)?.state).toBe('QUEUED');
    expect(seen).toEqual(['a', 'b']);

    failB = false;
    const second = await replayer.drainOnce();
    expect(second).toEqual({ persisted: 2, rejected: 0, remaining: 0 });
    expect(seen).toEqual(['a', 'b', 'b', 'c']);
    expect(outbox.get(a!.id)?.resultId).toBe('BP-a');
    expect(outbox.get(c!.id)?.resultId).toBe('BP-c');
  });

  test('nothing is attempted while the database is unavailable', async () => {
    const outbox = freshOutbox();
    fill(outbox, ['a', 'b']);
    let calls = 0;
    const replayer = createReplayer({
      outbox,
      isAvailable: () => false,
      handle: async () => {
        calls++;
        return { state: 'PERSISTED', resultId: 'x' };
      },
    });
    expect(await replayer.drainOnce()).toEqual({ persisted: 0, rejected: 0, stoppedBy: 'unavailable', remaining: 2 });
    expect(calls).toBe(0);
  });

  test('a REJECTED answer from the handler is recorded with its reason and the drain goes on', async () => {
    const outbox = freshOutbox();
    const [a, b] = fill(outbox, ['a', 'b']);
    const settled: string[] = [];
    const replayer = createReplayer({
      outbox,
      isAvailable: () => true,
      handle: async (item) =>
        item.idempotencyKey === 'a'
          ? { state: 'REJECTED', reason: 'parcel is under a demolition order' }
          : { state: 'PERSISTED', resultId: 'BP-b' },
      onSettled: (item, result) => settled.push(`${item.idempotencyKey}:${result.state}`),
    });
    expect(await replayer.drainOnce()).toEqual({ persisted: 1, rejected: 1, remaining: 0 });
    expect(outbox.get(a!.id)).toMatchObject({ state: 'REJECTED', reason: 'parcel is under a demolition order', resultId: null });
    expect(outbox.get(b!.id)?.state).toBe('PERSISTED');
    expect(settled).toEqual(['a:REJECTED', 'b:PERSISTED']);
  });

  test('replaying an item whose key is already in the database gives PERSISTED once, or REJECTED for other input', async () => {
    const outbox = freshOutbox();
    const db = fakeDatabase();
    const [same] = fill(outbox, ['k-same']);
    const [other] = [outbox.enqueue({ kind: 'submitPermit', idempotencyKey: 'k-other', principal, input: { k: 'new' } })];
    // The database committed these before a crash kept the outbox from hearing of it.
    await db.submit(outbox.get(same!.id)!);
    db.permits.set('k-other', { number: 'BP-99', input: JSON.stringify({ k: 'old' }) });

    const replayer = createReplayer({ outbox, isAvailable: () => true, handle: (item) => db.submit(item) });
    expect(await replayer.drainOnce()).toEqual({ persisted: 1, rejected: 1, remaining: 0 });
    expect(outbox.get(same!.id)).toMatchObject({ state: 'PERSISTED', resultId: 'BP-1' });
    expect(outbox.get(other!.id)?.state).toBe('REJECTED');
    expect(db.permits.size).toBe(2);
  });

  test('an item that keeps failing unexpectedly is retried in place, then rejected so the queue moves on', async () => {
    const outbox = freshOutbox();
    const [bad, good] = fill(outbox, ['bad', 'good']);
    const errors: unknown[] = [];
    const replayer = createReplayer({
      outbox,
      isAvailable: () => true,
      maxUnexpectedFailures: 2,
      onError: (e) => errors.push(e),
      handle: async (item) => {
        if (item.idempotencyKey === 'bad') throw new TypeError("Cannot read properties of undefined (reading 'parcelId')");
        return { state: 'PERSISTED', resultId: 'BP-good' };
      },
    });
    expect(await replayer.drainOnce()).toEqual({ persisted: 0, rejected: 0, stoppedBy: 'handler-error', remaining: 2 });
    expect(outbox.get(good!.id)?.state).toBe('QUEUED');
    expect(await replayer.drainOnce()).toEqual({ persisted: 1, rejected: 1, remaining: 0 });
    expect(outbox.get(bad!.id)?.reason).toBe("replay failed 2 times: Cannot read properties of undefined (reading 'parcelId')");
    expect(errors).toHaveLength(2);
  });

  test('a handler answer of the wrong shape is treated as a failure, not as success', async () => {
    const outbox = freshOutbox();
    const [a] = fill(outbox, ['a']);
    const errors: unknown[] = [];
    const replayer = createReplayer({
      outbox,
      isAvailable: () => true,
      onError: (e) => errors.push(e),
      handle: async () => ({ state: 'PERSISTED' }) as unknown as ReplayResult,
    });
    expect((await replayer.drainOnce()).stoppedBy).toBe('handler-error');
    expect(outbox.get(a!.id)?.state).toBe('QUEUED');
    expect(String(errors[0])).toContain("handler must answer {state:'PERSISTED', resultId}");
  });

  test('concurrent drains share one pass so no item is handled twice', async () => {
    const outbox = freshOutbox();
    fill(outbox, ['a', 'b', 'c']);
    let calls = 0;
    const replayer = createReplayer({
      outbox,
      isAvailable: () => true,
      handle: async (item) => {
        calls++;
        await sleep(2);
        return { state: 'PERSISTED', resultId: item.idempotencyKey };
      },
    });
    const [r1, r2] = await Promise.all([replayer.drainOnce(), replayer.drainOnce()]);
    expect(r1).toBe(r2);
    expect(calls).toBe(3);
  });

  test('with the circuit breaker: queued during an outage, drained in order once the database is back', async () => {
    const outbox = freshOutbox();
    const db = fakeDatabase();
    const breaker = createDbBreaker({ failureThreshold: 1, halfOpenInitialMs: 30 });
    const replayer = createReplayer({
      outbox,
      isAvailable: () => !breaker.isOpen(),
      handle: (item) => breaker.execute(() => db.submit(item)),
      intervalMs: 10,
    });
    breaker.onStateChange((s) => s === 'closed' && replayer.wake());
    db.setUp(false);
    const receipts = fill(outbox, ['a', 'b', 'c']);
    replayer.start();
    await sleep(20);
    expect(breaker.state).toBe('open');
    expect(outbox.depth()).toBe(3);

    db.setUp(true);
    const deadline = Date.now() + 2000;
    while (outbox.depth() > 0 && Date.now() < deadline) await sleep(10);
    await replayer.stop();
    expect(replayer.running).toBe(false);
    expect(receipts.map((r) => outbox.get(r.id)?.resultId)).toEqual(['BP-1', 'BP-2', 'BP-3']);
    expect(db.permits.size).toBe(3);
  });

  test('stop() lets the current item finish and ends the drain; drainOnce() still works afterwards', async () => {
    const outbox = freshOutbox();
    fill(outbox, ['a', 'b', 'c']);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const handled: string[] = [];
    const replayer = createReplayer({
      outbox,
      isAvailable: () => true,
      handle: async (item) => {
        if (item.idempotencyKey === 'a') await gate;
        handled.push(item.idempotencyKey);
        return { state: 'PERSISTED', resultId: item.idempotencyKey };
      },
    });
    replayer.start();
    await sleep(10);
    const stopped = replayer.stop();
    release();
    await stopped;
    expect(handled).toEqual(['a']);
    expect(outbox.depth()).toBe(2);
    expect(await replayer.drainOnce()).toEqual({ persisted: 2, rejected: 0, remaining: 0 });
  });

  test('invalid options are refused with a clear message', () => {
    const outbox = freshOutbox();
    expect(() =>
      createReplayer({ outbox, isAvailable: () => true, handle: async () => ({ state: 'REJECTED', reason: 'x' }), intervalMs: 0 }),
    ).toThrow('intervalMs must be a positive integer');
  });
});

describe('createReplayer with handleBatch', () => {
  function fillKinds(outbox: Outbox, items: [string, 'submitPermit' | 'scheduleInspection'][]) {
    return items.map(([k, kind]) => outbox.enqueue({ kind, idempotencyKey: k, principal, input: { k } }));
  }

  test('runs of batchable items go together, transactionSize at most, in enqueue order; the others one at a time', async () => {
    const outbox = freshOutbox();
    const receipts = fillKinds(outbox, [
      ['a', 'submitPermit'],
      ['b', 'submitPermit'],
      ['c', 'submitPermit'],
      ['i', 'scheduleInspection'],
      ['d', 'submitPermit'],
      ['e', 'submitPermit'],
    ]);
    const calls: string[] = [];
    const replayer = createReplayer({
      outbox,
      isAvailable: () => true,
      transactionSize: 2,
      batchable: (item) => item.kind === 'submitPermit',
      handle: async (item) => {
        calls.push(item.idempotencyKey);
        return { state: 'PERSISTED', resultId: `ONE-${item.idempotencyKey}` };
      },
      handleBatch: async (items) => {
        calls.push(items.map((i) => i.idempotencyKey).join('+'));
        return items.map((i) => ({ state: 'PERSISTED', resultId: `BATCH-${i.idempotencyKey}` }) as const);
      },
    });
    expect(await replayer.drainOnce()).toEqual({ persisted: 6, rejected: 0, remaining: 0 });
    expect(calls).toEqual(['a+b', 'c', 'i', 'd+e']);
    expect(receipts.map((r) => outbox.get(r.id)?.resultId)).toEqual(['BATCH-a', 'BATCH-b', 'ONE-c', 'ONE-i', 'BATCH-d', 'BATCH-e']);
  });

  test('a batch that fails is replayed one item at a time, so the item that fails is found alone', async () => {
    const outbox = freshOutbox();
    const [a, b, c] = fill(outbox, ['a', 'b', 'c']);
    const calls: string[] = [];
    const replayer = createReplayer({
      outbox,
      isAvailable: () => true,
      maxUnexpectedFailures: 1,
      handle: async (item) => {
        calls.push(item.idempotencyKey);
        if (item.idempotencyKey === 'b') throw new Error('unexpected data');
        return { state: 'PERSISTED', resultId: `ONE-${item.idempotencyKey}` };
      },
      handleBatch: async (items) => {
        calls.push(items.map((i) => i.idempotencyKey).join('+'));
        throw new Error('unexpected data');
      },
    });
    expect(await replayer.drainOnce()).toEqual({ persisted: 2, rejected: 1, remaining: 0 });
    expect(calls).toEqual(['a+b', 'a', 'b', 'c']);
    expect(outbox.get(a!.id)?.resultId).toBe('ONE-a');
    expect(outbox.get(b!.id)).toMatchObject({ state: 'REJECTED', reason: expect.stringContaining('unexpected data') });
    expect(outbox.get(c!.id)?.resultId).toBe('ONE-c');
  });

  test('a batch that finds the database gone stops the round and leaves all its items queued', async () => {
    const outbox = freshOutbox();
    const receipts = fill(outbox, ['a', 'b']);
    const replayer = createReplayer({
      outbox,
      isAvailable: () => true,
      handle: async () => ({ state: 'PERSISTED', resultId: 'x' }),
      handleBatch: async () => {
        throw refused();
      },
    });
    expect(await replayer.drainOnce()).toEqual({ persisted: 0, rejected: 0, stoppedBy: 'connection-failure', remaining: 2 });
    for (const r of receipts) expect(outbox.get(r.id)).toMatchObject({ state: 'QUEUED', attempts: 1 });
  });

  test('batches start at 2 items and grow to what fits in batchBudgetMs, up to transactionSize', async () => {
    const outbox = freshOutbox();
    fill(
      outbox,
      Array.from({ length: 40 }, (_, i) => `k${i}`),
    );
    const sizes: number[] = [];
    const replayer = createReplayer({
      outbox,
      isAvailable: () => true,
      transactionSize: 16,
      batchBudgetMs: 400,
      handle: async (item) => ({ state: 'PERSISTED', resultId: `ONE-${item.idempotencyKey}` }),
      handleBatch: async (items) => {
        sizes.push(items.length);
        await sleep(items.length); // ~1 ms an item: 16 fit in the budget
        return items.map((i) => ({ state: 'PERSISTED', resultId: `BATCH-${i.idempotencyKey}` }) as const);
      },
    });
    expect(await replayer.drainOnce()).toMatchObject({ persisted: 40, remaining: 0 });
    expect(sizes[0]).toBe(2);
    expect(sizes[1]).toBe(16);
  });
});
