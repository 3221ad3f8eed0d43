/**
 * Refused inputs over real HTTP (issue 2, acceptance 4): each answers a clear error with its code and, for
 * invalid values, `extensions.field` naming the field path; none of them writes anything.
 */
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from 'bun:test';
import { countRows, startTestServer, type GqlResult, type TestServer } from '../helpers/server.ts';

// server start-up and whole-jurisdiction walks are slow on shared machines (PGlite)
setDefaultTimeout(60_000);

let t: TestServer;
let contractor: string;
let clerk: string;
let parcel: string;
/** A fresh SUBMITTED permit of demo-contractor-a (version 1), submitted with key `input-errors-base`. */
let own: { number: string; version: number };

const SUBMIT = `mutation($input: SubmitPermitInput!, $key: String!) {
  submitPermit(input: $input, idempotencyKey: $key) { receipt { id state permitNumber } permit { number version } }
}`;
const TRANSITION = `mutation($n: String!, $to: PermitStatus!) { transitionPermit(number: $n, to: $to) { status version } }`;
const AMEND = `mutation($n: String!, $v: Int!, $input: AmendPermitInput!) { amendPermit(number: $n, expectedVersion: $v, input: $input) { version description } }`;
const SCHEDULE = `mutation($n: String!, $i: ScheduleInspectionInput!, $key: String!) {
  scheduleInspection(permitNumber: $n, input: $i, idempotencyKey: $key) { id windowStart }
}`;

const input = (over: Record<string, unknown> = {}) => ({
  parcelId: parcel,
  permitType: 'BUILDING',
  workClass: 'ALTERATION',
  description: 'Kitchen remodel, load-bearing wall removed',
  valuation: 48000,
  applicant: { name: 'Grace Hopper', email: 'grace@example.org', phone: '+1 555 010 9999' },
  ...over,
});

const TABLES = ['permits', 'permit_status_history', 'inspections', 'inspection_checklist_items', 'permit_number_counters'];
const counts = async () => Object.fromEntries(await Promise.all(TABLES.map(async (x) => [x, await countRows(t, x)] as const)));

/** Runs `fn` and checks it wrote no permit, history, inspection or counter row. */
async function writesNothing<T>(fn: () => Promise<T>): Promise<T> {
  const before = await counts();
  const r = await fn();
  expect(await counts()).toEqual(before);
  return r;
}

function onlyError(r: GqlResult<unknown>) {
  expect(r.body.errors?.length).toBeGreaterThanOrEqual(1);
  expect(r.body.data ?? null).toBeNull();
  return r.body.errors![0]!;
}

/** BAD_USER_INPUT naming `field`; HTTP 200 (resolver or validation) or 400 (variable coercion). */
function expectBadInput(r: GqlResult<unknown>, field: string) {
  const e = onlyError(r);
  expect([200, 400]).toContain(r.status);
  expect(e.extensions?.code).toBe('BAD_USER_INPUT');
  expect(e.extensions?.field).toBe(field);
  // masked errors never reach the client; these are ours and readable
  expect(e.message).not.toMatch(/Unexpected error|INTERNAL/i);
  return e;
}

beforeAll(async () => {
  t = await startTestServer();
  contractor = await t.token('demo-contractor-a');
  clerk = await t.token('demo-clerk');
  const first = await t.gql(`{ permits(first: 1) { edges { node { parcel { id } } } } }`, {}, clerk);
  parcel = first.body.data.permits.edges[0].node.parcel.id;
  const sub = await t.gql(SUBMIT, { input: input(), key: 'input-errors-base' }, contractor);
  expect(sub.body.errors).toBeUndefined();
  own = sub.body.data.submitPermit.permit;
}, 180_000); // start-up (PGlite, migrations, seed) can take a minute on a loaded machine
afterAll(() => t?.stop());

