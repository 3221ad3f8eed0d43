/**
 * CPU time per request by where it is spent: the app's serving thread, its worker threads (the audit group commit;
 * Bun names them `Worker`), its other threads (JIT compilers, GC helpers) and PostgreSQL's backends, read from
 * /proc before and after a measured run (wrk has exited by the second reading, so the load generator's own share is
 * not in it).
 * On a noisy machine this moves far less than throughput does between identical runs, so it is the figure to
 * compare two versions by (Linux only; elsewhere the figures are absent).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = Number(new TextDecoder().decode(Bun.spawnSync(['getconf', 'CLK_TCK']).stdout).trim()) || 100;

/** utime + stime of one /proc stat line, in clock ticks. */
function ticksOf(statLine: string): number {
  const fields = statLine.slice(statLine.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

const read = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null; // a thread or process that ended meanwhile
  }
};

type Kind = 'appMain' | 'appWorkers' | 'appOther' | 'postgres';

/** Clock ticks per thread (app) and per process (postgres), with the kind each counts for. */
export interface CpuSnapshot {
  ticks: Map<string, { kind: Kind; ticks: number }>;
}

/**
 * Clock ticks used so far by each thread of the app process (main / worker / other) and the `postgres` processes:
 * with `databases`, only the backends connected to one of them (their process title names the database), so the
 * other databases' work on a shared server (other test suites, at times several times the benchmark's own) stays
 * out; the server's background processes (WAL writer, checkpointer, autovacuum launcher) are then left out too.
 * Without, every `postgres` process.
 */
export function cpuSnapshot(appPid: number, databases: readonly string[] = []): CpuSnapshot | null {
  if (!existsSync(`/proc/${appPid}/task`)) return null;
  const ticks: CpuSnapshot['ticks'] = new Map();
  for (const tid of readdirSync(`/proc/${appPid}/task`)) {
    const line = read(`/proc/${appPid}/task/${tid}/stat`);
    if (!line) continue;
    const name = line.slice(line.indexOf('(') + 1, line.lastIndexOf(')'));
    ticks.set(`${appPid}/${tid}`, {
      kind: tid === String(appPid) ? 'appMain' : name === 'Worker' ? 'appWorkers' : 'appOther',
      ticks: ticksOf(line),
    });
  }
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    if (read(`/proc/${pid}/comm`)?.trim() !== 'postgres') continue;
    if (databases.length) {
      const title = read(`/proc/${pid}/cmdline`)?.replace(/\0/g, ' ').split(' ');
      if (!title?.some((word) => databases.includes(word))) continue;
    }
    const line = read(`/proc/${pid}/stat`);
    if (line) ticks.set(`pg/${pid}`, { kind: 'postgres', ticks: ticksOf(line) });
  }
  return { ticks };
}

/**
 * Ticks by kind between two snapshots, thread by thread: a thread or process that ended meanwhile is left out (its
 * time in between cannot be read any more; summing totals instead made such a run's figure negative), one that
 * started meanwhile counts in full.
 */
function ticksBetween(before: CpuSnapshot, after: CpuSnapshot): Record<Kind, number> {
  const out: Record<Kind, number> = { appMain: 0, appWorkers: 0, appOther: 0, postgres: 0 };
  for (const [id, a] of after.ticks) {
    const prev = before.ticks.get(id)?.ticks ?? 0;
    // fewer ticks than before: the id was reused by a new thread or process, whose ticks all fall in between
    out[a.kind] += a.ticks >= prev ? a.ticks - prev : a.ticks;
  }
  return out;
}

/** Microseconds of CPU per request between two snapshots (rounded to 1 µs). */
export function cpuPerRequest(before: CpuSnapshot | null, after: CpuSnapshot | null, requests: number) {
  if (!before || !after || requests <= 0) return null;
  const t = ticksBetween(before, after);
  const us = (k: Kind) => Math.round(((t[k] / TICKS_PER_SECOND) * 1e6) / requests);
  const perRequest = {
    app_main_us: us('appMain'),
    app_workers_us: us('appWorkers'),
    app_other_us: us('appOther'),
    postgres_us: us('postgres'),
  };
  return { ...perRequest, total_us: perRequest.app_main_us + perRequest.app_workers_us + perRequest.app_other_us + perRequest.postgres_us };
}
export type CpuPerRequest = NonNullable<ReturnType<typeof cpuPerRequest>>;

/**
 * {@link cpuPerRequest} over several app processes on one PostgreSQL (scale-out): their snapshots taken together as
 * one, the app threads of all of them summed and PostgreSQL's processes (in every snapshot, under the same ids)
 * counted once.
 */
export function cpuPerRequestOfMany(before: (CpuSnapshot | null)[], after: (CpuSnapshot | null)[], requests: number) {
  const merged = (snaps: (CpuSnapshot | null)[]): CpuSnapshot | null =>
    snaps.length && snaps.every((s) => s !== null) ? { ticks: new Map(snaps.flatMap((s) => [...s!.ticks])) } : null;
  return cpuPerRequest(merged(before), merged(after), requests);
}

/** The log line's part: `CPU µs/req: serving … + workers … + JIT/GC … + postgres … = total`. */
export function describeCpu(cpu: CpuPerRequest | null, label = 'CPU µs/req'): string {
  return cpu
    ? `  ${label}: serving ${cpu.app_main_us} + workers ${cpu.app_workers_us} + JIT/GC ${cpu.app_other_us} + postgres ${cpu.postgres_us} = ${cpu.total_us}`
    : '';
}

/** The machine's CPU time so far, from /proc/stat's `cpu` line (clock ticks): busy (everything but idle and iowait) and all. */
export function machineTicks(): { busy: number; all: number } | null {
  const line = read('/proc/stat')?.split('\n')[0];
  if (!line?.startsWith('cpu ')) return null;
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number); // user nice system idle iowait irq softirq steal
  const all = f.reduce((a, b) => a + b, 0);
  return { busy: all - f[3]! - f[4]!, all };
}

/**
 * The share of the machine's CPU (all cores) that was busy between two readings, in % (wrk, the app, PostgreSQL and
 * anything else): near 100 % the machine is saturated and a second process can only take CPU from the first.
 */
export function machineBusyPercent(before: ReturnType<typeof machineTicks>, after: ReturnType<typeof machineTicks>): number | null {
  if (!before || !after || after.all <= before.all) return null;
  return Math.round((100 * (after.busy - before.busy)) / (after.all - before.all));
}
