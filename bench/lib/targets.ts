/**
 * Issue 26's table: each measure with its target and PASS/FAIL. This machine's speed drifts within minutes, so
 * every ratio is taken from adjacent pairs of runs (the app's `full` run and its partner right before or after it:
 * the peer, the yoga floor, security-off, no-audit) and the median of the pairs' ratios decides. A measure this run
 * did not take (`--only`, no peer installed) is `n/a`; one with a run that had errors (non-2xx, GraphQL errors, a
 * submission QUEUED instead of PERSISTED, no request completed) FAILs whatever its ratio, since that run measured
 * something else.
 */
import type { CpuPerRequest } from './cpu.ts';

/** What the table needs of one measured run. */
export interface RunFigures {
  name: string;
  rps: number;
  errors: number;
  p50: number;
  p99: number;
  cpu_per_request?: CpuPerRequest;
}

/** Adjacent pairs by `<scenario>/<partner variant>` (e.g. `permit/peer`): the partner's run and the full one. */
export type Pairs = Record<string, { partner: RunFigures; full: RunFigures }[]>;

export interface Measure {
  measure: string;
  /** each pair's ratio (or each run's, for p99/p50), in the order measured */
  values: number[];
  /** the median of `values`; null when not measured */
  median: number | null;
  target: string;
  /** runs behind `values` that had errors: the measure fails */
  runs_with_errors: number;
  /** null: not measured in this run */
  pass: boolean | null;
  /**
   * For p99/p50: the yoga floor's own p99/p50 in the same rounds (graphql-yoga alone, no database, no plugins): on
   * this machine no app on the stack has a tighter tail than that, so a limit below it cannot be met here.
   */
  floor?: { values: number[]; median: number | null };
}

export const median = (xs: readonly number[]): number | null => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const r2 = (x: number) => Math.round(x * 100) / 100;
/** The app's own CPU per request: its serving thread, workers and JIT/GC threads, PostgreSQL excluded. */
const appCpu = (c?: CpuPerRequest) => (c ? c.app_main_us + c.app_workers_us + c.app_other_us : NaN);
const totalCpu = (c?: CpuPerRequest) => (c ? c.total_us : NaN);

function measureOf(measure: string, values: number[], runs: RunFigures[], atLeast: boolean, limit: number): Measure {
  const finite = values.filter(Number.isFinite).map(r2);
  const m = median(finite);
  const runsWithErrors = new Set(runs.filter((r) => r.errors > 0)).size;
  return {
    measure,
    values: finite,
    median: m === null ? null : r2(m),
    target: `${atLeast ? '≥' : '≤'} ${limit}`,
    runs_with_errors: runsWithErrors,
    pass: m === null && !runsWithErrors ? null : !runsWithErrors && m !== null && (atLeast ? m >= limit : m <= limit),
  };
}

/** The outbox drain as the table reads it (bench/lib/outbox-drain.ts). */
export interface DrainFigure {
  queued: number;
  replayed: number;
  replayed_per_s: number;
  complete: boolean;
}

/**
 * The measures, in the issue's order. `fullRuns`: every `full` run at the highest connection count by scenario
 * (p99/p50 is the median over them).
 */
export function issue26Measures(pairs: Pairs, fullRuns: Record<string, RunFigures[]>, drain: DrainFigure | null): Measure[] {
  type Pair = { partner: RunFigures; full: RunFigures };
  const paired = (measure: string, key: string, f: (p: Pair) => number, atLeast: boolean, limit: number) => {
    const ps = pairs[key] ?? [];
    return measureOf(
      measure,
      ps.map(f),
      ps.flatMap((p) => [p.partner, p.full]),
      atLeast,
      limit,
    );
  };
  const rps = (p: Pair) => p.full.rps / p.partner.rps;
  const app = (p: Pair) => appCpu(p.full.cpu_per_request) / appCpu(p.partner.cpu_per_request);
  const total = (p: Pair) => totalCpu(p.full.cpu_per_request) / totalCpu(p.partner.cpu_per_request);
  const out: Measure[] = [
    paired('permit full / peer, throughput', 'permit/peer', rps, true, 4),
    paired('submitPermit full / peer, throughput', 'submitPermit/peer', rps, true, 2.5),
    paired('permit full / yoga floor, app CPU per request', 'permit/floor', app, false, 2),
    paired('permitStatus full / yoga floor, app CPU per request', 'permitStatus/floor', app, false, 2),
    paired('permit full / security-off, total CPU per request', 'permit/security-off', total, false, 1.05),
    paired('submitPermit full / no-audit, total CPU per request', 'submitPermit/no-audit', total, false, 1.15),
  ];
  const tail = (r: RunFigures) => r.p99 / r.p50;
  for (const [name, runs] of Object.entries(fullRuns)) {
    const m = measureOf(`${name} full, p99 / p50`, runs.filter((r) => r.p50 > 0).map(tail), runs, false, 2.5);
    const floor = (pairs[`${name}/floor`] ?? []).map((p) => p.partner).filter((r) => r.p50 > 0);
    if (floor.length) {
      const values = floor.map(tail).map(r2);
      const fm = median(values);
      m.floor = { values, median: fm === null ? null : r2(fm) };
    }
    out.push(m);
  }
  const drainMeasure: Measure = {
    measure: 'outbox drain after an outage, replayed per second',
    values: drain ? [drain.replayed_per_s] : [],
    median: drain ? drain.replayed_per_s : null,
    target: '≥ 2000/s',
    runs_with_errors: 0,
    pass: drain ? drain.complete && drain.replayed_per_s >= 2000 : null,
  };
  out.push(drainMeasure);
  return out;
}

export function printIssue26(measures: Measure[], connections: number, drain: (DrainFigure & { drain_s: number }) | null) {
  console.log(`\nissue 26 (c=${connections}; each ratio the median of adjacent pairs, each pair's ratio listed):`);
  const head = `  ${'measure'.padEnd(54)}${'pairs / runs'.padEnd(26)}${'median'.padStart(8)}  ${'target'.padEnd(10)} verdict`;
  console.log(`${head}\n  ${'-'.repeat(head.length)}`);
  for (const m of measures) {
    const values =
      m.measure.startsWith('outbox') && drain
        ? drain.complete
          ? `${drain.queued} in ${drain.drain_s} s`
          : `${drain.replayed} of ${drain.queued} in ${drain.drain_s} s`
        : m.values.map((v) => v.toFixed(2)).join(' ');
    const verdict =
      m.pass === null
        ? 'n/a (not measured in this run)'
        : m.pass
          ? 'PASS'
          : `FAIL${m.runs_with_errors ? ` (${m.runs_with_errors} run${m.runs_with_errors > 1 ? 's' : ''} with errors)` : ''}`;
    console.log(
      `  ${m.measure.padEnd(54)}${values.padEnd(26)}${(m.median === null ? '—' : String(m.median)).padStart(8)}  ${m.target.padEnd(10)} ${verdict}`,
    );
    if (m.floor) {
      const f = m.floor;
      const below = f.median !== null && f.median > 2.5 ? ': the floor itself is above the limit here' : '';
      console.log(
        `    ${'the yoga floor, same rounds'.padEnd(52)}${f.values
          .map((v) => v.toFixed(2))
          .join(' ')
          .padEnd(26)}${String(f.median ?? '—').padStart(8)}${below}`,
      );
    }
  }
}
