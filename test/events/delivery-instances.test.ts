/**
 * Issue 22: several instances on one database deliver each event once per webhook (by webhook-id), in order per
 * permit; a delivery claimed by an instance that then died (`kill -9`) is sent by another once the claim expires.
 * Each "instance" is a dispatcher with a connection pool of its own (PostgreSQL) on the one database.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { openDatabase, type Database } from '../../src/db/client.ts';
import { rowsOf } from '../../src/db/rows.ts';
import { createWebhookDispatcher, type WebhookDispatcher } from '../../src/events/webhook-dispatcher.ts';
import { newWebhookSecret } from '../../src/events/webhook-store.ts';
import { replayDeliveries, webhookSummaries } from '../../src/events/webhook-admin.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { startReceiver, type Receiver } from './receiver.ts';

setDefaultTimeout(120_000);

const log = pino({ level: 'silent' });
const policy = { production: false, allowPrivate: true };
let tdb: TestDatabase;
const extra: Database[] = [];

beforeAll(async () => {
  tdb = await createTestDatabase({ seed: 'small' });
}, 60_000);
afterAll(async () => {
  for (const d of extra) await d.close();
  await tdb.drop();
}, 30_000);

/** A database handle of its own per instance on PostgreSQL; PGlite is one connection in this process. */
async function instanceDatabase(): Promise<Database> {
  if (!tdb.url) return tdb.database;
  const d = await openDatabase({ url: tdb.url, poolMax: 3 });
  extra.push(d);
  return d;
}

async function addWebhook(r: Receiver, events: string[]) {
  r.secret = newWebhookSecret();
  const [row] = rowsOf<{ id: string }>(
    await tdb.database.db.execute(sql`insert into webhooks (client_id, jurisdiction_id, url, events, secret)
      values ('test', 'demo-city', ${r.url}, ${`{${events.join(',')}}`}::text[], ${r.secret}) returning id::text`),
  );
  return row!.id;
}

/** Status changes of `permits` demo-city permits, `each` per permit, as the app's transitions would write them. */
async function raiseEvents(permits: number, each: number): Promise<Map<string, string[]>> {
  const rows = rowsOf<{ id: string; permit_num: string }>(
    await tdb.database.db.execute(
      sql`select id::text, permit_num from permits where jurisdiction_id = 'demo-city' order by permit_num limit ${permits}`,
    ),
  );
  const expected = new Map<string, string[]>();
  const steps = ['UNDER_REVIEW', 'CORRECTIONS_REQUIRED', 'UNDER_REVIEW', 'APPROVED', 'ISSUED'];
  for (let i = 0; i < each; i++) {
    for (const p of rows) {
      const to = steps[i % steps.length]!;
      await tdb.database.db.execute(
        sql`insert into permit_status_history (permit_id, from_status, to_status, actor) values (${p.id}::uuid, 'SUBMITTED', ${to}, 'test')`,
      );
      expected.set(p.permit_num, [...(expected.get(p.permit_num) ?? []), to]);
    }
  }
  return expected;
}

