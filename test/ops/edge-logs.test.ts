/**
 * Issue 20, logs: what never reaches Yoga's request log is logged at the edge, with the request id the client got in
 * `X-Request-Id`: a body refused with 413, and every token request (granted or refused, never the secret or the
 * token). Over real HTTP.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';

setDefaultTimeout(60_000);

const logLines: string[] = [];
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ MAX_BODY_BYTES: '4096' }, { logLines });
}, 120_000);
afterAll(() => t?.stop());

const parsed = () => logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
const lineFor = (requestId: string | null, msg: string) => parsed().find((l) => l.requestId === requestId && l.msg === msg);

describe('edge refusals and token requests are logged with the request id', () => {
  // over MAX_BODY_BYTES but under Bun.serve's own net (2 × MAX_BODY_BYTES), which answers before any handler runs
  test('a body over MAX_BODY_BYTES: 413, and a warn line naming the request', async () => {
    const r = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ __typename }`, pad: 'x'.repeat(5000) }),
    });
    expect(r.status).toBe(413);
    const id = r.headers.get('x-request-id');
    expect(id).toBeTruthy();
    const line = lineFor(id, 'request body too large (413)');
    expect(line).toMatchObject({ level: 40, path: '/graphql', method: 'POST', maxBytes: 4096 });
  });

  test('a granted token request: client and scope, never the secret or the token', async () => {
    const c = t.clients.find((x) => x.client_id === 'demo-analyst')!;
    const r = await fetch(`${t.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret }),
    });
    expect(r.status).toBe(200);
    const token = ((await r.json()) as { access_token: string }).access_token;
    const line = lineFor(r.headers.get('x-request-id'), 'token granted');
    expect(line).toMatchObject({ level: 30, client: 'demo-analyst', status: 200 });
    expect(String(line?.scope)).toContain('schema:introspect');
    const all = logLines.join('\n');
    expect(all).not.toContain(c.client_secret);
    expect(all).not.toContain(token);
  });

  test('a refused token request: the OAuth error, never the secret tried', async () => {
    const r = await fetch(`${t.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'demo-analyst', client_secret: 'wrong-secret-1234' }),
    });
    expect(r.status).toBe(401);
    const line = lineFor(r.headers.get('x-request-id'), 'token refused');
    expect(line).toMatchObject({ level: 40, client: 'demo-analyst', status: 401, error: 'invalid_client' });
    expect(logLines.join('\n')).not.toContain('wrong-secret-1234');
  });
});
