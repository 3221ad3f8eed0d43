/**
 * Child processes under test: the app (`bun run bench/server.ts`, one process per variant), the bare Bun.serve
 * baseline (`bun -e`), and an RSS sampler reading /proc/<pid>/status.
 */
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Subprocess } from 'bun';

export const REPO = join(import.meta.dir, '..', '..');

export interface Rss {
  /** current resident set (MB) */
  rss: number;
  /** kernel's high-water mark of the resident set (MB) */
  hwm: number;
}

export function readRss(pid: number): Rss | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

/** Polls VmRSS every `everyMs` and keeps the peak since the last reset. */
export class RssSampler {
  peak = 0;
  #timer: ReturnType<typeof setInterval>;
  constructor(
    readonly pid: number,
    everyMs = 200,
  ) {
    this.#timer = setInterval(() => this.sample(), everyMs);
  }
  sample(): Rss | null {
    const r = readRss(this.pid);
    if (r && r.rss > this.peak) this.peak = r.rss;
    return r;
  }
  stop() {
    clearInterval(this.#timer);
  }
}

export interface ChildServer {
  name: string;
  port: number;
  pid: number;
  url: string;
  proc: Subprocess;
  rss: RssSampler;
  logFile: string;
  stop(): Promise<void>;
}

async function waitFor(what: string, check: () => Promise<boolean>, proc: Subprocess, timeoutMs: number, logFile: string) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (proc.exitCode !== null) throw new Error(`${what}: process exited with ${proc.exitCode}; log: ${logFile}\n${tail(logFile)}`);
    if (await check().catch(() => false)) return;
    await Bun.sleep(100);
  }
  throw new Error(`${what}: not ready after ${timeoutMs} ms; log: ${logFile}\n${tail(logFile)}`);
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '';
  }
}

async function stopProc(proc: Subprocess, rss: RssSampler) {
  rss.stop();
  if (proc.exitCode !== null) return;
  proc.kill('SIGTERM');
  const killed = await Promise.race([proc.exited.then(() => true), Bun.sleep(12_000).then(() => false)]);
  if (!killed) {
    proc.kill('SIGKILL');
    await proc.exited;
  }
}

/**
 * Spawns one server process with its output in `logDir/<name>.log`, samples its RSS, and resolves once `ready`
 * answers true (the process is stopped if it exits first or never gets ready). `argv` runs under Bun in the
 * repository unless `command` names another program (the peer: `node`) and `cwd` its directory.
 */
export async function spawnServer(o: {
  name: string;
  what: string;
  port: number;
  logDir: string;
  argv: string[];
  command?: string;
  cwd?: string;
  env?: Record<string, string>;
  ready: (url: string) => Promise<boolean>;
  timeoutMs: number;
}): Promise<ChildServer> {
  const logFile = join(o.logDir, `${o.name}.log`);
  const fd = openSync(logFile, 'a');
  const proc = Bun.spawn([o.command ?? process.execPath, ...o.argv], {
    cwd: o.cwd ?? REPO,
    ...(o.env ? { env: o.env } : {}),
    stdout: fd,
    stderr: fd,
  });
  const rss = new RssSampler(proc.pid);
  const url = `http://127.0.0.1:${o.port}`;
  const server: ChildServer = { name: o.name, port: o.port, pid: proc.pid, url, proc, rss, logFile, stop: () => stopProc(proc, rss) };
  try {
    await waitFor(o.what, () => o.ready(url), proc, o.timeoutMs, logFile);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

/** The `iss` every app process the benchmark starts issues and accepts (JWT_ISSUER). */
export const BENCH_ISSUER = 'http://bench.permit-gateway.localhost';

export const baseEnv = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' });

/**
 * The variables `bun run start` sets before Bun starts (the `NAME=value` words in front of `bun` in package.json's
 * start script, e.g. the allocator's MIMALLOC_PURGE_DELAY): every Bun server the benchmark starts (the app's variants,
 * the yoga floor, bare) runs with them, as deployed, so the ratios between them compare like with like.
 */
export function startScriptEnv(): Record<string, string> {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts?: { start?: string } };
  const prefix = /^((?:\s*[A-Z_][A-Z0-9_]*=\S*)*)\s*bun\b/.exec(pkg.scripts?.start ?? '')?.[1] ?? '';
  return Object.fromEntries(
    prefix
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]),
  );
}

export interface AppStart {
  name: string;
  port: number;
  databaseUrl: string;
  dataDir: string;
  env?: Record<string, string>;
  logDir: string;
}

