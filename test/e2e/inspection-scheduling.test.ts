/**
 * Issue 24: a contractor finds an open inspection slot, books it, moves and cancels it, over real HTTP on both
 * databases. Slots come from the jurisdiction's capacity in its time zone (demo-city: America/Los_Angeles, default
 * capacity until the test writes a row), a full slot is never offered, and two contractors racing for a slot's last
 * place get one success and one CONFLICT.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { eq, sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/rows.ts';
import { inspectionCapacity, inspectionHolidays } from '../../src/db/schema/inspections.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

setDefaultTimeout(120_000);

let t: TestServer;
let a: string;
let b: string;
let clerk: string;
let inspector: string;
let permitA: string;
let permitB: string;

const SUBMIT = `mutation($input: SubmitPermitInput!, $key: String!) { submitPermit(input: $input, idempotencyKey: $key) { receipt { permitNumber } } }`;
const TRANSITION = `mutation($n: String!, $to: PermitStatus!) { transitionPermit(number: $n, to: $to) { status } }`;
const AVAILABILITY = `query($n: String!, $type: String!, $from: DateTime!, $to: DateTime!) {
  inspectionAvailability(permitNumber: $n, inspectionType: $type, from: $from, to: $to) { start end remaining } }`;
const FIELDS = `id inspectionType result windowStart windowEnd final reInspection inspector requestedAt cancelReason cancelledAt`;
const SCHEDULE = `mutation($n: String!, $i: ScheduleInspectionInput!, $k: String!) {
  scheduleInspection(permitNumber: $n, input: $i, idempotencyKey: $k) { ${FIELDS} } }`;
const RESCHEDULE = `mutation($id: ID!, $i: ScheduleInspectionInput!) { rescheduleInspection(inspectionId: $id, input: $i) { ${FIELDS} } }`;
const CANCEL = `mutation($id: ID!, $r: String!) { cancelInspection(inspectionId: $id, reason: $r) { ${FIELDS} } }`;
const RECORD = `mutation($id: ID!, $r: InspectionOutcome!) { recordInspectionResult(inspectionId: $id, input: { result: $r }) { result } }`;

const DAY = 86_400_000;
/** UTC midnight `days` from now: late afternoon of the day before in Los Angeles, after its last slot. */
const daysAhead = (days: number) => new Date(Math.floor(Date.now() / DAY) * DAY + days * DAY);
const db = () => t.tdb.database.db;
const localHour = (iso: string) =>
  Number(new Intl.DateTimeFormat('en-US', { timeZone: 'America/Los_Angeles', hour: 'numeric', hourCycle: 'h23' }).format(new Date(iso)));
const localDay = (iso: string) =>
  new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Los_Angeles', year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    new Date(iso),
  );
const weekday = (iso: string) =>
  new Intl.DateTimeFormat('en-US', { timeZone: 'America/Los_Angeles', weekday: 'short' }).format(new Date(iso));

/** A permit of the contractor behind `tok`, moved by the clerk to ISSUED. */
async function issuedPermit(tok: string, key: string): Promise<string> {
  const parcel = (await t.gql(`{ permits(first: 1) { edges { node { parcel { id } } } } }`, {}, clerk)).body.data.permits.edges[0].node
    .parcel.id;
  const input = {
    parcelId: parcel,
    permitType: 'BUILDING',
    workClass: 'NEW',
    description: 'New garage',
    valuation: 40000,
    applicant: { name: 'Grace Hopper', email: 'grace@example.org', phone: '+1 555 010 0000' },
  };
  const sub = await t.gql(SUBMIT, { input, key }, tok);
  expect(sub.body.errors).toBeUndefined();
  const n = sub.body.data.submitPermit.receipt.permitNumber as string;
  for (const to of ['UNDER_REVIEW', 'APPROVED', 'ISSUED']) {
    const r = await t.gql(TRANSITION, { n, to }, clerk);
    expect(r.body.errors).toBeUndefined();
  }
  return n;
}

async function slots(n: string, from: Date, to: Date, tok = a, type = 'Framing') {
  const r = await t.gql(AVAILABILITY, { n, type, from: from.toISOString(), to: to.toISOString() }, tok);
  expect(r.body.errors).toBeUndefined();
  return r.body.data.inspectionAvailability as { start: string; end: string; remaining: number }[];
}

const window = (s: { start: string; end: string }, type = 'Framing') => ({ inspectionType: type, windowStart: s.start, windowEnd: s.end });

