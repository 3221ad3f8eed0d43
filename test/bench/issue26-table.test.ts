/**
 * Issue 26's instrument: the verdicts `bun run bench` prints come from the median of adjacent pairs (a run with
 * errors fails its measure, a measure not taken is n/a), and the peer is sent the app's own requests (the same
 * query texts, variables and checks; only the path, the token, its permit numbers and parcels, and the aliases
 * for its one inspection time differ). The runs themselves need wrk, the peer and minutes: `bun run bench -- --quick`.
 */
import { describe, expect, test } from 'bun:test';
import { peerRequestSpec, type Peer } from '../../bench/lib/peer.ts';
import { requestSpec } from '../../bench/lib/scenarios.ts';
import { issue26Measures, type Pairs, type RunFigures } from '../../bench/lib/targets.ts';

const cpu = (app: number, postgres: number) => ({
  app_main_us: app,
  app_workers_us: 0,
  app_other_us: 0,
  postgres_us: postgres,
  total_us: app + postgres,
});
const run = (name: string, rps: number, appUs: number, pgUs = 100, errors = 0, p50 = 10, p99 = 20): RunFigures => ({
  name,
  rps,
  errors,
  p50,
  p99,
  cpu_per_request: cpu(appUs, pgUs),
});

describe('issue 26 table', () => {
  test('each ratio is the median of its pairs, checked against its target', () => {
    const pairs: Pairs = {
      'permit/peer': [
        { partner: run('permit', 1000, 500), full: run('permit', 4500, 200) },
        { partner: run('permit', 1000, 500), full: run('permit', 3000, 200) },
        { partner: run('permit', 1000, 500), full: run('permit', 4100, 200) },
      ],
      'permit/floor': [
        { partner: run('permit', 3000, 100, 0), full: run('permit', 3000, 190) },
        { partner: run('permit', 3000, 100, 0), full: run('permit', 3000, 260) },
        { partner: run('permit', 3000, 100, 0), full: run('permit', 3000, 210) },
      ],
    };
    const measures = issue26Measures(pairs, { permit: [run('permit', 1, 1, 1, 0, 10, 30), run('permit', 1, 1, 1, 0, 10, 20)] }, null);
    const by = (m: string) => measures.find((x) => x.measure.startsWith(m))!;
    expect(by('permit full / peer')).toMatchObject({ values: [4.5, 3, 4.1], median: 4.1, pass: true });
    // app CPU (PostgreSQL excluded): 1.9, 2.6, 2.1 → 2.1 > 2
    expect(by('permit full / yoga floor')).toMatchObject({ values: [1.9, 2.6, 2.1], median: 2.1, pass: false });
    // two runs: the mean of the middle two
    expect(by('permit full, p99 / p50')).toMatchObject({ values: [3, 2], median: 2.5, pass: true });
    // the floor's own tail in the same rounds, beside it: what the stack alone reaches on this machine
    expect(by('permit full, p99 / p50').floor).toEqual({ values: [2, 2, 2], median: 2 });
    // measures this run did not take, and the drain without a figure
    expect(by('submitPermit full / peer')).toMatchObject({ values: [], median: null, pass: null });
    expect(by('outbox drain')).toMatchObject({ median: null, pass: null });
  });

  test('a run with errors fails its measure whatever the ratio', () => {
    const pairs: Pairs = {
      'submitPermit/peer': [
        { partner: run('submitPermit', 100, 500), full: run('submitPermit', 1000, 200) },
        { partner: run('submitPermit', 100, 500), full: run('submitPermit', 1000, 200, 100, 3) },
        { partner: run('submitPermit', 100, 500), full: run('submitPermit', 1000, 200) },
      ],
    };
    const m = issue26Measures(pairs, {}, null).find((x) => x.measure.startsWith('submitPermit full / peer'))!;
    expect(m).toMatchObject({ median: 10, runs_with_errors: 1, pass: false });
  });

  test('the outbox drain passes at 2,000/s only when the outbox emptied', () => {
    const at = (replayed_per_s: number, complete: boolean) =>
      issue26Measures({}, {}, { queued: 10_000, replayed: complete ? 10_000 : 5_000, replayed_per_s, complete }).find((x) =>
        x.measure.startsWith('outbox'),
      )!.pass;
    expect(at(2400, true)).toBe(true);
    expect(at(1900, true)).toBe(false);
    expect(at(2400, false)).toBe(false);
  });
});

describe('the peer is sent the app’s own requests', () => {
  const peer = {
    permitNumbers: ['PRM-000001', 'PRM-000002'],
    parcels: ['1', '2'],
    mint: (scopes: string) => `token-for-${scopes}`,
  } as unknown as Peer;
  const app = (name: 'permit' | 'permitStatus' | 'submitPermit', headers: Record<string, string>) =>
    requestSpec(
      name,
      {
        permitNumbers: peer.permitNumbers,
        submitParcels: peer.parcels,
        bbox: { minLon: 0, minLat: 0, maxLon: 0, maxLat: 0 },
        bboxFeatures: 0,
      },
      headers,
    );

  test('permitStatus: the same body and checks, anonymous, at the peer’s path', () => {
    const spec = peerRequestSpec('permitStatus', peer);
    expect(spec).toEqual({ ...app('permitStatus', {}), path: '/' });
  });

  test('permit: the same query with the peer’s one inspection time under the app’s three names', () => {
    const spec = peerRequestSpec('permit', peer);
    const mine = app('permit', { authorization: 'Bearer token-for-permits:read' });
    if (spec.kind !== 'dynamic' || mine.kind !== 'dynamic') throw new Error('dynamic specs expected');
    expect(spec.bodyLua).toContain('windowStart: scheduledAt windowEnd: scheduledAt result recordedAt: scheduledAt');
    expect(
      spec.bodyLua.replace(
        'windowStart: scheduledAt windowEnd: scheduledAt result recordedAt: scheduledAt',
        'windowStart windowEnd result recordedAt',
      ),
    ).toBe(mine.bodyLua);
    expect({ ...spec, bodyLua: '' }).toEqual({ ...mine, bodyLua: '', path: '/' });
  });

  test('submitPermit: the same mutation, input and fresh idempotency keys, with a submit token', () => {
    const spec = peerRequestSpec('submitPermit', peer);
    expect(spec).toEqual({ ...app('submitPermit', { authorization: 'Bearer token-for-permits:submit' }), path: '/' });
    if (spec.kind !== 'dynamic') throw new Error('dynamic spec expected');
    expect(spec.bodyLua).toContain('nextKey()');
    expect(spec.expect).toBe('"state":"PERSISTED"');
  });
});
