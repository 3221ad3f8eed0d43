/**
 * Issue 26's recovery figure: how fast the outbox drains after an outage, in queued submissions replayed per
 * second. The app (the `full` variant) runs on a throwaway PostgreSQL cluster of its own (test/faults/pg-cluster.ts:
 * stopping it never touches the shared server the other runs use); the harness stops that cluster, submits until
 * `count` submissions are answered QUEUED (each one durable in the outbox, src/resilience/outbox.ts), starts the
 * cluster again and reads the outbox's depth every 50 ms until it is empty: from its SQLite file, read-only (as
 * test/faults/degraded-mode.test.ts does; scraping `/metrics`, whose `outbox_depth` says the same, 20 times a second
 * would add an audit-chain query per scrape to the database being replayed into), or from `/metrics` if the file
 * cannot be read.
 *
 * The rate is the queued count over the time from the last reading at full depth to the first at zero: the
 * breaker's wait before it probes the restarted database (up to its backoff, src/resilience/breaker.ts) is
 * reported apart (`replay_started_after_s`), not counted. Afterwards every queued key must be in `permits`
 * exactly once.
 */
import { Database } from 'bun:sqlite';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { createPgCluster, type PgCluster } from '../../test/faults/pg-cluster.ts';
import { tokensFor } from './client.ts';
import { freePort, startApp, type ChildServer } from './processes.ts';
import { SUBMIT_MUTATION, submitInput } from './scenarios.ts';

export interface OutboxDrain {
  /** submissions answered QUEUED during the outage (the outbox's depth when the database came back) */
  queued: number;
  /** of those, replayed when the outbox emptied or the time limit (5 minutes) ran out */
  replayed: number;
  /** seconds from the last reading at full depth to the first at zero */
  drain_s: number;
  /** queued / drain_s */
  replayed_per_s: number;
  /** from the database accepting connections again to the first replayed item */
  replay_started_after_s: number;
  /** how the outage was filled: seconds, and answers other than QUEUED (the first ones, before the breaker opened) */
  fill: { seconds: number; queued_per_s: number; other_answers: number; first_other?: string };
  /** queued keys found in `permits` (must equal `queued`), and keys found more than once */
  persisted_rows: number;
  duplicated_keys: number;
  /** false: the outbox did not empty within the time limit (the rate is then the part replayed so far) */
  complete: boolean;
  seed: string;
}

type Log = (msg: string) => void;

