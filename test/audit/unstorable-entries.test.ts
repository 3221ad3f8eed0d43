/**
 * One request must not be able to stop the audit trail. A U+0000 sent in variables, in an operation name or as a
 * token request's client id used to make the group commit fail (jsonb cannot store it), and every later commit
 * with it: the entries of all later requests stayed in memory. Now such characters are stored as U+FFFD, and an
 * entry the chain cannot take for another reason is replaced by a record saying so.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { appendAuditEntries, parseEntries, storable, storableWithText, unstorableRecord } from '../../src/audit/append.ts';
import { canonicalJson } from '../../src/audit/canonical-json.ts';
import { createAuditRecorder } from '../../src/audit/recorder.ts';
import { loadAndVerify } from '../../src/audit/verify-chain.ts';
import { rowsOf } from '../../src/db/rows.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

setDefaultTimeout(120_000);

test('storable: U+0000 in keys and values becomes U+FFFD, Dates stay as their JSON, a clean entry is not copied', () => {
  const at = new Date('2026-01-02T03:04:05.000Z');
  const clean = { a: 'x', n: 1, at };
  expect(storable(clean)).toBe(clean);
  const dirty = { 'k\u0000': ['v\u0000', { deep: 'a\u0000b' }], at, n: 2 };
  const safe = storable(dirty) as Record<string, unknown>;
  expect(safe).toEqual({ 'k\uFFFD': ['v\uFFFD', { deep: 'a\uFFFDb' }], at: '2026-01-02T03:04:05.000Z', n: 2 });
  expect(dirty['k\u0000']).toEqual(['v\u0000', { deep: 'a\u0000b' }]); // the input is not changed
  // a spooled line may hold any JSON: not an object is passed on (and refused by the append, then quarantined)
  expect(storable(5 as unknown as object)).toBe(5 as unknown as object);
  expect(storable(null as unknown as object)).toBeNull();
});

test('storable: text that only looks like the escape (a backslash, then u0000) is kept; a NUL next to it is still replaced', () => {
  const lookalike = { note: 'C:\\u0000\\path', nested: { v: ['\\u0000'] } };
  expect(storable(lookalike)).toBe(lookalike);
  expect(storable({ note: '\\u0000 and \u0000' })).toEqual({ note: '\\u0000 and \uFFFD' });
  // a value JSON text cannot hold (a BigInt) is still looked through: the NUL next to it is replaced
  expect((storable({ big: 1n, s: 'a\u0000' }) as { s: string }).s).toBe('a\uFFFD');
});

test('storable: a lone UTF-16 surrogate (no canonical JSON) becomes U+FFFD in keys and values; a pair is kept', () => {
  const entry = { kind: 'graphql', clientId: 'c', operation: { name: 'Op\ud800' }, variables: { 'k\udc00': ['a\ud800b', '😀'] } };
  const safe = storable(entry) as typeof entry;
  expect(safe).toEqual({
    kind: 'graphql',
    clientId: 'c',
    operation: { name: 'Op\uFFFD' },
    variables: { 'k\uFFFD': ['a\uFFFDb', '😀'] },
  } as never);
  expect(() => canonicalJson(safe)).not.toThrow();
  const clean = { kind: 'graphql', text: '😀 and \\ud800 as text' };
  expect(storable(clean)).toBe(clean);
});

test('the JSON text written by the storable check is the one handed on; a copy made storable has none', () => {
  const entry = { kind: 'graphql', at: new Date('2026-01-02T03:04:05.000Z'), variables: { q: 'x' } };
  const checked = storableWithText(entry);
  expect(checked.entry).toBe(entry);
  expect(checked.json).toBe(JSON.stringify(entry));
  const copy = storableWithText({ kind: 'graphql', name: 'a\u0000' });
  expect(copy.entry).toEqual({ kind: 'graphql', name: 'a\uFFFD' });
  // the text written was of the original, with its NUL: never handed on
  expect(copy.json).toBeUndefined();
});

describe('a batch text as the audit worker receives it', () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase();
  });
  afterAll(() => tdb?.drop());

  test('entries of a text without NUL or lone-surrogate escapes are appended as they are', async () => {
    const entries = parseEntries(`[${storableWithText({ kind: 'test', n: 1 }).json},${JSON.stringify({ kind: 'test', n: 2 })}]`);
    const appended = await appendAuditEntries(tdb.database.db, entries as object[]);
    expect(appended.map((a) => a.entry.n)).toEqual([1, 2]);
  });

  test('an escaped NUL in the text keeps the per-entry check: the entry is refused, not stored', async () => {
    const entries = parseEntries(
      JSON.stringify([
        { kind: 'test', n: 3 },
        { kind: 'test', s: 'a\u0000' },
      ]),
    );
    await expect(appendAuditEntries(tdb.database.db, entries as object[])).rejects.toThrow(/must not contain U\+0000/);
    // nothing of the refused batch reached the chain
    const [row] = rowsOf<{ n: number }>(
      await tdb.database.db.execute(sql`select count(*)::int as n from audit_entries where entry->>'kind' = 'test' and entry->>'n' = '3'`),
    );
    expect(row!.n).toBe(0);
  });
});

test('unstorableRecord keeps every field that can be stored: who, what, which records, the original outcome', () => {
  const original = {
    kind: 'graphql',
    requestId: 'r-9',
    clientId: 'demo-clerk',
    role: 'clerk',
    jurisdiction: 'demo-city',
    scopes: ['permits:read'],
    operation: { type: 'query', name: 'Read\ud800', documentSha256: 'ab'.repeat(32) },
    affected: ['DC-1'],
    outcome: 'ALLOWED',
    errorCodes: [],
    httpStatus: 200,
    durationMs: Number.NaN,
    size: 10n,
    when: new Date('2026-01-02T03:04:05Z'),
  };
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const record = unstorableRecord('Lone surrogate is not allowed', { ...original, cyclic }) as Record<string, unknown>;
  expect(record).toMatchObject({
    kind: 'audit.unstorable',
    originalKind: 'graphql',
    requestId: 'r-9',
    outcome: 'ERROR',
    originalOutcome: 'ALLOWED',
    clientId: 'demo-clerk',
    role: 'clerk',
    jurisdiction: 'demo-city',
    scopes: ['permits:read'],
    operation: { type: 'query', name: 'Read\uFFFD' },
    affected: ['DC-1'],
    httpStatus: 200,
    durationMs: null,
    size: '10',
    when: '2026-01-02T03:04:05.000Z',
    cyclic: { a: 1, self: '[CIRCULAR]' },
  });
  expect(() => canonicalJson(record)).not.toThrow();
});

describe('over HTTP: NUL in what a client sends', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ RATE_LIMIT_SCALE: '0' });
  });
  afterAll(() => t?.stop());

  const head = async () =>
    Number(rowsOf<{ n: string }>(await t.tdb.database.db.execute(sql`select coalesce(max(seq), 0)::text as n from audit_entries`))[0]!.n);

  test('the entries are stored with U+FFFD, later requests are still audited, and the chain verifies', async () => {
    await t.running.audit.flush();
    const before = await head();
    const status = await t.gql('query Status($n: String!) { permitStatus(number: $n) { status } }', { n: 'DC-\u0000-1' });
    expect(status.status).toBe(200);
    const named = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query { __typename }', operationName: 'Op\u0000Name' }),
    });
    await named.arrayBuffer();
    const tokenRequest = await fetch(`${t.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'evil\u0000client', client_secret: 'x' }),
    });
    expect(tokenRequest.status).toBe(401); // an unknown client, not an internal error
    await tokenRequest.arrayBuffer();
    const later = await t.gql('query After { __typename }', {});
    expect(later.status).toBe(200);

    await t.running.audit.flush(); // used to reject here, and for every flush after
    const entries = rowsOf<{ entry: string }>(
      await t.tdb.database.db.execute(sql`select entry::text as entry from audit_entries where seq > ${before} order by seq`),
    ).map((r) => r.entry);
    expect(entries.some((e) => e.includes('DC-\uFFFD-1'))).toBe(true);
    expect(entries.some((e) => e.includes('evil\uFFFDclient'))).toBe(true);
    expect(entries.some((e) => e.includes('"After"'))).toBe(true);
    expect(entries.join('\n')).not.toContain('\\u0000');
    expect((await loadAndVerify(t.tdb.database.db)).ok).toBe(true);
  });
});

describe('the recorder: an entry the chain cannot take', () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase();
  });
  afterAll(() => tdb?.drop());

  test('is replaced by an audit.unstorable record and the entries around it are appended', async () => {
    const recorder = createAuditRecorder({ db: tdb.database.db, log: createLogger('silent'), flushMs: 60_000, pendingSweepMs: 60_000 });
    try {
      recorder.record({ kind: 'graphql', requestId: 'before' });
      recorder.record({ kind: 'graphql', requestId: 'poison', size: 10n } as unknown as Record<string, unknown>);
      recorder.record({ kind: 'graphql', requestId: 'after' });
      // the first attempt fails on the poison entry and replaces it; the next one appends everything
      await recorder.flush().catch(() => {});
      await recorder.flush();
      const rows = rowsOf<{ entry: Record<string, unknown> | string }>(
        await tdb.database.db.execute(sql`select entry from audit_entries order by seq`),
      ).map((r) => (typeof r.entry === 'string' ? JSON.parse(r.entry) : r.entry) as Record<string, unknown>);
      expect(rows.map((r) => r.requestId)).toEqual(['before', 'poison', 'after']);
      expect(rows[1]).toMatchObject({ kind: 'audit.unstorable', originalKind: 'graphql', outcome: 'ERROR' });
      expect(String(rows[1]!.reason)).toMatch(/BigInt/i);
      expect(rows[1]!.size).toBe('10'); // what can be stored is kept
      expect((await loadAndVerify(tdb.database.db)).ok).toBe(true);
    } finally {
      await recorder.close();
    }
  });
});
