/**
 * README "Bring your city's data", end to end: an empty database, then only CLI commands (jurisdiction, parcels,
 * contractors, a client), then the server on that database answering the new client with the city's own data.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from '../../src/db/client.ts';
import { bootstrap, type Running } from '../../src/bootstrap.ts';
import { loadConfig } from '../../src/config.ts';
import { serve } from '../../src/http/serve.ts';
import { createCliDatabase, runCli, type CliDatabase } from '../cli/support.ts';

setDefaultTimeout(180_000);

let cdb: CliDatabase;
let dir: string;
let database: Database | undefined;
let running: Running | undefined;
let server: ReturnType<typeof serve> | undefined;

beforeAll(async () => {
  cdb = await createCliDatabase({ seed: false });
  dir = mkdtempSync(join(tmpdir(), 'pg-onboarding-'));
}, 120_000);
afterAll(async () => {
  await server?.stop(true);
  await running?.close();
  await database?.close();
  await cdb?.drop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

async function cli(...args: string[]) {
  const r = await runCli(args, cdb.env);
  if (r.code !== 0) throw new Error(`cli ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout ? JSON.parse(r.stdout) : null;
}

describe("bring your city's data", () => {
  test('from an empty database to the server answering a contractor with the imported parcel', async () => {
    const ring = [
      [-89.65, 39.78],
      [-89.649, 39.78],
      [-89.649, 39.781],
      [-89.65, 39.781],
      [-89.65, 39.78],
    ];
    writeFileSync(
      join(dir, 'parcels.geojson'),
      JSON.stringify({
        type: 'FeatureCollection',
        features: [
          {
            type: 'Feature',
            properties: {
              APN: '14-33-101-001',
              ADDRESS1: '800 E Monroe St',
              CITY: 'Springfield',
              STATE: 'IL',
              ZIP: '62701',
              ZONING: 'B-2',
            },
            geometry: { type: 'Polygon', coordinates: [ring] },
          },
        ],
      }),
    );
    writeFileSync(
      join(dir, 'contractors.csv'),
      'license_number,name,license_status,license_expires_on\nIL-7001,Prairie Builders,ACTIVE,2030-12-31\n',
    );

    await cli(
      'jurisdictions',
      'create',
      '--id',
      'springfield-il',
      '--name',
      'City of Springfield',
      '--state',
      'IL',
      '--timezone',
      'America/Chicago',
      '--json',
    );
    await cli('import', 'parcels', '--jurisdiction', 'springfield-il', join(dir, 'parcels.geojson'), '--json');
    await cli('import', 'contractors', '--jurisdiction', 'springfield-il', join(dir, 'contractors.csv'), '--json');
    const client = await cli(
      'clients',
      'create',
      '--id',
      'prairie-builders',
      '--role',
      'contractor',
      '--jurisdiction',
      'springfield-il',
      '--contractor',
      'IL-7001',
      '--json',
    );

    database = await cdb.open();
    const config = loadConfig({ APP_ENV: 'test', DATA_DIR: cdb.dataDir, LOG_LEVEL: 'silent', SEED: 'none', ...cdb.env });
    running = await bootstrap(config, { database });
    server = serve(running, { hostname: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${server.port}`;

    const tokenRes = await fetch(`${url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'prairie-builders', client_secret: client.clientSecret }),
    });
    expect(tokenRes.status).toBe(200);
    const { access_token } = (await tokenRes.json()) as { access_token: string };
    const gql = async (query: string, variables: Record<string, unknown>) =>
      (await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${access_token}` },
        body: JSON.stringify({ query, variables }),
      }).then((r) => r.json())) as { data?: any; errors?: unknown[] };

    const parcel = await gql(`query($apn: String!) { parcel(apn: $apn) { apn address city state zip zoningCode location } }`, {
      apn: '14-33-101-001',
    });
    expect(parcel.errors).toBeUndefined();
    expect(parcel.data.parcel).toMatchObject({
      apn: '14-33-101-001',
      address: '800 E Monroe St',
      city: 'Springfield',
      state: 'IL',
      zip: '62701',
      zoningCode: 'B-2',
    });
    const [lon, lat] = parcel.data.parcel.location.coordinates as [number, number];
    expect(lon).toBeCloseTo(-89.6495, 9);
    expect(lat).toBeCloseTo(39.7805, 9);

    const submitted = await gql(
      `mutation($input: SubmitPermitInput!) { submitPermit(input: $input, idempotencyKey: "onboarding-0001") { receipt { state permitNumber } } }`,
      {
        input: {
          apn: '14-33-101-001',
          permitType: 'BUILDING',
          workClass: 'NEW',
          description: 'Garage',
          valuation: 30000,
          applicant: { name: 'A B', email: 'a@example.org', phone: '+1 217 555 0100' },
        },
      },
    );
    expect(submitted.errors).toBeUndefined();
    expect(submitted.data.submitPermit.receipt).toMatchObject({ state: 'PERSISTED' });
    expect(submitted.data.submitPermit.receipt.permitNumber).toMatch(/^SI-BLD-\d{4}-000001$/);
  });
});
