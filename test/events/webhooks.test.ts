/**
 * Issue 22: signed webhook deliveries over real HTTP, on both databases. A receiver built on the Standard Webhooks
 * library verifies every delivery; retries keep the webhook-id; a rolled-back change delivers nothing; a
 * contractor's webhook hears only its own permits.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { suppressChangeEvents } from '../../src/db/bulk-load.ts';
import { rowsOf } from '../../src/db/rows.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startReceiver, type Receiver } from './receiver.ts';

setDefaultTimeout(120_000);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_BASE_MS: '200' });
}, 120_000);
afterAll(() => t.stop(), 30_000);

const REGISTER = `mutation($in: RegisterWebhookInput!) { registerWebhook(input: $in) { secret webhook { id url events active } } }`;
const SUBMIT = `mutation($input: SubmitPermitInput!, $key: String!) { submitPermit(input: $input, idempotencyKey: $key) { receipt { permitNumber } } }`;
const TRANSITION = `mutation($n: String!, $to: PermitStatus!) { transitionPermit(number: $n, to: $to) { status } }`;

async function parcelId(tok: string) {
  const r = await t.gql(`{ permits(first: 1) { edges { node { parcel { id } } } } }`, {}, tok);
  return r.body.data.permits.edges[0].node.parcel.id as string;
}
const input = (parcel: string) => ({
  parcelId: parcel,
  permitType: 'BUILDING',
  workClass: 'ADDITION',
  description: 'Webhook test',
  valuation: 1000,
  applicant: { name: 'Ada Lovelace', email: 'ada@example.org', phone: '+1 555 010 2030' },
});

async function register(receiver: Receiver, client: string, events: string[]) {
  const r = await t.gql(REGISTER, { in: { url: receiver.url, events } }, await t.token(client));
  expect(r.body.errors).toBeUndefined();
  receiver.secret = r.body.data.registerWebhook.secret;
  expect(receiver.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
  return r.body.data.registerWebhook.webhook.id as string;
}

async function submit(client: string, key: string) {
  const clerk = await t.token('demo-clerk');
  const r = await t.gql(SUBMIT, { input: input(await parcelId(clerk)), key }, await t.token(client));
  expect(r.body.errors).toBeUndefined();
  return r.body.data.submitPermit.receipt.permitNumber as string;
}

describe('webhooks', () => {
  test('a contractor hears its own permits only, in order, each delivery verified by the Standard Webhooks library', async () => {
    const mine = startReceiver();
    const theirs = startReceiver();
    try {
      await register(mine, 'demo-contractor-a', ['PERMIT_SUBMITTED', 'PERMIT_STATUS_CHANGED']);
      await register(theirs, 'demo-contractor-b', ['PERMIT_SUBMITTED', 'PERMIT_STATUS_CHANGED']);
      const n = await submit('demo-contractor-a', 'wh-order-1');
      const clerk = await t.token('demo-clerk');
      for (const to of ['UNDER_REVIEW', 'APPROVED']) expect((await t.gql(TRANSITION, { n, to }, clerk)).body.errors).toBeUndefined();

      const got = await mine.waitFor(3);
      expect(mine.unverified).toEqual([]);
      expect(got.map((g) => [g.body.type, g.body.data.permitNumber, g.body.data.status])).toEqual([
        ['permit.submitted', n, 'SUBMITTED'],
        ['permit.status_changed', n, 'UNDER_REVIEW'],
        ['permit.status_changed', n, 'APPROVED'],
      ]);
      expect(got[1]!.body.data.previousStatus).toBe('SUBMITTED');
      expect(got[0]!.body.timestamp).toMatch(/Z$/);
      expect(new Set(got.map((g) => g.id)).size).toBe(3);
      // the other contractor's webhook heard nothing of it, and no personal data travels
      await Bun.sleep(500);
      expect(theirs.verified).toEqual([]);
      expect(JSON.stringify(got)).not.toContain('ada@example.org');
    } finally {
      mine.stop();
      theirs.stop();
    }
  });

  test('a delivery links to the permit it is about under PUBLIC_URL: in the signed body and as a Link header', async () => {
    const receiver = startReceiver();
    try {
      const id = await register(receiver, 'demo-contractor-a', ['PERMIT_SUBMITTED']);
      const n = await submit('demo-contractor-a', 'wh-link-1');
      const [got] = await receiver.waitFor(1);
      expect(receiver.unverified).toEqual([]);
      // PUBLIC_URL is derived from HOST/PORT here: the port the server really bound, as the OAuth metadata names it
      const href = `${t.url}/ogc/collections/permits/items/${encodeURIComponent(n)}`;
      expect(got!.body.links).toEqual([{ href, rel: 'about', type: 'application/geo+json' }]);
      expect(receiver.links.get(got!.id)).toBe(`<${href}>; rel="about"; type="application/geo+json"`);
      // the link works for the receiver's owner, with its own token
      const tok = await t.token('demo-contractor-a');
      const item = await fetch(href, { headers: { authorization: `Bearer ${tok}` } });
      expect(item.status).toBe(200);
      expect(((await item.json()) as { id: string }).id).toBe(n);
      // webhookDeliveries shows the body as it was sent
      const page = await t.gql(`query($id: ID!) { webhookDeliveries(webhookId: $id) { edges { node { payload } } } }`, { id }, tok);
      expect(page.body.data.webhookDeliveries.edges[0].node.payload.links).toEqual(got!.body.links);
    } finally {
      receiver.stop();
    }
  });

  test('moving an inspection raises inspection.scheduled again with the new and the old window; cancelling raises inspection.resulted CANCELLED', async () => {
    const receiver = startReceiver();
    try {
      await register(receiver, 'demo-contractor-a', ['INSPECTION_SCHEDULED', 'INSPECTION_RESULTED']);
      const n = await submit('demo-contractor-a', 'wh-inspection-1');
      const clerk = await t.token('demo-clerk');
      for (const to of ['UNDER_REVIEW', 'APPROVED', 'ISSUED'])
        expect((await t.gql(TRANSITION, { n, to }, clerk)).body.errors).toBeUndefined();
      const contractor = await t.token('demo-contractor-a');
      // Wednesday 9 January 2030 in demo-city (Los Angeles): default two-hour slots from 08:00
      const slot = (h: number) => ({
        inspectionType: 'Framing',
        windowStart: `2030-01-09T${h}:00:00-08:00`,
        windowEnd: `2030-01-09T${h + 2}:00:00-08:00`,
      });
      const booked = await t.gql(
        `mutation($n: String!, $i: ScheduleInspectionInput!) { scheduleInspection(permitNumber: $n, input: $i, idempotencyKey: "wh-insp-0001") { id } }`,
        { n, i: slot(10) },
        contractor,
      );
      expect(booked.body.errors).toBeUndefined();
      const id = booked.body.data.scheduleInspection.id as string;
      const RESCHEDULE = `mutation($id: ID!, $i: ScheduleInspectionInput!) { rescheduleInspection(inspectionId: $id, input: $i) { windowStart } }`;
      expect((await t.gql(RESCHEDULE, { id, i: slot(12) }, contractor)).body.errors).toBeUndefined();
      // asking again for the slot it already has changes nothing and raises nothing
      expect((await t.gql(RESCHEDULE, { id, i: slot(12) }, contractor)).body.errors).toBeUndefined();
      const cancelled = await t.gql(
        `mutation($id: ID!) { cancelInspection(inspectionId: $id, reason: "crew unavailable") { result } }`,
        { id },
        contractor,
      );
      expect(cancelled.body.data.cancelInspection.result).toBe('CANCELLED');

      const got = await receiver.waitFor(3);
      expect(receiver.unverified).toEqual([]);
      expect(got.map((g) => [g.body.type, g.body.data.inspectionId, g.body.data.result, g.body.data.rescheduled])).toEqual([
        ['inspection.scheduled', id, 'PENDING', false],
        ['inspection.scheduled', id, 'PENDING', true],
        ['inspection.resulted', id, 'CANCELLED', false],
      ]);
      expect(got[1]!.body.data).toMatchObject({
        permitNumber: n,
        windowStart: '2030-01-09T20:00:00.000Z',
        windowEnd: '2030-01-09T22:00:00.000Z',
        previousWindowStart: '2030-01-09T18:00:00.000Z',
        previousWindowEnd: '2030-01-09T20:00:00.000Z',
      });
      expect(got[0]!.body.data.previousWindowStart).toBeUndefined();
      await Bun.sleep(500);
      expect(receiver.verified.length).toBe(3);
    } finally {
      receiver.stop();
    }
  });

  test('a failed delivery is retried with the same webhook-id; webhookDeliveries shows the attempts', async () => {
    const receiver = startReceiver();
    receiver.failFirst = 2;
    try {
      const id = await register(receiver, 'demo-gis', ['PERMIT_SUBMITTED']);
      const n = await submit('demo-contractor-b', 'wh-retry-1');
      const [got] = await receiver.waitFor(1);
      expect(got!.body.data.permitNumber).toBe(n);
      expect(receiver.attempts.get(got!.id)).toBe(3);
      expect(receiver.unverified).toEqual([]);

      // the dispatcher records the outcome just after the receiver answered
      const tok = await t.token('demo-gis');
      const deliveries = () =>
        t.gql(
          `query($id: ID!) { webhookDeliveries(webhookId: $id, first: 5) { edges { node { id eventType state attempts lastStatus payload } } } }`,
          { id },
          tok,
        );
      let page = await deliveries();
      for (let i = 0; i < 50 && page.body.data?.webhookDeliveries.edges[0]?.node.state !== 'DELIVERED'; i++) {
        await Bun.sleep(100);
        page = await deliveries();
      }
      expect(page.body.errors).toBeUndefined();
      const node = page.body.data.webhookDeliveries.edges[0].node;
      expect(node).toMatchObject({ id: got!.id, eventType: 'PERMIT_SUBMITTED', state: 'DELIVERED', attempts: 3, lastStatus: 200 });
      expect(node.payload.data.permitNumber).toBe(n);
      // another client cannot read them (as if the webhook did not exist)
      const other = await t.gql(
        `query($id: ID!) { webhookDeliveries(webhookId: $id) { edges { cursor } } }`,
        { id },
        await t.token('demo-clerk'),
      );
      expect(other.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    } finally {
      receiver.stop();
    }
  });

  test('a rolled-back change raises no event', async () => {
    const receiver = startReceiver();
    try {
      await register(receiver, 'demo-clerk', ['PERMIT_STATUS_CHANGED']);
      const db = t.tdb.database.db;
      const before = rowsOf<{ n: number }>(await db.execute(sql`select count(*)::int as n from webhook_deliveries`))[0]!.n;
      const [permit] = rowsOf<{ id: string }>(await db.execute(sql`select id from permits where jurisdiction_id = 'demo-city' limit 1`));
      await expect(
        db.transaction(async (tx) => {
          await tx.execute(
            sql`insert into permit_status_history (permit_id, from_status, to_status, actor) values (${permit!.id}, 'SUBMITTED', 'UNDER_REVIEW', 'test')`,
          );
          const inside = rowsOf<{ n: number }>(await tx.execute(sql`select count(*)::int as n from webhook_deliveries`))[0]!.n;
          expect(Number(inside)).toBe(Number(before) + 1); // the trigger queued it inside the transaction
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      const after = rowsOf<{ n: number }>(await db.execute(sql`select count(*)::int as n from webhook_deliveries`))[0]!.n;
      expect(Number(after)).toBe(Number(before));
      // a bulk load (seed, import) commits history without events
      await db.transaction(async (tx) => {
        await suppressChangeEvents(tx);
        await tx.execute(
          sql`insert into permit_status_history (permit_id, from_status, to_status, actor) values (${permit!.id}, 'SUBMITTED', 'UNDER_REVIEW', 'test')`,
        );
      });
      const bulk = rowsOf<{ n: number }>(await db.execute(sql`select count(*)::int as n from webhook_deliveries`))[0]!.n;
      expect(Number(bulk)).toBe(Number(before));
      await Bun.sleep(1000);
      expect(receiver.verified).toEqual([]);
    } finally {
      receiver.stop();
    }
  });

  test("webhooks lists the caller's own; deleteWebhook stops deliveries", async () => {
    const receiver = startReceiver();
    try {
      const id = await register(receiver, 'demo-inspector', ['INSPECTION_RESULTED']);
      const tok = await t.token('demo-inspector');
      const list = await t.gql(`{ webhooks { id url events active } }`, {}, tok);
      expect(list.body.data.webhooks).toEqual([{ id, url: receiver.url, events: ['INSPECTION_RESULTED'], active: true }]);
      expect((await t.gql(`{ webhooks { id } }`, {}, await t.token('demo-analyst'))).body.data.webhooks).toEqual([]);
      expect(
        (await t.gql(`mutation($id: ID!) { deleteWebhook(id: $id) }`, { id }, await t.token('demo-analyst'))).body.data.deleteWebhook,
      ).toBe(false);
      expect((await t.gql(`mutation($id: ID!) { deleteWebhook(id: $id) }`, { id }, tok)).body.data.deleteWebhook).toBe(true);
      expect((await t.gql(`{ webhooks { id } }`, {}, tok)).body.data.webhooks).toEqual([]);
    } finally {
      receiver.stop();
    }
  });

  test("a receipt settled by the outbox replay reaches its submitter's webhook only", async () => {
    const submitter = startReceiver();
    const other = startReceiver();
    try {
      await register(submitter, 'demo-contractor-b', ['RECEIPT_PERSISTED', 'RECEIPT_REJECTED']);
      await register(other, 'demo-clerk', ['RECEIPT_PERSISTED', 'RECEIPT_REJECTED']);
      const receiptId = crypto.randomUUID();
      // what the replayer reports once a queued submission was written (src/bootstrap.ts onSettled)
      await t.running.services.events.publishReceipt({
        receiptId,
        state: 'REJECTED',
        permitNumber: null,
        reason: 'contractor license expired',
        clientId: 'demo-contractor-b',
        jurisdiction: 'demo-city',
        contractor: null,
      });
      const [got] = await submitter.waitFor(1);
      expect(got!.body).toMatchObject({
        type: 'receipt.rejected',
        data: { id: receiptId, state: 'REJECTED', reason: 'contractor license expired' },
      });
      // no permit, no link
      expect(got!.body.links).toBeUndefined();
      expect(submitter.links.get(got!.id)).toBeNull();
      await Bun.sleep(500);
      expect(other.verified).toEqual([]);
    } finally {
      submitter.stop();
      other.stop();
    }
  });

  // after the tests above: deliveries succeeded, and some attempts failed with HTTP 500 first
  test('metrics show delivery latency, failures by reason and the backlog', async () => {
    const res = await fetch(`${t.url}/metrics`); // from loopback: METRICS_ALLOW's default
    expect(res.status).toBe(200);
    const text = await res.text();
    const value = (line: RegExp) => Number(new RegExp(`^${line.source} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
    expect(value(/webhook_delivery_latency_seconds_count/)).toBeGreaterThanOrEqual(3);
    expect(value(/webhook_delivery_failures_total\{reason="http_500"\}/)).toBeGreaterThanOrEqual(2);
    expect(value(/webhook_deliveries_pending/)).toBeGreaterThanOrEqual(0);
    expect(value(/subscription_streams_open/)).toBe(0);
  });
});
