/**
 * CORS from an allowlist of exact origins (`CORS_ORIGINS`), as a fetch-level wrapper.
 * - An allowed origin gets `Access-Control-Allow-Origin: <that origin>` (never `*`), `Vary: Origin`, and
 *   `Access-Control-Allow-Credentials: true` when `credentials` is on.
 * - A preflight (`OPTIONS` + `Access-Control-Request-Method`) is answered here: 204 with the allowed methods and
 *   headers for an allowed origin, 403 without any CORS header otherwise. It never reaches the app.
 * - A disallowed origin gets no `Access-Control-*` header at all, even if the inner handler set some.
 *   Yoga adds its own permissive CORS by default: create it with `cors: false` and let this wrapper decide.
 * Refusing the request itself (a cross-origin POST from an unknown origin) is `useCsrfPrevention`'s job.
 */
import { editHeaders } from './response-headers.ts';

export interface CorsOptions {
  /** Allowed origins, exact `scheme://host[:port]`. `'*'` is refused when `credentials` is on. @default [] */
  origins?: string[];
  /** Send `Access-Control-Allow-Credentials: true` to allowed origins. @default true */
  credentials?: boolean;
  /** Methods a preflight may ask for. @default ['GET', 'POST', 'OPTIONS'] */
  methods?: string[];
  /**
   * Request headers a preflight may ask for.
   * @default ['content-type', 'authorization', 'x-graphql-client-name', 'apollo-require-preflight', 'graphql-preflight', 'x-request-id']
   */
  allowedHeaders?: string[];
  /**
   * Response headers readable by the page: a browser client paces itself by its budget, as any other does.
   * @default ['retry-after', 'x-request-id', 'ratelimit', 'ratelimit-policy']
   */
  exposedHeaders?: string[];
  /** Preflight cache in seconds. @default 600 */
  maxAge?: number;
}

const defaults: Required<CorsOptions> = {
  origins: [],
  credentials: true,
  methods: ['GET', 'POST', 'OPTIONS'],
  allowedHeaders: [
    'content-type',
    'authorization',
    'x-graphql-client-name',
    'apollo-require-preflight',
    'graphql-preflight',
    'x-request-id',
  ],
  exposedHeaders: ['retry-after', 'x-request-id', 'ratelimit', 'ratelimit-policy'],
  maxAge: 600,
};

export function withCors<A extends unknown[]>(
  handler: (request: Request, ...rest: A) => Response | Promise<Response>,
  options: CorsOptions = {},
): (request: Request, ...rest: A) => Promise<Response> {
  const o: Required<CorsOptions> = {
    origins: options.origins ?? defaults.origins,
    credentials: options.credentials ?? defaults.credentials,
    methods: options.methods ?? defaults.methods,
    allowedHeaders: options.allowedHeaders ?? defaults.allowedHeaders,
    exposedHeaders: options.exposedHeaders ?? defaults.exposedHeaders,
    maxAge: options.maxAge ?? defaults.maxAge,
  };
  if (o.credentials && o.origins.includes('*')) {
    throw new Error("CORS: '*' cannot be combined with credentials; list the allowed origins");
  }
  const wildcard = o.origins.includes('*');
  const allowed = new Set(o.origins.map((x) => x.replace(/\/$/, '')));
  const isAllowed = (origin: string) => wildcard || allowed.has(origin);

  return async (request, ...rest) => {
    const origin = request.headers.get('origin');
    const preflight = request.method === 'OPTIONS' && request.headers.has('access-control-request-method');
    if (preflight) {
      if (!origin || !isAllowed(origin)) return new Response(null, { status: 403, headers: { vary: 'Origin' } });
      const h = new Headers({
        'access-control-allow-origin': wildcard ? '*' : origin,
        'access-control-allow-methods': o.methods.join(', '),
        'access-control-allow-headers': o.allowedHeaders.join(', '),
        'access-control-max-age': String(o.maxAge),
        vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
      });
      if (o.credentials) h.set('access-control-allow-credentials', 'true');
      return new Response(null, { status: 204, headers: h });
    }
    const response = await handler(request, ...rest);
    return editHeaders(response, (headers) => {
      for (const name of [...headers.keys()]) if (name.startsWith('access-control-')) headers.delete(name);
      headers.append('vary', 'Origin');
      if (origin && isAllowed(origin)) {
        headers.set('access-control-allow-origin', wildcard ? '*' : origin);
        if (o.credentials) headers.set('access-control-allow-credentials', 'true');
        if (o.exposedHeaders.length) headers.set('access-control-expose-headers', o.exposedHeaders.join(', '));
      }
    });
  };
}
