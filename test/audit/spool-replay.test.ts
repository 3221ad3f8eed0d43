/**
 * Entries spooled at a shutdown during an outage are appended by the next start, also those a start had already
 * taken (`.replaying`) but did not get to append (killed, or its audit worker failed), and a torn line does not stop
 * the start: it is recorded as such.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createAuditRecorder } from '../../src/audit/recorder.ts';
import { loadAndVerify } from '../../src/audit/verify-chain.ts';
import { rowsOf } from '../../src/db/rows.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { resetAuditTables } from './support.ts';

setDefaultTimeout(60_000);

let tdb: TestDatabase;
let dir: string;
beforeAll(async () => {
  tdb = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), 'pg-spool-'));
});
afterAll(async () => {
  await tdb?.drop();
  rmSync(dir, { recursive: true, force: true });
});

test('a left-over .replaying file and the newer spool are both appended, a torn line as audit.unstorable', async () => {
  await resetAuditTables(tdb.database.db);
  const spoolFile = join(dir, 'audit-spool.jsonl');
  writeFileSync(
    `${spoolFile}.replaying`,
    `${JSON.stringify({ kind: 'earlier', n: 1 })}\n{"kind":"torn", "n"\n${JSON.stringify({ kind: 'earlier', n: 2 })}\n`,
  );
  writeFileSync(spoolFile, `${JSON.stringify({ kind: 'newer', n: 3 })}\n`);
  const lines: string[] = [];
  const audit = createAuditRecorder({
    db: tdb.database.db,
    log: pino({ level: 'info' }, { write: (l: string) => void lines.push(l) }),
    spoolFile,
  });
  await audit.flush();
  await audit.close();
  const rows = rowsOf<{ entry: Record<string, unknown> | string }>(
    await tdb.database.db.execute(sql`select entry from audit_entries order by audit_entries.seq`),
  ).map((r) => (typeof r.entry === 'string' ? JSON.parse(r.entry) : r.entry) as Record<string, unknown>);
  expect(rows.map((r) => r.kind)).toEqual(['earlier', 'audit.unstorable', 'earlier', 'newer']);
  expect(String(rows[1]!.reason)).toContain('spooled line is not JSON');
  expect(existsSync(spoolFile)).toBe(false);
  expect(existsSync(`${spoolFile}.replaying`)).toBe(false);
  expect((await loadAndVerify(tdb.database.db)).ok).toBe(true);
});
