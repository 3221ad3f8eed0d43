/** Bun.serve around the app: establishes request metadata (peer, forwarded certificate) for every request. */
import { createTrustedProxyMatcher } from '../auth/trusted-proxy.ts';
import type { Running } from '../bootstrap.ts';
import { establishRequestMeta } from './request-meta.ts';

export function serve(running: Running, opts: { hostname: string; port: number }) {
  const trusted = createTrustedProxyMatcher(running.config.trustedProxies);
  return Bun.serve({
    hostname: opts.hostname,
    port: opts.port,
    maxRequestBodySize: running.config.maxBodyBytes + 1024,
    async fetch(request, server) {
      const peer = server.requestIP(request)?.address ?? 'unknown';
      establishRequestMeta(request, peer, trusted, running.log);
      return running.app.route(request);
    },
  });
}
