/**
 * GraphQL over WebSocket (the `graphql-transport-ws` protocol of graphql-ws) as a bridge onto the one HTTP pipeline:
 * each `subscribe` message becomes a `POST /graphql` with `Accept: text/event-stream` carrying the connection's
 * bearer token and the upgrade request's headers, so authentication, rate and cost limits, the field policy, the
 * per-client stream cap and the audit apply exactly as to an SSE request; the stream's events are relayed as `next`
 * messages. The token comes from the upgrade request's Authorization header or `connection_init`'s payload
 * (`{ authorization: "Bearer …" }`: browsers cannot set headers on a WebSocket).
 *
 * The bridge re-serialises what a client sent, so it must not fail on client data before the pipeline sees it:
 * JSON.stringify recurses (a subscribe payload nested 100,000 deep overflowed the stack, an uncaught error with
 * the operation left hanging) and a header cannot hold a token outside Latin-1 (a TypeError). Nesting the
 * pipeline would refuse anyway is refused here with the pipeline's BAD_USER_INPUT; such a token closes the socket.
 */
import type { ServerWebSocket, WebSocketHandler } from 'bun';
import { inspectClientJson, MAX_CLIENT_JSON_DEPTH, TEXT_MESSAGES } from '../guard/client-text.ts';

export const GRAPHQL_TRANSPORT_WS = 'graphql-transport-ws';

/** A connection's state. */
export interface SocketData {
  url: string;
  peer: string;
  headers: [string, string][];
  authorization: string | null;
  acked: boolean;
  operations: Map<string, AbortController>;
  initTimer?: ReturnType<typeof setTimeout>;
}

/** Headers of the upgrade request that have no meaning for the operations' requests. */
const CONNECTION_HEADERS = /^(upgrade|connection|sec-websocket-.*|content-length|content-type|accept|transfer-encoding)$/i;

export function isGraphQLWebSocketUpgrade(request: Request): boolean {
  return (
    request.headers.get('upgrade')?.toLowerCase() === 'websocket' &&
    (request.headers.get('sec-websocket-protocol') ?? '')
      .split(',')
      .map((p) => p.trim())
      .includes(GRAPHQL_TRANSPORT_WS)
  );
}

export function socketDataOf(request: Request, peer: string): SocketData {
  return {
    url: request.url,
    peer,
    headers: [...request.headers.entries()].filter(([name]) => !CONNECTION_HEADERS.test(name)),
    authorization: request.headers.get('authorization'),
    acked: false,
    operations: new Map(),
  };
}

/** How long a client may take to send `connection_init` (the protocol's own close code 4408 after that). */
const INIT_TIMEOUT_MS = 10_000;

type Run = (request: Request, peer: string) => Promise<Response>;

/** Relays one operation's answer (an SSE stream, or one JSON result) as protocol messages. */
async function relay(ws: ServerWebSocket<SocketData>, id: string, response: Response, signal: AbortSignal) {
  const send = (message: object) => {
    if (!signal.aborted) ws.send(JSON.stringify({ id, ...message }));
  };
  if (!(response.headers.get('content-type') ?? '').includes('text/event-stream') || !response.body) {
    const body = (await response.json().catch(() => ({ errors: [{ message: `HTTP ${response.status}` }] }))) as {
      data?: unknown;
      errors?: unknown[];
    };
    if (body.errors?.length && body.data == null) return send({ type: 'error', payload: body.errors });
    send({ type: 'next', payload: body });
    return send({ type: 'complete' });
  }
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = /^data: ?(.*)$/m.exec(block)?.[1];
        if (!/^event: ?next$/m.test(block) || !data) continue;
        const payload = JSON.parse(data) as { data?: unknown; errors?: unknown[] };
        // a refusal before execution (401, 403, 400) is the protocol's `error` message, which ends the operation
        if (!response.ok && payload.errors?.length) return send({ type: 'error', payload: payload.errors });
        send({ type: 'next', payload });
      }
    }
  } catch {
    // the client completed the operation or closed the socket: the stream was aborted
  }
  send({ type: 'complete' });
}

