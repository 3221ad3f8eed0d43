/** The importer's pure parts: the progress display and the geometry checks (no database). */
import { describe, expect, test } from 'bun:test';
import { checkPolygonal, parseWktPolygonal } from '../../src/import/geometry.ts';
import { createProgress } from '../../src/import/progress.ts';

function recorder(isTTY: boolean) {
  const written: string[] = [];
  let t = 0;
  return { written, tick: (ms: number) => (t += ms), stream: { isTTY, write: (s: string) => written.push(s) }, now: () => t };
}

describe('progress', () => {
  test('silent for the first second; then a bar with rate and ETA redrawn in place on a terminal', () => {
    const r = recorder(true);
    const p = createProgress({ totalBytes: 1000, label: 'import parcels', stream: r.stream, now: r.now });
    r.tick(500);
    p.update(100, 500);
    expect(r.written).toEqual([]);
    r.tick(500);
    p.update(250, 1000);
    expect(r.written[0]).toBe('\rimport parcels [######..................]  25%  1,000 rows  1,000 rows/s  ETA 3s\x1b[K');
    p.done();
    expect(r.written.at(-1)!.endsWith('\n')).toBe(true);
  });

  test('plain lines, at most one per 5 seconds, when stderr is not a terminal; nothing at all for a short run', () => {
    const r = recorder(false);
    const p = createProgress({ totalBytes: 1000, label: 'import parcels', stream: r.stream, now: r.now });
    r.tick(1000);
    p.update(500, 2000);
    r.tick(1000);
    p.update(600, 2400);
    expect(r.written).toEqual(['import parcels  50%  2,000 rows  2,000 rows/s  ETA 1s\n']);
    const quick = recorder(false);
    const q = createProgress({ totalBytes: 10, label: 'x', stream: quick.stream, now: quick.now });
    q.update(10, 3);
    q.done();
    expect(quick.written).toEqual([]);
  });
});

describe('geometry', () => {
  const ring = [
    [-89, 39],
    [-88.9, 39],
    [-88.9, 39.1],
    [-89, 39.1],
    [-89, 39],
  ];
  test('a valid Polygon keeps 2D positions and gets its centroid; MultiPolygon too', () => {
    const r = checkPolygonal({ type: 'Polygon', coordinates: [ring.map(([x, y]) => [x, y, 180])] });
    expect(r).toMatchObject({ ok: true, geometry: { type: 'Polygon', coordinates: [ring] } });
    if (r.ok) {
      expect(r.centroid[0]).toBeCloseTo(-88.95, 9);
      expect(r.centroid[1]).toBeCloseTo(39.05, 9);
    }
    expect(parseWktPolygonal('SRID=4326;MULTIPOLYGON (((-89 39, -88.9 39, -88.9 39.1, -89 39.1, -89 39)))')).toMatchObject({
      ok: true,
      geometry: { type: 'MultiPolygon' },
    });
  });

  test('each defect is refused with a reason an operator can act on', () => {
    const reason = (g: unknown) => (checkPolygonal(g) as { reason?: string }).reason;
    expect(reason({ type: 'Polygon', coordinates: [ring.slice(0, 3)] })).toBe('ring 0 has 3 positions; a ring needs at least 4');
    expect(reason({ type: 'Polygon', coordinates: [ring.slice(0, 4)] })).toBe('ring 0 is not closed (its first and last positions differ)');
    expect(
      reason({
        type: 'Polygon',
        coordinates: [
          [
            [0, 0],
            [Number.NaN, 1],
            [1, 1],
            [0, 0],
          ],
        ],
      }),
    ).toBe('ring 0, position 1 has a coordinate that is not a finite number');
    expect(
      reason({
        type: 'Polygon',
        coordinates: [
          [
            [0, 95],
            [1, 1],
            [2, 2],
            [0, 95],
          ],
        ],
      }),
    ).toContain('outside WGS 84');
    expect(reason({ type: 'LineString', coordinates: [] })).toBe('geometry type LineString is not Polygon or MultiPolygon');
    expect(reason(null)).toBe('the feature has no geometry');
    expect((parseWktPolygonal('SRID=2272;POLYGON ((0 0, 1 0, 1 1, 0 0))') as { reason: string }).reason).toContain(
      'SRID 2272 is not WGS 84',
    );
    expect((parseWktPolygonal('POLYGON ((0 0, 1 0, 1 1, 0 0)') as { reason: string }).reason).toContain('malformed WKT');
    expect((parseWktPolygonal('POLYGON EMPTY') as { reason: string }).reason).toBe('the geometry is EMPTY');
  });
});
