/**
 * Issue 22: a change committed through one instance reaches subscribers on another (PostgreSQL LISTEN/NOTIFY), still
 * filtered by the subscriber's policy. PostgreSQL only: PGlite is one process's database.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootstrap, type Running } from '../../src/bootstrap.ts';
import { loadConfig } from '../../src/config.ts';
import { openDatabase, type Database } from '../../src/db/client.ts';
import { serve } from '../../src/http/serve.ts';
import { usingPostgres } from '../helpers/database.ts';
import { testRedisPrefix } from '../helpers/redis.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { subscribe } from './sse-client.ts';

setDefaultTimeout(120_000);

const pg = usingPostgres();
let a: TestServer;
let b: { url: string; running: Running; database: Database; stop(): Promise<void> };

beforeAll(async () => {
  if (!pg) return;
  a = await startTestServer();
  // a second instance on the same database, with a data directory (signing key, outbox) of its own
  const dataDir = mkdtempSync(join(tmpdir(), 'pg-test-b-'));
  const database = await openDatabase({ url: a.tdb.url! });
  const config = loadConfig({ APP_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent', SEED: 'none', RATE_LIMIT_SCALE: '100' });
  const running = await bootstrap(config, { database, cachePrefix: testRedisPrefix('b') });
  const server = serve(running, { hostname: '127.0.0.1', port: 0 });
  b = {
    url: `http://127.0.0.1:${server.port}`,
    running,
    database,
    async stop() {
      await server.stop(true);
      await running.close();
      await database.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}, 60_000);
afterAll(async () => {
  if (!pg) return;
  await b.stop();
  await a.stop();
}, 30_000);

async function tokenAt(url: string, clientId: string) {
  const c = a.clients.find((x) => x.client_id === clientId)!;
  const res = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret }),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

describe.skipIf(!pg)('subscriptions across instances', () => {
  test('a change made through one instance reaches the subscribers of another, by their policy', async () => {
    const STATUS = `subscription { permitStatusChanged { permitNumber status } }`;
    const clerkOnB = await subscribe(b.url, STATUS, {}, await tokenAt(b.url, 'demo-clerk'));
    const otherTownOnB = await subscribe(b.url, STATUS, {}, await tokenAt(b.url, 'demo-clerk-other'));
    try {
      await Bun.sleep(300);
      const clerk = await a.token('demo-clerk');
      const list = await a.gql(`{ permits(first: 1, filter: { status: SUBMITTED }) { edges { node { number } } } }`, {}, clerk);
      const n = list.body.data.permits.edges[0].node.number;
      const moved = await a.gql(`mutation($n: String!) { transitionPermit(number: $n, to: UNDER_REVIEW) { status } }`, { n }, clerk);
      expect(moved.body.errors).toBeUndefined();
      const [heard] = await clerkOnB.waitFor(1);
      expect(heard.data.permitStatusChanged).toEqual({ permitNumber: n, status: 'UNDER_REVIEW' });
      await Bun.sleep(500);
      expect(otherTownOnB.events).toEqual([]);
    } finally {
      clerkOnB.close();
      otherTownOnB.close();
    }
  });
});
