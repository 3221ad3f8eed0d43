/**
 * `bun run bench` — the benchmark suite (issues 7, 21, 25, 26).
 *
 *   bun run bench                      the matrix: 6 scenarios × (bare | security-off | full | no-audit) × 16/64
 *                                      connections, ratios, RSS leak check, and issue 26's table: the peer and the
 *                                      yoga floor in adjacent pairs with full, the outbox drain after an outage
 *                                      → bench/results/latest.json (+ latest.details.json)
 *   bun run bench -- --quick           only issue 26's table (permit, permitStatus, submitPermit at 64 connections
 *                                      in rounds with the peer, the floor and the other variants, then the drain;
 *                                      no bare, no paced runs): about 6 minutes on an idle machine with 5 s runs
 *   bun run bench -- --events          change notifications: webhook latency at 100 changes/s, memory of 1,000 SSE
 *                                      subscriptions → bench/results/events.json (bench/lib/events.ts)
 *   bun run bench -- --tracing         also OpenTelemetry at 10 % sampling (spans to a local OTLP sink) against
 *                                      tracing off: `permit` at the highest connection count, 21 adjacent pairs
 *                                      of 2 s runs (--tracing-pairs N, --tracing-seconds S)
 *   bun run bench -- --instances 3     scale-out: one vs three app processes on one PostgreSQL + Redis, audit
 *                                      chain verified afterwards, shared rate limit probed → bench/results/instances.json
 *
 * Options: --seconds 5 (each measured run) --warmup 1 --connections 16,64 (--quick: 64) --threads 2 (wrk's)
 *   --only permit,geojson,drain        scenarios to run (permitStatus permit geojson ogcItems ogcNotModified
 *                                      submitPermit) and `drain` for the outbox drain; --quick is
 *                                      --only permit,permitStatus,submitPermit,drain --connections 64
 *   --peer DIR                         the peer to copy and install (default: shared/peer next to this checkout,
 *                                      or PEER_DIR); --peer none leaves it out (its measures print n/a)
 *   --drain-count 10000                submissions queued during the outage
 *   --keep-db                          keep the benchmark's database (the peer's is dropped)
 * Environment: DATABASE_URL (a database on the server to create `bench_<ts>` and the peer's `bench_<ts>_peer` next
 * to; default postgres://postgres@127.0.0.1:5432/postgres), REDIS_URL (scale-out; default redis://127.0.0.1:6379),
 * AUDIT_APPENDER (passed on to the app processes: `inline` compares the audit group commit on the serving thread),
 * BENCH_OGC_PAGE_CACHE (passed on: `0` turns the OGC page cache off, so `ogcItems` measures first-time pages),
 * BENCH_OGC_FEATURE_CACHE (passed on: `0` builds every feature anew, the one-statement page),
 * PEER_DIR. The peer needs node and npm (npm ci reaches the registry, or its cache); the drain needs PostgreSQL's
 * server binaries (PG_BIN, default /usr/lib/postgresql/15/bin) and the `postgres` user, as test/faults does.
 *
 * Everything under test runs in child processes (the app: `bun run bench/server.ts`, one process per variant and
 * phase, side by side; the bare baseline: `bun -e` Bun.serve; the yoga floor; the peer: `node server.mjs`), the
 * load comes from wrk in another process over loopback. Each measured run also reports CPU per request by where it
 * was spent (serving thread, worker threads, JIT/GC threads, PostgreSQL; bench/lib/cpu.ts), the steadier figure on
 * a noisy machine. Issue 26's ratios are medians of three adjacent pairs (bench/lib/targets.ts): this machine's
 * speed drifts within minutes, so only runs made back to back compare.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fetchToken, graphql, tokensFor } from './lib/client.ts';
import { createBenchDatabase, createSettler, openReader, type BenchDatabase } from './lib/database.ts';
import { freePort, readRss, REPO, rssAfterGc, startApp, startBare, startYogaFloor, type ChildServer } from './lib/processes.ts';
import {
  ACTS_AS,
  identityHeaders,
  OGC_PAGE,
  OGC_PAGE_FEATURES,
  PERMIT_QUERY,
  PERMIT_STATUS_QUERY,
  requestSpec,
  type BBox,
  type BenchInputs,
  type ScenarioName,
  type Variant,
} from './lib/scenarios.ts';
import { combine, runWrk, writeScript, type LoadResult } from './lib/wrk.ts';
import {
  cpuPerRequest,
  cpuPerRequestOfMany,
  cpuSnapshot,
  describeCpu,
  machineBusyPercent,
  machineTicks,
  type CpuPerRequest,
} from './lib/cpu.ts';
import { acceptance, printAcceptance, printMatrix, type Row } from './lib/report.ts';
import { runEvents } from './lib/events.ts';
import {
  installPeer,
  PEER_SCENARIOS,
  peerRequestSpec,
  peerUnavailable,
  removePeer,
  startPeer,
  type Peer,
  type PeerInstall,
} from './lib/peer.ts';
import { measureOutboxDrain, type OutboxDrain } from './lib/outbox-drain.ts';
import { issue26Measures, printIssue26, type Pairs } from './lib/targets.ts';

const { values: opts } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    instances: { type: 'string' },
    events: { type: 'boolean', default: false },
    subscribers: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string' },
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    peer: { type: 'string' },
    'drain-count': { type: 'string', default: '10000' },
    threads: { type: 'string', default: '2' },
    'keep-db': { type: 'boolean', default: false },
    tracing: { type: 'boolean', default: false },
    'tracing-pairs': { type: 'string', default: '21' },
    'tracing-seconds': { type: 'string', default: '2' },
  },
});
const SECONDS = Number(opts.seconds);
const WARMUP = Number(opts.warmup);
const QUICK = opts.quick;
const CONNECTIONS = (opts.connections ?? (QUICK ? '64' : '16,64')).split(',').map(Number);
const THREADS = Number(opts.threads);
const ONLY = opts.only ? new Set(opts.only.split(',')) : QUICK ? new Set(['permit', 'permitStatus', 'submitPermit', 'drain']) : null;
const PEER_DIR = opts.peer === 'none' ? null : (opts.peer ?? process.env.PEER_DIR ?? join(REPO, '..', 'shared', 'peer'));
const DRAIN_COUNT = Number(opts['drain-count']);
/**
 * --tracing: adjacent traced/off pairs, each run this short: one pair swings by ±15 % with the machine, and many short
 * pairs follow its drift closer than a few long ones (in a trial of 25 pairs of 2 s: traced / off 0.87-1.17, median 0.97)
 */
const TRACING_PAIRS = Math.max(1, Number(opts['tracing-pairs']) || 21);
const TRACING_SECONDS = Math.max(1, Number(opts['tracing-seconds']) || 2);
/**
 * The databases whose PostgreSQL backends count in CPU per request (the benchmark's and the peer's): on a shared
 * server the other databases' work would otherwise land in every run's figure.
 */
const PG_DATABASES: string[] = [];
/** Settles the benchmark's database before each measured run (bench/lib/database.ts `createSettler`). */
let settleDatabase: () => Promise<void> = async () => {};
const INSTANCES = opts.instances ? Number(opts.instances) : 0;
const BASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/**
 * High enough not to throttle the benchmark, but the limiter stays on: all load comes from one address, and the
 * anonymous budget (5/s, burst 20) × 1000 ran out once the full app served permitStatus at ~8,000 rps.
 */
