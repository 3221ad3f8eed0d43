/**
 * The edge step that opens each request's server span (src/ops/tracing.ts), continuing the W3C context a trusted
 * proxy forwarded (the scope holds it only then). Named by the GraphQL semantic conventions once the operation is
 * known (`query PermitPage`, `graphql.operation.type` / `.name`), else by the HTTP ones (`POST /oauth/token`).
 * Everything later in the request runs inside it, so token verification, guards, SQL and the audit append are its
 * children. With tracing off the step only checks a flag.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { RequestScope, ScopedHandler } from '../request-scope.ts';
import { startServerSpan, tracingOn, withContext } from './tracing.ts';

/** Paths named as they are; anything else is one name, so span names stay few (ids live in attributes). */
const KNOWN_ROUTES = new Set([
  '/graphql',
  '/oauth/token',
  '/metrics',
  '/healthz',
  '/readyz',
  '/.well-known/jwks.json',
  '/audit/checkpoint',
]);

function graphqlName(scope: RequestScope): { name: string; type?: string; operation?: string } | undefined {
  const type = scope.log.types[0];
  if (!type) return undefined;
  const operation = scope.log.names[0];
  return { name: operation ? `${type} ${operation}` : type, type, ...(operation ? { operation } : {}) };
}

export function withRequestSpan(next: ScopedHandler): ScopedHandler {
  return async (request, scope) => {
    if (!tracingOn()) return next(request, scope);
    const url = new URL(request.url);
    const route = KNOWN_ROUTES.has(url.pathname) ? url.pathname : url.pathname.startsWith('/status/') ? '/status/{number}' : 'other';
    const started = startServerSpan(
      `${request.method} ${route}`,
      {
        'http.request.method': request.method,
        'url.path': url.pathname,
        'http.route': route,
        'client.address': scope.ip,
        'permit_gateway.request_id': scope.requestId,
      },
      scope,
      SpanKind.SERVER,
    );
    if (!started) return next(request, scope);
    const { span, context } = started;
    const sc = span.spanContext();
    if (sc.traceFlags & 1) scope.traceId = sc.traceId;
    // an unsampled request still runs in its context (an outgoing call must carry its trace id, sampled flag 0), but
    // nothing is recorded on its span and nothing below it starts a span (tracing.ts)
    if (!span.isRecording()) return withContext(context, () => next(request, scope));
    try {
      const response = await withContext(context, () => next(request, scope));
      span.setAttribute('http.response.status_code', response.status);
      if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      return response;
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      const gql = graphqlName(scope);
      if (gql) {
        span.updateName(gql.name);
        span.setAttribute('graphql.operation.type', gql.type!);
        if (gql.operation) span.setAttribute('graphql.operation.name', gql.operation);
      }
      if (scope.principal) span.setAttribute('permit_gateway.client.role', scope.principal.role);
      span.end();
    }
  };
}