describe('webhook delivery across instances', () => {
  test("three instances deliver each event once per webhook, each permit's events in order", async () => {
    const one = startReceiver();
    const two = startReceiver();
    const dispatchers: WebhookDispatcher[] = [];
    try {
      await addWebhook(one, ['permit.status_changed']);
      await addWebhook(two, ['permit.status_changed']);
      const expected = await raiseEvents(8, 4);
      for (let i = 0; i < 3; i++) {
        dispatchers.push(createWebhookDispatcher({ db: (await instanceDatabase()).db, log, policy, pollMs: 50 }));
      }
      for (const d of dispatchers) d.start();
      for (const r of [one, two]) {
        const got = await r.waitFor(32);
        expect(got.length).toBe(32);
        expect(r.unverified).toEqual([]);
        // once each: every webhook-id arrived in exactly one request
        expect([...r.attempts.values()].every((n) => n === 1)).toBe(true);
        expect(new Set(got.map((g) => g.id)).size).toBe(32);
        const order = new Map<string, string[]>();
        for (const g of got) order.set(g.body.data.permitNumber, [...(order.get(g.body.data.permitNumber) ?? []), g.body.data.status]);
        expect(order).toEqual(expected);
      }
      await Bun.sleep(300);
      expect(one.verified.length + two.verified.length).toBe(64);
    } finally {
      for (const d of dispatchers) await d.stop();
      one.stop();
      two.stop();
    }
  });

  test('a claim left by an instance that died is taken over once its lease ran out, with the same webhook-id', async () => {
    const r = startReceiver();
    await tdb.database.db.execute(sql`update webhooks set active = false, deleted_at = now() where deleted_at is null`);
    const survivor = createWebhookDispatcher({
      db: (await instanceDatabase()).db,
      log,
      policy,
      pollMs: 50,
      timeoutMs: 500,
      claimLeaseMs: 1500,
    });
    try {
      await addWebhook(r, ['permit.status_changed']);
      await raiseEvents(1, 1);
      // what a killed instance leaves behind: the delivery claimed (leased, one attempt counted), never settled
      const [claimed] = rowsOf<{ message_id: string }>(
        await tdb.database.db.execute(sql`update webhook_deliveries set next_attempt_at = now() + interval '1.5 seconds', attempts = attempts + 1
          where state = 'pending' returning message_id`),
      );
      await survivor.drainOnce();
      expect(r.verified).toEqual([]);
      await Bun.sleep(1700);
      await survivor.drainOnce();
      const [got] = await r.waitFor(1);
      expect(got!.id).toBe(claimed!.message_id);
      const [row] = rowsOf<{ state: string; attempts: number }>(
        await tdb.database.db.execute(sql`select state, attempts from webhook_deliveries where message_id = ${claimed!.message_id}`),
      );
      expect(row).toEqual({ state: 'delivered', attempts: 2 });
    } finally {
      await survivor.stop();
      r.stop();
    }
  });

  test('a delivery failing past the retry window is dead-lettered, a webhook failing for days disabled; replay sends it again', async () => {
    const r = startReceiver();
    r.failFirst = 1;
    await tdb.database.db.execute(sql`update webhooks set active = false, deleted_at = now() where deleted_at is null`);
    // a retry window and a disable threshold of zero stand for "failing for more than a day / for days"
    const give = createWebhookDispatcher({ db: tdb.database.db, log, policy, giveUpAfterMs: 0, disableAfterMs: 0 });
    try {
      const id = await addWebhook(r, ['permit.status_changed']);
      await raiseEvents(1, 1);
      await give.drainOnce();
      const [hook] = (await webhookSummaries(tdb.database.db)).filter((h) => h.id === id);
      expect(hook).toMatchObject({ active: false, dead: 1, pending: 0 });
      expect(hook!.disabledReason).toContain('HTTP 500');
      expect(await replayDeliveries(tdb.database.db, id)).toBe(1);
      await give.drainOnce();
      const [got] = await r.waitFor(1);
      expect(r.attempts.get(got!.id)).toBe(2);
      const [after] = (await webhookSummaries(tdb.database.db)).filter((h) => h.id === id);
      expect(after).toMatchObject({ active: true, delivered: 1, dead: 0 });
    } finally {
      await give.stop();
      r.stop();
    }
  });

  test("a receiver slow to answer does not hold up another webhook's deliveries", async () => {
    const fast = startReceiver();
    const slow = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      fetch: () => Bun.sleep(4000).then(() => new Response(null, { status: 204 })),
    });
    await tdb.database.db.execute(sql`update webhooks set active = false, deleted_at = now() where deleted_at is null`);
    const dispatcher = createWebhookDispatcher({ db: tdb.database.db, log, policy, pollMs: 50, timeoutMs: 5000 });
    try {
      const slowHook = { url: `http://127.0.0.1:${slow.port}/hook`, secret: null } as unknown as Receiver;
      await addWebhook(slowHook, ['permit.status_changed']);
      await raiseEvents(5, 1);
      dispatcher.start();
      await Bun.sleep(300); // the slow receiver's deliveries are in flight
      await addWebhook(fast, ['permit.status_changed']);
      const t0 = performance.now();
      await raiseEvents(3, 1);
      dispatcher.wake();
      expect((await fast.waitFor(3, 3000)).length).toBe(3);
      expect(performance.now() - t0).toBeLessThan(2000);
    } finally {
      await dispatcher.stop();
      slow.stop(true);
      fast.stop();
    }
  });
});
