/** Bun.serve around the app: opens each request's scope (src/request-scope.ts) and counts requests in flight. */
import { createTrustedProxyMatcher } from '../auth/trusted-proxy.ts';
import type { AppConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { ScopedHandler } from '../request-scope.ts';
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
  const server = Bun.serve({
    hostname: opts.hostname,
    port: opts.port,
    maxRequestBodySize: running.config.maxBodyBytes * 2,
    async fetch(request, srv) {
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
