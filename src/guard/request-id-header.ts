/**
 * `X-Request-Id` on every response (errors and refusals included): the id logs and audit entries carry, so a user
 * reporting a problem can quote it and an operator can find the request. Outermost edge step, so nothing escapes it.
 */
import type { RequestScope } from '../request-scope.ts';
import { editHeaders } from './response-headers.ts';

export function withRequestIdHeader(handler: (request: Request, scope: RequestScope) => Promise<Response>) {
  return async (request: Request, scope: RequestScope): Promise<Response> =>
    editHeaders(await handler(request, scope), (headers) => headers.set('x-request-id', scope.requestId));
}
