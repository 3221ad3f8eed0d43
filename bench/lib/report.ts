/** The printed table, the ratios c/b, c/a and full/peer, and issue 7's acceptance points read from one run. */
import { median } from './targets.ts';

export interface Row {
  name: string;
  variant: string;
  connections: number;
  rps: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  errors: number;
}

const find = (rows: Row[], name: string, variant: string, c: number) =>
  rows.find((r) => r.name === name && r.variant === variant && r.connections === c);

const ratio = (a?: Row, b?: Row) => (a && b && b.rps > 0 ? (a.rps / b.rps).toFixed(2) : '—');

export function printMatrix(
  rows: Row[],
  peaks: Record<string, { peak_rss_mb: number; hwm_mb: number }>,
  rss: { warm: number; after: number; runs: number[]; raw?: { warm: number; runs: number[] } },
) {
  const names = [...new Set(rows.map((r) => r.name))];
  const conns = [...new Set(rows.map((r) => r.connections))].sort((a, b) => a - b);
  const variants = ['bare', 'security-off', 'full', 'no-audit', 'peer'];
  const head = `${'scenario'.padEnd(13)}${'conn'.padStart(5)}  ${'variant'.padEnd(13)}${'rps'.padStart(9)}${'p50 ms'.padStart(9)}${'p95 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'errors'.padStart(8)}   ratios`;
  console.log(`\n${head}\n${'-'.repeat(head.length + 20)}`);
  for (const name of names) {
    for (const c of conns) {
      for (const v of variants) {
        const r = find(rows, name, v, c);
        if (!r) continue;
        let note = '';
        if (v === 'full') {
          note = `c/b ${ratio(r, find(rows, name, 'security-off', c))}   c/a ${ratio(r, find(rows, name, 'bare', c))}`;
          if (find(rows, name, 'no-audit', c)) note += `   full/no-audit ${ratio(r, find(rows, name, 'no-audit', c))}`;
          if (find(rows, name, 'peer', c)) note += `   full/peer ${ratio(r, find(rows, name, 'peer', c))}`;
        }
        console.log(
          `${name.padEnd(13)}${String(c).padStart(5)}  ${v.padEnd(13)}${r.rps.toFixed(0).padStart(9)}${r.p50_ms.toFixed(2).padStart(9)}${r.p95_ms.toFixed(2).padStart(9)}${r.p99_ms.toFixed(2).padStart(9)}${String(r.errors).padStart(8)}   ${note}`,
        );
      }
    }
    console.log('');
  }
  console.log(
    `peak RSS of the app (sampled VmRSS / kernel VmHWM, MB): ${Object.entries(peaks)
      .map(([v, p]) => `${v} ${p.peak_rss_mb} / ${p.hwm_mb}`)
      .join(' · ')}`,
  );
  console.log(
    `leak check (full, permit; RSS after a full GC): after warm-up ${rss.warm.toFixed(1)} MB; after runs 1-3: ${rss.runs.map((x) => x.toFixed(1)).join(', ')} MB (after/warm ${(rss.after / (rss.warm || 1)).toFixed(2)})`,
  );
  if (rss.raw) {
    console.log(
      `  RSS as found before each GC: warm ${rss.raw.warm.toFixed(1)} MB; runs 1-3: ${rss.raw.runs.map((x) => x.toFixed(1)).join(', ')} MB`,
    );
  }
}

export interface Check {
  point: string;
  pass: boolean;
  detail: string;
  /** false when this run did not measure what the point needs (`--only`, `--connections`): shown as n/a */
  measured?: boolean;
}

/**
 * `pairRatios`: full / security-off of each adjacent pair of permit runs at the highest connection count (point 1);
 * `submitRatios`: full / no-audit of each round of submission runs there (point 3).
 */