/** The `outbox_depth` gauge from the app's /metrics (loopback may scrape without a token); null if absent. */
async function metricsDepth(app: ChildServer): Promise<number | null> {
  const text = await (await fetch(`${app.url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const m = /^(?:\w+_)?outbox_depth(?:\{[^}]*\})? (\d+(?:\.\d+)?)$/m.exec(text);
  return m ? Number(m[1]) : null;
}

/** Reads the app's outbox depth: QUEUED rows of DATA_DIR/outbox.sqlite, else the /metrics gauge. */
function depthReader(app: ChildServer, dataDir: string) {
  let file: Database | null = null;
  try {
    file = new Database(join(dataDir, 'outbox.sqlite'), { readonly: true });
    file.query("select count(*) as n from outbox where state = 'QUEUED'").get();
  } catch {
    file?.close();
    file = null;
  }
  const count = file?.query<{ n: number }, []>("select count(*) as n from outbox where state = 'QUEUED'");
  return {
    read: async () => (count ? (count.get()?.n ?? 0) : metricsDepth(app)),
    close: () => file?.close(),
  };
}

export async function measureOutboxDrain(o: { work: string; logDir: string; count: number; log: Log }): Promise<OutboxDrain> {
  const seed = 'small';
  let cluster: PgCluster | null = null;
  let app: ChildServer | null = null;
  const dataDir = join(o.work, 'data-drain');
  mkdirSync(dataDir, { recursive: true });
  try {
    cluster = await createPgCluster();
    await cluster.start();
    const admin = postgres(cluster.url(), { max: 1, onnotice: () => {} });
    await admin.unsafe('create database drain');
    await admin.end();
    const dbUrl = cluster.url('drain');
    o.log(`outbox drain: throwaway cluster on :${cluster.port}, seeding (SEED=${seed})`);
    app = await startApp({
      name: 'drain',
      port: freePort(),
      databaseUrl: dbUrl,
      dataDir,
      logDir: o.logDir,
      env: { SEED: seed, RATE_LIMIT_SCALE: '100000' },
    });
    const { 'demo-contractor-a': token } = await tokensFor(app.url, dataDir, ['demo-contractor-a']);
    const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
    const parcels = (await sql`select id from parcels where jurisdiction_id = 'demo-city' order by random() limit 200`).map(
      (r) => r.id as string,
    );
    await sql.end();
    const prefix = `drain-${process.pid}-${Date.now().toString(36)}`;
    let n = 0;
    const submit = async (key: string) => {
      const res = await fetch(`${app!.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: SUBMIT_MUTATION, variables: { i: submitInput(parcels[n++ % parcels.length]!), k: key } }),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      return { state: /"state":"(\w+)"/.exec(text)?.[1] ?? null, text: `${res.status} ${text.slice(0, 200)}` };
    };
    // warm the submission path as the matrix does, so the replay runs on a warmed-up process and pool
    await Promise.all(
      Array.from({ length: 16 }, (_, w) =>
        (async () => {
          for (let i = 0; i < 25; i++) await submit(`${prefix}-warm-${w}-${i}`);
        })(),
      ),
    );

    // the outage: submissions from 64 concurrent clients until `count` are QUEUED
    await cluster.stop('fast');
    o.log(`outbox drain: PostgreSQL stopped; queueing ${o.count} submissions`);
    const fillStart = performance.now();
    let queued = 0;
    let issued = 0;
    let other = 0;
    let firstOther: string | undefined;
    const keys: string[] = [];
    const deadline = Date.now() + 300_000;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (issued - other < o.count && Date.now() < deadline) {
          const key = `${prefix}-${issued++}`;
          const r = await submit(key).catch((e: Error) => ({ state: null, text: e.message }));
          if (r.state === 'QUEUED') {
            queued++;
            keys.push(key);
          } else {
            other++;
            firstOther ??= r.text;
          }
        }
      }),
    );
    const fillS = (performance.now() - fillStart) / 1000;
    const outbox = depthReader(app, dataDir);
    const depth = (await outbox.read()) ?? queued;
    o.log(`outbox drain: ${queued} QUEUED in ${fillS.toFixed(1)} s (${other} other answers), outbox depth ${depth}`);

    await cluster.start();
    const restarted = performance.now();
    o.log('outbox drain: PostgreSQL started again; waiting for the outbox to empty');
    let lastFull = restarted;
    let firstBelow: number | null = null;
    let emptyAt: number | null = null;
    let left = depth;
    const limit = restarted + 300_000;
    while (performance.now() < limit) {
      const now = performance.now();
      left = (await outbox.read().catch(() => null)) ?? left;
      if (left >= depth) lastFull = now;
      else firstBelow ??= now;
      if (left === 0) {
        emptyAt = now;
        break;
      }
      await Bun.sleep(50);
    }
    outbox.close();
    const end = emptyAt ?? performance.now();
    const drainS = Math.max(0.001, (end - lastFull) / 1000);
    const replayed = depth - left;

    const check = postgres(dbUrl, { max: 1, onnotice: () => {} });
    const rows = await check<{ n: number }[]>`
      select count(*)::int as n from permits where idempotency_key = any(${keys}) group by idempotency_key`;
    await check.end();
    const result: OutboxDrain = {
      queued: depth,
      replayed,
      drain_s: Math.round(drainS * 100) / 100,
      replayed_per_s: Math.round(replayed / drainS),
      replay_started_after_s: Math.round(((firstBelow ?? end) - restarted) / 10) / 100,
      fill: {
        seconds: Math.round(fillS * 10) / 10,
        queued_per_s: Math.round(queued / fillS),
        other_answers: other,
        ...(firstOther ? { first_other: firstOther } : {}),
      },
      persisted_rows: rows.length,
      duplicated_keys: rows.filter((r) => r.n > 1).length,
      complete: emptyAt !== null,
      seed,
    };
    o.log(
      `outbox drain: ${replayed} of ${depth} replayed in ${result.drain_s} s = ${result.replayed_per_s}/s (replay began ${result.replay_started_after_s} s after the restart); ${result.persisted_rows} keys in permits, ${result.duplicated_keys} duplicated`,
    );
    return result;
  } finally {
    await app?.stop();
    await cluster?.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
