/**
 * The status history's change events are written once per INSERT statement for all its rows (migration
 * history_events_per_statement): a multi-row insert, as a batch of submissions or the outbox replay makes, raises
 * one event per row, in the rows' order, with the payload a per-row trigger gave, and one delivery per interested
 * webhook; a bulk load that suppresses events raises none. Both databases.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/rows.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase({ seed: 'small' });
}, 120_000);
afterAll(() => tdb?.drop());

const query = async <T>(q: ReturnType<typeof sql>) => rowsOf<T>(await tdb.database.db.execute(q));

interface Picked {
  id: string;
  permit_num: string;
  jurisdiction_id: string;
  license_number: string | null;
}

async function pickPermits(n: number): Promise<Picked[]> {
  return query<Picked>(sql`select p.id, p.permit_num, p.jurisdiction_id, c.license_number
    from permits p left join contractors c on c.id = p.contractor_id
    where p.jurisdiction_id = 'demo-city' order by p.permit_num limit ${n}`);
}

const lastEventId = async () =>
  Number((await query<{ id: string | null }>(sql`select max(id)::text as id from change_events`))[0]?.id ?? 0);

test('the trigger runs once per statement, not once per row', async () => {
  const [trigger] = await query<{ per_row: boolean }>(sql`select (tgtype & 1) = 1 as per_row from pg_trigger
    where tgname = 'permit_status_history_event' and tgrelid = 'permit_status_history'::regclass`);
  expect(trigger).toEqual({ per_row: false });
});

test('a multi-row insert raises one event per row, in the rows order, and the deliveries webhooks ask for', async () => {
  const picked = await pickPermits(3);
  expect(picked.length).toBe(3);
  const [hook] = await query<{ id: string }>(sql`insert into webhooks (client_id, jurisdiction_id, url, events, secret)
    values ('history-test', 'demo-city', 'https://receiver.example/hook', array['permit.status_changed'], 'whsec_test')
    returning id`);
  const since = await lastEventId();
  // the first row as a submission (no previous status), the others as status changes, all in one statement
  const [a, b, c] = picked as [Picked, Picked, Picked];
  await tdb.database.db.execute(sql`insert into permit_status_history (permit_id, from_status, to_status, actor, changed_at) values
    (${a.id}::uuid, null, 'SUBMITTED', 'history-test', '2026-01-02T03:04:05.678Z'),
    (${b.id}::uuid, 'SUBMITTED', 'UNDER_REVIEW', 'history-test', '2026-01-02T03:04:06Z'),
    (${c.id}::uuid, 'UNDER_REVIEW', 'APPROVED', 'history-test', '2026-01-02T03:04:07Z')`);

  const events = await query<{ payload: string }>(
    sql`select payload from change_events where id > ${since} and channel = 'permit_events' order by id`,
  );
  expect(events.map((e) => JSON.parse(e.payload))).toEqual([
    {
      type: 'permit.submitted',
      jurisdiction: 'demo-city',
      contractor: a.license_number,
      data: { permitNumber: a.permit_num, jurisdiction: 'demo-city', status: 'SUBMITTED', changedAt: '2026-01-02T03:04:05.678Z' },
    },
    {
      type: 'permit.status_changed',
      jurisdiction: 'demo-city',
      contractor: b.license_number,
      data: {
        permitNumber: b.permit_num,
        jurisdiction: 'demo-city',
        status: 'UNDER_REVIEW',
        previousStatus: 'SUBMITTED',
        changedAt: '2026-01-02T03:04:06.000Z',
      },
    },
    {
      type: 'permit.status_changed',
      jurisdiction: 'demo-city',
      contractor: c.license_number,
      data: {
        permitNumber: c.permit_num,
        jurisdiction: 'demo-city',
        status: 'APPROVED',
        previousStatus: 'UNDER_REVIEW',
        changedAt: '2026-01-02T03:04:07.000Z',
      },
    },
  ]);

  // the webhook asked for status changes only: two deliveries, in the events' order, each body signed as queued
  const deliveries = await query<{ permit_id: string; event_type: string; body: { type: string; data: { permitNumber: string } } }>(
    sql`select permit_id::text, event_type, body from webhook_deliveries where webhook_id = ${hook!.id}::uuid order by seq`,
  );
  expect(deliveries.map((d) => [d.permit_id, d.event_type, d.body.type, d.body.data.permitNumber])).toEqual([
    [b.id, 'permit.status_changed', 'permit.status_changed', b.permit_num],
    [c.id, 'permit.status_changed', 'permit.status_changed', c.permit_num],
  ]);
  await tdb.database.db.execute(sql`delete from webhook_deliveries where webhook_id = ${hook!.id}::uuid`);
  await tdb.database.db.execute(sql`delete from webhooks where id = ${hook!.id}::uuid`);
});

test('a bulk load that suppresses events raises none', async () => {
  const [a] = await pickPermits(1);
  const since = await lastEventId();
  await tdb.database.db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('permit_gateway.suppress_events', 'on', true)`);
    await tx.execute(sql`insert into permit_status_history (permit_id, from_status, to_status, actor)
      values (${a!.id}::uuid, 'SUBMITTED', 'UNDER_REVIEW', 'history-test')`);
  });
  expect(await query(sql`select id from change_events where id > ${since} and channel = 'permit_events'`)).toEqual([]);
});
