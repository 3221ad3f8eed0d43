/**
 * Issue 22, SSRF at delivery time, through the dispatcher itself (test/events/ssrf.test.ts checks the rules one by
 * one): the target's name is resolved before every attempt and a forbidden answer sends nothing (DNS rebinding);
 * the request goes to the address that was checked, never to a second DNS answer; a redirect is not followed; a
 * receiver that does not answer in time, or answers without end, costs one bounded attempt.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { Webhook } from 'standardwebhooks';
import { rowsOf } from '../../src/db/rows.ts';
import { createWebhookDispatcher, type DispatcherOptions } from '../../src/events/webhook-dispatcher.ts';
import { newWebhookSecret } from '../../src/events/webhook-store.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

setDefaultTimeout(60_000);

const log = pino({ level: 'silent' });
let tdb: TestDatabase;

beforeAll(async () => {
  tdb = await createTestDatabase({ seed: 'small' });
}, 60_000);
afterAll(() => tdb.drop(), 30_000);

interface Outcome {
  state: string;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
}

/** Registers `url` as the only active webhook, raises one event for it and lets one dispatcher pass try it. */
async function deliverOnce(url: string, opts: Partial<DispatcherOptions> = {}): Promise<{ outcome: Outcome; secret: string; ms: number }> {
  const db = tdb.database.db;
  await db.execute(sql`update webhooks set active = false, deleted_at = now() where deleted_at is null`);
  const secret = newWebhookSecret();
  const [hook] = rowsOf<{ id: string }>(
    await db.execute(sql`insert into webhooks (client_id, jurisdiction_id, url, events, secret)
      values ('test', 'demo-city', ${url}, '{permit.status_changed}'::text[], ${secret}) returning id::text`),
  );
  const [permit] = rowsOf<{ id: string }>(await db.execute(sql`select id::text from permits where jurisdiction_id = 'demo-city' limit 1`));
  await db.execute(
    sql`insert into permit_status_history (permit_id, from_status, to_status, actor) values (${permit!.id}::uuid, 'SUBMITTED', 'UNDER_REVIEW', 'test')`,
  );
  const dispatcher = createWebhookDispatcher({ db, log, policy: { production: false, allowPrivate: true }, ...opts });
  const t0 = performance.now();
  await dispatcher.drainOnce();
  const ms = performance.now() - t0;
  await dispatcher.stop();
  const [outcome] = rowsOf<Outcome>(
    await db.execute(sql`select state, attempts, last_status, last_error from webhook_deliveries where webhook_id = ${hook!.id}::uuid`),
  );
  return { outcome: outcome!, secret, ms };
}

describe('webhook delivery guards', () => {
  test('the request goes to the address the name resolved to when checked, with the registered name as Host', async () => {
    const seen: { host: string | null; body: string; headers: Record<string, string> }[] = [];
    const server = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      async fetch(req) {
        seen.push({ host: req.headers.get('host'), body: await req.text(), headers: Object.fromEntries(req.headers.entries()) });
        return new Response(null, { status: 204 });
      },
    });
    try {
      // `hooks.test` exists in no DNS: only a request to the pinned address can arrive
      const { outcome, secret } = await deliverOnce(`http://hooks.test:${server.port}/hook`, { resolve: async () => ['127.0.0.1'] });
      expect(outcome).toMatchObject({ state: 'delivered', last_error: null });
      expect(seen).toHaveLength(1);
      expect(seen[0]!.host).toBe(`hooks.test:${server.port}`);
      expect(() => new Webhook(secret).verify(seen[0]!.body, seen[0]!.headers)).not.toThrow();
    } finally {
      server.stop(true);
    }
  });

  test('a name that now resolves to a forbidden address is refused at delivery, and nothing is sent (DNS rebinding)', async () => {
    let requests = 0;
    const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => (requests++, new Response(null, { status: 204 })) });
    try {
      for (const rebound of [['127.0.0.1'], ['203.0.113.9', '169.254.169.254'], ['::ffff:127.0.0.1']]) {
        const { outcome } = await deliverOnce(`http://hooks.example.com:${server.port}/hook`, {
          policy: { production: false, allowPrivate: false },
          resolve: async () => rebound,
        });
        expect(outcome.state, rebound.join()).toBe('pending');
        expect(outcome.last_status).toBeNull();
        expect(outcome.last_error).toContain('target refused: the URL resolves to a forbidden address');
      }
      expect(requests).toBe(0);
    } finally {
      server.stop(true);
    }
  });

  test('a redirect is not followed: the attempt fails and its target hears nothing', async () => {
    let redirected = 0;
    const inside = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => (redirected++, new Response(null, { status: 204 })) });
    const outside = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      fetch: () => new Response(null, { status: 307, headers: { location: `http://127.0.0.1:${inside.port}/latest/meta-data/` } }),
    });
    try {
      const { outcome } = await deliverOnce(`http://127.0.0.1:${outside.port}/hook`);
      expect(outcome).toMatchObject({ state: 'pending', last_status: 307, last_error: 'HTTP 307: redirect not followed' });
      expect(redirected).toBe(0);
    } finally {
      inside.stop(true);
      outside.stop(true);
    }
  });

  test('a receiver that does not answer in time fails the attempt at the timeout', async () => {
    const silent = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => Bun.sleep(20_000).then(() => new Response(null)) });
    try {
      const { outcome, ms } = await deliverOnce(`http://127.0.0.1:${silent.port}/hook`, { timeoutMs: 300 });
      expect(outcome).toMatchObject({ state: 'pending', last_status: null, last_error: 'no answer within 300 ms' });
      expect(ms).toBeLessThan(5000);
    } finally {
      silent.stop(true);
    }
  });

  test('an answer without end is read up to the size cap, then dropped: the status counts, the error stays short', async () => {
    const chunk = new Uint8Array(64 * 1024).fill(120); // "xxx…"
    const endless = (status: number) =>
      Bun.serve({
        hostname: '127.0.0.1',
        port: 0,
        fetch: () => new Response(new ReadableStream({ pull: (c) => c.enqueue(chunk) }), { status }),
      });
    const failing = endless(500);
    const accepting = endless(200);
    try {
      // the timeout is far off: only the cap can end these attempts early
      const failed = await deliverOnce(`http://127.0.0.1:${failing.port}/hook`, { timeoutMs: 15_000 });
      expect(failed.outcome).toMatchObject({ state: 'pending', last_status: 500 });
      expect(failed.outcome.last_error).toStartWith('HTTP 500: xxx');
      expect(failed.outcome.last_error!.length).toBeLessThanOrEqual(220);
      expect(failed.ms).toBeLessThan(10_000);
      const ok = await deliverOnce(`http://127.0.0.1:${accepting.port}/hook`, { timeoutMs: 15_000 });
      expect(ok.outcome.state).toBe('delivered');
      expect(ok.ms).toBeLessThan(10_000);
    } finally {
      failing.stop(true);
      accepting.stop(true);
    }
  });
});