describe('domain refusals', () => {
  test('an illegal transition (SUBMITTED → ISSUED by a clerk) is BAD_USER_INPUT naming both statuses', async () => {
    const r = await writesNothing(() => t.gql(TRANSITION, { n: own.number, to: 'ISSUED' }, clerk));
    const e = expectBadInput(r, 'to');
    expect(e.message).toContain('SUBMITTED');
    expect(e.message).toContain('ISSUED');
    const after = await t.gql(
      `query($n: String!) { permit(number: $n) { status version statusHistory { to } } }`,
      { n: own.number },
      clerk,
    );
    expect(after.body.data.permit).toEqual({ status: 'SUBMITTED', version: own.version, statusHistory: [{ to: 'SUBMITTED' }] });
  });

  test('a transition out of a terminal status is refused the same way', async () => {
    const done = await t.gql(`{ permits(first: 1, filter: { status: [FINALED] }) { edges { node { number } } } }`, {}, clerk);
    const n = done.body.data.permits.edges[0].node.number;
    const r = await writesNothing(() => t.gql(TRANSITION, { n, to: 'UNDER_REVIEW' }, clerk));
    const e = expectBadInput(r, 'to');
    expect(e.message).toContain('FINALED');
    expect(e.message).toContain('UNDER_REVIEW');
  });

  test('a stale expectedVersion on amendPermit is CONFLICT and changes nothing', async () => {
    const r = await writesNothing(() =>
      t.gql(AMEND, { n: own.number, v: own.version + 7, input: { description: 'Changed behind your back' } }, contractor),
    );
    const e = onlyError(r);
    expect(r.status).toBe(200);
    expect(e.extensions?.code).toBe('CONFLICT');
    const after = await t.gql(`query($n: String!) { permit(number: $n) { version description } }`, { n: own.number }, contractor);
    expect(after.body.data.permit).toEqual({ version: own.version, description: input().description });
  });

  test('a reused idempotency key with a different input is CONFLICT and creates nothing', async () => {
    const r = await writesNothing(() => t.gql(SUBMIT, { input: input({ valuation: 48001 }), key: 'input-errors-base' }, contractor));
    const e = onlyError(r);
    expect(e.extensions?.code).toBe('CONFLICT');
    expect(e.message).toContain('input-errors-base');
  });
});

