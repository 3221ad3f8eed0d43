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
  // behind a trusted proxy the client is the address it forwards (nginx replaces X-Forwarded-For with
  // $remote_addr), so lock-outs and rate limits key on the client, not on the proxy
  const forwarded = trusted(peer) ? request.headers.get('x-forwarded-for')?.split(',').at(-1)?.trim() : undefined;
  const ip = forwarded && /^[0-9a-fA-F:.]{2,45}$/.test(forwarded) ? forwarded : peer;
  if (cert && !('thumbprint' in cert)) {
    log.warn({ requestId, ip: peer, reason: cert.reason }, 'client certificate header not accepted');
  }
  const meta: RequestMeta = {
    requestId,
    ip,
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