const RATE_LIMIT_SCALE = '100000';
const RESULTS = join(import.meta.dir, 'results');

const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)}s`;
const log = (msg: string) => console.error(`[bench ${elapsed()}] ${msg}`);
let runCounter = 0;
const runTag = (what: string) => `bench-${process.pid}-${Date.now().toString(36)}-${++runCounter}-${what}`;

async function machineInfo(dbUrl: string) {
  const sql = openReader(dbUrl);
  const [{ version }] = (await sql`select version()`) as unknown as [{ version: string }];
  await sql.end();
  const wrk = Bun.spawnSync(['wrk', '--version']);
  return {
    cpus: cpus().length,
    cpu_model: cpus()[0]?.model ?? 'unknown',
    memory_mb: Math.round(totalmem() / 2 ** 20),
    kernel: release(),
    bun: Bun.version,
    postgres: version.split(',')[0],
    load_generator: new TextDecoder().decode(wrk.stdout).split('\n')[0]?.split(' Copyright')[0]?.trim() ?? 'wrk',
    wrk_threads: THREADS,
    seconds_per_run: SECONDS,
    warmup_seconds: WARMUP,
    loadavg_at_start: loadavg().map((x) => Math.round(x * 100) / 100),
    started_at: new Date().toISOString(),
  };
}

/** Inputs from the seeded database: permit numbers, a ~500-feature box, parcels outside that box. */
async function prepareInputs(app: ChildServer, dataDir: string, dbUrl: string): Promise<BenchInputs> {
  const sql = openReader(dbUrl);
  try {
    const numbers = (await sql`select permit_num from permits where jurisdiction_id = 'demo-city' order by random() limit 1000`).map(
      (r) => r.permit_num as string,
    );
    const [grid] = await sql`select min(longitude) as x0, max(longitude) as x1, min(latitude) as y0, max(latitude) as y1
      from parcels where jurisdiction_id = 'demo-city'`;
    const cx = (Number(grid!.x0) + Number(grid!.x1)) / 2;
    const cy = (Number(grid!.y0) + Number(grid!.y1)) / 2;
    const { 'demo-gis': gis } = await tokensFor(app.url, dataDir, ['demo-gis']);
    const count = async (b: BBox) =>
      (
        await graphql<{ permitsGeoJSON: { features: unknown[] } }>(app.url, gis!, 'query($b: BBoxInput!) { permitsGeoJSON(bbox: $b) }', {
          b,
        })
      ).permitsGeoJSON.features.length;
    const box = (h: number): BBox => ({ minLon: cx - h, minLat: cy - h, maxLon: cx + h, maxLat: cy + h });
    // binary search on the half side of a square around the grid's centre
    let lo = 0.001;
    let hi = Math.max(Number(grid!.x1) - cx, Number(grid!.y1) - cy);
    let best = { h: hi, n: await count(box(hi)) };
    for (let i = 0; i < 14 && Math.abs(best.n - 500) > 10; i++) {
      const mid = (lo + hi) / 2;
      const n = await count(box(mid));
      if (Math.abs(n - 500) < Math.abs(best.n - 500)) best = { h: mid, n };
      if (n < 500) lo = mid;
      else hi = mid;
    }
    const bbox = box(best.h);
    const margin = 0.002;
    const parcels = (
      await sql`select id from parcels where jurisdiction_id = 'demo-city'
        and (longitude < ${bbox.minLon - margin} or longitude > ${bbox.maxLon + margin}
          or latitude < ${bbox.minLat - margin} or latitude > ${bbox.maxLat + margin})
        order by random() limit 200`
    ).map((r) => r.id as string);
    // the GIS vendor must really see these permits (else `permit` would measure nulls)
    for (const n of numbers.slice(0, 5)) {
      const d = await graphql<{ permit: { number: string } | null }>(
        app.url,
        gis!,
        'query($n: String!) { permit(number: $n) { number } }',
        { n },
      );
      if (!d.permit) throw new Error(`demo-gis cannot read permit ${n}`);
    }
    return { permitNumbers: numbers, submitParcels: parcels, bbox, bboxFeatures: best.n };
  } finally {
    await sql.end();
  }
}

/** Who answered a run: an app variant, the peer (bench/lib/peer.ts) or the yoga floor (bench/lib/yoga-floor.ts). */
type RunVariant = Variant | 'peer' | 'floor';

interface Measured extends LoadResult {
  name: ScenarioName;
  variant: RunVariant;
  connections: number;
  /** CPU per request by where it was spent (bench/lib/cpu.ts), in latest.details.json */
  cpu_per_request?: CpuPerRequest;
}

async function measure(
  server: ChildServer,
  variant: Variant,
  name: ScenarioName,
  connections: number,
  inputs: BenchInputs,
  tokens: Record<string, string>,
  warmup = WARMUP,
): Promise<Measured> {
  const identity = identityHeaders(variant, ACTS_AS[name], tokens);
  // a conditional GET names the ETag this server gave the same page for the same identity
  const conditional: Record<string, string> =
    name === 'ogcNotModified' && variant !== 'bare' ? { 'if-none-match': await ogcETag(server, identity) } : {};
  const spec = requestSpec(name, inputs, { ...identity, ...conditional }, variant);
  const url = variant === 'bare' ? server.url : `${server.url}${spec.path ?? '/graphql'}`;
  const { r, cpu } = await timedRun(server, url, writeScript(`${variant}-${name}`, spec), connections, warmup, name, variant);
  return { ...r, name, variant, connections, ...(cpu ? { cpu_per_request: cpu } : {}) };
}

async function ogcETag(server: ChildServer, headers: Record<string, string>): Promise<string> {
  const r = await fetch(`${server.url}${OGC_PAGE}`, { headers });
  const etag = r.headers.get('etag');
  await r.arrayBuffer();
  if (r.status !== 200 || !etag) throw new Error(`${OGC_PAGE}: ${r.status}, no ETag`);
  return etag;
}

/**
 * One measured wrk run against `server` (after `warmup` seconds of the same load, unmeasured) with its CPU per
 * request, logged as `<name> <label> c=…`.
 */
async function timedRun(
  server: ChildServer,
  url: string,
  script: string,
  connections: number,
  warmup: number,
  name: string,
  label: string,
  seconds = SECONDS,
) {
  if (warmup > 0) await runWrk({ url, script, connections, seconds: warmup, threads: THREADS, tag: runTag('w') });
  await settleDatabase();
  const before = cpuSnapshot(server.pid, PG_DATABASES);
  const r = await runWrk({ url, script, connections, seconds, threads: THREADS, tag: runTag('m') });
  const cpu = cpuPerRequest(before, cpuSnapshot(server.pid, PG_DATABASES), r.requests);
  log(
    `${name.padEnd(12)} ${label.padEnd(12)} c=${String(connections).padStart(2)}  ${r.rps.toFixed(0).padStart(6)} rps  p50 ${r.p50} p95 ${r.p95} p99 ${r.p99} ms  errors ${r.errors}` +
      describeCpu(cpu),
  );
  if (r.errors) log(`  first error: ${r.sampleError ?? `${r.socketErrors} socket errors`}`);
  return { r, cpu };
}

/**
 * One participant of a round of adjacent runs: who answers, the wrk script, and how long it is warmed up (once,
 * before the first round, so that the rounds' runs follow each other without pauses).
 */
interface Step {
  variant: RunVariant;
  /** How its runs are named in the log. @default the variant ('yoga floor' for the floor) */
  label?: string;
  server: ChildServer;
  url: string;
  script: string;
  warmupS: number;
  /** Length of each measured run. @default --seconds */
  seconds?: number;
}

/** The app variant's step for `name` (the scenarios of the rounds need no conditional headers). */
function appStep(
  server: ChildServer,
  variant: Variant,
  name: ScenarioName,
  inputs: BenchInputs,
  tokens: Record<string, string>,
  warmupS = WARMUP,
): Step {
  const spec = requestSpec(name, inputs, identityHeaders(variant, ACTS_AS[name], tokens), variant);
  return { variant, server, url: `${server.url}${spec.path ?? '/graphql'}`, script: writeScript(`${variant}-${name}`, spec), warmupS };
}

/** The yoga floor's step: the same request bodies as the app's scenario, no identity (the floor checks none). */
function floorStep(server: ChildServer, name: ScenarioName, inputs: BenchInputs): Step {
  const script = writeScript(`floor-${name}`, requestSpec(name, inputs, {}));
  return { variant: 'floor', server, url: `${server.url}/graphql`, script, warmupS: Math.max(WARMUP, 2) };
}

/** The peer's step: the app's request (bench/lib/peer.ts), a token minted now; warmed up as long as the app's permit. */
function peerStep(peer: Peer, name: ScenarioName): Step {
  const spec = peerRequestSpec(name, peer);
  return {
    variant: 'peer',
    server: peer.server,
    url: `${peer.server.url}/`,
    script: writeScript(`peer-${name}`, spec),
    warmupS: Math.max(WARMUP, 2 * SECONDS),
  };
}

async function runStep(step: Step, name: ScenarioName, connections: number): Promise<Measured> {
  const label = step.label ?? (step.variant === 'floor' ? 'yoga floor' : step.variant);
  const { r, cpu } = await timedRun(step.server, step.url, step.script, connections, 0, name, label, step.seconds);
  return { ...r, name, variant: step.variant, connections, ...(cpu ? { cpu_per_request: cpu } : {}) };
}

const ROUNDS = 3;

/**
 * Issue 26's adjacent pairs: `ROUNDS` rounds of `steps` measured back to back at `connections` (`first` only before
 * the first round), every step warmed up once before. Each run that is not `full` pairs with the `full` run right
 * after it, else right before it (under `<name>/<variant>` in `pairs`); `after` is called after each run.
 */
async function runRounds(
  name: ScenarioName,
  connections: number,
  steps: Step[],
  pairs: Pairs & Record<string, { partner: Measured; full: Measured }[]>,
  o: { first?: Step[]; after?: (run: Measured, round: number) => Promise<void> } = {},
): Promise<Measured[]> {
  for (const s of new Set([...(o.first ?? []), ...steps]))
    if (s.warmupS > 0) await runWrk({ url: s.url, script: s.script, connections, seconds: s.warmupS, threads: THREADS, tag: runTag('w') });
  const all: Measured[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const runs: Measured[] = [];
    for (const s of i === 0 ? [...(o.first ?? []), ...steps] : steps) {
      const run = await runStep(s, name, connections);
      runs.push(run);
      await o.after?.(run, i);
    }
    runs.forEach((r, j) => {
      if (r.variant === 'full') return;
      const full = runs[j + 1]?.variant === 'full' ? runs[j + 1] : runs[j - 1]?.variant === 'full' ? runs[j - 1] : undefined;
      if (full) (pairs[`${name}/${r.variant}`] ??= []).push({ partner: r, full });
    });
    all.push(...runs);
  }
  return all;
}

/** The run of each variant with the median throughput: the rows of latest.json at the rounds' connection count. */
function medianRows(runs: Measured[]): Measured[] {
  const variants = [...new Set(runs.map((r) => r.variant))];
  return variants.map((v) =>
    medianBy(
      runs.filter((r) => r.variant === v),
      (r) => r.rps,
    ),
  );
}

/** A run against the stack's floor as `floor` in latest.details.json and issue 7's point 2 quote it. */
interface FloorRun extends Omit<Row, 'variant'> {
  name: ScenarioName;
  cpu_per_request?: CpuPerRequest;
}

const floorRun = (m: Measured): FloorRun => ({
  name: m.name,
  connections: m.connections,
  rps: Math.round(m.rps),
  p50_ms: m.p50,
  p95_ms: m.p95,
  p99_ms: m.p99,
  errors: m.errors,
  ...(m.cpu_per_request ? { cpu_per_request: m.cpu_per_request } : {}),
});

/**
 * What the floor answers: the app's own answers to the scenarios' queries, for the permit of median response size
 * among the first 21 of the benchmark's permit numbers (its inspections vary in number).
 */
async function writeFloorSample(app: ChildServer, dataDir: string, inputs: BenchInputs, file: string): Promise<string> {
  const { 'demo-gis': gis } = await tokensFor(app.url, dataDir, ['demo-gis']);
  const permits: unknown[] = [];
  for (const n of inputs.permitNumbers.slice(0, 21))
    permits.push((await graphql<{ permit: unknown }>(app.url, gis!, PERMIT_QUERY, { n })).permit);
  permits.sort((a, b) => JSON.stringify(a).length - JSON.stringify(b).length);
  const permit = permits[Math.floor(permits.length / 2)];
  const { permitStatus } = await graphql<{ permitStatus: unknown }>(app.url, null, PERMIT_STATUS_QUERY, { n: inputs.permitNumbers[0] });
  writeFileSync(file, JSON.stringify({ permitStatus, permit }));
  return file;
}

const wanted = (s: ScenarioName | 'drain') => !ONLY || ONLY.has(s);

/** The item whose `f` is the median (the upper middle one of an even count). */
const medianBy = <T>(items: readonly T[], f: (item: T) => number): T =>
  [...items].sort((a, b) => f(a) - f(b))[Math.floor(items.length / 2)]!;
/** permit first: the RSS leak check runs on it right after the warm-up */
const ORDER: ScenarioName[] = ['permit', 'permitStatus', 'geojson', 'ogcItems', 'ogcNotModified', 'submitPermit'];

/** The peer: its installation under way, once installed, once started (removed by main, also after a failure or Ctrl-C). */
let peerPending: Promise<PeerInstall | null> | null = null;
let peerInstall: PeerInstall | null = null;
let peerRunning: Peer | null = null;

/** Stops and removes the peer, its database and its copy (after its installation, if under way, ends). */
async function cleanUpPeer() {
  await peerPending?.catch(() => null);
  const p = peerRunning ?? peerInstall;
  peerRunning = peerInstall = null;
  if (p) await removePeer(p).catch((e) => log(`could not remove the peer: ${(e as Error).message}`));
}

/** Copies, installs and seeds the peer while the app seeds; null (and why, logged) when it cannot run here. */
async function preparePeer(logDir: string): Promise<PeerInstall | null> {
  if (!PEER_DIR || !PEER_SCENARIOS.some(wanted)) return null;
  const why = peerUnavailable(PEER_DIR);
  if (why) {
    log(`peer skipped: ${why}`);
    return null;
  }
  try {
    peerInstall = await installPeer({ source: PEER_DIR, baseUrl: BASE_URL, logDir, log });
    PG_DATABASES.push(peerInstall.db.name);
    return peerInstall;
  } catch (err) {
    log(`peer skipped: ${(err as Error).message}`);
    return null;
  }
}

async function runMatrix(db: BenchDatabase, work: string, machine: Record<string, unknown>) {
  const dataDir = join(work, 'data');
  const logDir = join(work, 'logs');
  const appEnv = { RATE_LIMIT_SCALE };
  const rows: Measured[] = [];
  const peaks: Record<string, { peak_rss_mb: number; hwm_mb: number }> = {};
  const track = async (s: ChildServer, variant: string) => {
    const r = readRss(s.pid);
    peaks[variant] = { peak_rss_mb: Math.round(Math.max(s.rss.peak, r?.rss ?? 0)), hwm_mb: Math.round(r?.hwm ?? 0) };
    await s.stop();
  };

  const peerReady = (peerPending = preparePeer(logDir));
  const seed = await startSeedingApp(db, dataDir, logDir);
  const inputs = await prepareInputs(seed, dataDir, db.url);
  const floorSample = await writeFloorSample(seed, dataDir, inputs, join(work, 'floor-sample.json'));
  await seed.stop();
  log(`inputs: ${inputs.permitNumbers.length} permit numbers, bbox with ${inputs.bboxFeatures} features ${JSON.stringify(inputs.bbox)}`);
  const installed = await peerReady;
  const peer = installed ? (peerRunning = await startPeer(installed, logDir)) : null;
  const cMax = Math.max(...CONNECTIONS);

  // (a) bare
  if (!QUICK) {
    const bare = await startBare(freePort(), logDir);
    for (const name of ORDER.filter(wanted)) for (const c of CONNECTIONS) rows.push(await measure(bare, 'bare', name, c, inputs, {}));
    await track(bare, 'bare');
  }

  /** issue 26's adjacent pairs at cMax, by `<scenario>/<partner>` */
  const pairs: Record<string, { partner: Measured; full: Measured }[]> = {};
  /** every full run at cMax by scenario (p99/p50) */
  const fullRuns: Record<string, Measured[]> = {};
  const keepFull = (runs: Measured[]) => {
    for (const r of runs) if (r.variant === 'full') (fullRuns[r.name] ??= []).push(r);
  };
  /** every floor run (latest.details.json `floor`) */
  const floorRuns: Measured[] = [];

  // Reads first for every variant, then the writes: submissions grow `permits`, which must not slow the reads
  // of a later variant (restarting a variant between the two phases costs a few seconds).
  const READS = ORDER.filter((n) => n !== 'submitPermit' && wanted(n));
  const envOf = (v: Variant) => (v === 'security-off' || v === 'no-audit' ? { ...appEnv, BENCH_VARIANT: v } : appEnv);

  // (b) security off and (c) full: reads. Both processes run side by side (the one not measured is idle) and each
  // scenario is measured on (b) and then at once on (c), so the ratio c/b compares runs minutes apart no more
  // (the machine drifts by ±10 % over a run). The RSS leak check runs on `permit` at the highest connection count.
  // permit and permitStatus at cMax: rounds of adjacent runs with the yoga floor (graphql-yoga alone, the app's
  // schema, fixed answers: bench/lib/yoga-floor.ts) and the peer running beside them too.
  const rss = { warm: 0, after: 0, runs: [] as number[], raw: { warm: 0, runs: [] as number[] }, heapMb: [] as (number | null)[] };
  // the leak check compares RSS after a full collection (rssAfterGc); `raw` keeps RSS as found, before it
  const sample = async (app: ChildServer) => {
    const raw = await settledRss(app.pid);
    const gc = await rssAfterGc(app);
    rss.heapMb.push(gc.heapMb);
    return { raw, gc: gc.rss };
  };
  /** --tracing: rps with tracing off (full) and at 10 % sampling, adjacent runs */
  const tracingPairs: { off: Measured; traced: Measured }[] = [];
  const paced: {
    name: ScenarioName;
    connections: number;
    offered_rps: number;
    rps: number;
    p50_ms: number;
    p95_ms: number;
    p99_ms: number;
    errors: number;
  }[] = [];
  if (READS.length) {
    const off = await startApp({
      name: 'security-off',
      port: freePort(),
      databaseUrl: db.url,
      dataDir: dataDirLike(dataDir, join(work, 'data-security-off')),
      logDir,
      env: envOf('security-off'),
    });
    const app = await startApp({ name: 'full', port: freePort(), databaseUrl: db.url, dataDir, logDir, env: envOf('full') });
    const floorServer = READS.some((n) => n === 'permit' || n === 'permitStatus')
      ? await startYogaFloor(freePort(), logDir, floorSample)
      : null;
    const tokens = await tokensFor(app.url, dataDir, ['demo-gis']);
    for (const name of READS) {
      const rounds = (name === 'permit' || name === 'permitStatus') && floorServer;
      if (name === 'permit') {
        // warm-up as long as two measured runs (JIT tiers, caches, pool connections, the checkpoint worker and the
        // heap reach their working size: after one run's worth, RSS after GC still rose by 15-27 MB once and then
        // stayed flat), then RSS; the matrix runs, then two more identical runs: three runs at cMax, each compared to it
        // (the same warm-up for security-off, so that both are compared warm)
        const offSpec = requestSpec('permit', inputs, identityHeaders('security-off', ACTS_AS.permit, {}));
        await runWrk({
          url: `${off.url}/graphql`,
          script: writeScript('security-off-permit', offSpec),
          connections: cMax,
          seconds: Math.max(WARMUP, 2 * SECONDS),
          threads: THREADS,
          tag: runTag('w'),
        });
        const spec = requestSpec('permit', inputs, identityHeaders('full', ACTS_AS.permit, tokens));
        await runWrk({
          url: `${app.url}/graphql`,
          script: writeScript('full-permit', spec),
          connections: cMax,
          seconds: Math.max(WARMUP, 2 * SECONDS),
          threads: THREADS,
          tag: runTag('w'),
        });
        const warm = await sample(app);
        rss.warm = warm.gc;
        rss.raw.warm = warm.raw;
      }
      for (const c of CONNECTIONS.filter((x) => !rounds || x !== cMax)) {
        rows.push(await measure(off, 'security-off', name, c, inputs, {}));
        const f = await measure(app, 'full', name, c, inputs, tokens);
        rows.push(f);
        if (c === cMax) keepFull([f]);
      }
      if (!rounds) continue;
      // at cMax, three rounds of adjacent runs. permit: floor, full, security-off, full, peer (issue 7's point 1 is the
      // security-off pairs, the leak check's runs 1-3 each round's first full run); permitStatus: floor, full, peer, with one
      // security-off run before the first round for the matrix. One 5 s sample per variant decided a ratio by luck
      // (0.82-0.97 for the same code): the medians decide, every pair is in latest.details.json
      const full = appStep(app, 'full', name, inputs, tokens, name === 'permit' ? 0 : WARMUP);
      const floorS = floorStep(floorServer, name, inputs);
      const peerS = peer ? [peerStep(peer, name)] : [];
      const steps =
        name === 'permit' ? [floorS, full, appStep(off, 'security-off', name, inputs, {}, 0), full, ...peerS] : [floorS, full, ...peerS];
      const first = name === 'permit' ? [] : [appStep(off, 'security-off', name, inputs, {})];
      const after =
        name === 'permit'
          ? async (run: Measured, round: number) => {
              // the first full run of each round: the leak check's runs 1-3
              if (run.variant !== 'full' || rss.runs.length > round) return;
              const s = await sample(app);
              rss.runs.push(s.gc);
              rss.raw.runs.push(s.raw);
              log(
                `  leak check run ${rss.runs.length}: ${run.rps.toFixed(0)} rps, RSS after GC ${s.gc.toFixed(1)} MB (warm ${rss.warm.toFixed(1)} MB; before GC ${s.raw.toFixed(1)} / ${rss.raw.warm.toFixed(1)} MB)`,
              );
            }
          : undefined;
      const runs = await runRounds(name, cMax, steps, pairs, { first, ...(after ? { after } : {}) });
      keepFull(runs);
      floorRuns.push(...runs.filter((r) => r.variant === 'floor'));
      rows.push(...medianRows(runs.filter((r) => r.variant !== 'floor')));
      if (name === 'permit') rss.after = rss.runs.at(-1) ?? 0;
    }
    // latency below saturation: the same connections, each pausing so that together they offer about half the
    // throughput just measured (closed-loop p95 at saturation is mostly queueing: connections / throughput)
    for (const name of READS.filter((n) => !QUICK && (n === 'permit' || n === 'permitStatus'))) {
      const sat = rows.filter((r) => r.name === name && r.variant === 'full' && r.connections === cMax).at(-1);
      if (!sat || sat.rps <= 0) continue;
      const target = sat.rps / 2;
      const delayMs = Math.max(1, (cMax / target) * 1000 - sat.p50);
      const spec = { ...requestSpec(name, inputs, identityHeaders('full', ACTS_AS[name], tokens)), delayMs };
      const r = await runWrk({
        url: `${app.url}/graphql`,
        script: writeScript(`paced-${name}`, spec),
        connections: cMax,
        seconds: SECONDS,
        threads: THREADS,
        tag: runTag('p'),
      });
      paced.push({
        name,
        connections: cMax,
        offered_rps: Math.round(target),
        rps: Math.round(r.rps),
        p50_ms: r.p50,
        p95_ms: r.p95,
        p99_ms: r.p99,
        errors: r.errors,
      });
      log(
        `${name.padEnd(12)} full paced   c=${cMax}  ${r.rps.toFixed(0).padStart(6)} rps (half of ${sat.rps.toFixed(0)})  p50 ${r.p50} p95 ${r.p95} p99 ${r.p99} ms  errors ${r.errors}`,
      );
    }
    // --tracing (issue 25): the same app with OpenTelemetry on at 10 % sampling, its spans sent over OTLP/HTTP to a
    // sink in this process that reads and drops them as a collector would; compared to `full` in adjacent runs
    if (opts.tracing && READS.includes('permit')) {
      const sink = Bun.serve({
        hostname: '127.0.0.1',
        port: 0,
        fetch: async (r) => (await r.arrayBuffer(), new Response(null, { status: 200 })),
      });
      const otel = {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sink.port}`,
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.1',
      };
      const traced = await startApp({
        name: 'traced',
        port: freePort(),
        databaseUrl: db.url,
        dataDir: dataDirLike(dataDir, join(work, 'data-traced')),
        logDir,
        env: { ...appEnv, ...otel },
      });
      const spec = requestSpec('permit', inputs, identityHeaders('full', ACTS_AS.permit, tokens));
      const script = writeScript('traced-permit', spec);
      // the untraced app has served the whole matrix by now; after 10 s of warm-up the traced one still needed 20 %
      // more CPU per request in its first run with nothing sampled (0 % sampling: 0.78, then 1.03 and 1.03), so it
      // gets three times that before it is compared
      await runWrk({
        url: `${traced.url}/graphql`,
        script,
        connections: cMax,
        seconds: Math.max(WARMUP, 6 * SECONDS),
        threads: THREADS,
        tag: runTag('w'),
      });
      // the order alternates (off first, then traced first, then off first): the second run of a pair met a machine
      // that had drifted, and always giving it to the traced app charged the drift to tracing
      const tracedStep: Step = {
        variant: 'full',
        label: 'traced-10%',
        server: traced,
        url: `${traced.url}/graphql`,
        script,
        warmupS: 0,
        seconds: TRACING_SECONDS,
      };
      const offStep: Step = { ...appStep(app, 'full', 'permit', inputs, tokens, 0), seconds: TRACING_SECONDS };
      const tracedRun = () => runStep(tracedStep, 'permit', cMax);
      const offRun = () => runStep(offStep, 'permit', cMax);
      for (let i = 0; i < TRACING_PAIRS; i++) {
        if (i % 2 === 0) {
          const f = await offRun();
          tracingPairs.push({ off: f, traced: await tracedRun() });
        } else {
          const t = await tracedRun();
          tracingPairs.push({ off: await offRun(), traced: t });
        }
      }
      await track(traced, 'traced');
      void sink.stop(true);
    }
    await track(off, 'security-off');
    await track(app, 'full');
    if (floorServer) await track(floorServer, 'yoga-floor');
  }

  // writes: submitPermit as the contractor in security-off, full and without the audit append. As for the reads, the
  // processes run side by side and each connection count is measured on all of them back to back, so the ratios
  // (full/no-audit, full/peer) compare adjacent runs, not runs a minute apart on a machine that drifts by ±15 %
  // (sequential runs gave full/no-audit 0.63-0.88 for the same code). At cMax three rounds of security-off, peer,
  // full, no-audit: the full run sits between its two partners.
  if (wanted('submitPermit')) {
    const variants = ['security-off', 'full', 'no-audit'] as const;
    const apps = await Promise.all(
      variants.map((v) =>
        startApp({
          name: `${v}-submit`,
          port: freePort(),
          databaseUrl: db.url,
          dataDir: v === 'full' ? dataDir : dataDirLike(dataDir, join(work, `data-${v}-submit`)),
          logDir,
          env: envOf(v),
        }),
      ),
    );
    const tokens = await tokensFor(apps[1]!.url, dataDir, ['demo-contractor-a']);
    const tokensOf = (v: Variant) => (v === 'security-off' ? {} : tokens);
    for (const c of CONNECTIONS.filter((x) => x !== cMax))
      for (const [i, v] of variants.entries()) rows.push(await measure(apps[i]!, v, 'submitPermit', c, inputs, tokensOf(v)));
    const [offS, fullS, noAuditS] = variants.map((v, i) => appStep(apps[i]!, v, 'submitPermit', inputs, tokensOf(v)));
    const peerS = peer ? [peerStep(peer, 'submitPermit')] : [];
    const runs = await runRounds('submitPermit', cMax, [offS!, ...peerS, fullS!, noAuditS!], pairs);
    keepFull(runs);
    rows.push(...medianRows(runs));
    for (const [i, v] of variants.entries()) await track(apps[i]!, `${v}-submit`);
  }
  if (peer) await track(peer.server, 'peer');

  // issue 26's recovery figure: an outage on a throwaway cluster, the outbox filled, then drained
  let drain: OutboxDrain | null = null;
  if (wanted('drain')) {
    try {
      drain = await measureOutboxDrain({ work, logDir, count: DRAIN_COUNT, log });
    } catch (err) {
      log(`outbox drain not measured: ${(err as Error).message}`);
    }
  }

  const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
  const scenarios: Row[] = rows.map((r) => ({
    name: r.name,
    variant: r.variant,
    connections: r.connections,
    rps: round(r.rps, 1),
    p50_ms: r.p50,
    p95_ms: r.p95,
    p99_ms: r.p99,
    errors: r.errors,
  }));
  const ogc = ogcSummary(scenarios, inputs.bboxFeatures);
  const figures = (m: Measured) => ({
    name: m.name,
    rps: m.rps,
    errors: m.errors,
    p50: m.p50,
    p99: m.p99,
    ...(m.cpu_per_request ? { cpu_per_request: m.cpu_per_request } : {}),
  });
  const measures = issue26Measures(
    Object.fromEntries(
      Object.entries(pairs).map(([k, ps]) => [k, ps.map((p) => ({ partner: figures(p.partner), full: figures(p.full) }))]),
    ),
    Object.fromEntries(Object.entries(fullRuns).map(([k, runs]) => [k, runs.map(figures)])),
    drain,
  );
  /** median floor run per scenario: issue 7's point 2 quotes its p95 */
  const floor = [...new Set(floorRuns.map((f) => f.name))].map((n) =>
    floorRun(
      medianBy(
        floorRuns.filter((f) => f.name === n),
        (f) => f.rps,
      ),
    ),
  );
  const permitPairs = (pairs['permit/security-off'] ?? []).map((p) => ({ off: p.partner, full: p.full }));
  const submitRatios = (pairs['submitPermit/no-audit'] ?? []).map((p) => p.full.rps / p.partner.rps);
  const result = {
    machine: { ...machine, loadavg_at_end: loadavg().map((x) => round(x)), duration_s: Math.round((performance.now() - t0) / 1000) },
    scenarios,
    rss_mb: { warm: round(rss.warm, 1), after: round(rss.after, 1) },
    ...(ogc ? { ogc } : {}),
    issue26: measures,
    ...(drain ? { outbox_drain: drain } : {}),
  };
  mkdirSync(RESULTS, { recursive: true });
  const file = join(RESULTS, 'latest.json');
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  /** each adjacent pair: both runs' throughput, latency and CPU per request */
  const pairDetail = (p: { partner: Measured; full: Measured }) => ({
    [p.partner.variant]: {
      rps: round(p.partner.rps, 1),
      p50_ms: p.partner.p50,
      p99_ms: p.partner.p99,
      cpu_per_request: p.partner.cpu_per_request ?? null,
    },
    full: { rps: round(p.full.rps, 1), p50_ms: p.full.p50, p99_ms: p.full.p99, cpu_per_request: p.full.cpu_per_request ?? null },
    full_to_partner_rps: round(p.full.rps / p.partner.rps),
  });
  // what does not fit the fixed format: per-run detail, peaks, inputs
  writeFileSync(
    join(RESULTS, 'latest.details.json'),
    `${JSON.stringify(
      {
        rows,
        peaks,
        paced,
        floor: floorRuns.map(floorRun),
        pairs: Object.fromEntries(Object.entries(pairs).map(([k, ps]) => [k, ps.map(pairDetail)])),
        permit_pairs: permitPairs.map((p) => ({
          security_off_rps: round(p.off.rps, 1),
          full_rps: round(p.full.rps, 1),
          ratio: round(p.full.rps / p.off.rps),
        })),
        submit_full_to_no_audit_rounds: submitRatios.map((r) => round(r)),
        tracing_pairs: tracingPairs.map((p) => ({
          off_rps: round(p.off.rps, 1),
          traced_10pct_rps: round(p.traced.rps, 1),
          ratio: round(p.traced.rps / p.off.rps),
          off_cpu_per_request: p.off.cpu_per_request ?? null,
          traced_cpu_per_request: p.traced.cpu_per_request ?? null,
        })),
        rss_runs_mb: rss.runs.map((x) => round(x, 1)),
        rss_leak_check: {
          measured: 'VmRSS after a full GC (SIGUSR2)',
          warm_mb: round(rss.warm, 1),
          runs_mb: rss.runs.map((x) => round(x, 1)),
          heap_used_mb: rss.heapMb,
          before_gc: { warm_mb: round(rss.raw.warm, 1), runs_mb: rss.raw.runs.map((x) => round(x, 1)) },
        },
        inputs: { bbox: inputs.bbox, bboxFeatures: inputs.bboxFeatures },
        ...(peer ? { peer_inputs: { permit_numbers: peer.permitNumbers.length, parcels: peer.parcels.length } } : {}),
      },
      null,
      2,
    )}\n`,
  );

  printMatrix(scenarios, peaks, rss);
  if (paced.length) {
    console.log('\nlatency below saturation (full, same connections, each pausing so that together they offer half the measured rps):');
    for (const p of paced)
      console.log(
        `  ${p.name.padEnd(13)} c=${p.connections}  ${String(p.rps).padStart(6)} rps  p50 ${p.p50_ms}  p95 ${p.p95_ms}  p99 ${p.p99_ms} ms  errors ${p.errors}`,
      );
  }
  if (floor.length) {
    console.log(
      `\nthe stack's floor (graphql-yoga on Bun.serve with the app's schema, fixed answers: no plugins, no database; median run):`,
    );
    for (const f of floor)
      console.log(
        `  ${f.name.padEnd(13)} c=${f.connections}  ${String(f.rps).padStart(6)} rps  p50 ${f.p50_ms}  p95 ${f.p95_ms}  p99 ${f.p99_ms} ms  errors ${f.errors}`,
      );
  }
  if (ogc) {
    console.log(`\nOGC API – Features (issue 21), full, c=${ogc.connections}:`);
    console.log(
      `  ${OGC_PAGE_FEATURES}-feature page ${ogc.ogc_page_features_per_s} features/s vs permitsGeoJSON (${ogc.geojson_box_features}-feature box) ${ogc.geojson_features_per_s} features/s: ×${ogc.features_per_s_ratio} (wanted ≥ 3)`,
    );
    if (ogc.not_modified_rps !== null)
      console.log(`  304 ${ogc.not_modified_rps} rps; bare Bun.serve ${ogc.bare_rps ?? '—'} rps (×${ogc.not_modified_to_bare ?? '—'})`);
  }
  if (tracingPairs.length) {
    const ratio = medianBy(tracingPairs, (p) => p.traced.rps / p.off.rps);
    const r = ratio.traced.rps / ratio.off.rps;
    // the serving thread's CPU per request, traced / off: what tracing adds where it runs, steadier than throughput
    const cpuRatios = tracingPairs.flatMap((p) =>
      p.traced.cpu_per_request && p.off.cpu_per_request ? [p.traced.cpu_per_request.app_main_us / p.off.cpu_per_request.app_main_us] : [],
    );
    const cpuMedian = cpuRatios.length ? medianBy(cpuRatios, (x) => x) : undefined;
    console.log(
      `\ntracing at 10 % sampling / off (permit, c=${cMax}, median of ${tracingPairs.length} adjacent pairs: ${tracingPairs.map((p) => round(p.traced.rps / p.off.rps)).join(', ')}): ${round(r)} — ${r >= 0.95 ? 'within' : 'NOT within'} 5 %` +
        (cpuMedian !== undefined ? `; serving-thread CPU per request traced / off: median ${round(cpuMedian)}` : ''),
    );
  }

  printAcceptance(
    acceptance(
      scenarios,
      rss,
      permitPairs.map((p) => p.full.rps / p.off.rps),
      submitRatios,
      floor,
    ),
  );
  printIssue26(measures, cMax, drain);
  console.log(`\nwrote ${file} (details: ${join(RESULTS, 'latest.details.json')}); logs in ${logDir}; total ${elapsed()}`);
}

