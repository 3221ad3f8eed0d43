/**
 * submitPermit's checks (src/domain/permit-writes.ts) read an earlier submission with the key, the contractor
 * record and the parcel in one statement: every refusal keeps its code and message, nothing is written and no
 * permit number is used up by a refused submission, and an accepted one costs two statements inside its
 * transaction (the checks, then number + permit + history). The API's path sends that write, with the audit
 * entry as a part of it, as one statement that is its own transaction.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, spyOn, test } from 'bun:test';
import { PgDialect } from 'drizzle-orm/pg-core';
import { eq, sql } from 'drizzle-orm';
import { GraphQLError } from 'graphql';
import { rowsOf } from '../../src/db/rows.ts';
import { contractors } from '../../src/db/schema/contractors.ts';
import { permits, permitStatusHistory } from '../../src/db/schema/permits.ts';
import { parcels } from '../../src/db/schema/parcels.ts';
import { planSubmission, submitPermit, validateSubmission } from '../../src/domain/permit-writes.ts';
import { stagingStatement } from '../../src/audit/append.ts';
import { createOneStatementUnit, type CommitHook } from '../../src/db/unit-of-work.ts';
import type { Principal } from '../../src/domain/principal.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

setDefaultTimeout(120_000);
let t: TestDatabase;
let cityParcel = '';
let townParcel = '';
const RUN = Date.now().toString(36);

const principal = (contractor: string | undefined, clientId = `checks-${contractor ?? 'none'}`): Principal => ({
  clientId,
  role: 'contractor',
  scopes: new Set(['permits:submit']),
  jurisdiction: 'demo-city',
  ...(contractor ? { contractor } : {}),
});

const input = (parcelId: string, description = 'Deck') => ({
  parcelId,
  permitType: 'BUILDING',
  workClass: 'NEW',
  description,
  valuation: 1000,
  applicant: { name: 'Ada Lovelace', email: 'ada@example.org', phone: '+1 555 000 0001' },
});

const submit = (p: Principal, key: string, raw: unknown) =>
  t.database.db.transaction((tx) => submitPermit(tx, p, validateSubmission(raw, key)));

const count = async () => Number(rowsOf<{ n: string }>(await t.database.db.execute(sql`select count(*)::text as n from permits`))[0]!.n);

async function refused(p: Principal, key: string, raw: unknown): Promise<GraphQLError> {
  const before = await count();
  const err = await submit(p, key, raw).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GraphQLError);
  expect(await count()).toBe(before);
  return err as GraphQLError;
}

beforeAll(async () => {
  t = await createTestDatabase({ seed: 'small' });
  const db = t.database.db;
  await db.insert(contractors).values([
    {
      jurisdictionId: 'demo-city',
      licenseNumber: `ACT-${RUN}`,
      name: 'Active Co',
      licenseStatus: 'ACTIVE',
      licenseExpiresOn: '2999-12-31',
    },
    {
      jurisdictionId: 'demo-city',
      licenseNumber: `SUS-${RUN}`,
      name: 'Suspended Co',
      licenseStatus: 'SUSPENDED',
      licenseExpiresOn: '2999-12-31',
    },
    {
      jurisdictionId: 'demo-city',
      licenseNumber: `OLD-${RUN}`,
      name: 'Lapsed Co',
      licenseStatus: 'ACTIVE',
      licenseExpiresOn: '2001-01-31',
    },
    { jurisdictionId: 'other-town', licenseNumber: `TWN-${RUN}`, name: 'Town Co', licenseStatus: 'ACTIVE', licenseExpiresOn: '2999-12-31' },
  ]);
  cityParcel = (await db.select({ id: parcels.id }).from(parcels).where(eq(parcels.jurisdictionId, 'demo-city')).limit(1))[0]!.id;
  townParcel = (await db.select({ id: parcels.id }).from(parcels).where(eq(parcels.jurisdictionId, 'other-town')).limit(1))[0]!.id;
});
afterAll(() => t.drop());

describe('refusals: same codes and messages, nothing written', () => {
  test('a client without a contractor record', async () => {
    const e = await refused(principal(undefined), `k-none-${RUN}`, input(cityParcel));
    expect(e.extensions.code).toBe('BAD_USER_INPUT');
    expect(e.message).toContain('only a client bound to a contractor record');
  });

  test('a license not registered in the jurisdiction (registered in another one)', async () => {
    const e = await refused(principal(`TWN-${RUN}`), `k-twn-${RUN}`, input(cityParcel));
    expect(e.extensions.code).toBe('BAD_USER_INPUT');
    expect(e.message).toBe(`input: contractor license TWN-${RUN} is not registered in demo-city`);
  });

  test('a suspended license, and an active one past its expiry date', async () => {
    const s = await refused(principal(`SUS-${RUN}`), `k-sus-${RUN}`, input(cityParcel));
    expect(s.extensions.code).toBe('BAD_USER_INPUT');
    expect(s.message).toContain(`contractor license SUS-${RUN} is not active (SUSPENDED, expires 2999-12-31)`);
    const o = await refused(principal(`OLD-${RUN}`), `k-old-${RUN}`, input(cityParcel));
    expect(o.message).toContain(`contractor license OLD-${RUN} is not active (ACTIVE, expires 2001-01-31)`);
  });

  test("another jurisdiction's parcel, and a parcel id that exists nowhere", async () => {
    for (const parcel of [townParcel, '00000000-0000-4000-8000-000000000000']) {
      const e = await refused(principal(`ACT-${RUN}`), `k-parcel-${RUN}`, input(parcel));
      expect(e.extensions.code).toBe('BAD_USER_INPUT');
      expect(e.extensions.field).toBe('input.parcelId');
    }
  });
});

test('accepted: two statements in the transaction; no number used up by the refusals; a replay returns the receipt, a different input under the key is a CONFLICT', async () => {
  const p = principal(`ACT-${RUN}`);
  const statements: string[] = [];
  const off = t.database.onQuery((q) => statements.push(q));
  const first = await submit(p, `k-ok-${RUN}-1`, input(cityParcel));
  off();
  expect(first.state).toBe('PERSISTED');
  expect(statements.filter((q) => !/^\s*(begin|commit)/i.test(q))).toHaveLength(2);

  const second = await submit(p, `k-ok-${RUN}-2`, input(cityParcel, 'Porch'));
  const seq = (n: string) => Number(n.split('-').at(-1));
  // the refused submissions above took no number: consecutive numbers for consecutive acceptances
  expect(seq(second.permitNumber!)).toBe(seq(first.permitNumber!) + 1);

  const before = await count();
  const replay = await submit(p, `k-ok-${RUN}-1`, input(cityParcel));
  expect(replay).toMatchObject({ id: first.id, state: 'PERSISTED', permitNumber: first.permitNumber });
  expect(replay.submittedAt).toBeUndefined();
  expect(await count()).toBe(before);

  const e = await refused(p, `k-ok-${RUN}-1`, input(cityParcel, 'Something else'));
  expect(e.extensions.code).toBe('CONFLICT');
  expect(e.message).toContain(`already used for a different submission (permit ${first.permitNumber})`);
});

test('the API path: checks in one read, then number + permit + history + audit entry in ONE statement of its own; a refused audit part leaves no permit and uses up no number', async () => {
  const p = principal(`ACT-${RUN}`);
  const tag = `one-${RUN}`;
  const staging: CommitHook = (affected, produced) => stagingStatement({ kind: 'test.submission', tag, affected }, produced);
  const refusedStaging: CommitHook = () => ({ statement: sql`insert into audit_pending (entry) values ('not json'::jsonb)` });
  const plan = async (key: string, raw: unknown) => {
    const r = await planSubmission(t.database.db, p, validateSubmission(raw, key));
    if (!('write' in r)) throw new Error('expected a write');
    return r.write;
  };

  const sent: string[] = [];
  const off = t.database.onQuery((q) => sent.push(q));
  const first = await createOneStatementUnit(t.database.db, [staging])(await plan(`k-one-${RUN}-1`, input(cityParcel)));
  off();
  expect(first.state).toBe('PERSISTED');
  // the checks, then one statement writing everything: no transaction of several statements
  expect(sent).toHaveLength(2);
  expect(sent.some((q) => /^\s*(begin|commit)/i.test(q))).toBe(false);
  const staged = rowsOf<{ entry: { tag: string; affected: string[] } }>(
    await t.database.db.execute(sql`select entry from audit_pending where entry->>'tag' = ${tag}`),
  );
  expect(staged.map((r) => r.entry.affected)).toEqual([[first.permitNumber!]]);

  const before = await count();
  const err = await createOneStatementUnit(t.database.db, [refusedStaging])(await plan(`k-one-${RUN}-2`, input(cityParcel, 'Shed'))).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).not.toBeNull();
  expect(await count()).toBe(before);

  const third = await createOneStatementUnit(t.database.db, [staging])(await plan(`k-one-${RUN}-3`, input(cityParcel, 'Fence')));
  const seq = (n: string) => Number(n.split('-').at(-1));
  // the refused statement took no number with it
  expect(seq(third.permitNumber!)).toBe(seq(first.permitNumber!) + 1);
  await t.database.db.execute(sql`delete from audit_pending where entry->>'tag' = ${tag}`);
});

test('a submission statement is rendered once and then only its values change: every field of each submission lands as sent, with its own entry', async () => {
  const p = principal(`ACT-${RUN}`, `checks-render-${RUN}`);
  const tag = `render-${RUN}`;
  const staging: CommitHook = (affected, produced) => stagingStatement({ kind: 'test.submission', tag, affected }, produced);
  const inputs = [
    { ...input(cityParcel, 'Panel replacement'), permitType: 'ELECTRICAL', workClass: 'ALTERATION', valuation: 12500 },
    {
      ...input(cityParcel, 'New garage'),
      permitType: 'BUILDING',
      workClass: 'NEW',
      valuation: 80000,
      applicant: { name: 'Grace Hopper', email: 'grace@example.org', phone: '+1 555 000 0002' },
    },
    { ...input(cityParcel, 'Water heater'), permitType: 'PLUMBING', workClass: 'REPAIR', valuation: 900 },
  ];
  const renders = spyOn(PgDialect.prototype, 'sqlToQuery');
  const writes: number[] = [];
  const receipts = [];
  try {
    for (const [i, raw] of inputs.entries()) {
      const before = renders.mock.calls.length;
      const plan = await planSubmission(t.database.db, p, validateSubmission(raw, `k-render-${RUN}-${i}`));
      if (!('write' in plan)) throw new Error('expected a write');
      receipts.push(await createOneStatementUnit(t.database.db, [staging])(plan.write));
      writes.push(renders.mock.calls.length - before);
    }
  } finally {
    renders.mockRestore();
  }
  // the checks and the write (change + audit part) are rendered at most on the first submission in the process
  expect(writes.slice(1)).toEqual([0, 0]);

  const seq = (n: string) => Number(n.split('-').at(-1));
  for (const [i, raw] of inputs.entries()) {
    const r = receipts[i]!;
    expect(r.permitNumber).toMatch(
      new RegExp(`-${{ ELECTRICAL: 'ELE', BUILDING: 'BLD', PLUMBING: 'PLM' }[raw.permitType]}-\\d{4}-\\d{6}$`),
    );
    if (i > 0) expect(seq(r.permitNumber!)).toBe(seq(receipts[i - 1]!.permitNumber!) + 1);
    const [row] = await t.database.db.select().from(permits).where(eq(permits.id, r.id));
    expect(row).toMatchObject({
      permitNum: r.permitNumber,
      permitType: raw.permitType,
      workClass: raw.workClass,
      description: raw.description,
      applicantName: raw.applicant.name,
      applicantEmail: raw.applicant.email,
      applicantPhone: raw.applicant.phone,
      parcelId: cityParcel,
      submittedBy: p.clientId,
      idempotencyKey: `k-render-${RUN}-${i}`,
      statusCurrent: 'SUBMITTED',
      version: 1,
    });
    expect(Number(row!.estProjectCost)).toBe(raw.valuation);
    expect(row!.appliedDate.getTime()).toBe(r.submittedAt!.getTime());
    const history = await t.database.db.select().from(permitStatusHistory).where(eq(permitStatusHistory.permitId, r.id));
    expect(history.map((h) => [h.toStatus, h.actor, h.changedAt.getTime()])).toEqual([['SUBMITTED', p.clientId, r.submittedAt!.getTime()]]);
  }
  const staged = rowsOf<{ entry: { affected: string[] } }>(
    await t.database.db.execute(sql`select entry from audit_pending where entry->>'tag' = ${tag} order by id`),
  );
  expect(staged.map((s) => s.entry.affected)).toEqual(receipts.map((r) => [r.permitNumber!]));
  await t.database.db.execute(sql`delete from audit_pending where entry->>'tag' = ${tag}`);
});
