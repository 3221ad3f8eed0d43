/**
 * Issue 22: "a token that expires … ends its streams", over real HTTP. A subscriber holding a token that lives a few
 * seconds hears events while the token is valid, and its SSE stream (and its WebSocket operation) is ended by the
 * server when the token expires, freeing its place under the per-client cap. The unit test of the registry is in
 * subscription-stream.test.ts; this one covers the resolver reading the real token's `exp`.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { createClient } from 'graphql-ws';
import { decodeJwt, SignJWT } from 'jose';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { subscribe } from './sse-client.ts';

setDefaultTimeout(60_000);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
}, 120_000);
afterAll(() => t.stop(), 30_000);

const RECEIPT = `subscription($id: ID!) { submissionReceiptChanged(id: $id) { id state } }`;
const LIFETIME_S = 4;
const CLIENT = 'demo-contractor-b';

/**
 * demo-contractor-b's token as POST /oauth/token issues it (same claims and scopes), re-signed with the server's real
 * key to expire `LIFETIME_S` seconds from now (TOKEN_TTL_SECONDS is at least 30).
 */
async function shortLivedToken(): Promise<{ token: string; exp: number }> {
  const issued = decodeJwt(await t.token(CLIENT));
  const iat = Math.floor(Date.now() / 1000);
  const exp = iat + LIFETIME_S;
  const token = await new SignJWT({ ...issued, jti: crypto.randomUUID(), iat, nbf: iat, exp })
    .setProtectedHeader({ alg: 'ES256', kid: t.running.signingKey.kid, typ: 'at+jwt' })
    .sign(t.running.signingKey.privateKey);
  return { token, exp };
}

/** What the outbox replayer reports when a queued submission is written: heard by its submitter only. */
const publish = (id: string) =>
  t.running.services.events.publishReceipt({
    receiptId: id,
    state: 'PERSISTED',
    permitNumber: 'DC-BLD-2026-999998',
    clientId: CLIENT,
    jurisdiction: 'demo-city',
    contractor: null,
  });

async function until(check: () => boolean, ms: number) {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await Bun.sleep(25);
}

describe("a token's expiry ends its streams", () => {
  test('SSE: events while the token is valid, then the server ends the stream', async () => {
    const { token, exp } = await shortLivedToken();
    const id = crypto.randomUUID();
    const s = await subscribe(t.url, RECEIPT, { id }, token);
    try {
      expect(s.status).toBe(200);
      await Bun.sleep(300); // the stream caught up with the change feed
      await publish(id);
      expect((await s.waitFor(1, 3_000)).map((e) => e.data.submissionReceiptChanged.state)).toEqual(['PERSISTED']);
      expect(s.ended).toBe(false);
      expect(t.running.services.events.streams.openStreams(CLIENT)).toBe(1);

      await until(() => s.ended, (exp + 5) * 1000 - Date.now());
      expect(s.ended).toBe(true);
      // not before the token expired (whole seconds: `exp` is)
      expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000 - 50);
      expect(t.running.services.events.streams.openStreams(CLIENT)).toBe(0);
    } finally {
      s.close();
    }
  });

  test('WebSocket: the operation completes when the token expires', async () => {
    const { token, exp } = await shortLivedToken();
    const id = crypto.randomUUID();
    const client = createClient({
      url: `${t.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${token}` },
    });
    const got: { events: any[]; error: unknown; completed: boolean } = { events: [], error: null, completed: false };
    try {
      client.subscribe(
        { query: RECEIPT, variables: { id } },
        {
          next: (v) => void got.events.push(v),
          error: (e) => {
            got.error = e;
          },
          complete: () => {
            got.completed = true;
          },
        },
      );
      await until(() => t.running.services.events.streams.openStreams(CLIENT) === 1, 3_000);
      await Bun.sleep(300);
      await publish(id);
      await until(() => got.events.length >= 1, 3_000);
      expect(got.events).toEqual([{ data: { submissionReceiptChanged: { id, state: 'PERSISTED' } } }]);
      expect(got.completed).toBe(false);

      await until(() => got.completed || got.error !== null, (exp + 5) * 1000 - Date.now());
      expect(got.error).toBeNull();
      expect(got.completed).toBe(true);
      expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000 - 50);
      expect(t.running.services.events.streams.openStreams(CLIENT)).toBe(0);
    } finally {
      await client.dispose();
    }
  });
});
