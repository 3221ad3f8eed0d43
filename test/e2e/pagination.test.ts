/** Relay cursor pagination of `permits` over HTTP: a full walk sees every permit once; forged cursors are refused. */
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from 'bun:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// server start-up and whole-jurisdiction walks are slow on shared machines (PGlite)
setDefaultTimeout(60_000);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
}, 180_000); // start-up (PGlite, migrations, seed) can take a minute on a loaded machine
afterAll(() => t?.stop());

const PAGE = `query($first: Int, $after: String, $f: PermitFilter) {
  permits(first: $first, after: $after, filter: $f) {
    totalCount
    edges { cursor node { number status } }
    pageInfo { hasNextPage endCursor startCursor }
  }
}`;

type Page = {
  totalCount: number;
  edges: { cursor: string; node: { number: string; status: string } }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null; startCursor: string | null };
};

/** Follows endCursor until hasNextPage is false; returns the numbers seen and the totalCount of the first page. */
async function walk(token: string, first: number, filter?: object) {
  const numbers: string[] = [];
  let after: string | null = null;
  let totalCount = -1;
  for (let pages = 0; ; pages++) {
    expect(pages).toBeLessThan(100); // no endless loop
    const r = await t.gql(PAGE, { first, after, f: filter ?? null }, token);
    expect(r.body.errors).toBeUndefined();
    const p: Page = r.body.data.permits;
    if (totalCount < 0) totalCount = p.totalCount;
    expect(p.totalCount).toBe(totalCount);
    expect(p.edges.length).toBeLessThanOrEqual(first);
    if (p.edges.length) {
      expect(p.pageInfo.startCursor).toBe(p.edges[0]!.cursor);
      expect(p.pageInfo.endCursor).toBe(p.edges.at(-1)!.cursor);
    }
    numbers.push(...p.edges.map((e) => e.node.number));
    if (!p.pageInfo.hasNextPage) break;
    expect(p.edges).toHaveLength(first); // only the last page may be short
    after = p.pageInfo.endCursor;
  }
  return { numbers, totalCount };
}

describe('walking permits(first: 50, after)', () => {
  test('a clerk walks the whole jurisdiction: every permit once, as many as totalCount', async () => {
    const { numbers, totalCount } = await walk(await t.token('demo-clerk'), 50);
    expect(totalCount).toBeGreaterThan(200);
    expect(numbers).toHaveLength(totalCount);
    expect(new Set(numbers).size).toBe(numbers.length);
    for (const n of numbers) expect(n).toMatch(/^DC-/);
  });

  test('page size does not change what is seen', async () => {
    const clerk = await t.token('demo-clerk');
    const a = await walk(clerk, 50);
    const b = await walk(clerk, 200);
    const c = await walk(clerk, 7);
    expect(b.numbers).toEqual(a.numbers);
    expect(c.numbers).toEqual(a.numbers);
  });

  test('with a filter: every match once, and only matches', async () => {
    const clerk = await t.token('demo-clerk');
    const filter = { status: ['ISSUED', 'INSPECTIONS'] };
    const { numbers, totalCount } = await walk(clerk, 50, filter);
    expect(totalCount).toBeGreaterThan(0);
    expect(numbers).toHaveLength(totalCount);
    expect(new Set(numbers).size).toBe(totalCount);
    const all = await walk(clerk, 200);
    const statuses = new Map<string, string>();
    for (let after: string | null = null; ; ) {
      const r = await t.gql(PAGE, { first: 200, after }, clerk);
      const p: Page = r.body.data.permits;
      for (const e of p.edges) statuses.set(e.node.number, e.node.status);
      if (!p.pageInfo.hasNextPage) break;
      after = p.pageInfo.endCursor;
    }
    expect(statuses.size).toBe(all.totalCount);
    expect(numbers.sort()).toEqual(
      [...statuses]
        .filter(([, s]) => filter.status.includes(s))
        .map(([n]) => n)
        .sort(),
    );
  });

  test('the other jurisdiction walks its own permits only', async () => {
    const dc = await walk(await t.token('demo-clerk'), 50);
    const ot = await walk(await t.token('demo-clerk-other'), 5);
    expect(ot.totalCount).toBeGreaterThan(0);
    expect(ot.numbers).toHaveLength(ot.totalCount);
    expect(new Set(ot.numbers).size).toBe(ot.totalCount);
    const dcSet = new Set(dc.numbers);
    for (const n of ot.numbers) expect(dcSet.has(n)).toBe(false);
  });

  test('a contractor walks exactly its own permits', async () => {
    const { numbers, totalCount } = await walk(await t.token('demo-contractor-a'), 10);
    expect(totalCount).toBeGreaterThan(10);
    expect(numbers).toHaveLength(totalCount);
    expect(new Set(numbers).size).toBe(totalCount);
  });

  test('an empty result has no cursors and no next page', async () => {
    const r = await t.gql(
      PAGE,
      { first: 50, f: { bbox: { minLon: 10, minLat: -10, maxLon: 11, maxLat: -9 } } },
      await t.token('demo-clerk'),
    );
    expect(r.body.data.permits).toEqual({ totalCount: 0, edges: [], pageInfo: { hasNextPage: false, endCursor: null, startCursor: null } });
  });
});

