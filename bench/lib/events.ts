/**
 * `bun run bench -- --events` (issue 22): the read path's cost of the events when nobody subscribes, change
 * committed → webhook received latency at a steady event rate, and the memory of many open SSE subscriptions on one
 * instance. One app process on a fresh PostgreSQL database (and, for the read path, the same build with events
 * stopped beside it); the webhook receiver and the subscribers run in the harness process (subscribers as raw
 * sockets, so no client connection pool caps them).
 */
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { graphql, tokensFor } from './client.ts';
import { cpuPerRequest, cpuSnapshot, describeCpu, type CpuPerRequest } from './cpu.ts';
import { openReader, type BenchDatabase } from './database.ts';
import { freePort, readRss, startApp, type ChildServer } from './processes.ts';
import { requestSpec } from './scenarios.ts';
import { runWrk, writeScript } from './wrk.ts';

export interface EventsBenchOptions {
  seconds: number;
  /** Committed changes per second. @default 100 */
  rate: number;
  subscribers: number;
  work: string;
  results: string;
  log: (msg: string) => void;
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : Number.NaN;
};

/** Status changes that can repeat forever: UNDER_REVIEW ↔ CORRECTIONS_REQUIRED. */
const NEXT: Record<string, string> = {
  SUBMITTED: 'UNDER_REVIEW',
  UNDER_REVIEW: 'CORRECTIONS_REQUIRED',
  CORRECTIONS_REQUIRED: 'UNDER_REVIEW',
};
const TRANSITION = `mutation($n: String!, $to: PermitStatus!) { transitionPermit(number: $n, to: $to) { updatedAt } }`;

async function webhookLatency(app: ChildServer, clerk: string, dbUrl: string, o: EventsBenchOptions) {
  const received = new Map<string, number>();
  const receiver = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      const body = (await req.json()) as { data: { permitNumber: string; changedAt: string } };
      received.set(`${body.data.permitNumber}|${body.data.changedAt}`, performance.now());
      return new Response(null, { status: 204 });
    },
  });
  try {
    const reg = await graphql<{ registerWebhook: { webhook: { id: string } } }>(
      app.url,
      clerk,
      `mutation($u: String!) { registerWebhook(input: { url: $u, events: [PERMIT_STATUS_CHANGED] }) { webhook { id } } }`,
      { u: `http://127.0.0.1:${receiver.port}/hook` },
    );
    const sql = openReader(dbUrl);
    const permits = (
      await sql`select permit_num, status_current from permits where jurisdiction_id = 'demo-city'
        and status_current in ('SUBMITTED', 'UNDER_REVIEW', 'CORRECTIONS_REQUIRED') order by permit_num limit 100`
    ).map((r) => ({ number: r.permit_num as string, status: r.status_current as string, busy: false }));
    await sql.end();
    if (permits.length < 10) throw new Error(`only ${permits.length} permits can change status; seed more`);
    o.log(
      `webhooks: ${o.rate} status changes/s for ${o.seconds} s over ${permits.length} permits (webhook ${reg.registerWebhook.webhook.id})`,
    );

    const committed = new Map<string, number>();
    let errors = 0;
    let next = 0;
    const start = performance.now();
    const total = o.rate * o.seconds;
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / o.rate;
      const wait = due - performance.now();
      if (wait > 0) await Bun.sleep(wait);
      // the next permit without a change in flight (a permit's changes must not race each other)
      let p: (typeof permits)[number] | undefined;
      for (let k = 0; k < permits.length && !p; k++) {
        const c = permits[next++ % permits.length]!;
        if (!c.busy) p = c;
      }
      if (!p) continue;
      p.busy = true;
      const to = NEXT[p.status]!;
      inFlight.push(
        graphql<{ transitionPermit: { updatedAt: string } }>(app.url, clerk, TRANSITION, { n: p.number, to })
          .then((r) => {
            committed.set(`${p!.number}|${r.transitionPermit.updatedAt}`, performance.now());
            p!.status = to;
          })
          .catch(() => void errors++)
          .finally(() => {
            p!.busy = false;
          }),
      );
    }
    await Promise.all(inFlight);
    const sentSeconds = (performance.now() - start) / 1000;
    const until = performance.now() + 30_000;
    while ([...committed.keys()].some((k) => !received.has(k)) && performance.now() < until) await Bun.sleep(50);
    // the mutation's answer comes after its COMMIT: received − answered is a lower bound of commit → received by
    // the answer's own latency (a few ms), which the table states
    const latencies = [...committed].flatMap(([k, at]) => (received.has(k) ? [Math.max(0, received.get(k)! - at)] : []));
    return {
      events: committed.size,
      rate: Math.round(committed.size / sentSeconds),
      errors,
      lost: committed.size - latencies.length,
      p50_ms: Math.round(quantile(latencies, 0.5)),
      p95_ms: Math.round(quantile(latencies, 0.95)),
      max_ms: Math.round(Math.max(...latencies)),
    };
  } finally {
    receiver.stop(true);
  }
}

