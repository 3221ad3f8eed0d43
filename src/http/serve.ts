/** Bun.serve around the app: establishes request metadata (peer, forwarded certificate) for every request. */
import { createTrustedProxyMatcher } from '../auth/trusted-proxy.ts';
import type { Running } from '../bootstrap.ts';
import { establishRequestMeta } from './request-meta.ts';
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
    { onError: (err: unknown) => log.error({ err }, 'unhandled error'), graphiqlAssets: "'self'", graphiqlFavicon: "'self'" },
  );
  return Bun.serve({
    hostname: opts.hostname,
    port: opts.port,
    maxRequestBodySize: running.config.maxBodyBytes * 2,
    fetch(request, server) {
      const peer = server.requestIP(request)?.address ?? 'unknown';
      establishRequestMeta(request, peer, trusted, running.log);
      return handler(request, server);
    },
  });
}