/**
 * Issue 21's figures from the matrix at the highest connection count: features per second of a 1,000-feature OGC
 * page against permitsGeoJSON's ~500-feature box, and conditional 304s against the bare Bun.serve floor.
 */
function ogcSummary(rows: Row[], boxFeatures: number) {
  const c = Math.max(...rows.map((r) => r.connections));
  const at = (name: string, variant: string) => rows.find((r) => r.name === name && r.variant === variant && r.connections === c);
  const page = at('ogcItems', 'full');
  const geo = at('geojson', 'full');
  if (!page || !geo) return null;
  const notModified = at('ogcNotModified', 'full');
  const bare = at('ogcNotModified', 'bare');
  const r2 = (x: number) => Math.round(x * 100) / 100;
  return {
    connections: c,
    ogc_page_features: OGC_PAGE_FEATURES,
    ogc_page_features_per_s: Math.round(page.rps * OGC_PAGE_FEATURES),
    geojson_box_features: boxFeatures,
    geojson_features_per_s: Math.round(geo.rps * boxFeatures),
    features_per_s_ratio: r2((page.rps * OGC_PAGE_FEATURES) / Math.max(1, geo.rps * boxFeatures)),
    not_modified_rps: notModified ? Math.round(notModified.rps) : null,
    bare_rps: bare ? Math.round(bare.rps) : null,
    not_modified_to_bare: notModified && bare && bare.rps > 0 ? r2(notModified.rps / bare.rps) : null,
  };
}

