/**
 * CSRF prevention, the equivalent of `@graphql-yoga/plugin-csrf-prevention` (not installed) plus an origin check:
 * - a POST that a browser may send cross-site without a preflight ("simple request": `Content-Type` absent,
 *   `text/plain`, `application/x-www-form-urlencoded` or `multipart/form-data`) must carry one of
 *   `requestHeaders`, which no simple request can set → else 400 `BAD_REQUEST`;
 * - a POST whose `Origin` is neither this server's own origin nor on `origins` → 403 `FORBIDDEN`
 *   (same-origin is also recognised by the browser-set `Sec-Fetch-Site: same-origin`).
 * Requests without `Origin` (servers, curl) pass the origin check; GET never changes state in Yoga (mutations via
 * GET are refused by Yoga itself) and GraphiQL is served by GET, so only POST is checked.
 */
import type { Plugin } from 'graphql-yoga';

export interface CsrfPreventionOptions {
  /**
   * Headers proving the request was preflighted or sent by a non-browser client.
   * @default ['x-graphql-client-name', 'apollo-require-preflight', 'graphql-preflight']
   */
  requestHeaders?: string[];
  /** Origins allowed to POST cross-origin (same list as CORS, `CORS_ORIGINS`). @default [] */
  origins?: string[];
}

const defaults: Required<CsrfPreventionOptions> = {
  requestHeaders: ['x-graphql-client-name', 'apollo-require-preflight', 'graphql-preflight'],
  origins: [],
};

const SIMPLE_TYPES = new Set(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data']);

const refuse = (status: number, code: string, message: string) =>
  Response.json({ errors: [{ message, extensions: { code } }] }, { status });

export function useCsrfPrevention(options: CsrfPreventionOptions = {}): Plugin {
  const requestHeaders = (options.requestHeaders ?? defaults.requestHeaders).map((h) => h.toLowerCase());
  const origins = new Set((options.origins ?? defaults.origins).map((x) => x.replace(/\/$/, '')));
  return {
    onRequest({ request, url, endResponse }) {
      if (request.method !== 'POST') return;
      const origin = request.headers.get('origin');
      if (origin && origin !== 'null') {
        const sameOrigin = origin === url.origin || request.headers.get('sec-fetch-site') === 'same-origin';
        if (!sameOrigin && !origins.has(origin)) {
          return endResponse(refuse(403, 'FORBIDDEN', `Cross-origin request from ${origin} is not allowed`));
        }
      } else if (origin === 'null') {
        return endResponse(refuse(403, 'FORBIDDEN', 'Requests from an opaque origin are not allowed'));
      }
      const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      const simple = type === '' || SIMPLE_TYPES.has(type);
      if (simple && !requestHeaders.some((h) => request.headers.has(h))) {
        return endResponse(
          refuse(
            400,
            'BAD_REQUEST',
            `Request blocked as a possible CSRF: send Content-Type: application/json or one of the headers ${requestHeaders.join(', ')}`,
          ),
        );
      }
    },
  };
}
