/**
 * Issue 22: "a webhook failing for days is disabled and its owner can see why". Over real HTTP with the server's own
 * dispatcher: a webhook whose receiver keeps failing, backdated to look days old, is disabled at its next failure;
 * its owner then reads the reason in `webhooks { disabledReason }` and the failures in `webhookDeliveries`, and no
 * other client (another contractor, a clerk of the same jurisdiction) can read either.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { replayDeliveries } from '../../src/events/webhook-admin.ts';
import { startReceiver } from './receiver.ts';

setDefaultTimeout(120_000);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_BASE_MS: '200' });
}, 120_000);
afterAll(() => t.stop(), 30_000);

const REGISTER = `mutation($in: RegisterWebhookInput!) { registerWebhook(input: $in) { webhook { id } } }`;
const HOOKS = `{ webhooks { id active disabledReason } }`;
const DELIVERIES = `query($id: ID!) { webhookDeliveries(webhookId: $id, first: 10) {
  webhook { active disabledReason } edges { node { id state attempts lastStatus lastError } } } }`;

async function submitAsOwner(owner: string, key = 'disabled-reason-1'): Promise<string> {
  const clerk = await t.token('demo-clerk');
  const p = await t.gql(`{ permits(first: 1) { edges { node { parcel { id } } } } }`, {}, clerk);
  const input = {
    parcelId: p.body.data.permits.edges[0].node.parcel.id,
    permitType: 'BUILDING',
    workClass: 'ADDITION',
    description: 'Disabled webhook test',
    valuation: 1000,
    applicant: { name: 'Ada Lovelace', email: 'ada@example.org', phone: '+1 555 010 2030' },
  };
  const r = await t.gql(
    `mutation($input: SubmitPermitInput!, $key: String!) { submitPermit(input: $input, idempotencyKey: $key) { receipt { permitNumber } } }`,
    { input, key },
    await t.token(owner),
  );
  expect(r.body.errors).toBeUndefined();
  return r.body.data.submitPermit.receipt.permitNumber as string;
}

describe("a disabled webhook's reason", () => {
  test('is shown to its owner, and to no other client', async () => {
    const receiver = startReceiver();
    receiver.failFirst = 1_000_000; // answers 500 to everything
    try {
      const owner = await t.token('demo-contractor-a');
      const reg = await t.gql(REGISTER, { in: { url: receiver.url, events: ['PERMIT_SUBMITTED'] } }, owner);
      expect(reg.body.errors).toBeUndefined();
      const id = reg.body.data.registerWebhook.webhook.id as string;
      await submitAsOwner('demo-contractor-a');

      // failing for days: the webhook and its delivery are made 4 days old (retry window 25 h, disabled after 3 days)
      await t.tdb.database.db.execute(sql`update webhooks set created_at = now() - interval '4 days' where id = ${id}::uuid`);
      await t.tdb.database.db.execute(
        sql`update webhook_deliveries set created_at = now() - interval '4 days', retry_from = now() - interval '4 days', next_attempt_at = now()
          where webhook_id = ${id}::uuid`,
      );
      let hook: { id: string; active: boolean; disabledReason: string | null } | undefined;
      for (const end = Date.now() + 20_000; Date.now() < end; await Bun.sleep(200)) {
        hook = (await t.gql(HOOKS, {}, owner)).body.data.webhooks.find((h: { id: string }) => h.id === id);
        if (hook && !hook.active) break;
      }
      expect(hook?.active).toBe(false);
      expect(hook?.disabledReason).toMatch(/^disabled after failing since \d{4}-\d\d-\d\dT[\d:.]+Z: HTTP 500: try later$/);

      const deliveries = await t.gql(DELIVERIES, { id }, owner);
      expect(deliveries.body.errors).toBeUndefined();
      // the words: the owner sees why in webhookDeliveries
      expect(deliveries.body.data.webhookDeliveries.webhook).toEqual({ active: false, disabledReason: hook?.disabledReason });
      const nodes = deliveries.body.data.webhookDeliveries.edges.map((e: { node: unknown }) => e.node);
      expect(nodes).toEqual([
        { id: expect.any(String), state: 'DEAD', attempts: expect.any(Number), lastStatus: 500, lastError: 'HTTP 500: try later' },
      ]);

      for (const other of ['demo-contractor-b', 'demo-clerk']) {
        const tok = await t.token(other);
        const theirs = await t.gql(HOOKS, {}, tok);
        expect(theirs.body.errors).toBeUndefined();
        expect(theirs.body.data.webhooks.map((h: { id: string }) => h.id)).not.toContain(id);
        expect(JSON.stringify(theirs.body)).not.toContain('disabled after failing');
        const peek = await t.gql(DELIVERIES, { id }, tok);
        expect({ other, code: peek.body.errors?.[0]?.extensions?.code }).toEqual({ other, code: 'NOT_FOUND' });
        expect(peek.body.data ?? null).toBeNull();
        expect(JSON.stringify(peek.body)).not.toContain('HTTP 500');
      }
    } finally {
      receiver.stop();
    }
  });

  test('events committed while it is disabled wait, and reach the receiver once an operator replays it', async () => {
    const receiver = startReceiver();
    try {
      const owner = await t.token('demo-contractor-a');
      const reg = await t.gql(
        `mutation($in: RegisterWebhookInput!) { registerWebhook(input: $in) { webhook { id } secret } }`,
        { in: { url: receiver.url, events: ['PERMIT_SUBMITTED'] } },
        owner,
      );
      expect(reg.body.errors).toBeUndefined();
      const id = reg.body.data.registerWebhook.webhook.id as string;
      receiver.secret = reg.body.data.registerWebhook.secret as string;
      // the state the dispatcher leaves a webhook in after days of failures
      await t.tdb.database.db.execute(
        sql`update webhooks set active = false, disabled_reason = 'disabled after failing since then: HTTP 500' where id = ${id}::uuid`,
      );
      const number = await submitAsOwner('demo-contractor-a', 'disabled-reason-2');
      const waiting = await t.gql(
        `query($id: ID!) { webhookDeliveries(webhookId: $id, first: 10) { edges { node { state attempts nextAttemptAt } } } }`,
        { id },
        owner,
      );
      expect(waiting.body.errors).toBeUndefined();
      expect(waiting.body.data.webhookDeliveries.edges.map((e: { node: unknown }) => e.node)).toEqual([
        { state: 'PENDING', attempts: 0, nextAttemptAt: null },
      ]);
      await Bun.sleep(1_000);
      expect(receiver.attempts.size).toBe(0);

      expect(await replayDeliveries(t.tdb.database.db, id)).toBe(1);
      const got = await receiver.waitFor(1);
      expect(got.map((g) => (g.body.data as { permitNumber?: string }).permitNumber)).toEqual([number]);
      expect(receiver.unverified).toEqual([]);
    } finally {
      receiver.stop();
    }
  });
});
