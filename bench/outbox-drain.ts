/**
 * `bun bench/outbox-drain.ts [--items 5000] [--rounds 1]`: how fast the outbox drains after an outage (issue 26:
 * at least 2,000 queued submissions replayed per second). Seeds a fresh PostgreSQL database through the app, fills
 * the app's outbox (DATA_DIR/outbox.sqlite) with `--items` submissions of a demo contractor while the app is
 * stopped, as an outage would have left it, then starts the app, which drains it at once, and times the first to
 * the last permit appearing in the database (start-up excluded). Each round refills and restarts.
 * Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres; `bench_<ts>` is created next to it).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openOutbox } from '../src/resilience/outbox.ts';
import { createBenchDatabase, openReader } from './lib/database.ts';
import { freePort, startApp } from './lib/processes.ts';

const { values: opts } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    items: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '1' },
    'keep-db': { type: 'boolean', default: false },
  },
});
const ITEMS = Number(opts.items);
const ROUNDS = Number(opts.rounds);
const BASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const log = (msg: string) => console.error(`[outbox-drain] ${msg}`);

const db = await createBenchDatabase(BASE_URL);
const work = mkdtempSync(join(tmpdir(), 'pg-drain-'));
const dataDir = join(work, 'data');
const logDir = join(work, 'logs');
mkdirSync(logDir, { recursive: true });
const sql = openReader(db.url);
const results: { items: number; seconds: number; perSecond: number }[] = [];
try {
  log(`seeding ${db.name}`);
  const seed = await startApp({
    name: 'seed',
    port: freePort(),
    databaseUrl: db.url,
    dataDir,
    logDir,
    env: { SEED: 'full', RATE_LIMIT_SCALE: '0' },
  });
  await seed.stop();
  const clients = JSON.parse(readFileSync(join(dataDir, 'demo-clients.json'), 'utf8')) as { client_id: string; contractor?: string }[];
  const who = clients.find((c) => c.client_id === 'demo-contractor-a')!;
  const parcels = (await sql`select id from parcels where jurisdiction_id = 'demo-city' order by random() limit 200`).map(
    (r) => r.id as string,
  );

  for (let round = 1; round <= ROUNDS; round++) {
    const prefix = `drain-${process.pid}-${round}-`;
    const outbox = openOutbox({ dir: dataDir });
    for (let i = 0; i < ITEMS; i++) {
      outbox.enqueue({
        kind: 'submitPermit',
        idempotencyKey: `${prefix}${i}`,
        input: {
          parcelId: parcels[i % parcels.length],
          permitType: 'ELECTRICAL',
          workClass: 'ALTERATION',
          description: 'Queued during an outage: panel replacement',
          valuation: 12500,
          applicant: { name: 'Bench Applicant', email: 'bench@example.com', phone: '+14155550100' },
        },
        principal: { clientId: who.client_id, jurisdiction: 'demo-city', contractor: who.contractor ?? null },
        audit: { kind: 'graphql', clientId: who.client_id, operation: { type: 'mutation', name: 'submitPermit' } },
      });
    }
    outbox.close();
    const count = async () =>
      Number(
        (
          await sql`select count(*)::int as n from permits where submitted_by = ${who.client_id} and idempotency_key like ${`${prefix}%`}`
        )[0]!.n,
      );
    const app = await startApp({
      name: `drain-${round}`,
      port: freePort(),
      databaseUrl: db.url,
      dataDir,
      logDir,
      env: { RATE_LIMIT_SCALE: '100000' },
    });
    let first = 0;
    let n = 0;
    const deadline = performance.now() + 600_000;
    // from the first replayed permit: the app's start-up is not the drain
    for (;;) {
      n = await count();
      if (n > 0 && !first) first = performance.now();
      if (n >= ITEMS || performance.now() > deadline) break;
      await Bun.sleep(20);
    }
    const seconds = (performance.now() - first) / 1000;
    await app.stop();
    results.push({ items: n, seconds: Math.round(seconds * 100) / 100, perSecond: Math.round(n / seconds) });
    log(`round ${round}: ${n} submissions replayed in ${seconds.toFixed(2)} s: ${Math.round(n / seconds)}/s`);
  }
} finally {
  await sql.end();
  if (!opts['keep-db']) await db.drop();
  rmSync(work, { recursive: true, force: true });
}
console.log(JSON.stringify({ items: ITEMS, rounds: results }));
