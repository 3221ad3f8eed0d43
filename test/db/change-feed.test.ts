/**
 * The change feed (src/db/change-feed.ts) that replaced LISTEN/NOTIFY: listeners hear what committed, in order,
 * nothing of a rolled-back change, and a row whose transaction committed after a later row was read (a missing id)
 * is still heard. Both databases; the interleaved transactions need PostgreSQL's pool.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { createChangeFeed } from '../../src/db/change-feed.ts';
import { createEventHub } from '../../src/events/event-hub.ts';
import type { ChangeEvent } from '../../src/events/event-types.ts';
import { createStreamRegistry } from '../../src/events/subscription-stream.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
}, 120_000);
afterAll(() => tdb?.drop());

const add = (payload: string) => sql`insert into change_events (channel, payload) values ('test_channel', ${payload})`;

test('a listener hears committed changes in order, and nothing of a rolled-back one', async () => {
  const feed = createChangeFeed(tdb.database.db, { pollMs: 60_000 });
  const heard: string[] = [];
  await tdb.database.db.execute(add('before'));
  const stop = await feed.listen('test_channel', (p) => heard.push(p));
  await tdb.database.db.execute(add('one'));
  await tdb.database.db
    .transaction(async (tx) => {
      await tx.execute(add('rolled back'));
      throw new Error('roll back');
    })
    .catch(() => {});
  await tdb.database.db.execute(add('two'));
  await feed.poll();
  expect(heard).toEqual(['one', 'two']);
  await stop();
  await feed.close();
});

test('the feed polls by itself while someone listens', async () => {
  const feed = createChangeFeed(tdb.database.db, { pollMs: 10 });
  const heard: string[] = [];
  await feed.listen('test_channel', (p) => heard.push(p));
  await tdb.database.db.execute(add('polled'));
  for (let i = 0; i < 200 && heard.length === 0; i++) await Bun.sleep(10);
  expect(heard).toEqual(['polled']);
  await feed.close();
});

test.skipIf(!process.env.TEST_DATABASE_URL)('a change that commits after a later one was read is still heard', async () => {
  const feed = createChangeFeed(tdb.database.db, { pollMs: 60_000 });
  const heard: string[] = [];
  await feed.listen('test_channel', (p) => heard.push(p));
  let commit = () => {};
  const open = new Promise<void>((r) => (commit = r));
  let inserted = () => {};
  const insertedYet = new Promise<void>((r) => (inserted = r));
  const slow = tdb.database.db.transaction(async (tx) => {
    await tx.execute(add('slow'));
    inserted();
    await open;
  });
  await insertedYet;
  await tdb.database.db.execute(add('fast'));
  await feed.poll();
  expect(heard).toEqual(['fast']);
  commit();
  await slow;
  await feed.poll();
  expect(heard).toEqual(['fast', 'slow']);
  await feed.close();
});

test('a new subscriber is not told of a change committed before it subscribed, however recently', async () => {
  // the feed polls rarely here, so the earlier change is surely still unread when the stream starts
  const feed = createChangeFeed(tdb.database.db, { pollMs: 60_000 });
  const database = { ...tdb.database, listen: feed.listen, catchUp: feed.catchUp };
  const hub = createEventHub({ database, log: createLogger('silent') });
  await hub.start();
  const event = (n: string) =>
    sql`insert into change_events (channel, payload) values ('permit_events', ${JSON.stringify({
      type: 'permit.status_changed',
      jurisdiction: 'j1',
      contractor: null,
      data: { permitNumber: n },
    })})`;
  await tdb.database.db.execute(event('before'));
  const streams = createStreamRegistry(hub, { perClient: 5, isRevoked: () => false });
  const principal = { clientId: 'c1', role: 'analyst', scopes: new Set(['permits:read']), jurisdiction: 'j1' };
  const stream = streams.stream(principal, new Date(Date.now() + 60_000), () => true);
  await hub.caughtUp();
  await Bun.sleep(0);
  await tdb.database.db.execute(event('after'));
  await feed.poll();
  const first = await stream.next();
  expect((first.value as ChangeEvent).data.permitNumber).toBe('after');
  await stream.return?.();
  await hub.stop();
  await feed.close();
});
