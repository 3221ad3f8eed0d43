/**
 * The deployment the README prescribes (PostgreSQL only): an owner role runs `cli db migrate --app-role`, the server
 * runs as the app role. The app role serves a submission end to end, yet can neither remove staged audit entries,
 * nor rewrite, truncate or alter the audit tables, nor create objects; a stale schema stops a production start
 * with a message naming the command. Roles and database are this file's own, dropped afterwards.
 */
import { generateNoteKey } from '../../src/audit/transparency/signed-note.ts';
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { exportPKCS8, generateKeyPair } from 'jose';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { startAppProcess, type AppProcess } from '../helpers/app-process.ts';
import { asRole, createPgDatabase, createPgDatabaseWithRoles, usingPostgres } from '../helpers/database.ts';
import { runCli } from '../cli/support.ts';

setDefaultTimeout(180_000);

const pg = usingPostgres();
const suffix = `${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
const OWNER = `lp_owner_${suffix}`;
const APP = `lp_app_${suffix}`;

/** The error PostgreSQL gives `statement` as `client`'s role, or null when it succeeded. */
async function refusal(client: postgres.Sql, statement: string): Promise<string | null> {
  try {
    await client.unsafe(statement);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

describe.skipIf(!pg)('least privilege: owner migrates, the server runs as the app role (PostgreSQL)', () => {
  let db: { url: string; drop(): Promise<void> };
  let admin: postgres.Sql;
  let appSql: postgres.Sql;
  let app: AppProcess | undefined;
  const dirs: string[] = [];

  beforeAll(async () => {
    db = await createPgDatabaseWithRoles('pg_least_priv', { owner: OWNER, app: APP });
    admin = postgres(db.url, { max: 1, onnotice: () => {} });
    appSql = postgres(asRole(db.url, APP), { max: 1, onnotice: () => {} });
  });

  afterAll(async () => {
    await app?.stop();
    await appSql?.end();
    await admin?.end();
    await db?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('cli db migrate --app-role, then the server as the app role serves a submission and chains its entry', async () => {
    const migrated = await runCli(['db', 'migrate', '--app-role', APP, '--json'], { DATABASE_URL: asRole(db.url, OWNER) });
    expect(migrated.stderr).toBe('');
    expect(migrated.code).toBe(0);
    const out = JSON.parse(migrated.stdout) as { applied: string[]; appRole: string; grants: string[] };
    expect(out.appRole).toBe(APP);
    expect(out.applied).toContain('0007_audit_chain_function');
    // a second run is a no-op for the schema and grants the same again
    const again = JSON.parse(
      (await runCli(['db', 'migrate', '--app-role', APP, '--json'], { DATABASE_URL: asRole(db.url, OWNER) })).stdout,
    );
    expect(again.applied).toEqual([]);

    const dataDir = mkdtempSync(join(tmpdir(), 'pg-least-priv-'));
    dirs.push(dataDir);
    app = await startAppProcess({ DATABASE_URL: asRole(db.url, APP), RATE_LIMIT_SCALE: '0' }, { dataDir });
    const contractor = await app.token('demo-contractor-a');
    const gis = await app.token('demo-gis');
    const post = (token: string, body: unknown) =>
      fetch(`${app!.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      }).then((r) => r.json() as Promise<any>);
    const parcels = await post(gis, {
      query: '{ parcels(bbox: {minLon: -180, minLat: -90, maxLon: 180, maxLat: 90}, first: 1) { edges { node { id } } } }',
    });
    const parcelId = parcels.data.parcels.edges[0].node.id;
    const submitted = await post(contractor, {
      query:
        'mutation($i: SubmitPermitInput!, $k: String!) { submitPermit(input: $i, idempotencyKey: $k) { receipt { state permitNumber } } }',
      variables: {
        k: 'least-privilege-1',
        i: {
          parcelId,
          permitType: 'SIGN',
          workClass: 'NEW',
          description: 'Sign',
          valuation: 100,
          applicant: { name: 'A B', email: 'a@example.org', phone: '+1 555 000 1111' },
        },
      },
    });
    expect(submitted.errors).toBeUndefined();
    expect(submitted.data.submitPermit.receipt.state).toBe('PERSISTED');
    const number = submitted.data.submitPermit.receipt.permitNumber as string;
    // its staged entry is chained by the app role's group commit, through append_audit_entries
    let chained = 0;
    for (let i = 0; i < 100 && chained === 0; i++) {
      await Bun.sleep(100);
      chained = (await admin<{ n: number }[]>`select count(*)::int as n from audit_entries where entry->'affected' ? ${number}`)[0]!.n;
    }
    expect(chained).toBe(1);

    // nothing the app role can do removes or rewrites audit data, or creates or alters objects
    expect(await refusal(appSql, `insert into audit_pending (entry) values ('{"kind":"probe"}')`)).toBeNull();
    expect(await refusal(appSql, 'delete from audit_pending')).toMatch(/permission denied/);
    for (const s of [
      'update audit_entries set entry = entry',
      'delete from audit_entries',
      'truncate audit_entries',
      'truncate audit_pending',
    ]) {
      expect(await refusal(appSql, s)).toMatch(/permission denied/);
    }
    expect(await refusal(appSql, `insert into audit_entries (seq, entry, prev_hash, hash) values (999999, '{}', 'x', 'y')`)).toMatch(
      /permission denied/,
    );
    for (const s of [
      'alter table audit_entries disable trigger all',
      'alter table audit_pending disable trigger all',
      'drop table audit_entries',
    ]) {
      expect(await refusal(appSql, s)).toMatch(/must be owner/);
    }
    expect(await refusal(appSql, 'create table lp_probe (i int)')).toMatch(/permission denied/);
    expect(await refusal(appSql, 'create schema lp_probe')).toMatch(/permission denied/);
    expect(await refusal(appSql, 'create temporary table lp_probe (i int)')).toMatch(/permission denied/);
    // the chaining function takes staged entries only into the chain, unchanged
    const [head] = await appSql<{ seq: string; hash: string }[]>`select seq::text, hash from audit_entries order by seq desc limit 1`;
    const [probe] = await appSql<{ id: string }[]>`select id::text from audit_pending order by id desc limit 1`;
    expect(
      await refusal(
        appSql,
        `select append_audit_entries(${Number(head!.seq) + 1}, '${head!.hash}', '2030-01-01T00:00:00.000Z', '[{"kind":"forged"}]', array['${'0'.repeat(64)}'], array[${probe!.id}]::bigint[])`,
      ),
    ).toMatch(/staged entries must be chained unchanged/);

    // the staged probe is still there, and the server's next group commit chains it
    let left = 1;
    for (let i = 0; i < 100 && left > 0; i++) {
      await Bun.sleep(100);
      left = (await admin<{ n: number }[]>`select count(*)::int as n from audit_pending`)[0]!.n;
    }
    expect(left).toBe(0);
    expect(await app.stop()).toBe(0);
    app = undefined;

    // the trail verifies, read as the app role (its grants suffice for the CLI's check-only start)
    const verified = await runCli(['audit', 'verify', '--json'], { DATABASE_URL: asRole(db.url, APP), DATA_DIR: dataDir });
    expect(JSON.parse(verified.stdout).ok).toBe(true);
  });

  test('production refuses to start as the app role on a stale schema, naming cli db migrate', async () => {
    // the last migration forgotten, as after deploying new code without running the migration
    const owner = postgres(asRole(db.url, OWNER), { max: 1, onnotice: () => {} });
    await owner.unsafe(
      'delete from drizzle.__drizzle_migrations where created_at = (select max(created_at) from drizzle.__drizzle_migrations)',
    );
    await owner.end();
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const dataDir = mkdtempSync(join(tmpdir(), 'pg-least-priv-prod-'));
    dirs.push(dataDir);
    const proc = Bun.spawn(['bun', 'run', 'src/main.ts'], {
      cwd: join(import.meta.dir, '../..'),
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? dataDir,
        APP_ENV: 'production',
        NODE_ENV: 'production',
        SIGNING_KEY_PEM: await exportPKCS8(privateKey),
        AUDIT_LOG_ORIGIN: 'permits.example.gov/audit',
        AUDIT_LOG_KEY: generateNoteKey('permits.example.gov/audit').privateKeyText,
        JWT_ISSUER: 'https://permits.example.gov',
        JWT_AUDIENCE: 'permit-gateway-prod',
        LOG_LEVEL: 'info',
        DATABASE_URL: asRole(db.url, APP),
        DATA_DIR: dataDir,
        PORT: '0',
      },
      stdout: 'pipe',
      stderr: 'pipe',
    });
    const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    clearTimeout(timer);
    expect(code).not.toBe(0);
    expect(stderr).toContain(`bun run cli db migrate --app-role ${APP}`);
    // the forgotten migration is named: the journal's last one
    const journal = JSON.parse(readFileSync(join(import.meta.dir, '../../drizzle/meta/_journal.json'), 'utf8')) as {
      entries: { tag: string }[];
    };
    expect(stderr).toContain(journal.entries.at(-1)!.tag);
    expect(stdout).not.toContain('permit gateway listening');
  });
});

