/**
 * Opens a request's scope from what Bun.serve knows: request id, peer address, and the client certificate
 * thumbprint, client address and W3C trace context forwarded by a trusted proxy (believed from trusted proxies only).
 */
import { newRequestAudit } from '../audit/operation-notes.ts';
import { readForwardedClientCert } from '../auth/client-cert.ts';
import type { TrustedProxyMatcher } from '../auth/trusted-proxy.ts';
import type { Logger } from '../logger.ts';
import type { RequestScope } from '../request-scope.ts';

export function openRequestScope(request: Request, peer: string, trusted: TrustedProxyMatcher, log: Logger): RequestScope {
  const incoming = request.headers.get('x-request-id');
  const requestId = incoming && /^[A-Za-z0-9._-]{8,64}$/.test(incoming) ? incoming : crypto.randomUUID();
  const cert = readForwardedClientCert(request, peer, trusted);
  // behind a trusted proxy the client is the address it forwards (nginx replaces X-Forwarded-For with
  // $remote_addr), so lock-outs and rate limits key on the client, not on the proxy
  const fromProxy = trusted(peer);
  const forwarded = fromProxy ? request.headers.get('x-forwarded-for')?.split(',').at(-1)?.trim() : undefined;
  const ip = forwarded && /^[0-9a-fA-F:.]{2,45}$/.test(forwarded) ? forwarded : peer;
  // a client could otherwise pick its own trace id (and sampling decision); nginx's is continued
  const traceparent = fromProxy ? request.headers.get('traceparent') : null;
  const tracestate = traceparent ? request.headers.get('tracestate') : null;
  if (cert && !('thumbprint' in cert)) {
    log.warn({ requestId, ip: peer, reason: cert.reason }, 'client certificate header not accepted');
  }
  return {
    requestId,
    ip,
    peer,
    startedAt: performance.now(),
    ...(cert && 'thumbprint' in cert ? { certThumbprint: cert.thumbprint } : {}),
    principal: null,
    audit: newRequestAudit(),
    log: { names: [], types: [] },
    cost: {},
    ...(traceparent ? { traceparent, ...(tracestate ? { tracestate } : {}) } : {}),
  };
}