describe('refused cursors and page sizes', () => {
  const forged = [
    ['not base64 of ours', 'Zm9yZ2Vk'],
    ['garbage', '!!!$$$'],
    ['our prefix, not an id', Buffer.from('c:not-a-uuid').toString('base64url')],
    ['an id without our prefix', Buffer.from('00000000-0000-4000-8000-000000000000').toString('base64url')],
    ['SQL in an id', Buffer.from("c:' or 1=1 --").toString('base64url')],
  ] as const;
  test.each(forged)('a forged cursor (%s) → BAD_USER_INPUT naming after', async (_, after) => {
    const r = await t.gql(PAGE, { first: 10, after }, await t.token('demo-clerk'));
    expect(r.body.data ?? null).toBeNull();
    expect(r.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.body.errors?.[0]?.extensions?.field).toBe('after');
  });

  test('an overlong cursor → BAD_USER_INPUT', async () => {
    const r = await t.gql(PAGE, { first: 10, after: 'A'.repeat(5000) }, await t.token('demo-clerk'));
    expect(r.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.body.errors?.[0]?.extensions?.field).toBe('after');
  });

  test('first: 201 → BAD_USER_INPUT; first: 200 is the maximum; default is 50', async () => {
    const clerk = await t.token('demo-clerk');
    const over = await t.gql(PAGE, { first: 201 }, clerk);
    expect(over.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(over.body.errors?.[0]?.extensions?.field).toBe('first');
    const max = await t.gql(PAGE, { first: 200 }, clerk);
    expect(max.body.data.permits.edges).toHaveLength(200);
    const def = await t.gql(PAGE, {}, clerk);
    expect(def.body.data.permits.edges).toHaveLength(50);
  });
});

describe('cursors naming permits the reader may not see', () => {
  test('a well-formed cursor of no permit → BAD_USER_INPUT, not a silent end of the walk', async () => {
    const after = Buffer.from('c:00000000-0000-4000-8000-000000000000').toString('base64url');
    const r = await t.gql(PAGE, { first: 10, after }, await t.token('demo-clerk'));
    expect(r.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.body.errors?.[0]?.extensions?.field).toBe('after');
  });

  test('another jurisdiction’s cursor is refused the same way (no positioning by a foreign permit)', async () => {
    const other = await t.gql(PAGE, { first: 1 }, await t.token('demo-clerk-other'));
    const after = other.body.data.permits.edges[0].cursor;
    const r = await t.gql(PAGE, { first: 10, after }, await t.token('demo-clerk'));
    expect(r.body.data ?? null).toBeNull();
    expect(r.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.body.errors?.[0]?.extensions?.field).toBe('after');
  });

  test('a cursor of another contractor’s permit is refused for a contractor', async () => {
    const b = await t.gql(PAGE, { first: 1 }, await t.token('demo-contractor-b'));
    const after = b.body.data.permits.edges[0].cursor;
    const r = await t.gql(PAGE, { first: 10, after }, await t.token('demo-contractor-a'));
    expect(r.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  test('the last page’s own endCursor still answers an empty page', async () => {
    const clerk = await t.token('demo-clerk-other');
    let after: string | null = null;
    for (;;) {
      const r = await t.gql(PAGE, { first: 50, after }, clerk);
      const p: Page = r.body.data.permits;
      after = p.pageInfo.endCursor;
      if (!p.pageInfo.hasNextPage) break;
    }
    const past = await t.gql(PAGE, { first: 50, after }, clerk);
    expect(past.body.errors).toBeUndefined();
    expect(past.body.data.permits.edges).toEqual([]);
    expect(past.body.data.permits.pageInfo.hasNextPage).toBe(false);
  });
});
