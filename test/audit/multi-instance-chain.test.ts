/**
 * Three server processes on one PostgreSQL under concurrent load (≥ 3,000 operations, reads and mutations):
 * one gap-free chain that verifies.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { exportPKCS8, generateKeyPair } from 'jose';
import { openDatabase, type Database } from '../../src/db/client.ts';
import { rowsOf } from '../../src/db/rows.ts';
import { loadAndVerify } from '../../src/audit/verify-chain.ts';
import { startAppProcess, type AppProcess } from '../helpers/app-process.ts';
import { createPgDatabase } from '../helpers/database.ts';
import { setDefaultTimeout } from 'bun:test';

// starts databases and servers: Bun's 5 s default is too short on a busy machine
setDefaultTimeout(120_000);

const onPostgres = Boolean(process.env.TEST_DATABASE_URL);
let pg: { url: string; drop(): Promise<void> };
let apps: AppProcess[] = [];
let db: Database;

beforeAll(async () => {
  if (!onPostgres) return;
  pg = await createPgDatabase('pg_chain');
  // one signing key and one issuer for all instances, as in production (without JWT_ISSUER each instance's issuer
  // would be its own address: tokens from one would be refused by the others); the first instance migrates, seeds
  // and registers the demo clients, the others (APP_ENV=test) join the same database
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const shared = {
    DATABASE_URL: pg.url,
    RATE_LIMIT_SCALE: '0',
    SIGNING_KEY_PEM: await exportPKCS8(privateKey),
    JWT_ISSUER: 'https://permits.example.test',
  };
  apps.push(await startAppProcess(shared));
  apps.push(...(await Promise.all([1, 2].map(() => startAppProcess({ ...shared, APP_ENV: 'test', SEED: 'none' })))));
  db = await openDatabase({ url: pg.url });
}, 180_000);

afterAll(async () => {
  if (!onPostgres) return;
  await Promise.all(apps.map((a) => a.stop()));
  await db?.close();
  await pg.drop();
}, 60_000);

test.skipIf(!onPostgres)(
  'three instances under concurrent load build one gap-free chain that verifies',
  async () => {
    const [{ n: before }] = rowsOf<{ n: string }>(await db.db.execute(sql`select count(*)::text as n from audit_entries`)) as [
      { n: string },
    ];
    // every instance shares the database's clients, keys and data: tokens from one work on all
    const contractor = await apps[0]!.token('demo-contractor-a');
    const gis = await apps[0]!.token('demo-gis');
    const parcel = (
      (await (
        await fetch(`${apps[2]!.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${gis}` },
          body: JSON.stringify({
            query: '{ parcels(bbox: {minLon: -180, minLat: -90, maxLon: 180, maxLat: 90}, first: 1) { edges { node { id } } } }',
          }),
        })
      ).json()) as any
    ).data.parcels.edges[0].node.id;
    const TOTAL = 3000;
    let sent = 0;
    let ok = 0;
    const worker = async (w: number) => {
      while (sent < TOTAL) {
        const i = sent++;
        const app = apps[i % 3]!;
        const mutation = i % 5 === 0;
        const body = mutation
          ? {
              query: 'mutation($i: SubmitPermitInput!, $k: String!) { submitPermit(input: $i, idempotencyKey: $k) { receipt { state } } }',
              variables: {
                k: `chain-${w}-${i}`,
                i: {
                  parcelId: parcel,
                  permitType: 'SIGN',
                  workClass: 'NEW',
                  description: 'Sign',
                  valuation: 100,
                  applicant: { name: 'A B', email: 'a@example.org', phone: '+1 555 000 1111' },
                },
              },
            }
          : { query: '{ permitStatus(number: "DC-BLD-2024-000001") { status } }' };
        const r = await fetch(`${app.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(mutation ? { authorization: `Bearer ${contractor}` } : {}) },
          body: JSON.stringify(body),
        });
        if (r.status === 200) ok++;
        await r.arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: 24 }, (_, w) => worker(w)));
    expect(ok).toBe(TOTAL);
    // reads are group-committed: stop the instances cleanly so every buffered entry is flushed
    await Promise.all(apps.map((a) => a.stop()));
    apps = [];
    const [{ n, max, min }] = rowsOf<{ n: string; max: string; min: string }>(
      await db.db.execute(sql`select count(*)::text as n, max(seq)::text as max, min(seq)::text as min from audit_entries`),
    ) as [{ n: string; max: string; min: string }];
    expect(Number(n) - Number(before)).toBeGreaterThanOrEqual(TOTAL);
    expect(Number(min)).toBe(1);
    expect(Number(max)).toBe(Number(n)); // gap-free
    const v = await loadAndVerify(db.db);
    expect(v.ok).toBe(true);
    expect(v.size).toBe(Number(n));
  },
  300_000,
);
