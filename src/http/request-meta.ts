/**
 * Per-request facts established before GraphQL runs: request id, peer address, and the client certificate
 * thumbprint forwarded by a trusted proxy. Kept in a WeakMap keyed by the Request (no module-level state).
 */
import { readForwardedClientCert } from '../auth/client-cert.ts';
import type { TrustedProxyMatcher } from '../auth/trusted-proxy.ts';
import type { Logger } from '../logger.ts';
import { originalRequestOf } from '../guard/body-limit.ts';

export interface RequestMeta {
  requestId: string;
  ip: string;
  certThumbprint?: string;
  startedAt: number;
}

const metas = new WeakMap<Request, RequestMeta>();

export function establishRequestMeta(request: Request, peer: string, trusted: TrustedProxyMatcher, log: Logger): RequestMeta {
  const incoming = request.headers.get('x-request-id');
  const requestId = incoming && /^[A-Za-z0-9._-]{8,64}$/.test(incoming) ? incoming : crypto.randomUUID();
  const cert = readForwardedClientCert(request, peer, trusted);
  if (cert && !('thumbprint' in cert)) {
    log.warn({ requestId, ip: peer, reason: cert.reason }, 'client certificate header not accepted');
  }
  const meta: RequestMeta = {
    requestId,
    ip: peer,
    startedAt: performance.now(),
    ...(cert && 'thumbprint' in cert ? { certThumbprint: cert.thumbprint } : {}),
  };
  metas.set(request, meta);
  return meta;
}

/** The request's metadata; also found through a Request the body limit replaced. */
export function requestMeta(request: Request): RequestMeta {
  return metas.get(request) ?? metas.get(originalRequestOf(request)) ?? { requestId: crypto.randomUUID(), ip: 'unknown', startedAt: performance.now() };
}
