/**
 * Fault tests of degraded mode (issue 6) against a real PostgreSQL 15 and the real server process.
 *
 * A throwaway cluster (own port, own data directory; the shared cluster on 5432 is never touched) and
 * `bun run src/main.ts` as a child process in development mode (small demo data, demo clients). Runs only when
 * TEST_DATABASE_URL is set (CI's PostgreSQL run); `bun run test:faults` sets it if missing.
 *
 * 1. Steady load (20 contractor loops submitting with unique idempotency keys, 20 GIS readers), PostgreSQL
 *    stopped (`pg_ctl stop -m fast`) for FAULT_OUTAGE_SECONDS (default 60), then started: no request started
 *    during the outage waits more than 2 s (see GRACE below), permitStatus of a permit read before answers
 *    stale:true, /readyz is 503; after recovery /readyz is 200 within 10 s, the outbox drains, and every key that
 *    got a receipt (PERSISTED or QUEUED) is in `permits` exactly once.
 * 2. The same with `kill -9` of the server during the outage (after some submissions were QUEUED) and a
 *    restart on the same DATA_DIR, still during the outage (FAULT_KILL_OUTAGE_SECONDS, default 30, to keep the
 *    whole file under ~3 minutes): every receipt of both server processes arrives exactly once.
 * 3. Replay idempotency at the module level on the real database: an outbox item whose key already exists with
 *    the same input → PERSISTED once (same permit); with a different input → REJECTED with a reason.
 * 4. The audit chain verifies after the scenarios — when the audit plugin writes `audit_entries` at all.
 *
 * GRACE: until the breaker has seen 5 consecutive connection failures it is closed, and a call through it
 * may take up to its 2 s timeout. Requests started in the first FAULT_GRACE_SECONDS (default 3) of the outage
 * may take up to 2 s + 500 ms (the timeout plus HTTP and GraphQL overhead on a loaded machine); every request
 * started after that must finish in under 2 s.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Database as Sqlite } from 'bun:sqlite';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { loadAndVerify } from '../../src/audit/verify-chain.ts';
import { openDatabase } from '../../src/db/client.ts';
import { readDemoClients, fetchToken, startApp, type AppProcess } from './app-process.ts';
import { createPgCluster, freePort, type PgCluster } from './pg-cluster.ts';
import { gql, latencyStats, Load, RECEIPT, STATUS, type Receipt, type Target } from './load.ts';
import { cleanUpRedisKeys, testRedisPrefix } from '../helpers/redis.ts';

const OUTAGE_S = Number(process.env.FAULT_OUTAGE_SECONDS ?? 60);
const KILL_OUTAGE_S = Number(process.env.FAULT_KILL_OUTAGE_SECONDS ?? 30);
const GRACE_MS = Number(process.env.FAULT_GRACE_SECONDS ?? 3) * 1000;
const LIMIT_MS = 2000;
const GRACE_LIMIT_MS = LIMIT_MS + 500;
/**
 * Scenario 2: a server restarted during the outage starts with a closed breaker and must learn about the outage
 * again (5 failures, each up to the 2 s connect timeout), and reads that do not go through the breaker wait for
 * the driver's connect timeout. Requests started from the kill until FAULT_GRACE_SECONDS after the new server is
 * up may take up to 5 s; this is a known gap (see the report), not a goal.
 */
const RESTART_LIMIT_MS = 5000;
const READY_WITHIN_MS = 10_000;
const WARMUP_MS = 4000;
const AFTER_MS = 3000;
const DB_NAME = 'permit_gateway_faults';

const enabled = Boolean(process.env.TEST_DATABASE_URL);
const log = (...args: unknown[]) => console.log('[faults]', ...args);

