/**
 * Issue 18 item 8: the token endpoint during a database outage answers as OAuth does (RFC 6749 §5.2 shape):
 * 503 `{"error":"temporarily_unavailable"}` with `Retry-After`, never a GraphQL-shaped 500, and the request's
 * audit entry says so (HTTP 503, the error code, outcome ERROR).
 *
 * 1. Circuit breaker open (both databases): the breaker is tripped the way an outage trips it (consecutive
 *    connection failures); the database itself stays up, so the audit entry can be read back at once.
 * 2. Database unreachable (PostgreSQL runs only): the server talks to PostgreSQL through a TCP relay this test
 *    cuts and restores (connections dropped, new ones refused); the shared PostgreSQL is never stopped.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { ensureDemoClients, type DemoClient } from '../../src/auth/demo-clients.ts';
import { bootstrap, type Running } from '../../src/bootstrap.ts';
import { loadConfig } from '../../src/config.ts';
import { openDatabase, type Database } from '../../src/db/client.ts';
import { rowsOf } from '../../src/db/rows.ts';
import { serve } from '../../src/http/serve.ts';
import { createTestDatabase, usingPostgres, type TestDatabase } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

setDefaultTimeout(120_000);

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

async function tokenRequest(url: string, form: Record<string, string>, requestId: string) {
  const res = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-request-id': requestId },
    body: new URLSearchParams(form),
  });
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text);
  } catch {
    body = { raw: text };
  }
  return { status: res.status, headers: res.headers, body };
}

/** The audit entry of one request, once the recorder has appended it (it buffers, and keeps entries through outages). */
async function auditEntryOf(database: Database, requestId: string, timeoutMs = 30_000): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = rowsOf<{ entry: Record<string, any> | string }>(
      await database.db.execute(sql`select entry from audit_entries where entry->>'requestId' = ${requestId}`),
    );
    if (rows[0]) return typeof rows[0].entry === 'string' ? JSON.parse(rows[0].entry) : rows[0].entry;
    if (Date.now() > deadline) throw new Error(`no audit entry for request ${requestId}`);
    await Bun.sleep(200);
  }
}

