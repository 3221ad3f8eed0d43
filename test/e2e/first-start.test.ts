/** The first start on an empty development database says that it is seeding before the long silence, then that it did. */
import { afterAll, expect, setDefaultTimeout, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { bootstrap, type Running } from '../../src/bootstrap.ts';
import { loadConfig } from '../../src/config.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

setDefaultTimeout(120_000);

let tdb: TestDatabase | undefined;
let running: Running | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'pg-first-start-'));
afterAll(async () => {
  await running?.close();
  await tdb?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

test('an empty database: "seeding demo data" is logged before the seed, "seeded demo data" after it', async () => {
  tdb = await createTestDatabase({ seed: 'none' });
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  const config = loadConfig({ APP_ENV: 'development', DATA_DIR: dataDir, LOG_LEVEL: 'info', SEED: 'small' });
  running = await bootstrap(config, { database: tdb.database, log });
  const messages = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
  const announced = messages.findIndex((m) => m.startsWith('empty development database: seeding demo data'));
  const done = messages.indexOf('seeded demo data');
  expect(announced).toBeGreaterThanOrEqual(0);
  expect(done).toBeGreaterThan(announced);
});
