/**
 * GDAL's OGC API – Features driver (Debian gdal-bin), a client nobody here wrote, against the real app:
 * `ogrinfo` lists both collections, and `ogr2ogr` copies every demo-city permit into a GeoPackage, as many as
 * `permits.totalCount`, with the token passed the way GDAL users pass it (GDAL_HTTP_HEADERS). Skipped where
 * GDAL is not installed.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.ts';

setDefaultTimeout(180_000);

const gdal = Boolean(Bun.which('ogrinfo') && Bun.which('ogr2ogr'));
let t: TestServer;
let token: string;
let dir: string;

/** Runs a GDAL tool without blocking this process (the server answering it lives here too). */
async function run(args: string[], bearer = token) {
  const p = Bun.spawn(args, {
    env: { ...process.env, GDAL_HTTP_HEADERS: `Authorization: Bearer ${bearer}`, CPL_DEBUG: 'OFF', GDAL_HTTP_TIMEOUT: '60' },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { out, err, code };
}

const featureCount = (ogrinfoOutput: string, layer: string) => {
  const section = ogrinfoOutput.split(/^Layer name: /m).find((s) => s.startsWith(`${layer}\n`)) ?? '';
  const m = /^Feature Count: (\d+)$/m.exec(section);
  return m ? Number(m[1]) : null;
};

describe.skipIf(!gdal)('GDAL OAPIF driver', () => {
  beforeAll(async () => {
    t = await startTestServer();
    token = await t.token('demo-gis');
    dir = mkdtempSync(join(tmpdir(), 'ogc-gdal-'));
  }, 180_000);
  afterAll(async () => {
    await t?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('ogrinfo lists both collections with their geometry types', async () => {
    const r = await run(['ogrinfo', '-ro', '-so', '-al', `OAPIF:${t.url}/ogc`]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Layer name: permits');
    expect(r.out).toContain('Layer name: parcels');
    const permits = r.out.split(/^Layer name: /m).find((s) => s.startsWith('permits\n'))!;
    const parcels = r.out.split(/^Layer name: /m).find((s) => s.startsWith('parcels\n'))!;
    expect(permits).toMatch(/^Geometry: Point$/m);
    expect(parcels).toMatch(/^Geometry: Polygon$/m);
    expect(permits).toMatch(/^StatusCurrent: String/m);
  });

  test('ogr2ogr copies every demo-city permit into a GeoPackage: as many as permits.totalCount', async () => {
    const total = (await t.gql(`{ permits { totalCount } }`, {}, token)).body.data.permits.totalCount as number;
    expect(total).toBeGreaterThan(100);
    const gpkg = join(dir, 'permits.gpkg');
    const copy = await run(['ogr2ogr', '-f', 'GPKG', gpkg, `OAPIF:${t.url}/ogc`, 'permits']);
    expect({ code: copy.code, err: copy.err }).toEqual({ code: 0, err: '' });
    const info = await run(['ogrinfo', '-ro', '-so', gpkg, 'permits']);
    expect(featureCount(info.out, 'permits')).toBe(total);
    // no duplicates: as many distinct permit numbers as features
    const distinct = await run(['ogrinfo', '-ro', gpkg, '-sql', 'SELECT COUNT(DISTINCT PermitNum) AS n FROM permits']);
    expect(distinct.out).toMatch(new RegExp(`n \\(Integer(64)?\\) = ${total}\\b`));
  });

  test('parcels arrive as polygons', async () => {
    const gpkg = join(dir, 'parcels.gpkg');
    const copy = await run(['ogr2ogr', '-f', 'GPKG', gpkg, `OAPIF:${t.url}/ogc`, 'parcels']);
    expect(copy.code).toBe(0);
    const info = await run(['ogrinfo', '-ro', '-so', gpkg, 'parcels']);
    expect(info.out).toMatch(/^Geometry: Polygon$/m);
    expect(featureCount(info.out, 'parcels')).toBeGreaterThan(100);
  });

  test('without the header GDAL is refused', async () => {
    const p = Bun.spawn(['ogrinfo', '-ro', '-so', `OAPIF:${t.url}/ogc`], {
      stdout: 'pipe',
      stderr: 'pipe',
      env: { ...process.env, GDAL_HTTP_HEADERS: '' },
    });
    const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
    expect(code).not.toBe(0);
    expect(out).not.toContain('permits');
  });
});
