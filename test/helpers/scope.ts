/** A request scope as the edge opens one (src/http/open-request-scope.ts), for tests that call Yoga or a step directly. */
import { openRequestScope } from '../../src/http/open-request-scope.ts';
import { createLogger } from '../../src/logger.ts';
import type { RequestScope } from '../../src/request-scope.ts';

const silent = createLogger('silent');

export function testScope(request: Request, peer = '127.0.0.1', overrides: Partial<RequestScope> = {}): RequestScope {
  return Object.assign(
    openRequestScope(request, peer, () => false, silent),
    overrides,
  );
}
