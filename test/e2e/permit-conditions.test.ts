/**
 * Issue 24: corrections and conditions over real HTTP on both databases. A clerk or inspector attaches an item to a
 * permit; until resolved it blocks the moves it names (BAD_USER_INPUT naming the item); the contractor sees and
 * answers its own; every change is in the permit's status history and the audit log.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/rows.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

setDefaultTimeout(120_000);

let t: TestServer;
let a: string;
let b: string;
let clerk: string;
let inspector: string;

const SUBMIT = `mutation($input: SubmitPermitInput!, $key: String!) { submitPermit(input: $input, idempotencyKey: $key) { receipt { permitNumber } } }`;
const TRANSITION = `mutation($n: String!, $to: PermitStatus!) { transitionPermit(number: $n, to: $to) { status } }`;
const ITEM = `id kind description blocks state response createdBy answeredAt resolvedAt`;
const ADD = `mutation($n: String!, $i: PermitConditionInput!) { addPermitCondition(permitNumber: $n, input: $i) { ${ITEM} } }`;
const ANSWER = `mutation($id: ID!, $r: String!) { answerPermitCondition(conditionId: $id, response: $r) { ${ITEM} } }`;
const RESOLVE = `mutation($id: ID!) { resolvePermitCondition(conditionId: $id) { ${ITEM} } }`;
const VIEW = `query($n: String!) { permit(number: $n) { status conditions { ${ITEM} } statusHistory { from to reason } } }`;

async function submitted(tok: string, key: string): Promise<string> {
  const parcel = (await t.gql(`{ permits(first: 1) { edges { node { parcel { id } } } } }`, {}, clerk)).body.data.permits.edges[0].node
    .parcel.id;
  const input = {
    parcelId: parcel,
    permitType: 'BUILDING',
    workClass: 'NEW',
    description: 'Two-storey house',
    valuation: 350000,
    applicant: { name: 'Katherine Johnson', email: 'kj@example.org', phone: '+1 555 010 1111' },
  };
  const sub = await t.gql(SUBMIT, { input, key }, tok);
  expect(sub.body.errors).toBeUndefined();
  return sub.body.data.submitPermit.receipt.permitNumber as string;
}

async function move(n: string, to: string, tok = clerk) {
  return t.gql(TRANSITION, { n, to }, tok);
}

beforeAll(async () => {
  t = await startTestServer();
  [a, b, clerk, inspector] = (await Promise.all(
    ['demo-contractor-a', 'demo-contractor-b', 'demo-clerk', 'demo-inspector'].map((id) => t.token(id)),
  )) as [string, string, string, string];
}, 120_000);
afterAll(() => t.stop(), 30_000);

describe('corrections and conditions', () => {
  test('a correction blocks approval until resolved; the contractor sees and answers its own; history and audit', async () => {
    const n = await submitted(a, 'conditions-permit-1');
    expect((await move(n, 'UNDER_REVIEW')).body.errors).toBeUndefined();

    const added = await t.gql(
      ADD,
      { n, i: { kind: 'CORRECTION', description: 'Provide structural calcs', blocks: ['APPROVED', 'ISSUED'] } },
      clerk,
    );
    expect(added.body.errors).toBeUndefined();
    const item = added.body.data.addPermitCondition;
    expect(item).toMatchObject({ kind: 'CORRECTION', state: 'OPEN', blocks: ['APPROVED', 'ISSUED'], createdBy: 'demo-clerk' });

    const refused = await move(n, 'APPROVED');
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(refused.body.errors?.[0]?.extensions?.field).toBe('to');
    expect(refused.body.errors?.[0]?.message).toContain(item.id);
    expect(refused.body.errors?.[0]?.message).toContain('Provide structural calcs');
    // moves it does not name stay open
    expect((await move(n, 'CORRECTIONS_REQUIRED')).body.errors).toBeUndefined();

    // the contractor sees its item; another contractor cannot reach it, nor can a contractor add one
    const seen = await t.gql(VIEW, { n }, a);
    expect(seen.body.data.permit.conditions.map((c: { id: string }) => c.id)).toEqual([item.id]);
    const foreign = await t.gql(ANSWER, { id: item.id, r: 'here they are' }, b);
    expect(foreign.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const notAllowed = await t.gql(ADD, { n, i: { kind: 'CONDITION', description: 'x', blocks: ['FINALED'] } }, a);
    expect(notAllowed.status).toBe(403);

    const answered = await t.gql(ANSWER, { id: item.id, r: 'Calcs uploaded as sheet S-1' }, a);
    expect(answered.body.errors).toBeUndefined();
    expect(answered.body.data.answerPermitCondition).toMatchObject({ state: 'ANSWERED', response: 'Calcs uploaded as sheet S-1' });
    expect((await move(n, 'UNDER_REVIEW')).body.errors).toBeUndefined();
    // answered is not resolved: still blocking
    expect((await move(n, 'APPROVED')).body.errors?.[0]?.message).toContain(item.id);

    const resolved = await t.gql(RESOLVE, { id: item.id }, clerk);
    expect(resolved.body.data.resolvePermitCondition.state).toBe('RESOLVED');
    const again = await t.gql(RESOLVE, { id: item.id }, clerk);
    expect(again.body.data.resolvePermitCondition.resolvedAt).toBe(resolved.body.data.resolvePermitCondition.resolvedAt);
    expect((await move(n, 'APPROVED')).body.errors).toBeUndefined();
    const late = await t.gql(ANSWER, { id: item.id, r: 'more' }, a);
    expect(late.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

    const history = (await t.gql(VIEW, { n }, clerk)).body.data.permit.statusHistory as { reason: string | null }[];
    const reasons = history.map((h) => h.reason ?? '');
    for (const verb of ['added', 'answered', 'resolved']) expect(reasons.some((r) => r.includes(`${item.id} ${verb}`))).toBe(true);
    const audited = rowsOf<{ e: string }>(
      await t.tdb.database.db.execute(sql`select entry::text as e from audit_entries union all select entry::text from audit_pending`),
    ).filter((r) => r.e.includes(`condition:${item.id}`));
    expect(audited.length).toBeGreaterThanOrEqual(4); // added, answered, resolved twice
  });

  test('an inspector’s condition blocking INSPECTIONS refuses the first scheduling, naming the condition', async () => {
    const n = await submitted(a, 'conditions-permit-2');
    for (const to of ['UNDER_REVIEW', 'APPROVED', 'ISSUED']) expect((await move(n, to)).body.errors).toBeUndefined();
    const added = await t.gql(
      ADD,
      { n, i: { kind: 'CONDITION', description: 'Erosion control fence installed', blocks: ['INSPECTIONS'] } },
      inspector,
    );
    expect(added.body.errors).toBeUndefined();
    const id = added.body.data.addPermitCondition.id as string;
    const from = new Date(Math.floor(Date.now() / 86_400_000 + 10) * 86_400_000);
    const slots = await t.gql(
      `query($n: String!, $f: DateTime!, $t: DateTime!) { inspectionAvailability(permitNumber: $n, inspectionType: "Foundation", from: $f, to: $t) { start end } }`,
      { n, f: from.toISOString(), t: new Date(from.getTime() + 7 * 86_400_000).toISOString() },
      a,
    );
    const slot = slots.body.data.inspectionAvailability[0];
    const SCHEDULE = `mutation($n: String!, $k: String!, $s: DateTime!, $e: DateTime!) { scheduleInspection(permitNumber: $n, idempotencyKey: $k,
      input: { inspectionType: "Foundation", windowStart: $s, windowEnd: $e }) { id } }`;
    const refused = await t.gql(SCHEDULE, { n, k: 'blocked-0001', s: slot.start, e: slot.end }, a);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(refused.body.errors?.[0]?.extensions?.field).toBe('permitNumber');
    expect(refused.body.errors?.[0]?.message).toContain(id);
    expect((await t.gql(RESOLVE, { id }, inspector)).body.errors).toBeUndefined();
    const ok = await t.gql(SCHEDULE, { n, k: 'blocked-0002', s: slot.start, e: slot.end }, a);
    expect(ok.body.errors).toBeUndefined();
  });
});
