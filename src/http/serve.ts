/** Bun.serve around the app: opens each request's scope (src/request-scope.ts) and counts requests in flight. */
import { createTrustedProxyMatcher } from '../auth/trusted-proxy.ts';
import type { AppConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { ScopedHandler } from '../request-scope.ts';
import {
  createGraphQLWebSocket,
  GRAPHQL_TRANSPORT_WS,
  isGraphQLWebSocketUpgrade,
  socketDataOf,
  type SocketData,
} from './graphql-websocket.ts';
import { openRequestScope } from './open-request-scope.ts';

/** What serving needs of a bootstrapped app (src/bootstrap.ts `Running`). */
export interface Servable {
  app: { handle: ScopedHandler; listeningOn(port: number): void };
  config: Pick<AppConfig, 'trustedProxies' | 'maxBodyBytes'>;
  log: Logger;
}

export function serve(running: Servable, opts: { hostname: string; port: number }) {
  const trusted = createTrustedProxyMatcher(running.config.trustedProxies);
  let inFlight = 0;
  let idle: (() => void) | null = null;
  // GraphQL over WebSocket: each operation runs through the same handler as an HTTP request, with a scope of its own
  const websocket = {
    ...createGraphQLWebSocket(async (request, peer) => running.app.handle(request, openRequestScope(request, peer, trusted, running.log))),
    // a message is an operation's body: the same cap as a request body (Bun's default is 16 MB)
    maxPayloadLength: running.config.maxBodyBytes,
  };
  const server = Bun.serve<SocketData>({
    hostname: opts.hostname,
    port: opts.port,
    maxRequestBodySize: running.config.maxBodyBytes * 2,
    websocket,
    async fetch(request, srv) {
      if (new URL(request.url).pathname === '/graphql' && isGraphQLWebSocketUpgrade(request)) {
        const peer = srv.requestIP(request)?.address ?? 'unknown';
        if (srv.upgrade(request, { data: socketDataOf(request, peer), headers: { 'sec-websocket-protocol': GRAPHQL_TRANSPORT_WS } })) {
          return undefined as unknown as Response;
        }
        return Response.json({ error: 'websocket upgrade failed' }, { status: 400 });
      }
      const scope = openRequestScope(request, srv.requestIP(request)?.address ?? 'unknown', trusted, running.log);
      inFlight++;
      try {
        return await running.app.handle(request, scope);
      } finally {
        if (--inFlight === 0) idle?.();
      }
    },
  });
  running.app.listeningOn(server.port!);
  return Object.assign(server, {
    /** Stops accepting, then waits (at most `timeoutMs`) until in-flight requests have answered. */
    async drain(timeoutMs = 8000) {
      void server.stop(false);
      if (inFlight > 0) {
        await Promise.race([new Promise<void>((r) => (idle = r)), Bun.sleep(timeoutMs)]);
      }
      return inFlight;
    },
  });
}