/** Starts `bun run bench/server.ts` (src/main.ts with the variant's app options); resolves once /readyz answers 200 and DATA_DIR/demo-clients.json exists. */
export async function startApp(o: AppStart): Promise<ChildServer> {
  mkdirSync(o.dataDir, { recursive: true });
  return spawnServer({
    name: o.name,
    what: `app ${o.name}`,
    port: o.port,
    logDir: o.logDir,
    // BENCH_CPU_PROF=DIR: each app writes a CPU profile (Markdown) there when it stops
    argv: [
      ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof-md', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
      'run',
      'bench/server.ts',
    ],
    env: {
      ...baseEnv(),
      ...startScriptEnv(),
      APP_ENV: 'development',
      // as deployed (README, Production configuration): graphql-js without its development checks
      NODE_ENV: 'production',
      ...(process.env.AUDIT_APPENDER ? { AUDIT_APPENDER: process.env.AUDIT_APPENDER } : {}),
      ...(process.env.BENCH_OGC_PAGE_CACHE ? { BENCH_OGC_PAGE_CACHE: process.env.BENCH_OGC_PAGE_CACHE } : {}),
      ...(process.env.BENCH_OGC_FEATURE_CACHE ? { BENCH_OGC_FEATURE_CACHE: process.env.BENCH_OGC_FEATURE_CACHE } : {}),
      PORT: String(o.port),
      DATABASE_URL: o.databaseUrl,
      DATA_DIR: o.dataDir,
      LOG_LEVEL: 'warn',
      SEED: 'none',
      // one issuer for every app process: a token fetched from one is used on the others (scale-out, variants side by
      // side); without it each one's issuer would be its own address
      JWT_ISSUER: BENCH_ISSUER,
      ...o.env,
    },
    ready: async (url) => (await fetch(`${url}/readyz`)).status === 200 && existsSync(join(o.dataDir, 'demo-clients.json')),
    timeoutMs: 120_000,
  });
}

/** The machine's limit: Bun.serve answering a fixed JSON, in its own process. */
export function startBare(port: number, logDir: string): Promise<ChildServer> {
  const code = `const body = JSON.stringify({ data: { ok: true } });
Bun.serve({ hostname: '127.0.0.1', port: ${port}, fetch: () => new Response(body, { headers: { 'content-type': 'application/json' } }) });`;
  return spawnServer({
    name: 'bare',
    what: 'bare server',
    port,
    logDir,
    argv: ['-e', code],
    env: { ...baseEnv(), ...startScriptEnv() },
    ready: async (url) => (await fetch(url, { method: 'POST', body: '{}' })).ok,
    timeoutMs: 20_000,
  });
}

/**
 * The stack's floor (bench/lib/yoga-floor.ts): graphql-yoga with the app's schema, no plugins and no database,
 * answering every permitStatus/permit with the fixed sample in `sampleFile`.
 */
export function startYogaFloor(port: number, logDir: string, sampleFile: string): Promise<ChildServer> {
  const probe = JSON.stringify({ query: '{ __typename }' });
  return spawnServer({
    name: 'yoga-floor',
    what: 'yoga floor',
    port,
    logDir,
    argv: ['run', 'bench/lib/yoga-floor.ts'],
    env: { ...baseEnv(), ...startScriptEnv(), NODE_ENV: 'production', PORT: String(port), FLOOR_SAMPLE: sampleFile },
    ready: async (url) =>
      (await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: probe })).ok,
    timeoutMs: 20_000,
  });
}

/** A free TCP port on loopback (asks the kernel, then releases it). */
export function freePort(): number {
  const s = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  return port;
}

const GC_LINE = 'memory after a full garbage collection';

/**
 * The app's resident set after a full garbage collection (SIGUSR2, src/ops/memory-report.ts): what survives a
 * collection is what a leak grows, while RSS at an arbitrary moment mostly shows how far the heap grew since the
 * last one. Waits for the app's report line in its log, then reads /proc.
 */
export async function rssAfterGc(server: ChildServer, timeoutMs = 10_000): Promise<{ rss: number; heapMb: number | null }> {
  const seen = () => (readFileSync(server.logFile, 'utf8').match(new RegExp(GC_LINE, 'g')) ?? []).length;
  const before = seen();
  server.proc.kill('SIGUSR2');
  const until = Date.now() + timeoutMs;
  while (seen() === before) {
    if (Date.now() > until) throw new Error(`${server.name}: no memory report ${timeoutMs} ms after SIGUSR2 (log: ${server.logFile})`);
    await Bun.sleep(50);
  }
  const last =
    readFileSync(server.logFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes(GC_LINE))
      .at(-1) ?? '';
  let heapMb: number | null = null;
  try {
    heapMb = (JSON.parse(last) as { memory?: { heap_used_mb?: number } }).memory?.heap_used_mb ?? null;
  } catch {}
  await Bun.sleep(200); // the allocator hands freed pages back right after the collection
  return { rss: readRss(server.pid)?.rss ?? 0, heapMb };
}
