/**
 * DataLoader batching (issue 2, acceptance 6): 200 permits with parcel, contractor and inspections (with
 * their checklists) cost at most 6 SQL statements, counted with the database's onQuery listener during the
 * GraphQL request only (the token is fetched beforehand).
 */
import { afterAll, beforeAll, expect, test, setDefaultTimeout } from 'bun:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// server start-up and whole-jurisdiction walks are slow on shared machines (PGlite)
setDefaultTimeout(60_000);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
}, 180_000); // start-up (PGlite, migrations, seed) can take a minute on a loaded machine
afterAll(() => t?.stop());

const NESTED = `query($first: Int) {
  permits(first: $first) {
    edges { cursor node {
      number status valuation
      parcel { id apn address zoningCode location }
      contractor { id licenseNumber name licenseStatus }
      inspections { id inspectionType result windowStart checklist { item passed notes } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}`;

/**
 * Statements that are not the query's own reads, excluded from the count:
 *  - the background database probe (src/resilience/db-probe.ts: `select 1` on a timer);
 *  - the audit trail (src/audit/): the entry of a query is appended by the recorder after the response is
 *    ready (advisory lock + insert into audit_entries), a constant per request, not per permit; the previous
 *    request's entry may also land inside this window.
 */
const BACKGROUND = /^\s*select 1\s*$|audit_entries|audit_pending|audit_checkpoints|pg_advisory_xact_lock/i;

/** Runs `query` and returns its result with the SQL statements sent while it ran. */
async function counted(query: string, variables: Record<string, unknown>, token: string) {
  const statements: string[] = [];
  const off = t.running.database.onQuery((sql) => {
    if (!BACKGROUND.test(sql)) statements.push(sql);
  });
  try {
    const r = await t.gql(query, variables, token);
    return { r, statements };
  } finally {
    off();
  }
}

test('200 permits with parcel, contractor, inspections and checklists: ≤ 6 SQL statements', async () => {
  const clerk = await t.token('demo-clerk');
  await t.gql(`{ me { clientId } }`, {}, clerk); // warm anything per-client (token verification keys)
  const { r, statements } = await counted(NESTED, { first: 200 }, clerk);
  expect(r.body.errors).toBeUndefined();
  const edges = r.body.data.permits.edges as { node: any }[];
  expect(edges).toHaveLength(200);
  expect(r.body.data.permits.pageInfo.hasNextPage).toBe(true);
  // every nested level was actually resolved
  for (const { node } of edges) {
    expect(node.parcel.apn).toBeString();
    expect(node.contractor.licenseNumber).toBeString();
    expect(Array.isArray(node.inspections)).toBe(true);
  }
  const inspections = edges.flatMap((e) => e.node.inspections);
  expect(inspections.length).toBeGreaterThan(0);
  expect(inspections.some((i: { checklist: unknown[] }) => i.checklist.length > 0)).toBe(true);
  if (statements.length > 6) console.error(statements.join('\n---\n'));
  // today: one statement per level (permits, parcels, contractors, inspections, checklist items) = 5
  expect(statements.length).toBeLessThanOrEqual(6);
});

test('the statement count does not grow with the page size', async () => {
  const clerk = await t.token('demo-clerk');
  const small = await counted(NESTED, { first: 5 }, clerk);
  const large = await counted(NESTED, { first: 200 }, clerk);
  expect(small.r.body.errors).toBeUndefined();
  expect(large.r.body.data.permits.edges).toHaveLength(200);
  expect(large.statements.length).toBeLessThanOrEqual(small.statements.length + 1);
});

test('batching holds for the other roles that read permits', async () => {
  for (const who of ['demo-inspector', 'demo-gis']) {
    const tok = await t.token(who);
    const { r, statements } = await counted(NESTED, { first: 200 }, tok);
    expect({ who, errors: r.body.errors }).toEqual({ who, errors: undefined });
    expect(r.body.data.permits.edges).toHaveLength(200);
    expect({ who, n: statements.length <= 6 }).toEqual({ who, n: true });
  }
});
