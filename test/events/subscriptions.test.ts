/**
 * Issue 22: GraphQL subscriptions over SSE, on both databases, filtered through the read policy: a contractor hears
 * only its own permits, a jurisdiction never another's; events come only after commit; each client has a cap on
 * open streams.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/rows.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { subscribe, type SseStream } from './sse-client.ts';

setDefaultTimeout(120_000);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ SUBSCRIPTIONS_PER_CLIENT: '3' });
}, 180_000);
afterAll(() => t.stop(), 30_000);

const STATUS = `subscription($n: String) { permitStatusChanged(number: $n) { permitNumber status previousStatus changedAt } }`;
const SUBMIT = `mutation($input: SubmitPermitInput!, $key: String!) { submitPermit(input: $input, idempotencyKey: $key) { receipt { permitNumber } } }`;

async function submit(client: string, key: string) {
  const clerk = await t.token('demo-clerk');
  const p = await t.gql(`{ permits(first: 1) { edges { node { parcel { id } } } } }`, {}, clerk);
  const input = {
    parcelId: p.body.data.permits.edges[0].node.parcel.id,
    permitType: 'ELECTRICAL',
    workClass: 'ALTERATION',
    description: 'Subscription test',
    valuation: 500,
    applicant: { name: 'Ada Lovelace', email: 'ada@example.org', phone: '+1 555 010 2030' },
  };
  const r = await t.gql(SUBMIT, { input, key }, await t.token(client));
  expect(r.body.errors).toBeUndefined();
  return r.body.data.submitPermit.receipt.permitNumber as string;
}

describe('subscriptions over SSE', () => {
  test('each subscriber hears exactly what its read policy lets it see', async () => {
    const streams: SseStream[] = [];
    try {
      const a = await subscribe(t.url, STATUS, {}, await t.token('demo-contractor-a'));
      const b = await subscribe(t.url, STATUS, {}, await t.token('demo-contractor-b'));
      const gis = await subscribe(t.url, STATUS, {}, await t.token('demo-gis'));
      const other = await subscribe(t.url, STATUS, {}, await t.token('demo-clerk-other'));
      streams.push(a, b, gis, other);
      for (const s of streams) expect(s.status).toBe(200);
      await Bun.sleep(300); // the streams' LISTEN is in place

      const n = await submit('demo-contractor-a', 'sse-order-0001');
      const moved = await t.gql(
        `mutation($n: String!) { transitionPermit(number: $n, to: UNDER_REVIEW) { status } }`,
        { n },
        await t.token('demo-clerk'),
      );
      expect(moved.body.errors).toBeUndefined();

      const heard = (await a.waitFor(2)).map((e) => e.data.permitStatusChanged);
      expect(heard.map((e) => [e.permitNumber, e.previousStatus, e.status])).toEqual([
        [n, null, 'SUBMITTED'],
        [n, 'SUBMITTED', 'UNDER_REVIEW'],
      ]);
      expect(heard[0].changedAt).toMatch(/Z$/);
      expect((await gis.waitFor(2)).length).toBe(2);
      await Bun.sleep(500);
      expect(b.events).toEqual([]);
      expect(other.events).toEqual([]);
      // subscribing is audited like any operation
      await t.running.audit.flush();
      const audited = rowsOf<{ n: number }>(
        await t.tdb.database.db.execute(
          sql`select count(*)::int as n from audit_entries where entry->'operation'->>'type' = 'subscription' and entry->>'clientId' = 'demo-contractor-a'`,
        ),
      )[0]!.n;
      expect(Number(audited)).toBeGreaterThanOrEqual(1);
    } finally {
      for (const s of streams) s.close();
    }
  });

  test('a rolled-back change is never heard', async () => {
    const clerk = await subscribe(t.url, STATUS, {}, await t.token('demo-clerk'));
    try {
      await Bun.sleep(300);
      const db = t.tdb.database.db;
      const [permit] = rowsOf<{ id: string }>(await db.execute(sql`select id from permits where jurisdiction_id = 'demo-city' limit 1`));
      await db
        .transaction(async (tx) => {
          await tx.execute(
            sql`insert into permit_status_history (permit_id, from_status, to_status, actor) values (${permit!.id}, 'SUBMITTED', 'UNDER_REVIEW', 'test')`,
          );
          throw new Error('roll back');
        })
        .catch(() => {});
      await Bun.sleep(800);
      expect(clerk.events).toEqual([]);
    } finally {
      clerk.close();
    }
  });

  test('a client may hold only so many open streams; closing one frees its place', async () => {
    const tok = await t.token('demo-inspector');
    const open = [
      await subscribe(t.url, STATUS, {}, tok),
      await subscribe(t.url, STATUS, {}, tok),
      await subscribe(t.url, STATUS, {}, tok),
    ];
    try {
      await Bun.sleep(200);
      const refused = await subscribe(t.url, STATUS, {}, tok);
      const first = await refused.waitFor(1);
      expect(JSON.stringify(first)).toContain('RATE_LIMITED');
      refused.close();
      open.pop()!.close();
      await Bun.sleep(300);
      const again = await subscribe(t.url, STATUS, {}, tok);
      await Bun.sleep(200);
      expect(again.events).toEqual([]);
      expect(again.ended).toBe(false);
      open.push(again);
    } finally {
      for (const s of open) s.close();
    }
  });

  test('without a token the subscription is refused (401), a wrong scope 403', async () => {
    const anon = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: STATUS }),
    });
    expect(anon.status).toBe(401);
    await anon.body?.cancel();
    const admin = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${await t.token('demo-admin')}` },
      body: JSON.stringify({ query: STATUS }),
    });
    const text = await admin.text();
    expect(text).toContain('FORBIDDEN');
  });

  test('inspectionChanged: scheduled, then resulted, for the permit asked about', async () => {
    const contractor = await t.token('demo-contractor-a');
    const n = await submit('demo-contractor-a', 'sse-inspection-0001');
    const clerk = await t.token('demo-clerk');
    for (const to of ['UNDER_REVIEW', 'APPROVED', 'ISSUED']) {
      const r = await t.gql(
        `mutation($n: String!, $to: PermitStatus!) { transitionPermit(number: $n, to: $to) { status } }`,
        { n, to },
        clerk,
      );
      expect(r.body.errors).toBeUndefined();
    }
    const QUERY = `subscription($n: String) { inspectionChanged(permitNumber: $n) { permitNumber inspectionId inspectionType result windowStart recordedAt } }`;
    const mine = await subscribe(t.url, QUERY, { n }, contractor);
    const otherPermit = await subscribe(t.url, QUERY, { n: 'DC-BLD-1900-000001' }, clerk);
    try {
      await Bun.sleep(300);
      const sched = await t.gql(
        `mutation($n: String!, $i: ScheduleInspectionInput!) { scheduleInspection(permitNumber: $n, input: $i, idempotencyKey: "sse-insp-0001") { id } }`,
        { n, i: { inspectionType: 'Framing', windowStart: '2030-01-02T10:00:00-08:00', windowEnd: '2030-01-02T12:00:00-08:00' } },
        contractor,
      );
      expect(sched.body.errors).toBeUndefined();
      const id = sched.body.data.scheduleInspection.id;
      const rec = await t.gql(
        `mutation($id: ID!) { recordInspectionResult(inspectionId: $id, input: { result: PASS }) { result } }`,
        { id },
        await t.token('demo-inspector'),
      );
      expect(rec.body.errors).toBeUndefined();
      const heard = (await mine.waitFor(2)).map((e) => e.data.inspectionChanged);
      expect(heard.map((e) => [e.permitNumber, e.inspectionId, e.inspectionType, e.result])).toEqual([
        [n, id, 'Framing', 'PENDING'],
        [n, id, 'Framing', 'PASS'],
      ]);
      expect(heard[0].windowStart).toBe('2030-01-02T18:00:00.000Z');
      expect(heard[0].recordedAt).toBeNull();
      expect(heard[1].recordedAt).toMatch(/Z$/);
      expect(otherPermit.events).toEqual([]);
    } finally {
      mine.close();
      otherPermit.close();
    }
  });

  test('inspectionChanged: a move is heard with rescheduled and the old window, a cancellation as CANCELLED', async () => {
    const contractor = await t.token('demo-contractor-a');
    const n = await submit('demo-contractor-a', 'sse-inspection-0002');
    const clerk = await t.token('demo-clerk');
    for (const to of ['UNDER_REVIEW', 'APPROVED', 'ISSUED']) {
      const r = await t.gql(
        `mutation($n: String!, $to: PermitStatus!) { transitionPermit(number: $n, to: $to) { status } }`,
        { n, to },
        clerk,
      );
      expect(r.body.errors).toBeUndefined();
    }
    const sched = await t.gql(
      `mutation($n: String!, $i: ScheduleInspectionInput!) { scheduleInspection(permitNumber: $n, input: $i, idempotencyKey: "sse-insp-0002") { id } }`,
      { n, i: { inspectionType: 'Framing', windowStart: '2030-01-03T08:00:00-08:00', windowEnd: '2030-01-03T10:00:00-08:00' } },
      contractor,
    );
    expect(sched.body.errors).toBeUndefined();
    const id = sched.body.data.scheduleInspection.id;
    const QUERY = `subscription($n: String) { inspectionChanged(permitNumber: $n) {
      inspectionId result windowStart windowEnd rescheduled previousWindowStart previousWindowEnd } }`;
    const mine = await subscribe(t.url, QUERY, { n }, contractor);
    try {
      await Bun.sleep(300);
      const moved = await t.gql(
        `mutation($id: ID!, $i: ScheduleInspectionInput!) { rescheduleInspection(inspectionId: $id, input: $i) { id } }`,
        { id, i: { inspectionType: 'Framing', windowStart: '2030-01-03T14:00:00-08:00', windowEnd: '2030-01-03T16:00:00-08:00' } },
        contractor,
      );
      expect(moved.body.errors).toBeUndefined();
      const cancelled = await t.gql(
        `mutation($id: ID!) { cancelInspection(inspectionId: $id, reason: "rain") { result } }`,
        { id },
        contractor,
      );
      expect(cancelled.body.errors).toBeUndefined();
      const heard = (await mine.waitFor(2)).map((e) => e.data.inspectionChanged);
      expect(heard).toEqual([
        {
          inspectionId: id,
          result: 'PENDING',
          windowStart: '2030-01-03T22:00:00.000Z',
          windowEnd: '2030-01-04T00:00:00.000Z',
          rescheduled: true,
          previousWindowStart: '2030-01-03T16:00:00.000Z',
          previousWindowEnd: '2030-01-03T18:00:00.000Z',
        },
        {
          inspectionId: id,
          result: 'CANCELLED',
          windowStart: '2030-01-03T22:00:00.000Z',
          windowEnd: '2030-01-04T00:00:00.000Z',
          rescheduled: false,
          previousWindowStart: null,
          previousWindowEnd: null,
        },
      ]);
    } finally {
      mine.close();
    }
  });

  test('submissionReceiptChanged: only the submitter hears its receipt settle', async () => {
    const id = crypto.randomUUID();
    const QUERY = `subscription($id: ID!) { submissionReceiptChanged(id: $id) { id state permitNumber } }`;
    const submitter = await subscribe(t.url, QUERY, { id }, await t.token('demo-contractor-b'));
    const other = await subscribe(t.url, QUERY, { id }, await t.token('demo-contractor-a'));
    try {
      await Bun.sleep(300);
      // what the outbox replayer reports once the queued submission was written (src/bootstrap.ts onSettled)
      await t.running.services.events.publishReceipt({
        receiptId: id,
        state: 'PERSISTED',
        permitNumber: 'DC-BLD-2026-999999',
        clientId: 'demo-contractor-b',
        jurisdiction: 'demo-city',
        contractor: null,
      });
      const [heard] = await submitter.waitFor(1);
      expect(heard.data.submissionReceiptChanged).toEqual({ id, state: 'PERSISTED', permitNumber: 'DC-BLD-2026-999999' });
      await Bun.sleep(300);
      expect(other.events).toEqual([]);
    } finally {
      submitter.close();
      other.close();
    }
  });

  // last in this file: the client stays revoked
  test('revoking a client ends the streams it holds open, and it cannot subscribe again', async () => {
    const tok = await t.token('demo-inspector');
    const open = [await subscribe(t.url, STATUS, {}, tok), await subscribe(t.url, STATUS, {}, tok)];
    try {
      await Bun.sleep(300);
      for (const s of open) expect(s.ended).toBe(false);
      const revoked = await t.gql(`mutation { revokeClient(clientId: "demo-inspector") }`, {}, await t.token('demo-admin'));
      expect(revoked.body.data?.revokeClient).toBe(true);
      // the registry looks for revocations every few seconds (src/events/subscription-stream.ts)
      const until = Date.now() + 10_000;
      while (open.some((s) => !s.ended) && Date.now() < until) await Bun.sleep(100);
      for (const s of open) expect(s.ended).toBe(true);
      expect(t.running.services.events.streams.openStreams('demo-inspector')).toBe(0);
      const again = await subscribe(t.url, STATUS, {}, tok);
      expect(again.status).toBe(401);
      again.close();
    } finally {
      for (const s of open) s.close();
    }
  });
});