function expectTemporarilyUnavailable(r: Awaited<ReturnType<typeof tokenRequest>>, label: string) {
  expect({ label, status: r.status, error: r.body.error }).toEqual({ label, status: 503, error: 'temporarily_unavailable' });
  expect(r.body.errors).toBeUndefined(); // not GraphQL-shaped
  expect(r.body.access_token).toBeUndefined();
  expect(r.headers.get('content-type')).toStartWith('application/json');
  expect(r.headers.get('cache-control')).toBe('no-store');
  const retryAfter = Number(r.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
}

function expectAuditedAsUnavailable(entry: Record<string, any>, clientId: string) {
  expect(entry).toMatchObject({
    kind: 'token',
    clientId,
    httpStatus: 503,
    errorCodes: ['temporarily_unavailable'],
    outcome: 'ERROR',
  });
}

describe('circuit breaker open', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  }, 120_000);
  afterAll(() => t?.stop());

  /** Trips the breaker as consecutive connection failures do; the background probe closes it again after ~1 s. */
  async function tripBreaker() {
    const breaker = t.running.services.breaker;
    for (let i = 0; i < 10 && !breaker.isOpen(); i++) await breaker.execute(() => Promise.reject(refused())).catch(() => {});
    expect(breaker.isOpen()).toBe(true);
  }

  test('a valid client and a wrong secret both get 503 temporarily_unavailable + Retry-After, audited as such', async () => {
    const gis = t.clients.find((c) => c.client_id === 'demo-gis')!;
    const ids = {
      right: `outage-right-${crypto.randomUUID()}`,
      wrong: `outage-wrong-${crypto.randomUUID()}`,
      basic: `outage-basic-${crypto.randomUUID()}`,
    };
    await tripBreaker();
    const right = await tokenRequest(
      t.url,
      { grant_type: 'client_credentials', client_id: gis.client_id, client_secret: gis.client_secret },
      ids.right,
    );
    await tripBreaker();
    const wrong = await tokenRequest(
      t.url,
      { grant_type: 'client_credentials', client_id: gis.client_id, client_secret: 'wrong' },
      ids.wrong,
    );
    await tripBreaker();
    const viaBasic = await fetch(`${t.url}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-request-id': ids.basic,
        authorization: `Basic ${Buffer.from(`${gis.client_id}:${gis.client_secret}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
    const basic = { status: viaBasic.status, headers: viaBasic.headers, body: (await viaBasic.json()) as Record<string, unknown> };
    expectTemporarilyUnavailable(right, 'right secret');
    expectTemporarilyUnavailable(wrong, 'wrong secret');
    expectTemporarilyUnavailable(basic, 'client_secret_basic');

    // requests the endpoint can refuse without the database are still answered as before
    const noGrant = await tokenRequest(t.url, { client_id: gis.client_id, client_secret: gis.client_secret }, crypto.randomUUID());
    expect(noGrant.status).toBe(400);

    // once the breaker has closed again, the same client gets its token (the outage counted no failures)
    const deadline = Date.now() + 30_000;
    let after = await tokenRequest(
      t.url,
      { grant_type: 'client_credentials', client_id: gis.client_id, client_secret: gis.client_secret },
      crypto.randomUUID(),
    );
    while (after.status === 503 && Date.now() < deadline) {
      await Bun.sleep(250);
      after = await tokenRequest(
        t.url,
        { grant_type: 'client_credentials', client_id: gis.client_id, client_secret: gis.client_secret },
        crypto.randomUUID(),
      );
    }
    expect(after.status).toBe(200);

    expectAuditedAsUnavailable(await auditEntryOf(t.tdb.database, ids.right), 'demo-gis');
    expectAuditedAsUnavailable(await auditEntryOf(t.tdb.database, ids.wrong), 'demo-gis');
    expectAuditedAsUnavailable(await auditEntryOf(t.tdb.database, ids.basic), 'demo-gis');
  });
});

/** A TCP relay to PostgreSQL that can be cut (every connection dropped, new ones refused) and restored. */
async function tcpRelay(target: { host: string; port: number }) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const listen = (port: number) =>
    new Promise<number>((resolve) => server.listen(port, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
  const port = await listen(0);
  return {
    port,
    async cut() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
    restore: () => listen(port),
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe.skipIf(!usingPostgres())('PostgreSQL unreachable (TCP relay cut)', () => {
  let tdb: TestDatabase;
  let relayed: Database;
  let relay: Awaited<ReturnType<typeof tcpRelay>>;
  let running: Running;
  let server: ReturnType<typeof serve>;
  let url: string;
  let clients: DemoClient[];
  let dataDir: string;

  beforeAll(async () => {
    tdb = await createTestDatabase({ seed: 'small' });
    const direct = new URL(tdb.url!);
    relay = await tcpRelay({ host: direct.hostname, port: Number(direct.port || 5432) });
    const via = new URL(tdb.url!);
    via.hostname = '127.0.0.1';
    via.port = String(relay.port);
    relayed = await openDatabase({ url: via.toString() });
    dataDir = mkdtempSync(join(tmpdir(), 'pg-test-'));
    const config = loadConfig({ APP_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent', SEED: 'none', RATE_LIMIT_SCALE: '100' });
    running = await bootstrap(config, { database: relayed, cachePrefix: `test:${crypto.randomUUID()}:` });
    server = serve(running, { hostname: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${server.port}`;
    clients = await ensureDemoClients(tdb.database.db, null);
  }, 120_000);
  afterAll(async () => {
    await server?.stop(true);
    await running?.close();
    await relayed?.close().catch(() => {});
    relay?.close();
    await tdb?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test('every token request during the outage gets 503 temporarily_unavailable + Retry-After within the timeout; audited after recovery', async () => {
    const clerk = clients.find((c) => c.client_id === 'demo-clerk')!;
    const form = { grant_type: 'client_credentials', client_id: clerk.client_id, client_secret: clerk.client_secret };
    expect((await tokenRequest(url, form, crypto.randomUUID())).status).toBe(200);

    await relay.cut();
    const ids: string[] = [];
    // the first requests find the breaker closed and meet refused connections; later ones find it open
    for (let i = 0; i < 8; i++) {
      const id = `relay-cut-${i}-${crypto.randomUUID()}`;
      ids.push(id);
      const started = performance.now();
      const r = await tokenRequest(url, i % 2 ? form : { ...form, client_secret: 'wrong' }, id);
      expectTemporarilyUnavailable(r, `request ${i}`);
      expect(performance.now() - started).toBeLessThan(4000);
    }
    expect(running.services.breaker.isOpen()).toBe(true);

    await relay.restore();
    const deadline = Date.now() + 30_000;
    let after = await tokenRequest(url, form, crypto.randomUUID());
    while (after.status !== 200 && Date.now() < deadline) {
      await Bun.sleep(250);
      after = await tokenRequest(url, form, crypto.randomUUID());
    }
    expect(after.status).toBe(200);
    for (const id of ids) expectAuditedAsUnavailable(await auditEntryOf(tdb.database, id), 'demo-clerk');
  });
});
