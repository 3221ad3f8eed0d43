/**
 * The audit group commit in a worker thread (PostgreSQL only): entries recorded on the serving thread are chained
 * by the worker's own connections, nothing recorded is lost when the worker cannot start, when the database is down
 * at shutdown, or when the server is stopped under load; log lines and security alerts stay on the serving thread.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { exportPKCS8 } from 'jose';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createAuditRecorder } from '../../src/audit/recorder.ts';
import { createSecurityAlerts } from '../../src/audit/security-alerts.ts';
import { createThreadedAuditRecorder, type ThreadedAuditRecorderOptions } from '../../src/audit/recorder.ts';
import type { Logger } from '../../src/logger.ts';
import { loadAndVerify } from '../../src/audit/verify-chain.ts';
import { rowsOf } from '../../src/db/rows.ts';
import { createTestDatabase, usingPostgres, type TestDatabase } from '../helpers/database.ts';
import { startTestServer } from '../helpers/server.ts';
import { auditKeys, resetAuditTables } from './support.ts';

setDefaultTimeout(120_000);

const pg = usingPostgres();

describe.skipIf(!pg)('threaded audit recorder (PostgreSQL)', () => {
  let tdb: TestDatabase;
  let pem: string;
  let signer: Awaited<ReturnType<typeof auditKeys>>['signer'];
  let dir: string;
  beforeAll(async () => {
    tdb = await createTestDatabase();
    signer = (await auditKeys()).signer;
    pem = await exportPKCS8(signer.key as CryptoKey);
    dir = mkdtempSync(join(tmpdir(), 'pg-audit-worker-'));
  });
  afterAll(async () => {
    await tdb?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const logged = () => {
    const lines: string[] = [];
    return { lines, log: pino({ level: 'info' }, { write: (l: string) => void lines.push(l) }) };
  };
  const entries = async () =>
    rowsOf<{ entry: Record<string, unknown> | string }>(
      await tdb.database.db.execute(sql`select entry from audit_entries order by audit_entries.seq`),
    ).map((r) => (typeof r.entry === 'string' ? JSON.parse(r.entry) : r.entry) as Record<string, unknown>);

  /** A threaded recorder on the test database with the test key; its fallback is an inline recorder there. */
  const threaded = (log: Logger, over: Partial<ThreadedAuditRecorderOptions> = {}) =>
    createThreadedAuditRecorder({
      databaseUrl: tdb.url!,
      log,
      signer: { pem, kid: signer.kid },
      fallback: () => createAuditRecorder({ db: tdb.database.db, log }),
      ...over,
    });

  test('entries are chained by the worker, not on the serving thread, in the order they were recorded', async () => {
    await resetAuditTables(tdb.database.db);
    const { log } = logged();
    const statements: string[] = [];
    const stop = tdb.database.onQuery((q) => statements.push(q));
    const fallback = () => {
      throw new Error('the fallback must not be used');
    };
    const audit = threaded(log, { fallback });
    try {
      for (let i = 0; i < 250; i++) audit.record({ kind: 'test', n: i, note: i % 50 === 0 ? 'with \u0000 NUL' : 'plain' });
      await audit.flush();
    } finally {
      stop();
      await audit.close();
    }
    const rows = await entries();
    expect(rows.map((r) => r.n)).toEqual(Array.from({ length: 250 }, (_, i) => i));
    expect(rows[0]!.note).toBe('with \uFFFD NUL');
    expect((await loadAndVerify(tdb.database.db)).ok).toBe(true);
    // the serving thread's connections sent no audit append
    expect(statements.filter((q) => /audit_entries/.test(q))).toEqual([]);
  });

  test('a mutation entry staged on the serving thread is chained by the worker after committed()', async () => {
    await resetAuditTables(tdb.database.db);
    const { log } = logged();
    const audit = threaded(log, { pendingSweepMs: 60_000 });
    try {
      await audit.flush(); // started; its first group commit (which looks for staged entries anyway) is done
      await tdb.database.db.transaction(async (tx) => {
        await audit.appendInTx(tx, { kind: 'mutation', n: 2 });
      });
      audit.record({ kind: 'read', n: 1 });
      audit.committed();
      // no flush(): committed() alone must make the next group commit (≤ 100 ms) chain it
      const until = Date.now() + 3_000;
      while ((await entries()).length < 2 && Date.now() < until) await Bun.sleep(50);
    } finally {
      await audit.close();
    }
    expect((await entries()).map((r) => r.kind).sort()).toEqual(['mutation', 'read']);
    expect(rowsOf<{ n: number }>(await tdb.database.db.execute(sql`select count(*)::int as n from audit_pending`))[0]!.n).toBe(0);
  });

  test('an entry JSON cannot carry is stored as audit.unstorable, the rest of its batch as recorded', async () => {
    await resetAuditTables(tdb.database.db);
    const { log } = logged();
    const audit = threaded(log);
    try {
      audit.record({ kind: 'test', n: 0 });
      audit.record({ kind: 'odd', requestId: 'r-1', big: 10n });
      audit.record({ kind: 'test', n: 2 });
      await audit.flush();
    } finally {
      await audit.close();
    }
    const rows = await entries();
    expect(rows.map((r) => r.kind)).toEqual(['test', 'audit.unstorable', 'test']);
    expect(rows[1]).toMatchObject({ originalKind: 'odd', requestId: 'r-1', outcome: 'ERROR' });
  });

  test('entries recorded while or after close() runs are spooled, and appended by the next start', async () => {
    await resetAuditTables(tdb.database.db);
    const spoolFile = join(dir, 'late-spool.jsonl');
    const { log } = logged();
    const make = () => threaded(log, { spoolFile });
    const audit = make();
    audit.record({ kind: 'before-close' });
    const closed = audit.close();
    audit.record({ kind: 'during-close' });
    await closed;
    audit.record({ kind: 'after-close' }); // straight to the spool
    await audit.close(); // a second close is harmless
    expect((await entries()).map((r) => r.kind)).toEqual(['before-close']);
    expect(
      readFileSync(spoolFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).kind),
    ).toEqual(['during-close', 'after-close']);
    const next = make();
    await next.flush();
    await next.close();
    expect((await entries()).map((r) => r.kind)).toEqual(['before-close', 'during-close', 'after-close']);
  });

  test('a worker that cannot start hands every entry to the serving thread: none is lost, the failure is logged', async () => {
    await resetAuditTables(tdb.database.db);
    const { lines, log } = logged();
    const audit = threaded(log, { signer: { pem: 'not a key', kid: 'x' } });
    for (let i = 0; i < 20; i++) audit.record({ kind: 'test', n: i });
    await audit.flush();
    for (let i = 20; i < 30; i++) audit.record({ kind: 'test', n: i });
    await audit.flush();
    await audit.close();
    expect((await entries()).map((r) => r.n)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(lines.some((l) => l.includes('audit worker failed'))).toBe(true);
    expect((await loadAndVerify(tdb.database.db)).ok).toBe(true);
  });

  test('a worker that stops while holding entries: the serving thread appends them, none is lost', async () => {
    await resetAuditTables(tdb.database.db);
    const { lines, log } = logged();
    const audit = threaded(log, {
      flushMs: 60_000, // the entries stay in the worker's memory until it stops
      workerUrl: new URL('./fixtures/audit-worker-that-stops.ts', import.meta.url).href,
    });
    await audit.flush(); // started, and its first group commit (at start) is done
    for (let i = 0; i < 40; i++) audit.record({ kind: 'test', n: i });
    const until = Date.now() + 10_000;
    while (!lines.some((l) => l.includes('audit worker failed')) && Date.now() < until) await Bun.sleep(50);
    const failure = lines.map((l) => JSON.parse(l) as { reason?: string; entries?: number }).find((l) => l.reason);
    expect(failure).toMatchObject({ reason: 'audit worker exited', entries: 40 });
    for (let i = 40; i < 50; i++) audit.record({ kind: 'test', n: i });
    await audit.flush();
    await audit.close();
    expect((await entries()).map((r) => r.n)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect((await loadAndVerify(tdb.database.db)).ok).toBe(true);
  });

  test('database unreachable at shutdown: the worker spools the entries and the next start appends them', async () => {
    await resetAuditTables(tdb.database.db);
    const spoolFile = join(dir, 'audit-spool.jsonl');
    const { lines, log } = logged();
    const down = threaded(log, { databaseUrl: 'postgres://postgres@127.0.0.1:1/nowhere', spoolFile });
    for (let i = 0; i < 12; i++) down.record({ kind: 'test', n: i });
    await down.close();
    expect(existsSync(spoolFile)).toBe(true);
    expect(readFileSync(spoolFile, 'utf8').trim().split('\n')).toHaveLength(12);
    expect(lines.some((l) => l.includes('spooled'))).toBe(true); // the worker's log line reached this thread's logger
    expect(await entries()).toEqual([]);

    const up = threaded(log, { spoolFile });
    up.record({ kind: 'after-restart' });
    await up.flush();
    await up.close();
    const rows = await entries();
    expect(rows.map((r) => r.n ?? r.kind)).toEqual([...Array.from({ length: 12 }, (_, i) => i), 'after-restart']);
    expect(existsSync(spoolFile)).toBe(false);
  });

  test('denials recorded through the worker still raise the security alert on the serving thread', async () => {
    const { lines, log } = logged();
    const alerts = createSecurityAlerts(log, { threshold: 5 });
    const audit = threaded(log, { alerts });
    for (let i = 0; i < 8; i++) audit.record({ kind: 'graphql', outcome: 'DENIED', httpStatus: 401, ip: '203.0.113.9', clientId: null });
    await audit.close();
    expect(lines.filter((l) => l.includes('security_alert'))).toHaveLength(1);
  });

  test.skipIf(!existsSync('/proc/self/task'))('the worker thread runs niced (10), the serving thread at normal priority', async () => {
    // in a process of its own: no worker thread of another test is around
    const script = `
      import { readdirSync, readFileSync } from 'node:fs';
      import pino from 'pino';
      import { createThreadedAuditRecorder } from './src/audit/recorder.ts';
      const nice = () => readdirSync('/proc/self/task').map((tid) => {
        const stat = readFileSync('/proc/self/task/' + tid + '/stat', 'utf8');
        return { tid: Number(tid), nice: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]) };
      });
      const before = nice().filter((t) => t.nice !== 0).length;
      const audit = createThreadedAuditRecorder({ databaseUrl: process.env.DB_URL, log: pino({ level: 'silent' }),
        signer: { pem: process.env.PEM, kid: 'k' }, fallback: () => { throw new Error('fallback'); } });
      await audit.flush();
      const after = nice();
      console.log(JSON.stringify({ before, niced: after.filter((t) => t.nice === 10).length, main: after.find((t) => t.tid === process.pid)?.nice }));
      await audit.close();
      process.exit(0);`;
    const p = Bun.spawn([process.execPath, '-e', script], {
      cwd: join(import.meta.dir, '..', '..'),
      env: { ...process.env, DB_URL: tdb.url!, PEM: pem },
      stdout: 'pipe',
      stderr: 'pipe',
    });
    const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
    expect(await p.exited).toBe(0);
    const r = JSON.parse(out.trim().split('\n').at(-1) ?? '{}', (_k, v) => v) as { before: number; niced: number; main: number };
    expect({ ...r, err: err.trim() }).toEqual({ before: 0, niced: r.niced, main: 0, err: '' });
    expect(r.niced).toBeGreaterThanOrEqual(1);
  });

  test('close() right after a burst chains every entry the worker still held', async () => {
    await resetAuditTables(tdb.database.db);
    const { log } = logged();
    const audit = threaded(log);
    for (let i = 0; i < 600; i++) audit.record({ kind: 'burst', n: i });
    await audit.close(); // no flush before
    await audit.close(); // a second close is harmless
    expect((await entries()).map((r) => r.n)).toEqual(Array.from({ length: 600 }, (_, i) => i));
    expect((await loadAndVerify(tdb.database.db)).ok).toBe(true);
  });
});

test('on PGlite the group commit stays on the serving thread (one in-process connection)', async () => {
  if (pg) return; // the PostgreSQL run covers the worker above
  const t = await startTestServer();
  try {
    const statements: string[] = [];
    const stop = t.tdb.database.onQuery((q) => statements.push(q));
    await t.gql('query { __typename }');
    await t.running.audit.flush();
    stop();
    expect(statements.some((q) => /select append_audit_entries\(/.test(q))).toBe(true);
  } finally {
    await t.stop();
  }
});
