import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { countRows, startTestServer, type TestServer } from '../helpers/server.ts';
import { setDefaultTimeout } from 'bun:test';

// starts databases and servers: Bun's 5 s default is too short on a busy machine
setDefaultTimeout(120_000);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
}, 60_000);
afterAll(() => t.stop(), 30_000);

const SUBMIT = `mutation($input: SubmitPermitInput!, $key: String!) {
  submitPermit(input: $input, idempotencyKey: $key) { receipt { id state permitNumber } permit { number status version submittedAt } }
}`;
const TRANSITION = `mutation($n: String!, $to: PermitStatus!, $r: String) { transitionPermit(number: $n, to: $to, reason: $r) { status version updatedAt } }`;
const PERMIT = `query($n: String!) { permit(number: $n) { number status version submittedAt issuedAt completedAt updatedAt
  statusHistory { from to changedAt } inspections { id result recordedAt checklist { item passed } } } }`;

async function parcelId(tok: string) {
  const r = await t.gql(`{ permits(first: 1) { edges { node { parcel { id } } } } }`, {}, tok);
  return r.body.data.permits.edges[0].node.parcel.id as string;
}

export const sampleInput = (parcel: string) => ({
  parcelId: parcel,
  permitType: 'BUILDING',
  workClass: 'ADDITION',
  description: 'Rear addition, 20 m²',
  valuation: 125000.5,
  applicant: { name: 'Ada Lovelace', email: 'ada@example.org', phone: '+1 555 010 2030' },
});

describe('permit lifecycle over HTTP', () => {
  test('submit → review → approve → issue → schedule → pass → final writes history, UTC times and versions', async () => {
    const contractor = await t.token('demo-contractor-a');
    const clerk = await t.token('demo-clerk');
    const inspector = await t.token('demo-inspector');
    const parcel = await parcelId(clerk);
    const historyBefore = await countRows(t, 'permit_status_history');

    const sub = await t.gql(SUBMIT, { input: sampleInput(parcel), key: 'lifecycle-0001' }, contractor);
    expect(sub.status).toBe(200);
    expect(sub.body.errors).toBeUndefined();
    const receipt = sub.body.data.submitPermit.receipt;
    expect(receipt.state).toBe('PERSISTED');
    expect(receipt.permitNumber).toMatch(/^DC-BLD-\d{4}-\d{6}$/);
    expect(sub.body.data.submitPermit.permit.version).toBe(1);
    expect(sub.body.data.submitPermit.permit.submittedAt).toMatch(/Z$/);
    const n = receipt.permitNumber as string;

    let version = 1;
    for (const to of ['UNDER_REVIEW', 'APPROVED', 'ISSUED']) {
      const r = await t.gql(TRANSITION, { n, to, r: `clerk moved to ${to}` }, clerk);
      expect(r.body.errors).toBeUndefined();
      expect(r.body.data.transitionPermit.status).toBe(to);
      expect(r.body.data.transitionPermit.version).toBe(++version);
    }

    const sched = await t.gql(
      `mutation($n: String!, $i: ScheduleInspectionInput!) { scheduleInspection(permitNumber: $n, input: $i, idempotencyKey: "insp-lifecycle-1") { id result windowStart windowEnd } }`,
      { n, i: { inspectionType: 'Final', windowStart: '2030-12-02T10:00:00-08:00', windowEnd: '2030-12-02T12:00:00-08:00' } },
      contractor,
    );
    expect(sched.body.errors).toBeUndefined();
    expect(sched.body.data.scheduleInspection.windowStart).toBe('2030-12-02T18:00:00.000Z');
    const inspectionId = sched.body.data.scheduleInspection.id;

    const early = await t.gql(TRANSITION, { n, to: 'FINALED' }, inspector);
    expect(early.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

    const rec = await t.gql(
      `mutation($id: ID!, $in: InspectionResultInput!) { recordInspectionResult(inspectionId: $id, input: $in) { result recordedAt checklist { item passed } } }`,
      { id: inspectionId, in: { result: 'PASS', notes: 'All good', checklist: [{ item: 'Smoke alarms', passed: true }] } },
      inspector,
    );
    expect(rec.body.errors).toBeUndefined();
    expect(rec.body.data.recordInspectionResult.result).toBe('PASS');
    expect(rec.body.data.recordInspectionResult.checklist).toEqual([{ item: 'Smoke alarms', passed: true }]);

    const fin = await t.gql(TRANSITION, { n, to: 'FINALED' }, inspector);
    expect(fin.body.errors).toBeUndefined();
    expect(fin.body.data.transitionPermit.status).toBe('FINALED');

    const view = await t.gql(PERMIT, { n }, clerk);
    const p = view.body.data.permit;
    expect(p.status).toBe('FINALED');
    // SUBMITTED(1) → UNDER_REVIEW → APPROVED → ISSUED → INSPECTIONS (scheduling) → FINALED
    expect(p.version).toBe(6);
    expect(p.statusHistory.map((h: { to: string }) => h.to)).toEqual([
      'SUBMITTED',
      'UNDER_REVIEW',
      'APPROVED',
      'ISSUED',
      'INSPECTIONS',
      'FINALED',
    ]);
    expect(p.statusHistory.map((h: { from: string | null }) => h.from)).toEqual([
      null,
      'SUBMITTED',
      'UNDER_REVIEW',
      'APPROVED',
      'ISSUED',
      'INSPECTIONS',
    ]);
    for (const ts of [
      p.submittedAt,
      p.issuedAt,
      p.completedAt,
      p.updatedAt,
      ...p.statusHistory.map((h: { changedAt: string }) => h.changedAt),
    ]) {
      expect(ts).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    }
    expect(await countRows(t, 'permit_status_history')).toBe(historyBefore + 6);
    expect(p.inspections[0].checklist).toHaveLength(1);
  });

  test('the same idempotency key and input returns the same receipt and creates one permit', async () => {
    const contractor = await t.token('demo-contractor-a');
    const parcel = await parcelId(await t.token('demo-clerk'));
    const before = await countRows(t, 'permits');
    const a = await t.gql(SUBMIT, { input: sampleInput(parcel), key: 'idem-same-0001' }, contractor);
    const b = await t.gql(SUBMIT, { input: sampleInput(parcel), key: 'idem-same-0001' }, contractor);
    expect(a.body.data.submitPermit.receipt).toEqual(b.body.data.submitPermit.receipt);
    expect(await countRows(t, 'permits')).toBe(before + 1);
  });

  test('concurrent submissions with one key create one permit', async () => {
    const contractor = await t.token('demo-contractor-b');
    const parcel = await parcelId(await t.token('demo-clerk'));
    const before = await countRows(t, 'permits');
    const rs = await Promise.all(
      Array.from({ length: 8 }, () => t.gql(SUBMIT, { input: sampleInput(parcel), key: 'idem-race-0001' }, contractor)),
    );
    const ids = new Set(rs.map((r) => r.body.data?.submitPermit?.receipt?.id));
    expect(rs.every((r) => r.body.errors === undefined)).toBe(true);
    expect(ids.size).toBe(1);
    expect(await countRows(t, 'permits')).toBe(before + 1);
  });
});