beforeAll(async () => {
  t = await startTestServer();
  [a, b, clerk, inspector] = (await Promise.all(
    ['demo-contractor-a', 'demo-contractor-b', 'demo-clerk', 'demo-inspector'].map((id) => t.token(id)),
  )) as [string, string, string, string];
  permitA = await issuedPermit(a, 'slots-permit-a');
  permitB = await issuedPermit(b, 'slots-permit-b');
}, 120_000);
afterAll(() => t.stop(), 30_000);

describe('inspection slots', () => {
  test('availability: weekday slots in local working hours, after the cut-off, none on a holiday', async () => {
    const from = daysAhead(14);
    const open = await slots(permitA, from, new Date(from.getTime() + 7 * DAY));
    // a week: four two-hour slots on each working day that is not one of the demo holidays
    const holidays = new Set((await db().select({ day: inspectionHolidays.day }).from(inspectionHolidays)).map((h) => String(h.day)));
    const days = [1, 2, 3, 4, 5, 6, 7].map((k) => new Date(from.getTime() + k * DAY - 12 * 3600_000).toISOString());
    const working = days.filter((d) => !['Sat', 'Sun'].includes(weekday(d)) && !holidays.has(localDay(d)));
    expect(open.length).toBe(working.length * 4);
    for (const s of open) {
      expect(s.remaining).toBe(2);
      expect([8, 10, 12, 14]).toContain(localHour(s.start));
      expect(new Date(s.end).getTime() - new Date(s.start).getTime()).toBe(2 * 3600_000);
      expect(['Sat', 'Sun']).not.toContain(weekday(s.start));
    }
    const holiday = localDay(open[0]!.start);
    await db().insert(inspectionHolidays).values({ jurisdictionId: 'demo-city', day: holiday, name: 'Test day' });
    const after = await slots(permitA, from, new Date(from.getTime() + 7 * DAY));
    expect(after.length).toBe(open.length - 4);
    expect(after.some((s) => localDay(s.start) === holiday)).toBe(false);
    // a slot starting within the 24-hour cut-off is not offered to a contractor
    const soon = await slots(permitA, new Date(), new Date(Date.now() + 4 * DAY));
    expect(soon.every((s) => new Date(s.start).getTime() >= Date.now() + DAY - 60_000)).toBe(true);
  });

  test('scheduleInspection refuses a window that is not an offered slot, naming windowStart and why', async () => {
    const from = daysAhead(14);
    const [s] = await slots(permitA, from, new Date(from.getTime() + 7 * DAY));
    const shifted = new Date(new Date(s!.start).getTime() + 3600_000);
    const r = await t.gql(
      SCHEDULE,
      { n: permitA, k: 'slot-misaligned', i: { inspectionType: 'Framing', windowStart: shifted.toISOString(), windowEnd: s!.end } },
      a,
    );
    expect(r.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.body.errors?.[0]?.extensions?.field).toBe('input.windowStart');
    expect(r.body.errors?.[0]?.message).toContain('not an offered slot');
    // a permit not yet issued has no slots to offer
    const draft = (await t.gql(`{ permits(first: 1, filter: { status: SUBMITTED }) { edges { node { number } } } }`, {}, a)).body.data
      .permits.edges[0]?.node.number;
    expect(draft).toBeString();
    const none = await t.gql(AVAILABILITY, { n: draft, type: 'Framing', from: from.toISOString(), to: s!.end }, a);
    expect(none.body.errors?.[0]?.extensions?.field).toBe('permitNumber');
    const past = new Date(Date.now() - 7 * DAY).toISOString();
    const old = await t.gql(
      SCHEDULE,
      {
        n: permitA,
        k: 'slot-in-the-past',
        i: { inspectionType: 'Framing', windowStart: past, windowEnd: new Date(Date.now() - 6 * DAY).toISOString() },
      },
      a,
    );
    expect(old.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(old.body.errors?.[0]?.extensions?.field).toBe('input.windowStart');
  });

  test('two contractors racing for the last place of a slot: one books it, the other gets CONFLICT; it is no longer offered', async () => {
    await db().insert(inspectionCapacity).values({
      jurisdictionId: 'demo-city',
      inspectors: 1,
      dayStart: '08:00',
      dayEnd: '16:00',
      slotMinutes: 120,
      workdays: '1,2,3,4,5',
      cutoffHours: 24,
    });
    const from = daysAhead(21);
    const [s] = await slots(permitA, from, new Date(from.getTime() + 7 * DAY));
    expect(s!.remaining).toBe(1);
    const [ra, rb] = await Promise.all([
      t.gql(SCHEDULE, { n: permitA, k: 'race-a-0001', i: window(s!) }, a),
      t.gql(SCHEDULE, { n: permitB, k: 'race-b-0001', i: window(s!) }, b),
    ]);
    const codes = [ra, rb].map((r) => r.body.errors?.[0]?.extensions?.code ?? 'OK').sort();
    expect(codes).toEqual(['CONFLICT', 'OK']);
    const loser = [ra, rb].find((r) => r.body.errors)!;
    expect(loser.body.errors![0]!.message).toContain('fully booked');
    const again = await slots(permitA, from, new Date(from.getTime() + 7 * DAY));
    expect(again.some((x) => x.start === s!.start)).toBe(false);
    // the loser books the next open slot
    const winnerIsA = !ra.body.errors;
    const next = again[0]!;
    const retry = await t.gql(SCHEDULE, { n: winnerIsA ? permitB : permitA, k: 'race-retry-01', i: window(next) }, winnerIsA ? b : a);
    expect(retry.body.errors).toBeUndefined();
  });

  test('reschedule and cancel: idempotent, a contractor only before the cut-off, an inspector at any time', async () => {
    const from = daysAhead(35);
    const open = await slots(permitA, from, new Date(from.getTime() + 7 * DAY));
    const booked = await t.gql(SCHEDULE, { n: permitA, k: 'move-me-0001', i: window(open[0]!) }, a);
    expect(booked.body.errors).toBeUndefined();
    const id = booked.body.data.scheduleInspection.id as string;

    const moved = await t.gql(RESCHEDULE, { id, i: window(open[1]!) }, a);
    expect(moved.body.errors).toBeUndefined();
    expect(moved.body.data.rescheduleInspection).toMatchObject({ windowStart: open[1]!.start, result: 'PENDING' });
    const same = await t.gql(RESCHEDULE, { id, i: window(open[1]!) }, a);
    expect(same.body.data.rescheduleInspection.windowStart).toBe(open[1]!.start);
    // its old slot is free again, its new one taken (capacity 1 from the race test)
    const now = await slots(permitA, from, new Date(from.getTime() + 7 * DAY));
    expect(now.some((x) => x.start === open[0]!.start)).toBe(true);
    expect(now.some((x) => x.start === open[1]!.start)).toBe(false);
    // someone else's inspection is not there for contractor B
    const foreign = await t.gql(CANCEL, { id, r: 'not mine' }, b);
    expect(foreign.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    // the jurisdiction lengthens its cut-off: the contractor can no longer change the inspection, the inspector can
    await db()
      .update(inspectionCapacity)
      .set({ cutoffHours: 24 * 365 })
      .where(eq(inspectionCapacity.jurisdictionId, 'demo-city'));
    const late = await t.gql(CANCEL, { id, r: 'crew unavailable' }, a);
    expect(late.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(late.body.errors?.[0]?.message).toContain('cut-off');
    const lateMove = await t.gql(RESCHEDULE, { id, i: window(open[2]!) }, a);
    expect(lateMove.body.errors?.[0]?.message).toContain('cut-off');
    const byInspector = await t.gql(RESCHEDULE, { id, i: window(open[2]!) }, inspector);
    expect(byInspector.body.errors).toBeUndefined();
    expect(byInspector.body.data.rescheduleInspection.inspector).toBe('demo-inspector');

    const cancelled = await t.gql(CANCEL, { id, r: 'site not ready' }, inspector);
    expect(cancelled.body.errors).toBeUndefined();
    expect(cancelled.body.data.cancelInspection).toMatchObject({ result: 'CANCELLED', cancelReason: 'site not ready' });
    const twice = await t.gql(CANCEL, { id, r: 'again' }, inspector);
    expect(twice.body.data.cancelInspection).toMatchObject({ result: 'CANCELLED', cancelReason: 'site not ready' });
    const record = await t.gql(RECORD, { id, r: 'PASS' }, inspector);
    expect(record.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    await db().update(inspectionCapacity).set({ cutoffHours: 24 }).where(eq(inspectionCapacity.jurisdictionId, 'demo-city'));

    // each change (replays included) wrote an audit entry naming the inspection, staged or already chained
    const named = async () => {
      const rows = await db().execute(sql`select entry::text as e from audit_entries union all select entry::text from audit_pending`);
      return rowsOf<{ e: string }>(rows).filter((r) => r.e.includes(`inspection:${id}`)).length;
    };
    expect(await named()).toBeGreaterThanOrEqual(6);
  });

  test('final and re-inspection flags, requested date and inspector', async () => {
    const from = daysAhead(49);
    const open = await slots(permitB, from, new Date(from.getTime() + 7 * DAY), b);
    const first = await t.gql(SCHEDULE, { n: permitB, k: 'flags-framing-1', i: window(open[0]!) }, b);
    expect(first.body.data.scheduleInspection).toMatchObject({ final: false, reInspection: false, inspector: null });
    expect(new Date(first.body.data.scheduleInspection.requestedAt).getTime()).toBeLessThanOrEqual(Date.now());
    expect((await t.gql(RECORD, { id: first.body.data.scheduleInspection.id, r: 'FAIL' }, inspector)).body.errors).toBeUndefined();
    const again = await t.gql(SCHEDULE, { n: permitB, k: 'flags-framing-2', i: window(open[1]!) }, b);
    expect(again.body.data.scheduleInspection).toMatchObject({ final: false, reInspection: true });
    const fin = await t.gql(SCHEDULE, { n: permitB, k: 'flags-final-01', i: window(open[2]!, 'Final') }, b);
    expect(fin.body.data.scheduleInspection).toMatchObject({ final: true, reInspection: false });
  });

  test('capacity per inspection type: its own slots and inspectors, the default pool for every other type', async () => {
    // demo-city's default row (1 inspector, two-hour slots) comes from the race test; finals get two inspectors
    // and four-hour slots of their own
    await db().insert(inspectionCapacity).values({
      jurisdictionId: 'demo-city',
      inspectionType: 'final',
      inspectors: 2,
      dayStart: '08:00',
      dayEnd: '16:00',
      slotMinutes: 240,
      workdays: '1,2,3,4,5',
      cutoffHours: 24,
    });
    try {
      const from = daysAhead(63);
      const to = new Date(from.getTime() + 7 * DAY);
      const finals = await slots(permitA, from, to, a, 'Final');
      expect(finals.length).toBeGreaterThan(0);
      for (const s of finals) {
        expect([8, 12]).toContain(localHour(s.start));
        expect(new Date(s.end).getTime() - new Date(s.start).getTime()).toBe(4 * 3600_000);
        expect(s.remaining).toBe(2);
      }
      // the type is matched ignoring case and surrounding spaces
      expect(await slots(permitA, from, to, a, ' FINAL ')).toEqual(finals);
      const framing = await slots(permitA, from, to, a, 'Framing');
      expect(framing.every((s) => s.remaining === 1 && new Date(s.end).getTime() - new Date(s.start).getTime() === 2 * 3600_000)).toBe(
        true,
      );

      // a final booked at 08:00-12:00 takes a final inspector, not the default pool's
      const morning = finals[0]!;
      const fin = await t.gql(SCHEDULE, { n: permitA, k: 'type-final-0001', i: window(morning, 'Final') }, a);
      expect(fin.body.errors).toBeUndefined();
      expect((await slots(permitA, from, to, a, 'Final')).find((s) => s.start === morning.start)?.remaining).toBe(1);
      const framingAtEight = (await slots(permitA, from, to, a, 'Framing')).find((s) => s.start === morning.start);
      expect(framingAtEight?.remaining).toBe(1);
      // a framing inspection fills the default pool's slot and leaves the finals alone
      const fr = await t.gql(SCHEDULE, { n: permitB, k: 'type-framing-01', i: window(framingAtEight!) }, b);
      expect(fr.body.errors).toBeUndefined();
      expect((await slots(permitA, from, to, a, 'Framing')).some((s) => s.start === morning.start)).toBe(false);
      expect((await slots(permitA, from, to, a, 'Final')).find((s) => s.start === morning.start)?.remaining).toBe(1);

      // scheduleInspection books by the type's slots: a two-hour final is not one, a four-hour framing neither
      const twoHourFinal = await t.gql(SCHEDULE, { n: permitA, k: 'type-final-0002', i: { ...window(framing[1]!, 'Final') } }, a);
      expect(twoHourFinal.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(twoHourFinal.body.errors?.[0]?.message).toContain('240 minutes');
      const fourHourFraming = await t.gql(SCHEDULE, { n: permitA, k: 'type-framing-02', i: window(finals[1]!) }, a);
      expect(fourHourFraming.body.errors?.[0]?.message).toContain('120 minutes');
    } finally {
      await db().delete(inspectionCapacity).where(eq(inspectionCapacity.inspectionType, 'final'));
    }
  });
});
