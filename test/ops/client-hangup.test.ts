/**
 * A client that hangs up mid-request (a torn body; a load generator stopping) is not a server fault: no
 * `unhandled error` line at error level (it was one per dropped connection, with a DOMException dump), and the
 * server goes on serving; its audit entry and the metrics say the client closed the request (499), not that the server
 * failed (500).
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import { connect } from 'node:net';
import { startTestServer, type TestServer } from '../helpers/server.ts';

setDefaultTimeout(60_000);

const lines: string[] = [];
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({}, { logLines: lines });
});
afterAll(() => t?.stop());

/** Sends a GraphQL POST whose body stops short of its Content-Length, then hangs up. */
async function tornRequest(extraHeaders = '') {
  const socket = connect(Number(new URL(t.url).port), '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(
    `POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n${extraHeaders}Content-Length: 200\r\n\r\n{"query":"{ __typename`,
  );
  await Bun.sleep(150);
  socket.destroy();
}

test('a request whose client disconnects before sending its whole body logs no error and leaves the server serving', async () => {
  const before = lines.length;
  for (let i = 0; i < 3; i++) await tornRequest();
  await Bun.sleep(500);
  const after = lines.slice(before).map((l) => JSON.parse(l) as { level: number; msg: string });
  expect(after.some((l) => l.msg === 'graphql request')).toBe(true); // the torn requests did reach the server
  expect(after.filter((l) => l.level >= 50)).toEqual([]);
  const next = await t.gql('{ __typename }');
  expect(next.status).toBe(200);
  expect(next.body.data).toEqual({ __typename: 'Query' });
});

test('a request whose client hung up is audited as such (499 CLIENT_CLOSED_REQUEST), not as a server error', async () => {
  const { sql } = await import('drizzle-orm');
  const { rowsOf } = await import('../../src/db/rows.ts');
  await tornRequest('X-Request-Id: hangup-audit-1\r\n');
  await Bun.sleep(300);
  await t.running.audit.flush();
  const rows = rowsOf<{ entry: string }>(
    await t.tdb.database.db.execute(sql`select entry::text as entry from audit_entries where entry->>'requestId' = 'hangup-audit-1'`),
  );
  expect(rows).toHaveLength(1);
  expect(JSON.parse(rows[0]!.entry)).toMatchObject({ outcome: 'ERROR', httpStatus: 499, errorCodes: ['CLIENT_CLOSED_REQUEST'] });
  // a request whose client waited is audited as before
  const ok = await t.gql('query Answered { __typename }', {}, undefined, { 'x-request-id': 'hangup-audit-2' });
  expect(ok.status).toBe(200);
  await t.running.audit.flush();
  const [answered] = rowsOf<{ entry: string }>(
    await t.tdb.database.db.execute(sql`select entry::text as entry from audit_entries where entry->>'requestId' = 'hangup-audit-2'`),
  );
  expect(JSON.parse(answered!.entry)).toMatchObject({ outcome: 'ALLOWED', httpStatus: 200, errorCodes: [] });
});

test('metrics count a hung-up request as 499 / CLIENT_CLOSED_REQUEST, not as a 500 internal error', async () => {
  await tornRequest();
  await Bun.sleep(300);
  const text = await (await fetch(`${t.url}/metrics`)).text();
  const graphqlLines = text
    .split('\n')
    .filter((l) => l.startsWith('http_request_duration_seconds_count') && l.includes('route="/graphql"'));
  expect(graphqlLines.some((l) => l.includes('status="499"'))).toBe(true);
  expect(graphqlLines.filter((l) => l.includes('status="500"'))).toEqual([]);
  const errors = text.split('\n').filter((l) => l.startsWith('graphql_errors_total'));
  expect(errors.some((l) => l.includes('code="CLIENT_CLOSED_REQUEST"'))).toBe(true);
  expect(errors.filter((l) => l.includes('code="INTERNAL_SERVER_ERROR"'))).toEqual([]);
});
