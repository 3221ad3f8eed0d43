/**
 * Issue 22: failed deliveries are "retried with exponential backoff and jitter for at least a day, then
 * dead-lettered". The schedule function on its own (growth, jitter, cap), then the dispatcher's defaults on a real
 * database: a delivery failing for just under a day is retried after a backoff, one failing for over 25 hours is
 * dead-lettered, and one an operator replays gets a full window again.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { rowsOf } from '../../src/db/rows.ts';
import { DEFAULT_GIVE_UP_AFTER_MS, DEFAULT_RETRY_BASE_MS, MAX_RETRY_DELAY_MS, retryDelayMs } from '../../src/events/retry-schedule.ts';
import { createWebhookDispatcher } from '../../src/events/webhook-dispatcher.ts';
import { replayDeliveries } from '../../src/events/webhook-admin.ts';
import { newWebhookSecret } from '../../src/events/webhook-store.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { startReceiver } from './receiver.ts';

const DAY_MS = 24 * 3600_000;

describe('retryDelayMs', () => {
  test('doubles with each failed attempt, from the base, until the cap', () => {
    const mid = () => 0.5; // jitter factor 1
    expect(retryDelayMs(1, 1000, mid)).toBe(1000);
    for (let n = 1; n < 12; n++) expect(retryDelayMs(n + 1, 1000, mid)).toBe(2 * retryDelayMs(n, 1000, mid));
    expect(retryDelayMs(40, 1000, mid)).toBe(MAX_RETRY_DELAY_MS);
    expect(retryDelayMs(1, undefined, mid)).toBe(DEFAULT_RETRY_BASE_MS);
  });

  test('has jitter: between half and one and a half times the delay, and spread out', () => {
    expect(retryDelayMs(3, 1000, () => 0)).toBe(2000);
    expect(retryDelayMs(3, 1000, () => 0.999)).toBeCloseTo(5996, 0);
    const delays = Array.from({ length: 50 }, () => retryDelayMs(3, 1000));
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(2000);
      expect(d).toBeLessThan(6000);
    }
    expect(new Set(delays).size).toBeGreaterThan(40);
  });

  test('by default a failing delivery is retried for over a day, many times, before it is given up', () => {
    expect(DEFAULT_GIVE_UP_AFTER_MS).toBeGreaterThanOrEqual(DAY_MS);
    // the slowest schedule jitter allows: retries still come at most 1.5 h apart, so the last falls within the window's last hours
    let at = 0;
    let attempts = 1;
    while (at < DEFAULT_GIVE_UP_AFTER_MS) {
      at += retryDelayMs(attempts, DEFAULT_RETRY_BASE_MS, () => 0.999999);
      attempts++;
    }
    expect(attempts).toBeGreaterThan(15);
    expect(retryDelayMs(attempts, DEFAULT_RETRY_BASE_MS, () => 0.999999)).toBeLessThan(2 * 3600_000);
  });
});

describe("the dispatcher's default retry window, on a real database", () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase({ seed: 'small' });
  }, 60_000);
  afterAll(() => tdb.drop(), 30_000);

  test('a delivery failing for 23 h is retried after a growing backoff; one failing for 25 h is dead-lettered', async () => {
    const receiver = startReceiver();
    receiver.failFirst = 1_000_000;
    const db = tdb.database.db;
    // no giveUpAfterMs, no retryBaseMs: the defaults
    const dispatcher = createWebhookDispatcher({ db, log: pino({ level: 'silent' }), policy: { production: false, allowPrivate: true } });
    try {
      const [hook] = rowsOf<{ id: string }>(
        await db.execute(sql`insert into webhooks (client_id, jurisdiction_id, url, events, secret)
          values ('test', 'demo-city', ${receiver.url}, '{permit.status_changed}'::text[], ${newWebhookSecret()}) returning id::text`),
      );
      const delivery = (messageId: string, age: string, attempts: number) =>
        db.execute(sql`insert into webhook_deliveries (message_id, webhook_id, event_type, body, attempts, created_at, retry_from)
          values (${messageId}, ${hook!.id}::uuid, 'permit.status_changed', '{"type":"permit.status_changed","data":{}}'::jsonb,
            ${attempts}, now() - ${age}::interval, now() - ${age}::interval)`);
      await delivery('msg_young_first', '23 hours 50 minutes', 0);
      await delivery('msg_young_fourth', '23 hours 50 minutes', 3);
      await delivery('msg_old', '25 hours 5 minutes', 7);

      const before = Date.now();
      await dispatcher.drainOnce();
      const rows = new Map(
        rowsOf<{ message_id: string; state: string; attempts: number; wait_ms: number }>(
          await db.execute(sql`select message_id, state, attempts,
            (extract(epoch from next_attempt_at) * 1000)::float8 as wait_ms from webhook_deliveries where webhook_id = ${hook!.id}::uuid`),
        ).map((r) => [r.message_id, { ...r, wait_ms: Number(r.wait_ms) - before }]),
      );
      expect(receiver.attempts.get('msg_young_first')).toBe(1);
      expect(receiver.attempts.get('msg_old')).toBe(1);
      // first failure: 5 s × [0.5, 1.5); fourth: 40 s × [0.5, 1.5)
      const first = rows.get('msg_young_first')!;
      expect(first).toMatchObject({ state: 'pending', attempts: 1 });
      expect(first.wait_ms).toBeGreaterThan(0.5 * DEFAULT_RETRY_BASE_MS - 1000);
      expect(first.wait_ms).toBeLessThan(1.5 * DEFAULT_RETRY_BASE_MS + 1000);
      const fourth = rows.get('msg_young_fourth')!;
      expect(fourth).toMatchObject({ state: 'pending', attempts: 4 });
      expect(fourth.wait_ms).toBeGreaterThan(0.5 * 8 * DEFAULT_RETRY_BASE_MS - 1000);
      expect(fourth.wait_ms).toBeLessThan(1.5 * 8 * DEFAULT_RETRY_BASE_MS + 1000);
      expect(rows.get('msg_old')).toMatchObject({ state: 'dead', attempts: 8 });

      // an operator's replay gives it a full window again: failing once more, it waits for its next attempt
      expect(await replayDeliveries(db, hook!.id)).toBe(1);
      await dispatcher.drainOnce();
      expect(receiver.attempts.get('msg_old')).toBe(2);
      const [replayed] = rowsOf<{ state: string; attempts: number; queued_long_ago: boolean }>(
        await db.execute(sql`select state, attempts, created_at < now() - interval '25 hours' as queued_long_ago
          from webhook_deliveries where message_id = 'msg_old'`),
      );
      expect(replayed).toEqual({ state: 'pending', attempts: 1, queued_long_ago: true });
    } finally {
      await dispatcher.stop();
      receiver.stop();
    }
  });
});