describe.skipIf(!pg)('first start on a fresh PostgreSQL database', () => {
  test('logs no ERROR (the audit group commit waits for the migrations)', async () => {
    const fresh = await createPgDatabase('pg_first_start');
    const dataDir = mkdtempSync(join(tmpdir(), 'pg-first-start-'));
    try {
      const proc = Bun.spawn(['bun', 'run', 'src/main.ts'], {
        cwd: join(import.meta.dir, '../..'),
        env: {
          ...process.env,
          APP_ENV: 'development',
          LOG_LEVEL: 'info',
          SEED: 'small',
          DATA_DIR: dataDir,
          PORT: '0',
          DATABASE_URL: fresh.url,
        },
        stdout: 'pipe',
        stderr: 'pipe',
      });
      let out = '';
      let err = '';
      const decoder = new TextDecoder();
      const reading = Promise.all([
        (async () => {
          for await (const chunk of proc.stdout) out += decoder.decode(chunk);
        })(),
        (async () => {
          for await (const chunk of proc.stderr) err += decoder.decode(chunk);
        })(),
      ]);
      const until = Date.now() + 120_000;
      while (!out.includes('permit gateway listening') && Date.now() < until && proc.exitCode === null) await Bun.sleep(100);
      expect(out).toContain('permit gateway listening');
      await Bun.sleep(1500); // the audit worker's first group commits
      proc.kill('SIGTERM');
      await proc.exited;
      await reading;
      const lines = `${out}\n${err}`.split('\n').filter((l) => l.startsWith('{'));
      const errors = lines.filter((l) => (JSON.parse(l) as { level?: number }).level! >= 50);
      expect(errors).toEqual([]);
      expect(err).not.toMatch(/ERROR|relation .* does not exist/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      await fresh.drop();
    }
  });
});
