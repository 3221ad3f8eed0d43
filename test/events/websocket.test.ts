/**
 * Issue 22: subscriptions over WebSocket (graphql-transport-ws), driven by the protocol's reference client
 * (graphql-ws `createClient`), through the same pipeline and policy as SSE: a contractor hears only its own permits,
 * a connection without a token is refused.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { createClient, type Client } from 'graphql-ws';
import { startTestServer, type TestServer } from '../helpers/server.ts';

setDefaultTimeout(120_000);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
}, 60_000);
afterAll(() => t.stop(), 30_000);

const STATUS = `subscription { permitStatusChanged { permitNumber status } }`;

function wsClient(token: string | null): Client {
  return createClient({
    url: `${t.url.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
  });
}

/** Subscribes and collects `next` payloads and the terminal error, if any. */
function collect(client: Client, query: string) {
  const got: { events: any[]; error: unknown; done: boolean } = { events: [], error: null, done: false };
  const stop = client.subscribe(
    { query },
    {
      next: (v) => void got.events.push(v),
      error: (e) => {
        got.error = e;
        got.done = true;
      },
      complete: () => {
        got.done = true;
      },
    },
  );
  return { got, stop };
}

async function until(check: () => boolean, ms = 10_000) {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await Bun.sleep(25);
}

describe('subscriptions over WebSocket', () => {
  test('a contractor hears its own permits only', async () => {
    const a = wsClient(await t.token('demo-contractor-a'));
    const b = wsClient(await t.token('demo-contractor-b'));
    try {
      const mine = collect(a, STATUS);
      const theirs = collect(b, STATUS);
      await Bun.sleep(500);
      const clerk = await t.token('demo-clerk');
      const p = await t.gql(`{ permits(first: 1) { edges { node { parcel { id } } } } }`, {}, clerk);
      const input = {
        parcelId: p.body.data.permits.edges[0].node.parcel.id,
        permitType: 'PLUMBING',
        workClass: 'REPAIR',
        description: 'WebSocket test',
        valuation: 800,
        applicant: { name: 'Ada Lovelace', email: 'ada@example.org', phone: '+1 555 010 2030' },
      };
      const r = await t.gql(
        `mutation($input: SubmitPermitInput!) { submitPermit(input: $input, idempotencyKey: "ws-test-0001") { receipt { permitNumber } } }`,
        { input },
        await t.token('demo-contractor-a'),
      );
      expect(r.body.errors).toBeUndefined();
      const n = r.body.data.submitPermit.receipt.permitNumber;
      await until(() => mine.got.events.length >= 1);
      expect(mine.got.events[0]).toEqual({ data: { permitStatusChanged: { permitNumber: n, status: 'SUBMITTED' } } });
      await Bun.sleep(500);
      expect(theirs.got.events).toEqual([]);
      expect(mine.got.error).toBeNull();
      mine.stop();
      theirs.stop();
    } finally {
      await a.dispose();
      await b.dispose();
    }
  });

  test('without a token the operation is refused with UNAUTHENTICATED', async () => {
    const anon = wsClient(null);
    try {
      const s = collect(anon, STATUS);
      await until(() => s.got.done);
      expect(JSON.stringify(s.got.error)).toContain('UNAUTHENTICATED');
      expect(s.got.events).toEqual([]);
    } finally {
      await anon.dispose();
    }
  });
});
