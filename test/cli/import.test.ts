/**
 * `cli import parcels|contractors|permits` as an operator runs them, on an empty database: refusals named
 * FILE:LINE with exit codes, dry runs that write nothing, reruns that change nothing, whole batches after an
 * interrupted import, and one audit entry per committed batch. The tests share one database and build on each
 * other as a city's onboarding does: the permits test uses the parcels imported before it.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rowsOf } from '../../src/db/rows.ts';
import { CLI_HOOK_TIMEOUT, CLI_TEST_TIMEOUT, createCliDatabase, runCli, type CliDatabase } from './support.ts';

let cdb: CliDatabase;
let dir: string;
beforeAll(async () => {
  cdb = await createCliDatabase({ seed: false });
  dir = mkdtempSync(join(tmpdir(), 'pg-import-'));
  const made = await runCli(
    ['jurisdictions', 'create', '--id', 'springfield-il', '--name', 'Springfield', '--state', 'IL', '--timezone', 'America/Chicago'],
    cdb.env,
  );
  if (made.code !== 0) throw new Error(made.stderr);
}, CLI_HOOK_TIMEOUT);
afterAll(async () => {
  await cdb?.drop();
  rmSync(dir, { recursive: true, force: true });
}, CLI_HOOK_TIMEOUT);

const cli = (...args: string[]) => runCli(args, cdb.env);
const importJson = async (...args: string[]) => {
  const r = await cli('import', ...args, '--jurisdiction', 'springfield-il', '--json');
  return { ...r, report: r.stdout ? JSON.parse(r.stdout) : null };
};
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

async function query<T>(text: string): Promise<T[]> {
  const database = await cdb.open();
  try {
    return rowsOf<T>(await database.db.execute(sql.raw(text)));
  } finally {
    await database.close();
  }
}

const square = (lon: number, lat: number, h = 0.0002) => [
  [
    [lon - h, lat - h],
    [lon + h, lat - h],
    [lon + h, lat + h],
    [lon - h, lat + h],
    [lon - h, lat - h],
  ],
];
const feature = (apn: string, geometry: unknown, props: Record<string, unknown> = {}) =>
  JSON.stringify({
    type: 'Feature',
    properties: { APN: apn, Address1: `${apn} Elm St`, City: 'Springfield', State: 'IL', Zip: '62701', Zoning: 'RS-7', ...props },
    geometry,
  });
const collection = (features: string[]) => `{"type":"FeatureCollection","features":[\n${features.join(',\n')}\n]}\n`;

describe('cli import parcels', () => {
  test(
    'GeoJSON: refusals named by feature index, dry run writes nothing, import, rerun changes nothing',
    async () => {
      const good = [
        feature('100-001', { type: 'Polygon', coordinates: square(-89.65, 39.78) }),
        feature('100-002', { type: 'MultiPolygon', coordinates: [square(-89.64, 39.78), square(-89.63, 39.78)] }, { Address2: 'Unit 2' }),
      ];
      const bad = [
        feature('100-003', {
          type: 'Polygon',
          coordinates: [
            [
              [-89.6, 39.7],
              [-89.5, 39.7],
              [-89.5, 39.8],
              [-89.6, 39.8],
            ],
          ],
        }), // not closed
        feature('100-004', { type: 'Polygon', coordinates: square(812345.5, 2101234.25) }), // state plane feet, not WGS 84
        feature('100-005', { type: 'Point', coordinates: [-89.6, 39.7] }),
        feature('100-001', { type: 'Polygon', coordinates: square(-89.65, 39.78) }), // duplicate APN
      ];
      const path = file('county.geojson', collection([...good, ...bad]));
      const refused = await importJson('parcels', path);
      expect(refused.code).toBe(1);
      const lines = refused.stderr.trim().split('\n');
      expect(lines[0]).toMatch(new RegExp(`^${path}:2: apn 100-003: ring 0 is not closed`));
      expect(lines[1]).toMatch(new RegExp(`^${path}:3: apn 100-004: ring 0, position 0 .* outside WGS 84`));
      expect(lines[2]).toContain(`${path}:4: apn 100-005: geometry type Point is not Polygon or MultiPolygon`);
      expect(lines[3]).toContain(`${path}:5: duplicate apn 100-001 (also at county.geojson:0)`);
      expect(refused.report).toMatchObject({ rows: 6, refused: 4, inserted: 0, complete: false });
      expect(await query('select 1 from parcels')).toHaveLength(0);

      const fixed = file('county-fixed.geojson', collection(good));
      const dry = await importJson('parcels', fixed, '--dry-run');
      expect(dry.code).toBe(0);
      expect(dry.report).toMatchObject({ dryRun: true, rows: 2, inserted: 2, updated: 0, unchanged: 0, refused: 0, batches: 0 });
      expect(await query('select 1 from parcels')).toHaveLength(0);
      const audited = `select 1 from audit_entries where entry->>'kind' = 'import' union all select 1 from audit_pending where entry->>'kind' = 'import'`;
      expect(await query(audited)).toHaveLength(0);

      const first = await importJson('parcels', fixed);
      expect(first.code).toBe(0);
      expect(first.report).toMatchObject({ inserted: 2, updated: 0, unchanged: 0, refused: 0, batches: 1 });
      const [p] = await query<{ address: string; address2: string; zip: string; zoning_code: string; longitude: number; type: string }>(
        `select address, address2, zip, zoning_code, longitude, geometry->>'type' as type from parcels where apn = '100-002'`,
      );
      expect(p).toMatchObject({
        address: '100-002 Elm St Unit 2',
        address2: 'Unit 2',
        zip: '62701',
        zoning_code: 'RS-7',
        type: 'MultiPolygon',
      });
      expect(p!.longitude).toBeCloseTo(-89.635, 6); // the centroid of both squares

      const second = await importJson('parcels', fixed);
      expect(second.report).toMatchObject({ inserted: 0, updated: 0, unchanged: 2, refused: 0 });

      const skipped = await importJson('parcels', path, '--skip-invalid');
      expect(skipped.code).toBe(0);
      expect(skipped.report).toMatchObject({ unchanged: 2, refused: 4, complete: true });
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    'CSV with WKT: updates a changed row, refuses bad WKT by line, and a missing column stops before any row',
    async () => {
      const csv = file(
        'parcels.csv',
        [
          'APN,Address1,City,State,ZIP,Zoning,WKT',
          `100-001,"1 Main St, Rear",Springfield,IL,62701,C-2,"POLYGON ((-89.65 39.78, -89.649 39.78, -89.649 39.781, -89.65 39.78))"`,
          '200-001,,,,,R-1,"MULTIPOLYGON (((-89.7 39.7, -89.69 39.7, -89.69 39.71, -89.7 39.7)))"',
          '200-002,,,,,R-1,"POLYGON ((-89.7 39.7, -89.69 NaN, -89.69 39.71, -89.7 39.7))"',
          '200-003,,,,123,R-1,"POLYGON ((-89.7 39.7, -89.69 39.7, -89.69 39.71, -89.7 39.7))"',
          '200-004,,,,,R-1,"LINESTRING (0 0, 1 1)"',
          '200-005,,,,,R-1,POLYGON ((-89.7 39.7, -89.69 39.7))',
        ].join('\r\n'),
      );
      const r = await importJson('parcels', csv, '--skip-invalid');
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`${csv}:4: apn 200-002: ring 0, position 1 has a coordinate that is not a finite number`);
      expect(r.stderr).toContain(`${csv}:5: apn 200-003: zip "123" is not a US ZIP code`);
      expect(r.stderr).toContain(`${csv}:6: apn 200-004: WKT type LINESTRING is not POLYGON or MULTIPOLYGON`);
      expect(r.stderr).toContain(`${csv}:7: 1 more field(s) than the header has columns (an unquoted comma?)`);
      expect(r.report).toMatchObject({ inserted: 1, updated: 1, refused: 4 });
      const [p] = await query<{ address: string; zoning_code: string }>(`select address, zoning_code from parcels where apn = '100-001'`);
      expect(p).toEqual({ address: '1 Main St, Rear', zoning_code: 'C-2' });

      const noWkt = file('no-wkt.csv', 'apn,zoning\n1,R-1\n');
      const missing = await importJson('parcels', noWkt);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain(`${noWkt}:1: missing column(s) wkt`);
    },
    CLI_TEST_TIMEOUT,
  );
});

describe('cli import contractors and permits', () => {
  test(
    'contractors upsert by license; permits resolve PIN and license, map BLDS statuses, and refuse unknowns',
    async () => {
      const contractors = file(
        'contractors.csv',
        [
          'license_number,name,license_status,license_expires_on,extra',
          'IL-100,Acme Builders,active,2028-06-30,x',
          'IL-101,Bolt Electric,SUSPENDED,2027-01-31,',
          'IL-102,Bad Date,ACTIVE,2027-02-30,',
        ].join('\n'),
      );
      const c1 = await importJson('contractors', contractors);
      expect(c1.code).toBe(1);
      expect(c1.stderr).toContain(`${contractors}:4: license IL-102: license_expires_on "2027-02-30" is not a date (YYYY-MM-DD)`);
      const c2 = await importJson('contractors', contractors, '--skip-invalid');
      expect(c2.report).toMatchObject({ inserted: 2, refused: 1 });

      const header =
        'PermitNum,Description,AppliedDate,IssuedDate,CompletedDate,StatusCurrent,PermitType,WorkClass,EstProjectCost,PIN,ContractorLicNum';
      const permits = file(
        'permits.csv',
        [
          header,
          'B24-0001,New garage,2024-03-01,2024-04-02,,Permit Issued,Building,New,"$45,000.00",100-001,IL-100',
          'E24-0002,Panel upgrade,2024-05-01T09:30:00-05:00,,,UNDER_REVIEW,ELECTRICAL,Existing,3200,200-001,IL-101',
          'B24-0003,Deck,2024-05-03,,,Permit Finaled,Building,Addition,1000,999-999,IL-100',
          'B24-0004,Shed,2024-05-04,,,Lost In Mail,Building,New,100,100-001,IL-100',
          'B24-0005,Porch,yesterday,,,Applied,Building,New,100,100-001,IL-100',
        ].join('\n'),
      );
      const p1 = await importJson('permits', permits, '--skip-invalid');
      expect(p1.code).toBe(0);
      expect(p1.stderr).toContain(`${permits}:4: permit B24-0003: unknown parcel PIN 999-999 in springfield-il`);
      expect(p1.stderr).toContain(`${permits}:5: permit B24-0004: StatusCurrent "Lost In Mail"`);
      expect(p1.stderr).toContain(`${permits}:6: permit B24-0005: AppliedDate "yesterday" is not a date`);
      expect(p1.report).toMatchObject({ inserted: 2, refused: 3 });
      const rows = await query<{
        permit_num: string;
        status_current: string;
        work_class: string;
        est_project_cost: string;
        applied: string;
      }>(
        `select permit_num, status_current, work_class, est_project_cost::text, to_char(applied_date at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI') as applied from permits order by permit_num`,
      );
      expect(rows).toEqual([
        // a date without an offset is midnight in the jurisdiction's time zone (CST is UTC-6)
        { permit_num: 'B24-0001', status_current: 'ISSUED', work_class: 'NEW', est_project_cost: '45000.00', applied: '2024-03-01T06:00' },
        {
          permit_num: 'E24-0002',
          status_current: 'UNDER_REVIEW',
          work_class: 'ALTERATION',
          est_project_cost: '3200.00',
          applied: '2024-05-01T14:30',
        },
      ]);
      const p2 = await importJson('permits', permits, '--skip-invalid');
      expect(p2.report).toMatchObject({ inserted: 0, updated: 0, unchanged: 2, refused: 3 });
    },
    CLI_TEST_TIMEOUT,
  );
});

describe('batches', () => {
  test(
    'a refused row in batch 3 leaves batches 1-2 whole; the rerun of the fixed file completes; one audit entry per batch',
    async () => {
      const apns = Array.from({ length: 7 }, (_, i) => `900-${i}`);
      const features = apns.map((apn, i) => feature(apn, { type: 'Polygon', coordinates: square(-89.5 + i * 0.001, 39.9) }));
      const broken = [...features];
      broken[5] = feature('900-5', {
        type: 'Polygon',
        coordinates: [
          [
            [-89.5, 39.9],
            [-89.4, 39.9],
            [-89.5, 39.9],
          ],
        ],
      });
      const brokenPath = file('batches.geojson', collection(broken));
      const auditBefore = (await query<{ n: number }>(`select count(*)::int as n from audit_entries where entry->>'kind' = 'import'`))[0]!
        .n;

      const interrupted = await importJson('parcels', brokenPath, '--batch-size', '2');
      expect(interrupted.code).toBe(1);
      expect(interrupted.stderr).toContain(`${brokenPath}:5: apn 900-5: ring 0 has 3 positions; a ring needs at least 4`);
      expect(interrupted.report).toMatchObject({ inserted: 4, batches: 2, complete: false });
      const stored = await query<{ apn: string }>(`select apn from parcels where apn like '900-%' order by apn`);
      expect(stored.map((r) => r.apn)).toEqual(['900-0', '900-1', '900-2', '900-3']);

      const fixedPath = file('batches-fixed.geojson', collection(features));
      const rerun = await importJson('parcels', fixedPath, '--batch-size', '2');
      expect(rerun.code).toBe(0);
      expect(rerun.report).toMatchObject({ inserted: 3, unchanged: 4, batches: 4, complete: true });

      const entries = await query<{ entry: Record<string, unknown> }>(
        `select entry from audit_entries where entry->>'kind' = 'import' order by seq offset ${auditBefore}`,
      );
      const sha = (p: string) => new Bun.CryptoHasher('sha256').update(readFileSync(p)).digest('hex');
      expect(entries.map((e) => [e.entry.file, e.entry.batch, e.entry.inserted, e.entry.unchanged])).toEqual([
        ['batches.geojson', 1, 2, 0],
        ['batches.geojson', 2, 2, 0],
        ['batches-fixed.geojson', 1, 0, 2],
        ['batches-fixed.geojson', 2, 0, 2],
        ['batches-fixed.geojson', 3, 2, 0],
        ['batches-fixed.geojson', 4, 1, 0],
      ]);
      expect(entries[0]!.entry).toMatchObject({
        dataset: 'parcels',
        jurisdiction: 'springfield-il',
        fileSha256: sha(brokenPath),
        from: 0,
        to: 1,
      });
      expect(entries[2]!.entry.fileSha256).toBe(sha(fixedPath));

      const verified = await cli('audit', 'verify', '--json');
      expect(verified.code).toBe(0);
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    'a killed import leaves whole batches, each with its staged audit entry, and the rerun completes it',
    async () => {
      const n = 60_000;
      const features = Array.from({ length: n }, (_, i) =>
        feature(`K-${i}`, { type: 'Polygon', coordinates: square(-88 + (i % 200) * 0.001, 40 + Math.floor(i / 200) * 0.001) }),
      );
      const path = file('killed.geojson', collection(features));
      const count = async () => (await query<{ n: number }>(`select count(*)::int as n from parcels where apn like 'K-%'`))[0]!.n;
      const entries = async () =>
        (
          await query<{ n: number }>(
            `select (select count(*) from audit_entries where entry->>'file' = 'killed.geojson') + (select count(*) from audit_pending where entry->>'file' = 'killed.geojson') as n`,
          )
        )[0]!.n;
      // the same environment as runCli; killed at its first progress line, after about a second of importing
      const env: Record<string, string | undefined> = { ...process.env, APP_ENV: 'test', LOG_LEVEL: 'silent', ...cdb.env };
      if (!cdb.env.DATABASE_URL) delete env.DATABASE_URL;
      const proc = Bun.spawn(
        ['bun', 'run', 'src/cli/main.ts', 'import', 'parcels', '--jurisdiction', 'springfield-il', '--batch-size', '250', path],
        {
          cwd: join(import.meta.dir, '..', '..'),
          env,
          stdout: 'ignore',
          stderr: 'pipe',
        },
      );
      const reader = proc.stderr.getReader();
      let seen = '';
      while (!seen.includes('rows/s')) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += new TextDecoder().decode(value);
      }
      proc.kill('SIGKILL');
      await proc.exited;
      const left = await count();
      expect(left % 250).toBe(0);
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThan(n);
      expect(Number(await entries())).toBe(left / 250);

      const rerun = await importJson('parcels', path, '--batch-size', '250');
      expect(rerun.code).toBe(0);
      expect(rerun.report).toMatchObject({ inserted: n - left, unchanged: left, refused: 0 });
      expect(await count()).toBe(n);
    },
    CLI_TEST_TIMEOUT,
  );
});
