/**
 * The edge step that opens each request's server span (src/ops/tracing.ts), continuing the W3C context a trusted
 * proxy forwarded (the scope holds it only then). Named by the GraphQL semantic conventions once the operation is
 * known (`query PermitPage`, `graphql.operation.type` / `.name`), else by the HTTP ones (`POST /oauth/token`).
 * Everything later in a sampled request runs inside it, so token verification, guards, SQL and the audit append are
 * its children; an unsampled one runs outside any trace context. With tracing off the step only checks a flag.
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
  '/schema.graphql',
]);

function graphqlName(scope: RequestScope): { name: string; type?: string; operation?: string } | undefined {
  const type = scope.log.types[0];
  if (!type) return undefined;
  const operation = scope.log.names[0];
  return { name: operation ? `${type} ${operation}` : type, type, ...(operation ? { operation } : {}) };
}

/** The path of a request URL without parsing the whole URL (the query and fragment dropped). */
function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  if (start < 0) return '/';
  const end = url.slice(start).search(/[?#]/);
  return end < 0 ? url.slice(start) : url.slice(start, start + end);
}

export function withRequestSpan(next: ScopedHandler): ScopedHandler {
  return async (request, scope) => {
    if (!tracingOn()) return next(request, scope);
    const path = pathOf(request.url);
    const route = KNOWN_ROUTES.has(path) ? path : path.startsWith('/status/') ? '/status/{number}' : 'other';
    // attributes only once the sampler has said yes: the standard samplers read none of them, and nine requests in
    // ten (10 % sampling) would build them for nothing
    const started = startServerSpan(`${request.method} ${route}`, {}, scope, SpanKind.SERVER);
    if (!started) return next(request, scope);
    const { span, context } = started;
    // sampled or not, the id names the request in its log line, its errors' extensions and its audit entry
    scope.traceId = span.spanContext().traceId;
    // an unsampled request runs in no trace context: nothing below it would be recorded, it makes no outgoing call
    // (webhooks and witnesses are background work with traces of their own), and entering an AsyncLocalStorage
    // context makes Bun carry it through every await of the request (its cost: docs/benchmark.md)
    if (!span.isRecording()) return next(request, scope);
    span.setAttributes({
      'http.request.method': request.method,
      'url.path': path,
      'http.route': route,
      'client.address': scope.ip,
      'permit_gateway.request_id': scope.requestId,
    });
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
