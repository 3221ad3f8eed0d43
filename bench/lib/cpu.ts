/**
 * CPU time per request by where it is spent: the app's serving thread, its worker threads (the audit group commit;
 * Bun names them `Worker`), its other threads (JIT compilers, GC helpers) and PostgreSQL's processes, read from
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

export interface CpuSnapshot {
  appMain: number;
  appWorkers: number;
  appOther: number;
  postgres: number;
}

/** Clock ticks used so far by the app process (main thread / worker threads / others) and every `postgres` process. */
export function cpuSnapshot(appPid: number): CpuSnapshot | null {
  if (!existsSync(`/proc/${appPid}/task`)) return null;
  const s: CpuSnapshot = { appMain: 0, appWorkers: 0, appOther: 0, postgres: 0 };
  for (const tid of readdirSync(`/proc/${appPid}/task`)) {
    const line = read(`/proc/${appPid}/task/${tid}/stat`);
    if (!line) continue;
    const name = line.slice(line.indexOf('(') + 1, line.lastIndexOf(')'));
    s[tid === String(appPid) ? 'appMain' : name === 'Worker' ? 'appWorkers' : 'appOther'] += ticksOf(line);
  }
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    if (read(`/proc/${pid}/comm`)?.trim() !== 'postgres') continue;
    const line = read(`/proc/${pid}/stat`);
    if (line) s.postgres += ticksOf(line);
  }
  return s;
}

/** Microseconds of CPU per request between two snapshots (rounded to 1 µs). */
export function cpuPerRequest(before: CpuSnapshot | null, after: CpuSnapshot | null, requests: number) {
  if (!before || !after || requests <= 0) return null;
  const us = (k: keyof CpuSnapshot) => Math.round(((after[k] - before[k]) / TICKS_PER_SECOND) * 1e6 / requests);
  const perRequest = { app_main_us: us('appMain'), app_workers_us: us('appWorkers'), app_other_us: us('appOther'), postgres_us: us('postgres') };
  return { ...perRequest, total_us: perRequest.app_main_us + perRequest.app_workers_us + perRequest.app_other_us + perRequest.postgres_us };
}
export type CpuPerRequest = NonNullable<ReturnType<typeof cpuPerRequest>>;

/**
 * {@link cpuPerRequest} over several app processes on one PostgreSQL (scale-out): the app figures summed over the
 * processes, PostgreSQL's counted once (every snapshot holds all of its processes).
 */
export function cpuPerRequestOfMany(before: (CpuSnapshot | null)[], after: (CpuSnapshot | null)[], requests: number) {
  if (before.some((s) => !s) || after.some((s) => !s) || before.length === 0) return null;
  const sum = (snaps: (CpuSnapshot | null)[]): CpuSnapshot => ({
    appMain: snaps.reduce((a, s) => a + s!.appMain, 0),
    appWorkers: snaps.reduce((a, s) => a + s!.appWorkers, 0),
    appOther: snaps.reduce((a, s) => a + s!.appOther, 0),
    postgres: snaps[0]!.postgres,
  });
  return cpuPerRequest(sum(before), sum(after), requests);
}
