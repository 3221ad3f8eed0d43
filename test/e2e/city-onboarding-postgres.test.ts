/**
 * README "Bring your city's data" as a city IT person runs it (PostgreSQL only): an owner and an app role of this
 * file's own, `cli db migrate --app-role`, `cli jurisdictions create`, `cli import parcels|contractors|permits` (with
 * status changes and inspections, dry run first) from small files, `cli clients create`, then the server connected as
 * the app role serving the imported permits and parcels over GraphQL and OGC API Features. city-onboarding.test.ts
 * covers the same walk in-process on either database; this one uses the README's exact commands and roles.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli/support.ts';
import { startAppProcess, type AppProcess } from '../helpers/app-process.ts';
import { asRole, createPgDatabaseWithRoles, usingPostgres } from '../helpers/database.ts';

setDefaultTimeout(240_000);

const pg = usingPostgres();
const suffix = `${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
const OWNER = `onb_owner_${suffix}`;
const APP = `onb_app_${suffix}`;
const J = 'springfield-il';

describe.skipIf(!pg)("README: bring your city's data, with the CLI and the app role (PostgreSQL)", () => {
  let db: { url: string; drop(): Promise<void> };
  let app: AppProcess | undefined;
  let dir = '';

  beforeAll(async () => {
    db = await createPgDatabaseWithRoles('pg_onboarding', { owner: OWNER, app: APP });
    dir = mkdtempSync(join(tmpdir(), 'pg-onboarding-pg-'));
  });

  afterAll(async () => {
    await app?.stop();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** `bun run cli …` as the owner, as in the README's steps 2 to 6; its JSON output. */
  async function cli(...args: string[]) {
    const r = await runCli([...args, '--json'], { DATABASE_URL: asRole(db.url, OWNER) });
    if (r.code !== 0) throw new Error(`cli ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
    return r.stdout ? JSON.parse(r.stdout) : null;
  }
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  test('migrate, create the jurisdiction, import, create clients; the app role serves the city', async () => {
    const ring = [
      [-89.65, 39.78],
      [-89.649, 39.78],
      [-89.649, 39.781],
      [-89.65, 39.781],
      [-89.65, 39.78],
    ];
    const parcels = file(
      'parcels.geojson',
      JSON.stringify({
        type: 'FeatureCollection',
        features: [
          {
            type: 'Feature',
            properties: {
              apn: '14-33-101-001',
              address1: '800 E Monroe St',
              city: 'Springfield',
              state: 'IL',
              zip: '62701',
              zoning: 'B-2',
            },
            geometry: { type: 'Polygon', coordinates: [ring] },
          },
        ],
      }),
    );
    const contractors = file(
      'contractors.csv',
      'license_number,name,license_status,license_expires_on\nIL-100,Prairie Builders,ACTIVE,2030-12-31\n',
    );
    const permits = file(
      'permits.csv',
      'PermitNum,Description,AppliedDate,IssuedDate,CompletedDate,StatusCurrent,PermitType,WorkClass,EstProjectCost,PIN,ContractorLicNum\n' +
        'B24-0001,New garage,2024-03-01,2024-04-02,,Permit Issued,Building,New,"$45,000.00",14-33-101-001,IL-100\n',
    );
    const statusChanges = file(
      'status-changes.csv',
      'PermitNum,StatusPrevious,StatusPreviousDate\nB24-0001,SUBMITTED,2024-03-01\nB24-0001,ISSUED,2024-04-02\n',
    );
    const inspections = file(
      'inspections.csv',
      'PermitNum,InspType,Result,ScheduledDate,InspectedDate,Final,ReInspection,Inspector\nB24-0001,Footing,PASS,2024-04-10,2024-04-10,N,N,insp-7\n',
    );

    // 2. as the owner: tables, then grants for the app role
    expect((await cli('db', 'migrate', '--app-role', APP)).appRole).toBe(APP);
    // 3. the jurisdiction
    await cli('jurisdictions', 'create', '--id', J, '--name', 'City of Springfield', '--state', 'IL', '--timezone', 'America/Chicago');
    expect(JSON.stringify(await cli('jurisdictions', 'list'))).toContain(J);
    // 4. parcels, dry run first
    await cli('import', 'parcels', '--jurisdiction', J, parcels, '--dry-run');
    await cli('import', 'parcels', '--jurisdiction', J, parcels);
    // 5. contractors, then permits with their status history and inspections, dry run first
    await cli('import', 'contractors', '--jurisdiction', J, contractors);
    const history = ['--status-changes', statusChanges, '--inspections', inspections];
    await cli('import', 'permits', '--jurisdiction', J, permits, ...history, '--dry-run');
    await cli('import', 'permits', '--jurisdiction', J, permits, ...history);
    // 6. clients (each secret printed once)
    const clerk = await cli('clients', 'create', '--id', 'springfield-clerk', '--role', 'clerk', '--jurisdiction', J);
    const gis = await cli('clients', 'create', '--id', 'springfield-gis', '--role', 'gis_vendor', '--jurisdiction', J);

    // 7. the server as the app role, nothing seeded
    app = await startAppProcess({ DATABASE_URL: asRole(db.url, APP), SEED: 'none', RATE_LIMIT_SCALE: '0' }, { dataDir: dir });
    const token = async (clientId: string, secret: string) => {
      const r = await fetch(`${app!.url}/oauth/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }),
      });
      expect(r.status).toBe(200);
      return ((await r.json()) as { access_token: string }).access_token;
    };
    const clerkToken = await token('springfield-clerk', clerk.clientSecret);
    const gisToken = await token('springfield-gis', gis.clientSecret);
    const gql = (tok: string, query: string) =>
      fetch(`${app!.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tok}` },
        body: JSON.stringify({ query }),
      }).then((r) => r.json() as Promise<any>);

    const listed = await gql(
      clerkToken,
      '{ permits(first: 10) { totalCount edges { node { number status statusHistory { to } contractor { licenseNumber } } } } }',
    );
    expect(listed.errors).toBeUndefined();
    expect(listed.data.permits.totalCount).toBe(1);
    const permit = listed.data.permits.edges[0].node;
    expect(permit).toMatchObject({ number: 'B24-0001', status: 'ISSUED', contractor: { licenseNumber: 'IL-100' } });
    expect(permit.statusHistory.map((h: { to: string }) => h.to)).toEqual(['SUBMITTED', 'ISSUED']);

    const parcel = await gql(gisToken, '{ parcel(apn: "14-33-101-001") { apn address zoningCode } }');
    expect(parcel.errors).toBeUndefined();
    expect(parcel.data.parcel).toMatchObject({ apn: '14-33-101-001', address: '800 E Monroe St', zoningCode: 'B-2' });

    const ogc = async (path: string) => {
      const r = await fetch(`${app!.url}/ogc/collections/${path}`, { headers: { authorization: `Bearer ${gisToken}` } });
      expect(r.status).toBe(200);
      return (await r.json()) as { features: { properties: Record<string, unknown> }[] };
    };
    expect(JSON.stringify((await ogc('parcels/items')).features)).toContain('14-33-101-001');
    expect(JSON.stringify((await ogc('permits/items')).features)).toContain('B24-0001');
  });
});
