import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireDirLock } from '../../src/db/dir-lock.ts';
import { CLI_TEST_TIMEOUT, runCli } from './support.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'pg-cli-lock-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

// Embedded PGlite only: with DATABASE_URL there is no directory to lock (runCli never inherits one).
describe('cli and a DATA_DIR held by a running server', () => {
  test(
    'the CLI refuses to open an embedded database locked by a live process, says so and exits non-zero',
    async () => {
      // this test process plays the running server: it holds the lock the server would hold
      const release = acquireDirLock(join(dataDir, 'pglite.lock'));
      try {
        for (const args of [
          ['clients', 'list'],
          ['clients', 'create', '--id', 'x-client', '--role', 'admin', '--jurisdiction', 'demo-city'],
        ]) {
          const res = await runCli(args, { DATA_DIR: dataDir });
          expect(res.code).toBe(1);
          expect(res.stderr).toContain('cannot open the database');
          expect(res.stderr).toContain(`in use by process ${process.pid}`);
          expect(res.stdout).toBe('');
        }
        const json = await runCli(['keys', 'rotate', '--json'], { DATA_DIR: dataDir });
        expect(json.code).toBe(1);
        expect(JSON.parse(json.stdout).error.message).toContain('in use by process');
      } finally {
        release();
      }
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    'a lock left by a process that is gone is taken over',
    async () => {
      const lockDir = mkdtempSync(join(tmpdir(), 'pg-cli-stale-'));
      try {
        await Bun.write(join(lockDir, 'pglite.lock'), '999999999'); // no such pid
        const res = await runCli(['clients', 'list', '--json'], { DATA_DIR: lockDir });
        expect(res.code).toBe(0);
        expect(JSON.parse(res.stdout)).toEqual([]);
      } finally {
        rmSync(lockDir, { recursive: true, force: true });
      }
    },
    CLI_TEST_TIMEOUT,
  );
});
