/**
 * Concurrent requests share statements (src/db/batched-reads.ts): lookups arriving in the same event-loop turn with
 * the same visibility scope become one `= any($1)` query. This attacks that sharing: clerks of two
 * jurisdictions, two contractors and a GIS vendor ask at the same moment for each other's permits (with parcel,
 * contractor, inspections and status history). Every answer must equal the one the same client gets alone, and
 * nobody may see a permit outside their scope.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** The answer without `extensions.cost`: the budget left differs between runs by design, the data may not. */
function withoutCost(body: object): object {
  const { extensions: _extensions, ...rest } = body as { extensions?: unknown };
  return rest;
}

setDefaultTimeout(120_000);

const WHO = ['demo-clerk', 'demo-clerk-other', 'demo-contractor-a', 'demo-contractor-b', 'demo-gis'] as const;
type Who = (typeof WHO)[number];
const PERMIT = `query($n: String!) { permit(number: $n) { number parcel { id apn } contractor { id licenseNumber }
  inspections { id inspectionType } } }`;
const HISTORY = `query($n: String!) { permit(number: $n) { number statusHistory { toStatus } } }`;

let t: TestServer;
const tokens = {} as Record<Who, string>;
/** permit numbers each client can list (its own scope) */
const own = {} as Record<Who, string[]>;

beforeAll(async () => {
  t = await startTestServer({ RATE_LIMIT_SCALE: '100' });
  for (const who of WHO) tokens[who] = await t.token(who);
  for (const who of WHO) {
    const r = await t.gql('{ permits(first: 6) { edges { node { number } } } }', {}, tokens[who]);
    expect(r.body.errors).toBeUndefined();
    own[who] = r.body.data.permits.edges.map((e: { node: { number: string } }) => e.node.number);
  }
  // the attack needs permits on both sides of every boundary
  expect(own['demo-clerk'].length).toBeGreaterThan(0);
  expect(own['demo-clerk-other'].length).toBeGreaterThan(0);
  expect(own['demo-contractor-a'].length).toBeGreaterThan(0);
  expect(own['demo-contractor-b'].length).toBeGreaterThan(0);
}, 120_000);
afterAll(() => t?.stop());

test('concurrent lookups across jurisdictions and contractors answer exactly as they do one at a time', async () => {
  const numbers = [...new Set(Object.values(own).flat())];
  const asks: { who: Who; n: string; query: string }[] = [];
  for (const who of WHO)
    for (const n of numbers)
      for (const query of who === 'demo-clerk' || who === 'demo-clerk-other' ? [PERMIT, HISTORY] : [PERMIT]) asks.push({ who, n, query });

  // alone: one request at a time
  const alone = new Map<string, string>();
  for (const a of asks) {
    const r = await t.gql(a.query, { n: a.n }, tokens[a.who]);
    expect(r.status).toBe(200);
    alone.set(`${a.who} ${a.n} ${a.query}`, JSON.stringify(withoutCost(r.body)));
  }
  // together: everything at once, three times over, in shuffled orders
  for (let round = 0; round < 3; round++) {
    const shuffled = [...asks].sort(() => Math.random() - 0.5);
    const results = await Promise.all(shuffled.map((a) => t.gql(a.query, { n: a.n }, tokens[a.who])));
    results.forEach((r, i) => {
      const a = shuffled[i]!;
      expect({ ask: `${a.who} ${a.n}`, body: JSON.stringify(withoutCost(r.body)) }).toEqual({
        ask: `${a.who} ${a.n}`,
        body: alone.get(`${a.who} ${a.n} ${a.query}`)!,
      });
    });
  }

  // and what "alone" says is the policy: other jurisdictions' and other contractors' permits do not exist
  const sees = (who: Who, n: string) => JSON.parse(alone.get(`${who} ${n} ${PERMIT}`)!).data.permit !== null;
  for (const n of own['demo-clerk-other'])
    for (const who of WHO.filter((w) => w !== 'demo-clerk-other')) expect({ who, n, seen: sees(who, n) }).toEqual({ who, n, seen: false });
  for (const n of own['demo-contractor-b']) expect(sees('demo-contractor-a', n)).toBe(false);
  for (const n of own['demo-contractor-a']) expect(sees('demo-contractor-b', n)).toBe(false);
  for (const n of own['demo-clerk']) expect(sees('demo-gis', n)).toBe(true);
});

test('hostile numbers sent alongside (NUL, array syntax, quotes, too long) fail only for their sender, never the shared statement', async () => {
  const clerk = tokens['demo-clerk'];
  const real = own['demo-clerk'][0]!;
  const hostile = ['nul\u0000byte', 'a,b', '{x}', 'q"uote', 'back\\slash', 'NULL', '', ' ', 'ü€😀', '\t', 'a}{,"\\', 'x'.repeat(65)];
  const q = 'query($n: String!) { permit(number: $n) { number } permitStatus(number: $n) { number } }';
  for (let round = 0; round < 3; round++) {
    const rs = await Promise.all([real, ...hostile, real].map((n) => t.gql(q, { n }, clerk)));
    for (const r of rs) expect(r.status).toBe(200);
    expect(withoutCost(rs[0]!.body)).toEqual({ data: { permit: { number: real }, permitStatus: { number: real } } });
    expect(withoutCost(rs.at(-1)!.body)).toEqual({ data: { permit: { number: real }, permitStatus: { number: real } } });
    rs.slice(1, -1).forEach((r, i) => {
      if (hostile[i]!.length > 64) expect(r.body.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT', 'BAD_USER_INPUT']);
      // U+0000 is refused before execution (src/guard/client-text.ts); the lookup also answers null without a query
      else if (hostile[i]!.includes('\u0000')) expect(r.body.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
      else
        expect({ n: hostile[i], body: withoutCost(r.body) }).toEqual({
          n: hostile[i],
          body: { data: { permit: null, permitStatus: null } },
        });
    });
  }
});