describe('invalid values', () => {
  test('a naive timestamp (no offset) for windowStart is BAD_USER_INPUT mentioning the offset', async () => {
    const r = await writesNothing(() =>
      t.gql(
        SCHEDULE,
        {
          n: own.number,
          i: { inspectionType: 'Framing', windowStart: '2026-01-01T10:00:00', windowEnd: '2026-01-01T12:00:00-08:00' },
          key: 'naive-ts-0001',
        },
        contractor,
      ),
    );
    const e = expectBadInput(r, 'input.windowStart');
    expect(e.message).toMatch(/offset/);
    expect(e.message).toContain('2026-01-01T10:00:00');
  });

  test('a naive timestamp written in the document is refused the same way', async () => {
    const r = await writesNothing(() =>
      t.gql(
        `mutation { scheduleInspection(permitNumber: "${own.number}", idempotencyKey: "naive-ts-0002",
          input: { inspectionType: "Framing", windowStart: "2026-01-01T10:00:00", windowEnd: "2026-01-01T12:00:00Z" }) { id } }`,
        {},
        contractor,
      ),
    );
    expect(expectBadInput(r, 'input.windowStart').message).toMatch(/offset/);
  });

  test('an unknown enum value in variables is BAD_USER_INPUT naming input.permitType', async () => {
    const r = await writesNothing(() => t.gql(SUBMIT, { input: input({ permitType: 'SPACESHIP' }), key: 'enum-var-0001' }, contractor));
    expect(expectBadInput(r, 'input.permitType').message).toContain('SPACESHIP');
  });

  test('an unknown enum literal in the document is BAD_USER_INPUT naming input.permitType', async () => {
    const r = await writesNothing(() =>
      t.gql(
        `mutation { submitPermit(idempotencyKey: "enum-lit-0001", input: { parcelId: "${parcel}", permitType: SPACESHIP, workClass: NEW,
          description: "x", valuation: 1, applicant: { name: "A", email: "a@example.org", phone: "+1 555 010 2030" } }) { receipt { id } } }`,
        {},
        contractor,
      ),
    );
    expect(expectBadInput(r, 'input.permitType').message).toContain('SPACESHIP');
  });

  test('an oversize description (5,000 characters) is BAD_USER_INPUT naming input.description', async () => {
    const r = await writesNothing(() =>
      t.gql(SUBMIT, { input: input({ description: 'x'.repeat(5000) }), key: 'oversize-0001' }, contractor),
    );
    expect(expectBadInput(r, 'input.description').message).toMatch(/at most 4000/);
  });

  test('an oversize applicant email (300 characters) is BAD_USER_INPUT naming input.applicant.email', async () => {
    const email = `${'a'.repeat(288)}@example.org`;
    expect(email).toHaveLength(300);
    const r = await writesNothing(() =>
      t.gql(SUBMIT, { input: input({ applicant: { ...input().applicant, email } }), key: 'oversize-0002' }, contractor),
    );
    expectBadInput(r, 'input.applicant.email');
  });

  test('an oversize amendment is refused before the version check', async () => {
    const r = await writesNothing(() =>
      t.gql(AMEND, { n: own.number, v: own.version, input: { description: 'y'.repeat(5000) } }, contractor),
    );
    expectBadInput(r, 'input.description');
  });

  test('a negative valuation is BAD_USER_INPUT naming input.valuation', async () => {
    const r = await writesNothing(() => t.gql(SUBMIT, { input: input({ valuation: -1 }), key: 'negative-0001' }, contractor));
    expectBadInput(r, 'input.valuation');
  });

  test('a null for a non-null field in variables is BAD_USER_INPUT naming it', async () => {
    const r = await writesNothing(() => t.gql(SUBMIT, { input: input({ description: null }), key: 'null-0001' }, contractor));
    expectBadInput(r, 'input.description');
  });

  test('a missing required variable is BAD_USER_INPUT naming it', async () => {
    const r = await writesNothing(() => t.gql(SUBMIT, { key: 'missing-0001' }, contractor));
    expectBadInput(r, 'input');
  });

  test('first: 201 is BAD_USER_INPUT naming first, as a literal and as a variable', async () => {
    expectBadInput(await t.gql(`{ permits(first: 201) { totalCount } }`, {}, clerk), 'first');
    expectBadInput(await t.gql(`query($f: Int) { permits(first: $f) { totalCount } }`, { f: 201 }, clerk), 'first');
    expectBadInput(await t.gql(`{ permits(first: -1) { totalCount } }`, {}, clerk), 'first');
  });

  test('every invalid value is reported at once, one error each naming its field, the first as before', async () => {
    const bad = input({
      description: '  ',
      valuation: -1,
      applicant: { name: 'Grace Hopper', email: 'not-an-email', phone: '+1 555 010 9999' },
    });
    const r = await writesNothing(() => t.gql(SUBMIT, { input: bad, key: 'x' }, contractor));
    const first = expectBadInput(r, 'idempotencyKey');
    expect(first.message).toBe('idempotencyKey: must be at least 8 characters');
    expect(r.body.errors).toHaveLength(4);
    expect(r.body.errors!.map((e) => e.extensions?.field)).toEqual([
      'idempotencyKey',
      'input.description',
      'input.valuation',
      'input.applicant.email',
    ]);
    for (const e of r.body.errors!) {
      expect(e.extensions?.code).toBe('BAD_USER_INPUT');
      expect(e.message).toStartWith(`${e.extensions?.field}: `);
      expect(e.extensions?.invalid).toBeUndefined();
    }
  });

  test('every oversize value is reported at once too', async () => {
    const big = input({ description: 'd'.repeat(5000), applicant: { ...input().applicant, name: 'n'.repeat(300) } });
    const r = await writesNothing(() => t.gql(SUBMIT, { input: big, key: 'oversize-0003' }, contractor));
    expectBadInput(r, 'input.description');
    expect(r.body.errors!.map((e) => e.extensions?.field)).toEqual(['input.description', 'input.applicant.name']);
  });
});
