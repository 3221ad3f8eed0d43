/**
 * Client JSON over the WebSocket bridge (issue 18, items 1 and 11, the class beyond POST/GET): the bridge
 * re-serialises each subscribe payload into a request for the one pipeline, so it must not be the thing that breaks
 * on client data. A payload nested 100,000 deep overflowed JSON.stringify (an uncaught error, the operation hanging)
 * and a token a header cannot hold threw a TypeError; both are refused now, lone surrogates still reach the
 * pipeline's own refusal, and the connection keeps working.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';

setDefaultTimeout(120_000);

let t: TestServer;
const logs: string[] = [];
beforeAll(async () => {
  t = await startTestServer({}, { logLines: logs });
}, 60_000);
afterAll(() => t.stop(), 30_000);

const STATUS = 'subscription Deep { permitStatusChanged { permitNumber } }';

interface Socket {
  ws: WebSocket;
  messages: any[];
  closed: { code?: number; reason?: string };
}

/** Opens a graphql-transport-ws connection and sends `connection_init` with this payload. */
function connect(init: Record<string, unknown>): Promise<Socket> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${t.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
    const s: Socket = { ws, messages: [], closed: {} };
    ws.onmessage = (e) => void s.messages.push(JSON.parse(String(e.data)));
    ws.onclose = (e) => {
      s.closed = { code: e.code, reason: e.reason };
      resolve(s);
    };
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: 'connection_init', payload: init }));
      resolve(s);
    };
  });
}

async function until(check: () => boolean, ms = 10_000) {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await Bun.sleep(25);
}

const errorLogs = (from: number) =>
  logs
    .slice(from)
    .map((l) => JSON.parse(l) as { level: number })
    .filter((l) => l.level >= 50);

describe('the WebSocket bridge and client JSON', () => {
  test.each([
    ['variables 100,000 arrays deep', `"variables":{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`, 'x[0]'],
    ['extensions 100,000 arrays deep', `"extensions":{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`, 'extensions.x[0]'],
    ['an unknown member 100,000 arrays deep', `"other":${'['.repeat(100_000)}${']'.repeat(100_000)}`, 'other'],
  ])('%s: an error message with BAD_USER_INPUT naming it, nothing logged, the socket goes on', async (_what, member, field) => {
    const s = await connect({ authorization: `Bearer ${await t.token('demo-clerk')}` });
    const before = logs.length;
    s.ws.send(`{"id":"deep","type":"subscribe","payload":{"query":${JSON.stringify(STATUS)},${member}}}`);
    await until(() => s.messages.some((m) => m.id === 'deep'));
    const answer = s.messages.find((m) => m.id === 'deep');
    expect(answer?.type).toBe('error');
    expect(answer.payload[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(answer.payload[0].extensions.field.startsWith(field)).toBe(true);
    // the same operation id can be used again: nothing was left registered
    s.ws.send(JSON.stringify({ id: 'deep', type: 'subscribe', payload: { query: STATUS } }));
    s.ws.send(JSON.stringify({ type: 'ping' }));
    await until(() => s.messages.some((m) => m.type === 'pong'));
    expect(s.messages.some((m) => m.type === 'pong')).toBe(true);
    expect(s.closed.code).toBeUndefined();
    expect(errorLogs(before)).toEqual([]);
    s.ws.close();
  });

  test("a lone surrogate in a subscription's variables is refused by the pipeline with BAD_USER_INPUT", async () => {
    const s = await connect({ authorization: `Bearer ${await t.token('demo-clerk')}` });
    s.ws.send(`{"id":"s","type":"subscribe","payload":{"query":${JSON.stringify(STATUS)},"variables":{"x":"\\ud800"}}}`);
    await until(() => s.messages.some((m) => m.id === 's'));
    // refused at subscribe time, like an execution error: a `next` carrying it, then `complete` (before: no answer)
    const answer = s.messages.find((m) => m.id === 's');
    expect(answer?.type).toBe('next');
    expect(answer.payload.data ?? null).toBeNull();
    expect(answer.payload.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'x' });
    await until(() => s.messages.some((m) => m.id === 's' && m.type === 'complete'));
    expect(s.messages.filter((m) => m.id === 's').map((m) => m.type)).toEqual(['next', 'complete']);
    s.ws.close();
  });

  test('over SSE too: a subscription with a lone surrogate in its variables is refused, the stream ends', async () => {
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${await t.token('demo-clerk')}`,
      },
      body: `{"query":${JSON.stringify(STATUS)},"variables":{"x":"\\ud800"}}`,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    expect(text).toContain('"code":"BAD_USER_INPUT"');
    expect(text).toContain('"field":"x"');
  });

  test('a token no header can carry closes the connection as Forbidden (4403), nothing logged', async () => {
    const before = logs.length;
    const s = await connect({ authorization: 'Bearer \u20ac\ud800' });
    s.ws.send(JSON.stringify({ id: 'h', type: 'subscribe', payload: { query: STATUS } }));
    await until(() => s.closed.code !== undefined);
    expect(s.closed.code).toBe(4403);
    expect(s.messages.filter((m) => m.id === 'h')).toEqual([]);
    expect(errorLogs(before)).toEqual([]);
  });
});