/** True when `value` can be an HTTP header value (Latin-1, no CR, LF or NUL), as the bridged request needs. */
const isHeaderValue = (value: string) => /^[\t\x20-\x7e\x80-\xff]*$/.test(value);

/**
 * The pipeline's refusal (src/guard/use-client-text.ts) of a payload nested deeper than the cap, or null. Variables
 * and extensions sit one level below the payload, so a cap one deeper finds exactly what the pipeline refuses; the
 * path is named as the pipeline names it (variables by their own names).
 */
function tooDeep(payload: unknown): object[] | null {
  const found = inspectClientJson(payload, '', MAX_CLIENT_JSON_DEPTH + 1, () => null).tooDeep;
  if (!found) return null;
  const field = found.path.replace(/^variables\./, '');
  return [{ message: `${field}: ${TEXT_MESSAGES.depth}`, extensions: { code: 'BAD_USER_INPUT', field } }];
}

export function createGraphQLWebSocket(run: Run): WebSocketHandler<SocketData> {
  function subscribe(ws: ServerWebSocket<SocketData>, id: string, payload: unknown) {
    const refused = tooDeep(payload);
    if (refused) return void ws.send(JSON.stringify({ id, type: 'error', payload: refused }));
    const abort = new AbortController();
    ws.data.operations.set(id, abort);
    const headers = new Headers(ws.data.headers);
    headers.set('content-type', 'application/json');
    headers.set('accept', 'text/event-stream');
    if (ws.data.authorization) headers.set('authorization', ws.data.authorization);
    const request = new Request(ws.data.url, { method: 'POST', headers, body: JSON.stringify(payload), signal: abort.signal });
    void run(request, ws.data.peer)
      .then((response) => relay(ws, id, response, abort.signal))
      .catch(() => {
        if (!abort.signal.aborted) ws.send(JSON.stringify({ id, type: 'error', payload: [{ message: 'Unexpected error.' }] }));
      })
      .finally(() => {
        if (ws.data.operations.get(id) === abort) ws.data.operations.delete(id);
      });
  }

  return {
    open(ws) {
      ws.data.initTimer = setTimeout(() => ws.data.acked || ws.close(4408, 'Connection initialisation timeout'), INIT_TIMEOUT_MS);
    },
    message(ws, raw) {
      let message: { type?: unknown; id?: unknown; payload?: { query?: unknown; authorization?: unknown; Authorization?: unknown } | null };
      try {
        message = JSON.parse(typeof raw === 'string' ? raw : new TextDecoder().decode(raw));
      } catch {
        return ws.close(4400, 'Invalid message received');
      }
      switch (message.type) {
        case 'connection_init': {
          if (ws.data.acked) return ws.close(4429, 'Too many initialisation requests');
          clearTimeout(ws.data.initTimer);
          const auth = message.payload?.authorization ?? message.payload?.Authorization;
          if (typeof auth === 'string') {
            // a header cannot carry it, so no request could: the credential is unusable, as is the connection
            if (!isHeaderValue(auth)) return ws.close(4403, 'Forbidden');
            ws.data.authorization = auth;
          }
          ws.data.acked = true;
          return void ws.send(JSON.stringify({ type: 'connection_ack' }));
        }
        case 'ping':
          return void ws.send(JSON.stringify({ type: 'pong' }));
        case 'pong':
          return;
        case 'subscribe': {
          if (!ws.data.acked) return ws.close(4401, 'Unauthorized');
          if (typeof message.id !== 'string' || !message.id || typeof message.payload?.query !== 'string') {
            return ws.close(4400, 'Invalid message received');
          }
          if (ws.data.operations.has(message.id)) return ws.close(4409, `Subscriber for ${message.id.slice(0, 64)} already exists`);
          return subscribe(ws, message.id, message.payload);
        }
        case 'complete': {
          const op = typeof message.id === 'string' ? ws.data.operations.get(message.id) : undefined;
          op?.abort();
          if (typeof message.id === 'string') ws.data.operations.delete(message.id);
          return;
        }
        default:
          return ws.close(4400, 'Invalid message received');
      }
    },
    close(ws) {
      clearTimeout(ws.data.initTimer);
      for (const op of ws.data.operations.values()) op.abort();
      ws.data.operations.clear();
    },
  };
}