/** The read-path comparison: wrk on `permit` (as the GIS vendor), adjacent pairs, each this long. */
const READ = { seconds: 5, warmupSeconds: 4, connections: 32, pairs: 3 };

interface ReadRun {
  rps: number;
  p95_ms: number;
  errors: number;
  cpu: CpuPerRequest | null;
}

/**
 * "No measurable cost to the read path when nobody subscribes": the `permit` read on the app with its events idle
 * (LISTEN open, the webhook dispatcher polling, no stream, no webhook) and on the same build with the events
 * stopped (bench/server.ts `no-events`), both running side by side on one database, measured in adjacent runs
 * whose order alternates (the machine drifts). Compared by throughput and by the app's CPU per request, the
 * steadier figure (PostgreSQL's is in events.json too, but it counts every postgres process on the machine).
 * Skipped without wrk.
 */
async function readPathCost(app: ChildServer, dataDir: string, dbUrl: string, o: EventsBenchOptions) {
  if (Bun.spawnSync(['which', 'wrk']).exitCode !== 0) {
    o.log('read path: skipped (wrk not found; Debian: apt-get install -y wrk)');
    return null;
  }
  // the same signing key and demo clients: one token works on both
  const offDir = join(o.work, 'data-events-off');
  mkdirSync(offDir, { recursive: true });
  cpSync(join(dataDir, 'keys'), join(offDir, 'keys'), { recursive: true });
  cpSync(join(dataDir, 'demo-clients.json'), join(offDir, 'demo-clients.json'));
  const off = await startApp({
    name: 'events-off',
    port: freePort(),
    databaseUrl: dbUrl,
    dataDir: offDir,
    logDir: join(o.work, 'logs'),
    env: { SEED: 'small', RATE_LIMIT_SCALE: '100000', BENCH_VARIANT: 'no-events' },
  });
  try {
    const sql = openReader(dbUrl);
    const permitNumbers = (await sql`select permit_num from permits where jurisdiction_id = 'demo-city' order by random() limit 500`).map(
      (r) => r.permit_num as string,
    );
    await sql.end();
    const { 'demo-gis': gis } = await tokensFor(app.url, dataDir, ['demo-gis']);
    const spec = requestSpec(
      'permit',
      { permitNumbers, submitParcels: [], bbox: { minLon: 0, minLat: 0, maxLon: 0, maxLat: 0 }, bboxFeatures: 0 },
      { authorization: `Bearer ${gis}` },
    );
    const script = writeScript('events-read-permit', spec);
    let tag = 0;
    const run = async (server: ChildServer, seconds: number): Promise<ReadRun> => {
      const before = cpuSnapshot(server.pid);
      const r = await runWrk({ url: `${server.url}/graphql`, script, connections: READ.connections, seconds, tag: `ev${++tag}` });
      const cpu = cpuPerRequest(before, cpuSnapshot(server.pid), r.requests);
      return { rps: Math.round(r.rps), p95_ms: r.p95, errors: r.errors, cpu };
    };
    o.log(`read path: permit, c=${READ.connections}, ${READ.pairs} adjacent pairs of ${READ.seconds} s, events idle vs. stopped`);
    await run(off, READ.warmupSeconds);
    await run(app, READ.warmupSeconds);
    const pairs: { idle: ReadRun; off: ReadRun }[] = [];
    for (let i = 0; i < READ.pairs; i++) {
      const first = i % 2 === 0 ? off : app;
      const a = await run(first, READ.seconds);
      const b = await run(first === off ? app : off, READ.seconds);
      const pair = first === off ? { off: a, idle: b } : { idle: a, off: b };
      pairs.push(pair);
      o.log(
        `  pair ${i + 1}: idle ${pair.idle.rps} rps${describeCpu(pair.idle.cpu)}; stopped ${pair.off.rps} rps${describeCpu(pair.off.cpu)}`,
      );
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    // the app's own threads: PostgreSQL's figure holds every postgres process on the machine (other databases too)
    const appUs = (c: CpuPerRequest | null) => (c ? c.app_main_us + c.app_workers_us + c.app_other_us : Number.NaN);
    const cpuRatios = pairs.flatMap((p) => (p.idle.cpu && p.off.cpu ? [appUs(p.idle.cpu) / appUs(p.off.cpu)] : []));
    return {
      scenario: 'permit',
      connections: READ.connections,
      seconds_per_run: READ.seconds,
      pairs: pairs.map((p) => ({
        idle_rps: p.idle.rps,
        stopped_rps: p.off.rps,
        idle_cpu: p.idle.cpu,
        stopped_cpu: p.off.cpu,
        idle_p95_ms: p.idle.p95_ms,
        stopped_p95_ms: p.off.p95_ms,
        errors: p.idle.errors + p.off.errors,
      })),
      /** idle / stopped, median of the pairs: 1.00 is no cost; below 1 the events cost throughput */
      rps_ratio: Math.round(median(pairs.map((p) => p.idle.rps / p.off.rps)) * 1000) / 1000,
      /** idle / stopped CPU of the app's threads per request, median of the pairs: above 1 the events cost CPU */
      app_cpu_ratio: cpuRatios.length ? Math.round(median(cpuRatios) * 1000) / 1000 : null,
      idle_app_cpu_us_per_request: median(pairs.map((p) => appUs(p.idle.cpu))),
      stopped_app_cpu_us_per_request: median(pairs.map((p) => appUs(p.off.cpu))),
    };
  } finally {
    await off.stop();
  }
}

/** An SSE subscriber on a raw socket: counts `event: next` blocks. */
function rawSubscriber(port: number, token: string, query: string): { socket: Socket; events: () => number; ok: () => boolean } {
  const body = JSON.stringify({ query });
  const socket = connect(port, '127.0.0.1');
  let text = '';
  let events = 0;
  socket.on('data', (chunk) => {
    text += chunk.toString();
    const parts = text.split('\n\n');
    text = parts.pop()!;
    for (const part of parts) if (part.includes('event: next')) events++;
  });
  socket.on('error', () => {});
  socket.write(
    `POST /graphql HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\naccept: text/event-stream\r\n` +
      `authorization: Bearer ${token}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  return { socket, events: () => events, ok: () => !socket.destroyed };
}

async function subscriptionMemory(app: ChildServer, clerk: string, o: EventsBenchOptions) {
  const rssBefore = readRss(app.pid)!.rss;
  o.log(`subscriptions: opening ${o.subscribers} SSE streams`);
  const subs = Array.from({ length: o.subscribers }, () =>
    rawSubscriber(app.port, clerk, 'subscription { permitStatusChanged { permitNumber status } }'),
  );
  await Bun.sleep(3000);
  const rssOpen = readRss(app.pid)!.rss;
  // one status change reaches every open stream
  const [permit] = (
    await graphql<{ permits: { edges: { node: { number: string; status: string } }[] } }>(
      app.url,
      clerk,
      `{ permits(first: 1, filter: { status: UNDER_REVIEW }) { edges { node { number status } } } }`,
    )
  ).permits.edges;
  const t0 = performance.now();
  let fanOutMs = Number.NaN;
  if (permit) {
    await graphql(app.url, clerk, TRANSITION, { n: permit.node.number, to: 'CORRECTIONS_REQUIRED' });
    const until = performance.now() + 10_000;
    while (subs.some((s) => s.events() < 1) && performance.now() < until) await Bun.sleep(10);
    fanOutMs = Math.round(performance.now() - t0);
  }
  const heard = subs.filter((s) => s.events() >= 1).length;
  for (const s of subs) s.socket.destroy();
  await Bun.sleep(2000);
  const rssClosed = readRss(app.pid)!.rss;
  return {
    streams: o.subscribers,
    heard_one_event: heard,
    fan_out_ms: fanOutMs,
    rss_before_mb: Math.round(rssBefore),
    rss_open_mb: Math.round(rssOpen),
    kb_per_stream: Math.round(((rssOpen - rssBefore) * 1024) / o.subscribers),
    rss_after_close_mb: Math.round(rssClosed),
  };
}

export async function runEvents(db: BenchDatabase, o: EventsBenchOptions) {
  const dataDir = join(o.work, 'data-events');
  const app = await startApp({
    name: 'events',
    port: freePort(),
    databaseUrl: db.url,
    dataDir,
    logDir: join(o.work, 'logs'),
    env: { SEED: 'small', RATE_LIMIT_SCALE: '100000', WEBHOOK_ALLOW_PRIVATE: 'true', SUBSCRIPTIONS_PER_CLIENT: String(o.subscribers + 10) },
  });
  try {
    const { 'demo-clerk': clerk } = await tokensFor(app.url, dataDir, ['demo-clerk']);
    // first, while nobody subscribes and no webhook is registered
    const readPath = await readPathCost(app, dataDir, db.url, o);
    const webhooks = await webhookLatency(app, clerk!, db.url, o);
    const subscriptions = await subscriptionMemory(app, clerk!, o);
    const out = { read_path: readPath, webhooks, subscriptions };
    writeFileSync(join(o.results, 'events.json'), `${JSON.stringify(out, null, 2)}\n`);
    if (readPath) {
      const pct = (x: number) => `${x >= 1 ? '+' : ''}${((x - 1) * 100).toFixed(1)} %`;
      console.log(
        `read path with nobody subscribed (permit, c=${readPath.connections}, median of ${readPath.pairs.length} adjacent pairs): ` +
          `events idle / stopped throughput ${readPath.rps_ratio.toFixed(3)} (${pct(readPath.rps_ratio)}), the app's CPU per request ` +
          `${readPath.idle_app_cpu_us_per_request} / ${readPath.stopped_app_cpu_us_per_request} µs` +
          (readPath.app_cpu_ratio === null ? '' : ` (${pct(readPath.app_cpu_ratio)})`),
      );
    }
    console.log(
      `webhooks: ${webhooks.events} changes at ${webhooks.rate}/s → received p50 ${webhooks.p50_ms} ms, p95 ${webhooks.p95_ms} ms, ` +
        `max ${webhooks.max_ms} ms after the mutation answered (${webhooks.lost} lost, ${webhooks.errors} errors)`,
    );
    console.log(
      `subscriptions: ${subscriptions.streams} SSE streams: RSS ${subscriptions.rss_before_mb} → ${subscriptions.rss_open_mb} MB ` +
        `(~${subscriptions.kb_per_stream} KB each), back to ${subscriptions.rss_after_close_mb} MB when closed; one change reached ` +
        `${subscriptions.heard_one_event} streams in ${subscriptions.fan_out_ms} ms`,
    );
  } finally {
    await app.stop();
  }
}
