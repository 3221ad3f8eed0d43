/** Bun.serve around the app: establishes request metadata (peer, forwarded certificate) for every request. */
import { createTrustedProxyMatcher } from '../auth/trusted-proxy.ts';
import type { Running } from '../bootstrap.ts';
import { establishRequestMeta, requestMeta } from './request-meta.ts';
import { withBodyLimit } from '../guard/body-limit.ts';
import { withCors } from '../guard/cors.ts';
import { withSecurityHeaders } from '../guard/security-headers.ts';
import { withHttpMetrics } from '../ops/metrics.ts';

export function serve(running: Running, opts: { hostname: string; port: number }) {
  const trusted = createTrustedProxyMatcher(running.config.trustedProxies);
  const { config, log } = running;
  // outermost first: headers on every response, CORS allowlist, body limit before any parsing
  const handler = withSecurityHeaders(
    withHttpMetrics(
      withCors(withBodyLimit((request: Request) => running.app.route(request), { maxBytes: config.maxBodyBytes }), { origins: config.corsOrigins }),
      running.app.metrics,
    ),
    // GraphiQL's assets are served by this server (src/ops/graphiql-assets.ts)
    {
      onError: (err: unknown, request?: Request) => {
        // a client that hung up mid-request (a torn body, a load generator stopping) is not a server fault
        if (request?.signal.aborted) {
          log.debug({ requestId: request ? requestMeta(request).requestId : undefined }, 'client closed the connection before the response');
        } else {
          log.error({ err }, 'unhandled error');
        }
      },
      graphiqlAssets: "'self'",
      graphiqlFavicon: "'self'",
    },
  );
  let inFlight = 0;
  let idle: (() => void) | null = null;
  const server = Bun.serve({
    hostname: opts.hostname,
    port: opts.port,
    maxRequestBodySize: running.config.maxBodyBytes * 2,
    async fetch(request, srv) {
      const peer = srv.requestIP(request)?.address ?? 'unknown';
      establishRequestMeta(request, peer, trusted, running.log);
      inFlight++;
      try {
        return await handler(request, srv);
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
