/**
 * Times `cli import parcels` on a generated county: N square parcels (default 100,000) as a GeoJSON FeatureCollection,
 * imported into a fresh database by the real CLI process, then imported again (the idempotent rerun). Prints rows/s
 * and the CLI's peak RSS (the import streams: memory must not grow with the file).
 *   bun run bench/import-parcels.ts [N]                       embedded PGlite in a temporary DATA_DIR
 *   BENCH_DATABASE_URL=postgres://… bun run bench/import-parcels.ts [N]   a new database on that server, dropped after
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';

const N = Number(process.argv[2] ?? 100_000);
const ROOT = join(import.meta.dir, '..');
const dir = mkdtempSync(join(tmpdir(), 'bench-import-'));
const file = join(dir, 'parcels.geojson');

/** One feature per line, as ogr2ogr writes them. */
async function generate() {
  const writer = Bun.file(file).writer();
  writer.write(
    '{"type":"FeatureCollection","name":"parcels","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:OGC:1.3:CRS84"}},"features":[\n',
  );
  const side = Math.ceil(Math.sqrt(N));
  const zoning = ['R-1', 'R-2', 'C-1', 'M-1'];
  for (let i = 0; i < N; i++) {
    const lon = -89.7 + (i % side) * 0.0005;
    const lat = 39.7 + Math.floor(i / side) * 0.0005;
    const h = 0.0002;
    const ring = [
      [lon - h, lat - h],
      [lon + h, lat - h],
      [lon + h, lat + h],
      [lon - h, lat + h],
      [lon - h, lat - h],
    ].map(([x, y]) => [Number(x!.toFixed(7)), Number(y!.toFixed(7))]);
    const f = {
      type: 'Feature',
      properties: {
        APN: `${String(Math.floor(i / 1000)).padStart(4, '0')}-${String(i % 1000).padStart(3, '0')}`,
        ADDRESS1: `${100 + (i % 900)} Elm St`,
        CITY: 'Springfield',
        STATE: 'IL',
        ZIP: '62701',
        ZONING: zoning[i % 4],
      },
      geometry: { type: 'Polygon', coordinates: [ring] },
    };
    writer.write(`${JSON.stringify(f)}${i < N - 1 ? ',' : ''}\n`);
  }
  writer.write(']}\n');
  await writer.end();
}

async function cli(args: string[], env: Record<string, string>) {
  const started = performance.now();
  const proc = Bun.spawn(['bun', 'run', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdout: 'pipe',
    stderr: 'inherit',
  });
  const stdout = await new Response(proc.stdout).text();
  const code = await proc.exited;
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`cli ${args.join(' ')} exited ${code}: ${stdout}`);
  return { seconds, stdout, maxRssMb: (proc.resourceUsage()?.maxRSS ?? 0) / 1024 / 1024 };
}

await generate();
const env: Record<string, string> = { DATA_DIR: join(dir, 'data') };
let dropDatabase = async () => {};
const base = process.env.BENCH_DATABASE_URL;
if (base) {
  const name = `bench_import_${Date.now().toString(36)}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const u = new URL(base);
  u.pathname = `/${name}`;
  env.DATABASE_URL = u.toString();
  dropDatabase = async () => {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
  };
}
try {
  await cli(['db', 'migrate'], env);
  await cli(['jurisdictions', 'create', '--id', 'bench-city', '--name', 'Bench City', '--state', 'IL'], env);
  const first = await cli(['import', 'parcels', '--jurisdiction', 'bench-city', file, '--json'], env);
  const again = await cli(['import', 'parcels', '--jurisdiction', 'bench-city', file, '--json'], env);
  const r1 = JSON.parse(first.stdout) as { inserted: number; batches: number };
  const r2 = JSON.parse(again.stdout) as { unchanged: number };
  const mb = statSync(file).size / 1e6;
  console.log(
    `database: ${base ? 'PostgreSQL' : 'embedded PGlite'}; file: ${N.toLocaleString('en-US')} parcels, ${mb.toFixed(1)} MB GeoJSON`,
  );
  console.log(
    `first import:  ${first.seconds.toFixed(1)} s (${Math.round(N / first.seconds).toLocaleString('en-US')} rows/s, ${r1.inserted} inserted in ${r1.batches} batches), peak RSS ${first.maxRssMb.toFixed(0)} MB`,
  );
  console.log(`second import: ${again.seconds.toFixed(1)} s (${r2.unchanged} unchanged), peak RSS ${again.maxRssMb.toFixed(0)} MB`);
} finally {
  await dropDatabase();
  rmSync(dir, { recursive: true, force: true });
}