describe.skipIf(!enabled)('degraded mode under faults (real PostgreSQL, real server)', () => {
  let cluster: PgCluster | undefined;
  let sql: postgres.Sql | undefined;
  let dataDir = '';
  let app: AppProcess | undefined;
  let load: Load | undefined;
  const target: Target = { url: '' };
  const port = freePort();
  let dbUrl = '';
  let contractors: { clientId: string; token: string }[] = [];
  let gisToken = '';
  let parcels: { id: string; lon: number; lat: number }[] = [];
  let permitNumbers: string[] = [];
  const runId = Date.now().toString(36);
  // the server's status cache and buckets, deleted in afterAll
  const redisPrefix = testRedisPrefix('fault');
  let failedWith: unknown;
  /** Diagnostics: FAULT_DB_URL_PARAMS (e.g. `backoff=0.2`) is appended to the server's DATABASE_URL, FAULT_APP_PRELOAD is preloaded. */
  const appOptions = () => ({
    databaseUrl: process.env.FAULT_DB_URL_PARAMS ? `${dbUrl}?${process.env.FAULT_DB_URL_PARAMS}` : dbUrl,
    dataDir,
    port,
    ...(process.env.FAULT_APP_PRELOAD ? { bunArgs: ['--preload', process.env.FAULT_APP_PRELOAD] } : {}),
    // the shared status cache survives the kill -9 of scenario 2 (an in-memory cache cannot)
    ...(process.env.TEST_REDIS_URL ? { env: { REDIS_URL: process.env.TEST_REDIS_URL, REDIS_KEY_PREFIX: redisPrefix } } : {}),
  });

  beforeAll(async () => {
    cluster = await createPgCluster();
    await cluster.start();
    const admin = postgres(cluster.url(), { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${DB_NAME}`);
    await admin.end();
    dbUrl = cluster.url(DB_NAME);
    sql = postgres(dbUrl, { max: 2, onnotice: () => {}, connect_timeout: 5 });
    dataDir = mkdtempSync(join(tmpdir(), 'pg-faults-app-'));
    app = await startApp(appOptions());
    target.url = app.url;
    const clients = await readDemoClients(dataDir);
    const byId = (id: string) => {
      const c = clients.find((x) => x.client_id === id);
      if (!c) throw new Error(`demo client ${id} missing from demo-clients.json`);
      return c;
    };
    contractors = await Promise.all(
      ['demo-contractor-a', 'demo-contractor-b'].map(async (id) => ({ clientId: id, token: await fetchToken(app!.url, byId(id)) })),
    );
    gisToken = await fetchToken(app.url, byId('demo-gis'));
    const WORLD = { minLon: -180, minLat: -90, maxLon: 180, maxLat: 90 };
    const p = await gql(
      app.url,
      `query($b: BBoxInput!) { parcels(bbox: $b, first: 40) { edges { node { id geometry } } } }`,
      { b: WORLD },
      gisToken,
    );
    parcels = (p.body?.data?.parcels?.edges ?? []).map((e: { node: { id: string; geometry: { coordinates: number[][][] } } }) => {
      const ring = e.node.geometry.coordinates[0]!;
      const lon = ring.reduce((s, c) => s + c[0]!, 0) / ring.length;
      const lat = ring.reduce((s, c) => s + c[1]!, 0) / ring.length;
      return { id: e.node.id, lon, lat };
    });
    const n = await gql(app.url, `{ permits(first: 60) { edges { node { number } } } }`, {}, gisToken);
    permitNumbers = (n.body?.data?.permits?.edges ?? []).map((e: { node: { number: string } }) => e.node.number);
    if (parcels.length === 0 || permitNumbers.length === 0) {
      throw new Error(`no demo data visible to demo-gis: ${JSON.stringify(p.body?.errors ?? n.body?.errors)}`);
    }
    log(`cluster on :${cluster.port}, server on ${app.url} (pid ${app.pid}), ${parcels.length} parcels, ${permitNumbers.length} permits`);
  }, 120_000);

  afterAll(async () => {
    await load?.stop().catch(() => {});
    if (app && failedWith !== undefined) log(`server log (last lines):\n${app.tail(60)}`);
    await app?.stop(10_000).catch(() => {});
    await sql?.end({ timeout: 2 }).catch(() => {});
    await cluster?.destroy();
    if (dataDir && process.env.FAULT_KEEP_DATA) log(`kept ${dataDir} (FAULT_KEEP_DATA)`);
    else if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    await cleanUpRedisKeys(redisPrefix);
  }, 60_000);

  /** Runs `body`, remembering a failure so afterAll prints the server's log. */
  const guarded = (body: () => Promise<void>) => async () => {
    try {
      await body();
    } catch (err) {
      failedWith = err;
      throw err;
    } finally {
      await load?.stop();
    }
  };

  async function ensureUp() {
    if (!cluster!.running) await cluster!.start();
    if (!app || (await Promise.race([app.exited.then(() => true), Bun.sleep(0).then(() => false)]))) {
      app = await startApp(appOptions());
      target.url = app.url;
    }
    await waitReady(30_000);
  }

  async function waitReady(timeoutMs: number): Promise<number> {
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
      try {
        const r = await fetch(`${target.url}/readyz`, { signal: AbortSignal.timeout(1000) });
        if (r.status === 200) return Date.now() - t0;
      } catch {
        // not up
      }
      await Bun.sleep(100);
    }
    throw new Error(`/readyz not 200 within ${timeoutMs} ms`);
  }

  const tokenOf = (clientId: string) => contractors.find((c) => c.clientId === clientId)!.token;

  /**
   * Waits until the server's outbox has no QUEUED item (read from DATA_DIR/outbox.sqlite: polling thousands of
   * receipts over GraphQL would itself be audited traffic competing with the replay), then asks
   * submissionReceipt(id) for every QUEUED receipt: each must say PERSISTED with a permit number.
   */
  async function waitDrained(receipts: Receipt[], timeoutMs: number) {
    const t0 = Date.now();
    const file = new Sqlite(join(dataDir, 'outbox.sqlite'), { readonly: true });
    let depth = -1;
    try {
      const count = file.query<{ n: number }, []>("select count(*) as n from outbox where state = 'QUEUED'");
      while (Date.now() - t0 < timeoutMs) {
        depth = count.get()?.n ?? 0;
        if (depth === 0) break;
        await Bun.sleep(500);
      }
    } finally {
      file.close();
    }
    const drainMs = Date.now() - t0;
    expect({ depthAfterMs: timeoutMs, depth }).toEqual({ depthAfterMs: timeoutMs, depth: 0 });
    const queued = receipts.filter((r) => r.state === 'QUEUED');
    const bad: string[] = [];
    for (let i = 0; i < queued.length; i += 20) {
      await Promise.all(
        queued.slice(i, i + 20).map(async (r) => {
          const a = await gql(target.url, RECEIPT, { id: r.id }, tokenOf(r.clientId));
          const s = a.body?.data?.submissionReceipt as { state: string; permitNumber?: string; reason?: string } | null | undefined;
          if (s?.state !== 'PERSISTED' || !s.permitNumber) bad.push(`${r.key}: ${JSON.stringify(s ?? a.body?.errors ?? a.code)}`);
        }),
      );
    }
    expect(bad).toEqual([]);
    return drainMs;
  }

  /** Every key that got a receipt is in `permits` exactly once. */
  async function expectExactlyOnce(receipts: Receipt[]) {
    const keys = receipts.map((r) => r.key);
    const rows = await sql!<{ idempotency_key: string; n: number }[]>`
      select idempotency_key, count(*)::int as n from permits where idempotency_key = any(${keys}) group by 1`;
    const counts = new Map(rows.map((r) => [r.idempotency_key, r.n]));
    const missing = keys.filter((k) => !counts.has(k));
    const duplicated = rows.filter((r) => r.n !== 1).map((r) => `${r.idempotency_key}×${r.n}`);
    expect({ missing, duplicated }).toEqual({ missing: [], duplicated: [] });
    // submissions that committed although their client got no answer (e.g. cut off by kill -9) are fine
    const [extra] = await sql!<{ n: number }[]>`
      select count(*)::int as n from permits where idempotency_key like ${`fault-${runId}-%`} and not (idempotency_key = any(${keys}))`;
    return { persistedKeys: rows.length, unansweredButPersisted: extra?.n ?? 0 };
  }

  /** Checks made once in the middle of the outage, after the breaker has opened. */
  async function midOutageChecks(known: string) {
    const a = await gql(target.url, STATUS, { n: known }, undefined, 5000);
    expect(a.ms).toBeLessThan(LIMIT_MS);
    expect(a.body?.errors).toBeUndefined();
    const view = a.body?.data?.permitStatus;
    expect(view?.number).toBe(known);
    expect(view?.stale).toBe(true);
    expect(typeof view?.asOf).toBe('string');
    const s = await fetch(`${target.url}/status/${known}`, { signal: AbortSignal.timeout(5000) });
    expect(s.status).toBe(200);
    expect(((await s.json()) as { stale: boolean }).stale).toBe(true);
    const r = await fetch(`${target.url}/readyz`, { signal: AbortSignal.timeout(5000) });
    expect(r.status).toBe(503);
    const body = (await r.json()) as { reason?: string };
    expect(body.reason).toBeTruthy();
  }

  interface OutageReport {
    requests: number;
    duringOutage: number;
    receipts: number;
    queued: number;
    maxLatencyInGraceMs: number;
    maxLatencyAfterGraceMs: number;
    maxLatencyAroundRestartMs: number;
    requestsAroundRestartOver2s: number;
    latencyDuringOutage: ReturnType<typeof latencyStats>;
    staleAnswers: number;
    readyAfterMs: number;
    drainMs: number;
    persistedKeys: number;
    unansweredButPersisted: number;
    restarts: number;
  }

  async function outageUnderLoad(outageS: number, killDuringOutage: boolean): Promise<OutageReport> {
    await ensureUp();
    load = new Load({ target, contractors, gisToken, parcels, permitNumbers, runId: `${runId}${killDuringOutage ? 'k' : 'o'}` });
    load.start();
    await Bun.sleep(WARMUP_MS);
    const known = [...load.readFresh][0] ?? permitNumbers[0]!;
    // make sure at least one permit's status was read fresh before the outage
    const pre = await gql(target.url, STATUS, { n: known }, undefined);
    expect(pre.body?.data?.permitStatus?.stale).toBe(false);

    const tStop = Date.now();
    await cluster!.stop('fast');
    log(`PostgreSQL stopped (${Date.now() - tStop} ms); outage of ${outageS} s`);
    const outageEnd = tStop + outageS * 1000;

    await Bun.sleep(GRACE_MS + 1000);
    await midOutageChecks(known);

    let restarts = 0;
    let restartWindow: [number, number] = [0, 0];
    if (killDuringOutage) {
      // wait until this outage produced QUEUED receipts, then kill -9 and restart on the same DATA_DIR
      const queuedNow = () => [...load!.receipts.values()].filter((r) => r.state === 'QUEUED' && r.at >= tStop).length;
      while (queuedNow() < 20 && Date.now() < outageEnd - 15_000) await Bun.sleep(100);
      const before = queuedNow();
      expect(before).toBeGreaterThan(0);
      const tKill = Date.now();
      await app!.kill9();
      log(`server killed with SIGKILL after ${before} queued receipts in this outage`);
      await Bun.sleep(1000);
      app = await startApp(appOptions());
      target.url = app.url;
      restarts++;
      restartWindow = [tKill, Date.now() + GRACE_MS];
      log(`server restarted during the outage in ${Date.now() - tKill} ms (pid ${app.pid})`);
      const r = await fetch(`${target.url}/readyz`, { signal: AbortSignal.timeout(5000) });
      expect(r.status).toBe(503);
      // the restarted server queues too
      const t1 = Date.now();
      while (![...load.receipts.values()].some((x) => x.state === 'QUEUED' && x.at > t1) && Date.now() < outageEnd - 2000)
        await Bun.sleep(100);
      expect([...load.receipts.values()].some((x) => x.state === 'QUEUED' && x.at > t1)).toBe(true);
    }

    await Bun.sleep(Math.max(0, outageEnd - Date.now()));
    const tStart = Date.now();
    await cluster!.start();
    const tStarted = Date.now();
    log(`PostgreSQL started again (${tStarted - tStart} ms)`);
    const readyAfterMs = await waitReady(READY_WITHIN_MS + 20_000).catch(() => Infinity);
    await Bun.sleep(AFTER_MS);
    await load.stop();

    const all = load.samples;
    const during = all.filter((s) => s.start >= tStop && s.start < tStart);
    const inGrace = during.filter((s) => s.start < tStop + GRACE_MS);
    const inRestart = (s: { start: number }) => s.start >= restartWindow[0] && s.start < restartWindow[1];
    const afterGrace = during.filter((s) => s.start >= tStop + GRACE_MS && !inRestart(s));
    const restarting = during.filter(inRestart);
    const staleAnswers = afterGrace.filter((s) => s.op === 'status' && s.stale === true).length;
    const receipts = [...load.receipts.values()];
    const slow = afterGrace.filter((s) => s.ms >= LIMIT_MS);
    const slowInGrace = inGrace.filter((s) => s.ms >= GRACE_LIMIT_MS);
    const slowRestarting = restarting.filter((s) => s.ms >= RESTART_LIMIT_MS);
    // after a kill -9 only a shared (Redis) cache still knows statuses; an in-memory one starts empty
    const cacheSurvives = restartWindow[0] === restartWindow[1] || Boolean(process.env.TEST_REDIS_URL);
    const knownStatus = afterGrace.filter(
      (s) => s.op === 'status' && s.knownPermit && s.status !== 0 && (cacheSurvives || s.start < restartWindow[0]),
    );

    log(`readyz after restart of PostgreSQL: ${readyAfterMs} ms; ${receipts.filter((r) => r.state === 'QUEUED').length} queued receipts`);
    expect(readyAfterMs).toBeLessThanOrEqual(READY_WITHIN_MS);
    // /readyz said 503 throughout the outage once the breaker had opened (samples while the server was up)
    const readyDuring = load.ready.filter((r) => r.at >= tStop + GRACE_MS && r.at < tStart && r.status !== 0);
    expect(readyDuring.length).toBeGreaterThan(0);
    expect(readyDuring.filter((r) => r.status !== 503)).toEqual([]);
    expect(slow.map((s) => `${s.op} ${Math.round(s.ms)} ms ${s.code ?? s.status}`)).toEqual([]);
    expect(slowInGrace.map((s) => `${s.op} ${Math.round(s.ms)} ms ${s.code ?? s.status}`)).toEqual([]);
    expect(slowRestarting.map((s) => `${s.op} ${Math.round(s.ms)} ms ${s.code ?? s.status}`)).toEqual([]);
    expect(during.filter((s) => s.code === 'TIMEOUT')).toEqual([]);
    // permitStatus of a permit read before: stale:true, never an error (while the server was up)
    expect(knownStatus.filter((s) => s.stale !== true).map((s) => s.code ?? s.status)).toEqual([]);
    expect(staleAnswers).toBeGreaterThan(0);
    expect(receipts.filter((r) => r.state === 'QUEUED').length).toBeGreaterThan(0);

    const drainMs = await waitDrained(receipts, 90_000);
    const once = await expectExactlyOnce(receipts);
    return {
      requests: all.length,
      duringOutage: during.length,
      receipts: receipts.length,
      queued: receipts.filter((r) => r.state === 'QUEUED').length,
      maxLatencyInGraceMs: Math.round(Math.max(0, ...inGrace.map((s) => s.ms))),
      maxLatencyAfterGraceMs: Math.round(Math.max(0, ...afterGrace.map((s) => s.ms))),
      maxLatencyAroundRestartMs: Math.round(Math.max(0, ...restarting.map((s) => s.ms))),
      requestsAroundRestartOver2s: restarting.filter((s) => s.ms >= LIMIT_MS).length,
      latencyDuringOutage: latencyStats(during),
      staleAnswers,
      readyAfterMs,
      drainMs,
      ...once,
      restarts,
    };
  }

  test(
    `1. PostgreSQL down for ${OUTAGE_S} s under load: fast failures, stale status, 503 readyz, every receipt persisted exactly once`,
    guarded(async () => {
      const r = await outageUnderLoad(OUTAGE_S, false);
      log('scenario 1', JSON.stringify(r));
    }),
    (OUTAGE_S + 150) * 1000,
  );

  test(
    `2. kill -9 of the server during a ${KILL_OUTAGE_S} s outage: queued submissions of both processes arrive exactly once`,
    guarded(async () => {
      const r = await outageUnderLoad(KILL_OUTAGE_S, true);
      log('scenario 2', JSON.stringify(r));
    }),
    (KILL_OUTAGE_S + 150) * 1000,
  );

  test('4. the audit chain verifies after the scenarios (when the audit plugin writes audit_entries)', async () => {
    if (!cluster!.running) await cluster!.start();
    const [row] = await sql!<{ n: number }[]>`select count(*)::int as n from audit_entries`;
    if (!row || row.n === 0) {
      // The audit plugin is not wired into the app yet (src/graphql/resolvers/audit.ts answers "not yet"):
      // nothing was appended during the traffic, so there is no chain to verify.
      log('NOTE: audit_entries is empty after the traffic — audit not wired into the app yet; chain verification skipped');
      return;
    }
    const database = await openDatabase({ url: dbUrl });
    try {
      const v = await loadAndVerify(database.db);
      expect({ ok: v.ok, firstBadSeq: v.firstBadSeq, reason: v.reason }).toEqual({ ok: true, firstBadSeq: undefined, reason: undefined });
      expect(v.size).toBeGreaterThanOrEqual(row.n); // the server is still running and appending
      log(`audit chain verified: ${v.size} entries`);
    } finally {
      await database.close();
    }
    // the scenarios leave ~25,000 entries: re-hashing them takes longer than Bun's 5 s default on a busy machine
  }, 120_000);
});
