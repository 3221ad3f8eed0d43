/**
 * The public status memo (src/db/public-status-memo.ts) over HTTP: a repeated `permitStatus` poll is answered without
 * reading the database, yet never outlives a change it could have heard of: this instance's own transition is seen
 * by the very next poll, and a change committed elsewhere (here a direct SQL update, as another instance's or the
 * importer's) by the first poll after the change feed delivered it.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { REFRESH_MS } from '../../src/resilience/status-cache.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

setDefaultTimeout(60_000);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
  await t.running.app.changeCounters.ready();
}, 180_000);
afterAll(() => t?.stop());

const STATUS = `query($n: String!) { permitStatus(number: $n) { number status updatedAt stale } }`;
const TRANSITION = `mutation($n: String!, $to: PermitStatus!) { transitionPermit(number: $n, to: $to) { status } }`;

/** `permitStatus(n)` anonymously, with the statements that read `permits` meanwhile. */
async function poll(n: string) {
  const reads: string[] = [];
  const off = t.running.database.onQuery((q) => {
    if (/\bpermits\b/i.test(q) && !/audit_/i.test(q)) reads.push(q);
  });
  try {
    const r = await t.gql(STATUS, { n });
    expect(r.body.errors).toBeUndefined();
    return { status: r.body.data.permitStatus?.status as string | undefined, reads: reads.length, body: r.body };
  } finally {
    off();
  }
}

/** A SUBMITTED permit's number, once every earlier change has reached this instance (a late one would make a read unrememberable). */
async function submittedPermit(): Promise<string> {
  await t.running.database.catchUp();
  const clerk = await t.token('demo-clerk');
  const r = await t.gql(`{ permits(first: 1, filter: { status: SUBMITTED }) { edges { node { number } } } }`, {}, clerk);
  expect(r.body.errors).toBeUndefined();
  return r.body.data.permits.edges[0].node.number as string;
}

test('a repeated poll reads nothing; the next poll after this instance transitions the permit reads the new status', async () => {
  const n = await submittedPermit();
  const first = await poll(n);
  expect(first.status).toBe('SUBMITTED');
  expect(first.reads).toBeGreaterThan(0);
  const again = await poll(n);
  expect(again.body.data.permitStatus).toEqual(first.body.data.permitStatus);
  expect(again.reads).toBe(0);

  const moved = await t.gql(TRANSITION, { n, to: 'UNDER_REVIEW' }, await t.token('demo-clerk'));
  expect(moved.body.errors).toBeUndefined();
  const after = await poll(n);
  expect(after.status).toBe('UNDER_REVIEW');
  expect(after.reads).toBeGreaterThan(0);
  expect(after.body.data.permitStatus.updatedAt).not.toBe(first.body.data.permitStatus.updatedAt);
});

test('a change committed outside this instance is seen once the change feed delivered it', async () => {
  const n = await submittedPermit();
  expect((await poll(n)).status).toBe('SUBMITTED');
  expect((await poll(n)).reads).toBe(0);
  await t.running.database.db.execute(sql`update permits set status_current = 'WITHDRAWN', updated_at = now() where permit_num = ${n}`);
  await t.running.database.catchUp();
  const after = await poll(n);
  expect(after.status).toBe('WITHDRAWN');
  expect(after.reads).toBeGreaterThan(0);
});

test('an unknown number is not remembered: the permit it later names is read at once', async () => {
  const missing = await poll('DC-BLD-1999-999999');
  expect(missing.body.data.permitStatus).toBeNull();
  expect((await poll('DC-BLD-1999-999999')).reads).toBeGreaterThan(0);
});

test('the REST status route answers from the same memo', async () => {
  const n = await submittedPermit();
  await poll(n);
  const reads: string[] = [];
  const off = t.running.database.onQuery((q) => {
    if (/\bpermits\b/i.test(q) && !/audit_/i.test(q)) reads.push(q);
  });
  try {
    const r = await fetch(`${t.url}/status/${encodeURIComponent(n)}`);
    expect(r.status).toBe(200);
    expect(((await r.json()) as { status: string }).status).toBe('SUBMITTED');
  } finally {
    off();
  }
  expect(reads).toHaveLength(0);
});

test('a repeated poll within a second leaves the outage cache alone; one a second later refreshes its asOf', async () => {
  const n = await submittedPermit();
  // a status no earlier test polled: the first poll reads it and refreshes the cache from a new answer
  const moved = await t.gql(TRANSITION, { n, to: 'UNDER_REVIEW' }, await t.token('demo-clerk'));
  expect(moved.body.errors).toBeUndefined();
  // the change feed has delivered the transition: no notification of it makes a later poll read again
  await t.running.database.catchUp();
  const cache = t.running.services.statusCache;
  const refreshed: number[] = [];
  const refresh = cache.refresh;
  cache.refresh = (input, nowMs) => {
    refreshed.push(nowMs ?? Date.now());
    return refresh.call(cache, input, nowMs);
  };
  try {
    for (let i = 0; i < 3; i++) expect((await poll(n)).status).toBe('UNDER_REVIEW');
    expect(refreshed).toHaveLength(1);
    const firstAsOf = (await cache.get(n))!.asOf;
    await Bun.sleep(REFRESH_MS + 50);
    expect((await poll(n)).status).toBe('UNDER_REVIEW');
    expect(refreshed).toHaveLength(2);
    const cached = (await cache.get(n))!;
    expect(cached.status).toBe('UNDER_REVIEW');
    expect(Date.parse(cached.asOf)).toBeGreaterThanOrEqual(Date.parse(firstAsOf) + REFRESH_MS);
  } finally {
    cache.refresh = refresh;
  }
});
