/**
 * Issue 18 item 14: DATA_DIR/demo-clients.json outlives the database it was written for. Switching DATABASE_URL
 * from the embedded database to PostgreSQL with the same DATA_DIR (or resetting the embedded database) kept the
 * old file, whose clients do not exist in the new database: every demo login failed with invalid_client.
 * The real server (`src/main.ts`, development) now checks the file against the database it runs on.
 *
 * Every run: embedded database → a fresh embedded database in the same DATA_DIR (its `pglite/` removed).
 * PostgreSQL runs also: embedded → PostgreSQL → embedded again, all with one DATA_DIR.
 * A restart on the same database keeps the file as it is (no secret is rotated for nothing), and no log line
 * carries a secret.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DemoClient } from '../../src/auth/demo-clients.ts';
import { DEMO_CLIENTS } from '../../src/auth/demo-clients.ts';
import { freePort, startAppProcess } from '../helpers/app-process.ts';
import { createPgDatabase, usingPostgres } from '../helpers/database.ts';

setDefaultTimeout(300_000);

const dataDir = mkdtempSync(join(tmpdir(), 'pg-demo-switch-'));
const file = join(dataDir, 'demo-clients.json');
const drops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const d of drops) await d().catch(() => {});
  rmSync(dataDir, { recursive: true, force: true });
});

const readFile = () => JSON.parse(readFileSync(file, 'utf8')) as DemoClient[];

/** Runs the development server on DATA_DIR until its demo clients file is checked, runs `use`, stops it. */
async function withServer(env: Record<string, string>, use: (url: string, output: string[]) => Promise<void>) {
  const port = await freePort();
  const output: string[] = [];
  const childEnv: Record<string, string | undefined> = {
    ...process.env,
    APP_ENV: 'development',
    LOG_LEVEL: 'info',
    SEED: 'small',
    DATA_DIR: dataDir,
    PORT: String(port),
    ...env,
  };
  if (!env.DATABASE_URL) delete childEnv.DATABASE_URL; // the embedded database
  const proc = Bun.spawn([process.execPath, 'run', 'src/main.ts'], {
    cwd: join(import.meta.dir, '../..'),
    env: childEnv,
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) output.push(...decoder.decode(chunk).split('\n').filter(Boolean));
  };
  const reading = Promise.all([collect(proc.stdout), collect(proc.stderr)]);
  const url = `http://127.0.0.1:${port}`;
  try {
    // ready once the demo clients were printed (main.ts does that after checking the file)
    const deadline = Date.now() + 240_000;
    while (!output.some((l) => l.startsWith('Demo clients (one per role)'))) {
      if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}:\n${output.join('\n')}`);
      if (Date.now() > deadline) throw new Error(`server did not start:\n${output.join('\n')}`);
      await Bun.sleep(200);
    }
    await use(url, output);
  } finally {
    proc.kill('SIGTERM');
    await proc.exited;
    await reading;
  }
  return output;
}

async function expectEveryDemoLoginWorks(url: string) {
  const clients = readFile();
  expect(clients.map((c) => c.client_id).sort()).toEqual(DEMO_CLIENTS.map((c) => c.client_id).sort());
  for (const c of clients) {
    const r = await fetch(`${url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret }),
    });
    expect({ client: c.client_id, status: r.status }).toEqual({ client: c.client_id, status: 200 });
  }
  expect(statSync(file).mode & 0o777).toBe(0o600);
}

/** JSON log lines must not carry any secret the file has held. */
function expectNoSecretInLogs(output: string[], secrets: Set<string>) {
  const logLines = output.filter((l) => l.startsWith('{'));
  for (const line of logLines) for (const s of secrets) expect(line.includes(s)).toBe(false);
}

describe('demo-clients.json follows the database the server runs on', () => {
  const secretsSeen = new Set<string>();
  const remember = () => readFile().forEach((c) => secretsSeen.add(c.client_secret));

  test('embedded database: first start writes the file; a restart keeps it unchanged', async () => {
    const first = await withServer({}, async (url) => {
      await expectEveryDemoLoginWorks(url);
    });
    remember();
    const before = readFileSync(file, 'utf8');
    const second = await withServer({}, async (url) => {
      await expectEveryDemoLoginWorks(url);
    });
    expect(readFileSync(file, 'utf8')).toBe(before);
    expectNoSecretInLogs([...first, ...second], secretsSeen);
  });

  test('a fresh embedded database in the same DATA_DIR: the old file is re-registered, every demo login works', async () => {
    const old = readFile();
    rmSync(join(dataDir, 'pglite'), { recursive: true, force: true });
    const output = await withServer({}, async (url) => {
      await expectEveryDemoLoginWorks(url);
    });
    expect(readFile().map((c) => c.client_secret)).not.toEqual(old.map((c) => c.client_secret));
    remember();
    expectNoSecretInLogs(output, secretsSeen);
  });

  test('the file is valid as soon as the server answers (read right after /readyz, as test helpers do)', async () => {
    rmSync(join(dataDir, 'pglite'), { recursive: true, force: true });
    const app = await startAppProcess({}, { dataDir });
    try {
      await expectEveryDemoLoginWorks(app.url);
    } finally {
      await app.stop();
    }
    remember();
  });

  test.skipIf(!usingPostgres())('embedded → PostgreSQL → embedded again, same DATA_DIR: every demo login works each time', async () => {
    const pg = await createPgDatabase('pg_demo_switch');
    drops.push(pg.drop);
    const onPostgres = await withServer({ DATABASE_URL: pg.url }, async (url) => {
      const ready = (await (await fetch(`${url}/readyz`)).json()) as { database?: string };
      expect(ready.database).toBe('postgres');
      await expectEveryDemoLoginWorks(url);
    });
    remember();
    // back on the embedded database, whose clients still have the secrets of before the switch
    const backHome = await withServer({}, async (url) => {
      await expectEveryDemoLoginWorks(url);
    });
    remember();
    expectNoSecretInLogs([...onPostgres, ...backHome], secretsSeen);
  });
});
