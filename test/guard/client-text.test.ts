/**
 * Client text the service cannot carry and client JSON nested too deep (issue 18, items 1 and 11).
 * - A lone UTF-16 surrogate anywhere in a request made its audit entry impossible to canonicalise: the entry was
 *   replaced by an `audit.unstorable` record naming nobody while the request went through (in a mutation: a masked
 *   500). Now it is refused with BAD_USER_INPUT naming where it was, and the refusal's entry says who sent what.
 * - Variables nested 100,000 deep overflowed the stack in the NUL check: a 500 with a stack trace logged per request.
 *   Now any nesting over the cap is a 400 BAD_USER_INPUT, with nothing logged at error level.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { loadAndVerify } from '../../src/audit/verify-chain.ts';
import { rowsOf } from '../../src/db/rows.ts';
import { inspectClientJson, MAX_CLIENT_JSON_DEPTH, storableCopy, storableText } from '../../src/guard/client-text.ts';
import { countRows, startTestServer, type TestServer } from '../helpers/server.ts';

setDefaultTimeout(120_000);

const LONE = '\ud800';
const deepArray = (n: number) => `${'['.repeat(n)}1${']'.repeat(n)}`;
const deepObject = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;

describe('the sanitiser', () => {
  test('finds U+0000 and lone surrogates in values and keys, naming the path; a surrogate pair is fine', () => {
    expect(inspectClientJson({ a: 'x', emoji: '😀', b: [1, 'y'] })).toEqual({ text: null, tooDeep: null });
    expect(inspectClientJson({ input: { applicant: { name: `A${LONE}` } } }).text).toEqual({
      path: 'input.applicant.name',
      problem: 'surrogate',
    });
    expect(inspectClientJson({ list: ['ok', 'n\u0000'] }).text).toEqual({ path: 'list[1]', problem: 'nul' });
    expect(inspectClientJson({ input: { [`k${LONE}`]: 1 } }).text).toEqual({ path: 'input', problem: 'surrogate' });
    expect(inspectClientJson({ '\udc00': 1 }).text).toEqual({ path: '(a key)', problem: 'surrogate' });
    expect(inspectClientJson({ a: `${LONE}` }, 'extensions').text).toEqual({ path: 'extensions.a', problem: 'surrogate' });
  });

  test('walks 100,000 levels without recursion and stops at the cap', () => {
    const deep = JSON.parse(deepArray(100_000));
    const r = inspectClientJson({ x: deep });
    expect(r.tooDeep?.problem).toBe('depth');
    expect(r.tooDeep!.path.startsWith('x[0][0]')).toBe(true);
    expect(inspectClientJson(JSON.parse(deepArray(MAX_CLIENT_JSON_DEPTH - 1))).tooDeep).toBeNull();
    // a bad text before the depth does not hide the depth
    expect(inspectClientJson({ a: LONE, x: deep }).tooDeep?.problem).toBe('depth');
  });

  test('makes text storable: U+FFFD for U+0000 and lone surrogates, pairs kept, any depth copied', () => {
    expect(storableText(`a${LONE}b\u0000c😀`)).toBe('a\uFFFDb\uFFFDc😀');
    const clean = 'plain';
    expect(storableText(clean)).toBe(clean);
    expect(storableCopy({ [`k${LONE}`]: [`v${LONE}`, { d: new Date('2026-01-02T03:04:05Z') }] })).toEqual({
      'k\uFFFD': ['v\uFFFD', { d: '2026-01-02T03:04:05.000Z' }],
    });
    const deep = JSON.parse(deepArray(100_000));
    expect(() => storableCopy(deep, { maxDepth: Infinity })).not.toThrow();
    expect(JSON.stringify(storableCopy(deep, { salvage: true }))).toContain('[TRUNCATED]');
  });
});

describe('over HTTP', () => {
  let t: TestServer;
  const logs: string[] = [];
  beforeAll(async () => {
    t = await startTestServer({ RATE_LIMIT_SCALE: '0' }, { logLines: logs });
  });
  afterAll(() => t?.stop());

  async function head() {
    await t.running.audit.flush();
    return Number(
      rowsOf<{ n: string }>(await t.tdb.database.db.execute(sql`select coalesce(max(seq), 0)::text as n from audit_entries`))[0]!.n,
    );
  }
  async function entriesSince(seq: number) {
    await t.running.audit.flush();
    return rowsOf<{ entry: string }>(
      await t.tdb.database.db.execute(sql`select entry::text as entry from audit_entries where seq > ${seq} order by seq`),
    )
      .map((r) => JSON.parse(r.entry) as Record<string, any>)
      .filter((e) => e.kind !== 'token');
  }
  /** Sends a raw JSON text (so lone surrogates travel as `\ud800` escapes, as any JSON client can send them). */
  async function send(body: string, token?: string, init: RequestInit = {}) {
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body,
      ...init,
    });
    const text = await res.text();
    return { status: res.status, text, body: JSON.parse(text) as any };
  }
  const esc = '\\ud800'; // the JSON escape of a lone surrogate

  test.each([
    ['an unused variable', `{"query":"query Unused { __typename }","variables":{"x":"${esc}"}}`, 'x', 'Unused', 'query'],
    [
      'a used argument',
      `{"query":"query Used($n: String!) { permit(number: $n) { number } }","variables":{"n":"DC-${esc}"}}`,
      'n',
      'Used',
      'query',
    ],
    [
      'a nested input object',
      `{"query":"mutation Nested($i: SubmitPermitInput!) { submitPermit(input: $i, idempotencyKey: \\"surrogate-0001\\") { receipt { id } } }","variables":{"i":{"parcelId":"00000000-0000-4000-8000-000000000000","permitType":"SIGN","workClass":"NEW","description":"d${esc}","valuation":10,"applicant":{"name":"A","email":"a@example.org","phone":"+1 555 000 0000"}}}}`,
      'i.description',
      'Nested',
      'mutation',
    ],
    ['a variable key', `{"query":"query Key { __typename }","variables":{"${esc}":"x"}}`, '(a key)', 'Key', 'query'],
    ['a key inside a value', `{"query":"query Inner { __typename }","variables":{"o":{"${esc}k":1}}}`, 'o', 'Inner', 'query'],
    ['extensions', `{"query":"query Ext { __typename }","extensions":{"note":"${esc}"}}`, 'extensions.note', 'Ext', 'query'],
  ])(
    'a lone surrogate in %s is refused with BAD_USER_INPUT naming it, and the entry says who did what',
    async (_what, body, field, name, type) => {
      const who = type === 'mutation' ? 'demo-contractor-a' : 'demo-clerk';
      const role = type === 'mutation' ? 'contractor' : 'clerk';
      const permitsBefore = await countRows(t, 'permits');
      const h = await head();
      const r = await send(body, await t.token(who));
      expect(r.status).toBeLessThan(500);
      expect(r.body.errors.map((e: any) => e.extensions.code)).toEqual(['BAD_USER_INPUT']);
      expect(r.body.errors[0].extensions.field).toBe(field);
      expect(r.body.data ?? null).toBeNull();
      expect(await countRows(t, 'permits')).toBe(permitsBefore);
      const es = await entriesSince(h);
      expect(es.map((e) => e.kind)).toEqual(['graphql']);
      expect(es[0]).toMatchObject({ clientId: who, role, operation: { type, name }, outcome: 'ERROR', errorCodes: ['BAD_USER_INPUT'] });
    },
  );

  test('a lone surrogate in the operation name is refused (400) and recorded with the name made storable', async () => {
    const h = await head();
    const r = await send(`{"query":"query Named { __typename }","operationName":"Named${esc}"}`, await t.token('demo-clerk'));
    expect(r.status).toBe(400);
    expect(r.body.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'operationName' });
    const es = await entriesSince(h);
    expect(es).toHaveLength(1);
    expect(es[0]).toMatchObject({
      clientId: 'demo-clerk',
      role: 'clerk',
      operation: { name: 'Named\uFFFD' },
      outcome: 'ERROR',
      errorCodes: ['BAD_USER_INPUT'],
    });
  });

  test('variables are recorded with U+FFFD, in a GET request too, and the chain verifies', async () => {
    const h = await head();
    const qs = new URLSearchParams({
      query: 'query ViaGet($n: String!) { permitStatus(number: $n) { status } }',
      variables: `{"n":"G-${esc}"}`,
    });
    const res = await fetch(`${t.url}/graphql?${qs}`, { headers: { accept: 'application/json' } });
    const body = (await res.json()) as any;
    expect(body.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'n' });
    const es = await entriesSince(h);
    expect(es).toHaveLength(1);
    expect(es[0]).toMatchObject({
      role: 'anonymous',
      operation: { type: 'query', name: 'ViaGet' },
      variables: { n: 'G-\uFFFD' },
      outcome: 'ERROR',
    });
    expect((await loadAndVerify(t.tdb.database.db)).ok).toBe(true);
  });

  test('a lone surrogate in a string literal is refused, and the entry is attributed and not ALLOWED', async () => {
    const h = await head();
    const r = await send(`{"query":"query Lit { permit(number: \\"\\\\ud800\\") { number } }"}`, await t.token('demo-clerk'));
    expect(r.status).toBeLessThan(500);
    expect(r.body.errors).toHaveLength(1);
    const es = await entriesSince(h);
    expect(es).toHaveLength(1);
    expect(es[0]).toMatchObject({ clientId: 'demo-clerk', role: 'clerk' });
    expect(es[0]!.outcome).not.toBe('ALLOWED');
  });

  test('in a batch, only the operation that holds it is refused', async () => {
    const r = await send(
      `[{"query":"query Clean { __typename }"},{"query":"query Dirty { __typename }","variables":{"x":"${esc}"}}]`,
      await t.token('demo-clerk'),
    );
    expect(r.body[0]).toEqual({ data: { __typename: 'Query' }, extensions: { cost: { estimated: 1 } } });
    expect(r.body[1].errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'x' });
  });

  test('a caller without access to the field is refused as FORBIDDEN whatever it sent', async () => {
    const r = await send(
      `{"query":"mutation($c: ID!) { revokeClient(clientId: $c) }","variables":{"c":"x${esc}"}}`,
      await t.token('demo-clerk'),
    );
    expect(r.body.errors.map((e: any) => e.extensions.code)).toEqual(['FORBIDDEN']);
  });

  test('no audit.unstorable record was needed for any of it', async () => {
    await t.running.audit.flush();
    const [r] = rowsOf<{ n: number }>(
      await t.tdb.database.db.execute(sql`select count(*)::int as n from audit_entries where entry->>'kind' = 'audit.unstorable'`),
    );
    expect(Number(r!.n)).toBe(0);
  });

  test.each([
    ['variables 100,000 arrays deep', `{"query":"query Deep { __typename }","variables":{"x":${deepArray(100_000)}}}`, 'x[0]'],
    ['variables 100,000 objects deep', `{"query":"query Deep { __typename }","variables":{"x":${deepObject(100_000)}}}`, 'x.a'],
    [
      'extensions 100,000 objects deep',
      `{"query":"query Deep { __typename }","extensions":{"x":${deepObject(100_000)}}}`,
      'extensions.x.a',
    ],
    [
      'variables 1,000,000 arrays deep (a body just under the 2 MiB limit)',
      `{"query":"query Deep { __typename }","variables":{"x":${deepArray(1_000_000)}}}`,
      'x[0]',
    ],
  ])('%s: 400 with a stable code, no stack trace logged, the server goes on', async (_what, body, field) => {
    for (const token of [undefined, await t.token('demo-clerk')]) {
      const before = logs.length;
      const r = await send(body, token);
      expect(r.status).toBe(400);
      expect(r.text).not.toContain('stack');
      expect(r.text).not.toContain('Maximum call stack');
      const code = r.body.errors?.[0]?.extensions?.code;
      expect(['BAD_USER_INPUT', 'BAD_REQUEST']).toContain(code);
      if (field) expect(r.body.errors[0].extensions.field.startsWith(field)).toBe(true);
      const errors = logs
        .slice(before)
        .map((l) => JSON.parse(l) as { level: number })
        .filter((l) => l.level >= 50);
      expect(errors).toEqual([]);
    }
    const next = await t.gql('{ __typename }');
    expect(next.body.data).toEqual({ __typename: 'Query' });
  });

  test('a body that is nothing but 1,000,000 nested arrays is no server error', async () => {
    const r = await send(deepArray(1_000_000), await t.token('demo-clerk'));
    expect(r.status).toBeLessThan(500);
    expect(r.text).not.toContain('Maximum call stack');
  });

  test('a document nested as deep as the token limit allows is walked without error', async () => {
    const before = logs.length;
    const n = 900;
    const r = await t.gql(
      `query D { permitsGeoJSON(bbox: {minLon: 0, minLat: 0, maxLon: 1, maxLat: 1}, filter: { status: ${'['.repeat(n)}ISSUED${']'.repeat(n)} }) }`,
      {},
      await t.token('demo-clerk'),
    );
    expect(r.status).toBeLessThan(500);
    expect(r.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(logs.slice(before).filter((l) => (JSON.parse(l) as { level: number }).level >= 50)).toEqual([]);
  });

  test('a GET request with deep variables is refused the same way', async () => {
    const qs = new URLSearchParams({ query: 'query Deep { __typename }', variables: `{"x":${deepArray(500)}}` });
    const res = await fetch(`${t.url}/graphql?${qs}`, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });
});