export function acceptance(
  rows: Row[],
  rss: { warm: number; after: number; runs?: number[] },
  pairRatios: number[] = [],
  submitRatios: number[] = [],
  floor: { name: string; connections: number; p95_ms: number }[] = [],
): Check[] {
  const c = Math.max(...rows.map((r) => r.connections));
  const checks: Check[] = [];
  const full = (n: string) => find(rows, n, 'full', c);
  {
    const a = full('permit');
    const b = find(rows, 'permit', 'security-off', c);
    // the rows hold each variant's median run; the pairs' median ratio decides when there are pairs
    const x = pairRatios.length ? (median(pairRatios) ?? NaN) : a && b ? a.rps / b.rps : NaN;
    const pairs =
      pairRatios.length > 1 ? ` (median of ${pairRatios.length} adjacent pairs: ${pairRatios.map((r) => r.toFixed(2)).join(', ')})` : '';
    checks.push({
      point: `1. permit@${c}: full ≥ 0.85 × security-off`,
      pass: x >= 0.85,
      measured: Boolean(a && b),
      detail: `${a?.rps.toFixed(0)} / ${b?.rps.toFixed(0)} rps (median runs); ratio ${x.toFixed(2)}${pairs}`,
    });
  }
  for (const [n, limit] of [
    ['permitStatus', 15],
    ['permit', 15],
    ['submitPermit', 40],
  ] as const) {
    const r = full(n);
    // the same requests on graphql-yoga alone (no plugins, no database): no app on this stack beats it on this machine
    const f = floor.find((x) => x.name === n && x.connections === c);
    const floorNote = f ? ` (the stack's floor: p95 ${f.p95_ms} ms)` : '';
    checks.push({
      point: `2. ${n}@${c} full p95 < ${limit} ms`,
      pass: !!r && r.rps > 0 && r.p95_ms < limit,
      measured: Boolean(r),
      detail: `p95 ${r?.p95_ms} ms${floorNote}`,
    });
  }
  {
    const a = full('submitPermit');
    const b = find(rows, 'submitPermit', 'no-audit', c);
    const x = submitRatios.length ? (median(submitRatios) ?? NaN) : a && b ? a.rps / b.rps : NaN;
    const rounds =
      submitRatios.length > 1 ? ` (median of ${submitRatios.length} rounds: ${submitRatios.map((r) => r.toFixed(2)).join(', ')})` : '';
    checks.push({
      point: `3. submitPermit@${c}: full ≥ 0.7 × no-audit`,
      pass: x >= 0.7,
      measured: Boolean(a && b),
      detail: `${a?.rps.toFixed(0)} / ${b?.rps.toFixed(0)} rps (median runs); ratio ${x.toFixed(2)}${rounds}`,
    });
  }
  checks.push({ point: '4. three instances', pass: false, detail: 'run `bun run bench -- --instances 3`' });
  {
    // every one of the repeated runs, not only the last
    const runs = rss.runs?.length ? rss.runs : [rss.after];
    const worst = Math.max(...runs);
    checks.push({
      point: `5. RSS (after GC) after each of ${runs.length} runs ≤ 1.2 × warm`,
      pass: rss.warm > 0 && worst <= 1.2 * rss.warm,
      measured: rss.warm > 0,
      detail: `${runs.map((r) => r.toFixed(1)).join(', ')} / ${rss.warm.toFixed(1)} MB: worst ${(worst / (rss.warm || 1)).toFixed(2)}`,
    });
  }
  const bad = rows.filter((r) => r.errors > 0);
  checks.push({
    point: 'no errors in any run',
    pass: bad.length === 0,
    detail: bad.length ? bad.map((r) => `${r.name}/${r.variant}/${r.connections}: ${r.errors}`).join(', ') : 'all runs clean',
  });
  return checks;
}

export function printAcceptance(checks: Check[]) {
  console.log('\nacceptance (issue 7):');
  for (const ch of checks) {
    const unmeasured = ch.point.startsWith('4.') || ch.measured === false;
    const mark = unmeasured ? 'n/a ' : ch.pass ? 'PASS' : 'FAIL';
    console.log(`  ${mark}  ${ch.point.padEnd(42)} ${ch.measured === false ? 'not measured in this run' : ch.detail}`);
  }
}
