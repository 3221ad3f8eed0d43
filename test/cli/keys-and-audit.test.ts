import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { appendAuditEntries } from '../../src/audit/append.ts';
import { CLI_HOOK_TIMEOUT, CLI_TEST_TIMEOUT, createCliDatabase, runCli, type CliDatabase } from './support.ts';

let cdb: CliDatabase;
beforeAll(async () => {
  cdb = await createCliDatabase({ seed: false });
}, CLI_HOOK_TIMEOUT);
afterAll(async () => {
  await cdb?.drop();
}, CLI_HOOK_TIMEOUT);

const cli = (...args: string[]) => runCli(args, cdb.env);

async function withDb(fn: (db: Awaited<ReturnType<CliDatabase['open']>>['db']) => Promise<void>) {
  const database = await cdb.open();
  try {
    await fn(database.db);
  } finally {
    await database.close();
  }
}

describe('cli keys rotate', () => {
  test(
    'each rotation writes a new private key file (0600) and keeps the previous public key published',
    async () => {
      const first = await cli('keys', 'rotate', '--json');
      expect(first.code).toBe(0);
      const a = JSON.parse(first.stdout);
      const second = await cli('keys', 'rotate', '--json');
      expect(second.code).toBe(0);
      const b = JSON.parse(second.stdout);
      expect(b.kid).not.toBe(a.kid);
      expect(b.published).toEqual(expect.arrayContaining([a.kid, b.kid]));
      const files = readdirSync(join(cdb.dataDir, 'keys')).filter((f) => f.endsWith('.pem'));
      expect(files).toHaveLength(2);
      for (const f of files) expect(statSync(join(cdb.dataDir, 'keys', f)).mode & 0o077).toBe(0);
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    'with SIGNING_KEY_PEM configured it explains that rotation means deploying a new PEM and exits non-zero',
    async () => {
      const res = await runCli(['keys', 'rotate'], {
        ...cdb.env,
        SIGNING_KEY_PEM: '-----BEGIN PRIVATE KEY-----\nMIG...\n-----END PRIVATE KEY-----',
      });
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('SIGNING_KEY_PEM');
      expect(res.stderr).toContain('new ES256 key');
    },
    CLI_TEST_TIMEOUT,
  );
});

describe('cli audit', () => {
  test(
    'a checkpoint kept in a file verifies the intact log, and an edited entry is named by its seq',
    async () => {
      await withDb(async (db) => {
        await appendAuditEntries(db, [
          { operation: 'permits', client: 'gis-1', outcome: 'allowed' },
          { operation: 'submitPermit', client: 'builder-1', outcome: 'allowed' },
          { operation: 'permit', client: 'clerk-1', outcome: 'denied' },
        ]);
      });
      const cp = await cli('audit', 'checkpoint', '--json');
      expect(cp.code).toBe(0);
      const taken = JSON.parse(cp.stdout);
      expect(taken.statement.size).toBe(3);
      const file = join(cdb.dataDir, 'checkpoints.txt');
      writeFileSync(file, `${taken.jws}\n`);

      const ok = await cli('audit', 'verify', '--checkpoint', file, '--json');
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, size: 3 });
      expect(JSON.parse(ok.stdout).checkpointsMatched).toBeGreaterThanOrEqual(1);

      // a superuser edits entry 2 behind the triggers' back
      await withDb(async (db) => {
        await db.transaction(async (tx) => {
          await tx.execute(sql`set local session_replication_role = replica`);
          await tx.execute(sql`update audit_entries set entry = jsonb_set(entry, '{outcome}', '"denied"') where seq = 2`);
        });
      });
      const bad = await cli('audit', 'verify', '--checkpoint', file);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toContain('BROKEN at seq 2');
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    'a checkpoint file holding no checkpoint is refused with a message',
    async () => {
      const file = join(cdb.dataDir, 'empty.txt');
      writeFileSync(file, 'nothing here\n');
      const res = await cli('audit', 'verify', '--checkpoint', file);
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('holds no signed checkpoint');
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    'export writes the entries of the range as JSON lines or CSV, with personal data redacted',
    async () => {
      await withDb(async (db) => {
        await appendAuditEntries(db, [{ operation: 'submitPermit', note: 'reach me at someone@example.org' }]);
      });
      const jsonl = await cli('audit', 'export', '--from', '2000-01-01', '--to', '2999-01-01');
      expect(jsonl.code).toBe(0);
      const lines = jsonl.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines.map((l) => l.seq)).toEqual([1, 2, 3, 4]);
      expect(lines[0]).toHaveProperty('hash');
      expect(lines[0]).toHaveProperty('prevHash');
      expect(jsonl.stdout).not.toContain('@');

      const csv = await cli('audit', 'export', '--from', '2000-01-01T00:00:00Z', '--to', '2999-01-01T00:00:00+02:00', '--format', 'csv');
      expect(csv.code).toBe(0);
      const rows = csv.stdout.trimEnd().split('\r\n');
      expect(rows[0]).toBe('seq,created_at,prev_hash,hash,entry');
      expect(rows).toHaveLength(5);

      const empty = await cli('audit', 'export', '--from', '2000-01-01', '--to', '2000-01-02');
      expect(empty.code).toBe(0);
      expect(empty.stdout).toBe('');
    },
    CLI_TEST_TIMEOUT,
  );

  test(
    'export refuses a time without an offset or a range that ends before it starts',
    async () => {
      const noOffset = await cli('audit', 'export', '--from', '2026-01-01T10:00:00', '--to', '2026-02-01');
      expect(noOffset.code).toBe(2);
      expect(noOffset.stderr).toContain('--from');
      const backwards = await cli('audit', 'export', '--from', '2026-02-01', '--to', '2026-01-01');
      expect(backwards.code).toBe(2);
      expect(backwards.stderr).toContain('--to must be later than --from');
    },
    CLI_TEST_TIMEOUT,
  );
});