/** A data dir of its own for a second app process, with the same signing keys and demo clients. */
function dataDirLike(from: string, to: string): string {
  mkdirSync(to, { recursive: true });
  cpSync(join(from, 'keys'), join(to, 'keys'), { recursive: true });
  cpSync(join(from, 'demo-clients.json'), join(to, 'demo-clients.json'));
  return to;
}

/** RSS after a short pause, so a GC right after the load settles. */
async function settledRss(pid: number) {
  await Bun.sleep(500);
  return readRss(pid)?.rss ?? 0;
}

// ---------------------------------------------------------------- scale-out

async function cli(args: string[], env: Record<string, string>) {
  const p = Bun.spawn([process.execPath, 'run', 'src/cli/main.ts', ...args], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', LOG_LEVEL: 'warn', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  await p.exited;
  return { code: p.exitCode ?? -1, out, err };
}

/** The app that seeds the throwaway database with the full demo data; the inputs are read from it, then it stops. */
function startSeedingApp(db: BenchDatabase, dataDir: string, logDir: string) {
  log(`seeding ${db.name} (SEED=full)`);
  return startApp({ name: 'seed', port: freePort(), databaseUrl: db.url, dataDir, logDir, env: { SEED: 'full', RATE_LIMIT_SCALE: '0' } });
}

async function runScaleOut(n: number, db: BenchDatabase, work: string, machine: Record<string, unknown>) {
  const dataDir = join(work, 'data');
  const logDir = join(work, 'logs');
  const cMax = Math.max(...CONNECTIONS);
  const shared = { RATE_LIMIT_SCALE, REDIS_URL };
  const seed = await startSeedingApp(db, dataDir, logDir);
  const inputs = await prepareInputs(seed, dataDir, db.url);
  await seed.stop();

  // each instance: its own DATA_DIR (outbox), the same signing key and demo clients (as a shared SIGNING_KEY_PEM would)
  const instanceDir = (i: number) => dataDirLike(dataDir, join(work, `instance-${i}`));
  const startMany = (count: number, env: Record<string, string>, label: string) =>
    Promise.all(
      Array.from({ length: count }, (_, i) =>
        startApp({ name: `${label}-${i + 1}`, port: freePort(), databaseUrl: db.url, dataDir: instanceDir(i + 1), logDir, env }),
      ),
    );
  const scenarios: ScenarioName[] = (['permit', 'submitPermit'] as const).filter(wanted);
  const load = async (servers: ChildServer[], name: ScenarioName, tokens: Record<string, string>) => {
    const spec = requestSpec(name, inputs, identityHeaders('full', ACTS_AS[name], tokens));
    const script = writeScript(`scale-${name}`, spec);
    const per = (i: number) => Math.floor(cMax / servers.length) + (i < cMax % servers.length ? 1 : 0);
    const threads = servers.length > 1 ? 1 : THREADS;
    const all = (seconds: number, what: string) =>
      Promise.all(
        servers.map((s, i) =>
          runWrk({ url: `${s.url}/graphql`, script, connections: per(i), seconds, threads, tag: runTag(`${what}${i}`) }),
        ),
      );
    if (WARMUP > 0) await all(WARMUP, 'w');
    const before = servers.map((s) => cpuSnapshot(s.pid, PG_DATABASES));
    const machineBefore = machineTicks();
    const parts = await all(SECONDS, 'm');
    const busy = machineBusyPercent(machineBefore, machineTicks());
    const r = combine(parts);
    const cpu = cpuPerRequestOfMany(
      before,
      servers.map((s) => cpuSnapshot(s.pid, PG_DATABASES)),
      r.requests,
    );
    log(
      `${name.padEnd(12)} ${servers.length} instance(s) c=${cMax}  ${r.rps.toFixed(0)} rps  p95 ${r.p95} ms  errors ${r.errors}  (per instance: ${parts.map((p) => p.rps.toFixed(0)).join(' + ')})` +
        `  machine CPU busy ${busy ?? '?'} %` +
        describeCpu(cpu, 'CPU µs/req (all instances)'),
    );
    if (r.errors) log(`  first error: ${r.sampleError}`);
    return {
      ...r,
      perInstanceRps: parts.map((p) => Math.round(p.rps)),
      machine_busy_percent: busy,
      ...(cpu ? { cpu_per_request: cpu } : {}),
    };
  };

  const results: Record<string, Record<string, Awaited<ReturnType<typeof load>>>> = { '1': {}, [String(n)]: {} };
  for (const count of [1, n]) {
    const servers = await startMany(count, shared, `x${count}`);
    const tokens = await tokensFor(servers[0]!.url, dataDir, ['demo-gis', 'demo-contractor-a']);
    for (const name of scenarios) results[String(count)]![name] = await load(servers, name, tokens);
    await Promise.all(servers.map((s) => s.stop()));
  }

  // the audit chain several instances appended to concurrently
  const verify = await cli(['audit', 'verify', '--json'], { DATABASE_URL: db.url, DATA_DIR: instanceDir(1) });
  let chain: { ok: boolean; size?: number; reason?: string; firstBadSeq?: number } = {
    ok: false,
    reason: verify.err.trim() || verify.out.trim(),
  };
  try {
    chain = JSON.parse(verify.out) as typeof chain;
  } catch {}
  log(`audit verify: exit ${verify.code}, ${JSON.stringify(chain)}`);

  // shared rate limit: a fresh analyst client (its own bucket key), budget at scale 1, a burst spread over all instances
  const probeId = `bench-rl-${process.pid}-${Date.now().toString(36)}`;
  const created = await cli(['clients', 'create', '--id', probeId, '--role', 'analyst', '--jurisdiction', 'demo-city', '--json'], {
    DATABASE_URL: db.url,
    DATA_DIR: instanceDir(1),
  });
  const secret = (JSON.parse(created.out) as { clientSecret: string }).clientSecret;
  const probeServers = await startMany(n, { RATE_LIMIT_SCALE: '1', REDIS_URL }, `rl${n}`);
  const token = await fetchToken(probeServers[0]!.url, probeId, secret);
  const burst = 60; // RATE_LIMITS.analyst at scale 1: 20/s, burst 60
  const rate = 20;
  const total = burst * n;
  const started = performance.now();
  const statuses = await Promise.all(
    Array.from({ length: total }, (_, i) =>
      fetch(`${probeServers[i % n]!.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ me { clientId } }' }),
      }).then(async (r) => (await r.arrayBuffer(), r.status)),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(probeServers.map((s) => s.stop()));
  const allowed = statuses.filter((s) => s === 200).length;
  const limited = statuses.filter((s) => s === 429).length;
  const oneBudget = Math.floor(burst + rate * seconds) + 1;
  const rateLimit = {
    requests: total,
    allowed,
    limited,
    other: total - allowed - limited,
    seconds: Math.round(seconds * 100) / 100,
    one_budget_allows: oneBudget,
    separate_budgets_would_allow: total,
    shared: allowed <= oneBudget && limited > 0,
  };
  log(`rate limit probe: ${JSON.stringify(rateLimit)}`);

  const one = results['1']!;
  const many = results[String(n)]!;
  const out = {
    machine: { ...machine, loadavg_at_end: loadavg().map((x) => Math.round(x * 100) / 100) },
    instances: n,
    connections: cMax,
    redis: REDIS_URL.replace(/\/\/[^@]*@/, '//***@'),
    single: one,
    aggregate: many,
    audit_chain: chain,
    rate_limit: rateLimit,
  };
  mkdirSync(RESULTS, { recursive: true });
  const file = join(RESULTS, 'instances.json');
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);

  console.log(`\nScale-out: ${n} app processes on one PostgreSQL + Redis, ${cMax} connections in total (wrk per instance)\n`);
  console.log(
    `${'scenario'.padEnd(14)}${'1 instance rps'.padStart(16)}${`${n} instances rps`.padStart(18)}${'ratio'.padStart(8)}${'p95 1 / N (ms)'.padStart(18)}${'errors'.padStart(9)}${'CPU busy 1 / N'.padStart(17)}`,
  );
  for (const name of scenarios) {
    const a = one[name]!;
    const b = many[name]!;
    console.log(
      `${name.padEnd(14)}${a.rps.toFixed(0).padStart(16)}${b.rps.toFixed(0).padStart(18)}${(b.rps / a.rps).toFixed(2).padStart(8)}${`${a.p95} / ${b.p95}`.padStart(18)}${String(a.errors + b.errors).padStart(9)}${`${a.machine_busy_percent ?? '?'} / ${b.machine_busy_percent ?? '?'} %`.padStart(17)}`,
    );
  }
  console.log(`\naudit chain after concurrent appends: ${chain.ok ? `valid (${chain.size} entries)` : `BROKEN: ${JSON.stringify(chain)}`}`);
  console.log(
    `rate limit: ${total} requests over ${n} instances in ${rateLimit.seconds} s → ${allowed} allowed, ${limited} × 429; one shared budget allows ≤ ${oneBudget}, ${n} separate budgets would allow ${total} → ${rateLimit.shared ? 'SHARED' : 'NOT SHARED'}`,
  );
  console.log(`(CPU busy: the whole machine's, all cores, during the measured runs: wrk, the app processes, PostgreSQL, Redis)`);
  const pass = scenarios.every((s) => many[s]!.rps > one[s]!.rps) && chain.ok && rateLimit.shared;
  console.log(`\nacceptance 4 (aggregate higher, chain valid, rate limit shared): ${pass ? 'PASS' : 'FAIL'}`);
  console.log(`\nwrote ${file}; logs in ${logDir}; total ${elapsed()}`);
}

// ---------------------------------------------------------------- main

async function main() {
  if (opts.events) return mainEvents();
  if (Bun.spawnSync(['which', 'wrk']).exitCode !== 0) {
    console.error('bench: wrk not found (Debian: apt-get install -y wrk)');
    process.exit(2);
  }
  const db = await createBenchDatabase(BASE_URL);
  PG_DATABASES.push(db.name);
  const settler = createSettler(db.url);
  settleDatabase = settler.settle;
  const work = mkdtempSync(join(tmpdir(), 'pg-bench-'));
  mkdirSync(join(work, 'logs'), { recursive: true });
  let code = 0;
  const onSignal = () => {
    log('interrupted');
    void Promise.allSettled([db.drop(), cleanUpPeer()]).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  try {
    const machine = await machineInfo(db.url);
    if (INSTANCES > 1) await runScaleOut(INSTANCES, db, work, machine);
    else await runMatrix(db, work, machine);
  } catch (err) {
    console.error('bench failed:', err);
    code = 1;
  } finally {
    await cleanUpPeer();
    await settler.end().catch(() => {});
    if (opts['keep-db']) log(`kept database ${db.url}`);
    else await db.drop().catch((e) => log(`could not drop ${db.name}: ${(e as Error).message}`));
    try {
      // keep the logs, drop the bulky data dirs
      for (const d of [
        'data',
        'data-security-off',
        'data-security-off-submit',
        'data-no-audit-submit',
        ...Array.from({ length: Math.max(INSTANCES, 1) }, (_, i) => `instance-${i + 1}`),
      ])
        rmSync(join(work, d), { recursive: true, force: true });
    } catch {}
  }
  process.exit(code);
}

/** `--events`: issue 22's figures (no wrk needed). */
async function mainEvents() {
  const db = await createBenchDatabase(BASE_URL);
  const work = mkdtempSync(join(tmpdir(), 'pg-bench-events-'));
  mkdirSync(join(work, 'logs'), { recursive: true });
  let code = 0;
  try {
    await runEvents(db, {
      seconds: Number(opts.seconds === '5' ? 10 : opts.seconds),
      rate: 100,
      subscribers: Number(opts.subscribers),
      work,
      results: RESULTS,
      log,
    });
  } catch (err) {
    console.error('bench failed:', err);
    code = 1;
  } finally {
    await db.drop().catch((e) => log(`could not drop ${db.name}: ${(e as Error).message}`));
    rmSync(join(work, 'data-events'), { recursive: true, force: true });
  }
  process.exit(code);
}

await main();
