/**
 * Security headers on every response, 4xx/5xx and thrown errors included, as a fetch-level wrapper
 * (outermost, so nothing escapes it):
 * HSTS, `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY` + CSP `frame-ancestors 'none'`,
 * `Referrer-Policy: no-referrer`, and no `X-Powered-By`.
 *
 * CSP: API responses get `default-src 'none'` (nothing to load). HTML responses (Yoga's GraphiQL page) get a
 * policy allowing exactly what Yoga 5's `renderGraphiQL` loads — checked in graphql-yoga/cjs/graphiql-html.js:
 * CSS, the UMD bundle and three Monaco worker bundles from `https://unpkg.com/@graphql-yoga/graphiql@<version>/`
 * (the workers are `fetch`ed, hence connect-src, and started from `blob:` URLs, hence worker-src), a favicon from
 * raw.githubusercontent.com, two inline scripts (allowed by their SHA-256, computed from the page actually
 * served, so `__OPTS__` changes stay covered) and inline styles that GraphiQL/Monaco inject at run time.
 * A thrown handler error becomes a masked 500 JSON error (`INTERNAL_SERVER_ERROR`), also with the headers.
 */
import { editHeaders } from './response-headers.ts';

export interface SecurityHeadersOptions {
  /**
   * `Strict-Transport-Security` value; `false` leaves it out (e.g. plain-HTTP development).
   * @default 'max-age=63072000; includeSubDomains'
   */
  hsts?: string | false;
  /** CSP for everything that is not HTML. @default "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'" */
  apiCsp?: string;
  /**
   * Base URL GraphiQL's assets are loaded from (Yoga 5.24: `@graphql-yoga/graphiql@4.5.1` on unpkg).
   * @default 'https://unpkg.com/@graphql-yoga/graphiql@4.5.1/'
   */
  graphiqlAssets?: string;
  /** Extra `img-src` for the GraphiQL favicon. @default 'https://raw.githubusercontent.com/graphql-hive/graphql-yoga/' */
  graphiqlFavicon?: string;
  /** Called with a handler error before the masked 500 is sent. @default () => {} */
  onError?: (error: unknown, request: Request, ...rest: unknown[]) => void;
}

const defaults: Required<SecurityHeadersOptions> = {
  hsts: 'max-age=63072000; includeSubDomains',
  apiCsp: "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  graphiqlAssets: 'https://unpkg.com/@graphql-yoga/graphiql@4.5.1/',
  graphiqlFavicon: 'https://raw.githubusercontent.com/graphql-hive/graphql-yoga/',
  onError: () => {},
};

async function sha256Base64(text: string) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Buffer.from(digest).toString('base64');
}

/** CSP for an HTML page: its inline scripts by hash, GraphiQL's assets by URL. */
export async function htmlCsp(html: string, o: Pick<Required<SecurityHeadersOptions>, 'graphiqlAssets' | 'graphiqlFavicon'>) {
  const hashes: string[] = [];
  for (const m of html.matchAll(/<script(?:\s[^>]*)?>([\s\S]*?)<\/script>/gi)) {
    const tag = m[0].slice(0, m[0].indexOf('>'));
    if (/\ssrc\s*=/.test(tag) || !m[1]) continue;
    hashes.push(`'sha256-${await sha256Base64(m[1])}'`);
  }
  const a = o.graphiqlAssets;
  return [
    "default-src 'none'",
    `script-src ${[...hashes, a].join(' ')}`,
    `style-src 'unsafe-inline' ${a}`,
    `font-src data: ${a}`,
    `img-src 'self' data: ${o.graphiqlFavicon}`,
    `connect-src 'self' ${a}`,
    'worker-src blob:',
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ');
}

export function withSecurityHeaders<A extends unknown[]>(
  handler: (request: Request, ...rest: A) => Response | Promise<Response>,
  options: SecurityHeadersOptions = {},
): (request: Request, ...rest: A) => Promise<Response> {
  const o: Required<SecurityHeadersOptions> = {
    hsts: options.hsts ?? defaults.hsts,
    apiCsp: options.apiCsp ?? defaults.apiCsp,
    graphiqlAssets: options.graphiqlAssets ?? defaults.graphiqlAssets,
    graphiqlFavicon: options.graphiqlFavicon ?? defaults.graphiqlFavicon,
    onError: options.onError ?? defaults.onError,
  };
  return async (request, ...rest) => {
    let response: Response;
    try {
      response = await handler(request, ...rest);
    } catch (error) {
      o.onError(error, request, ...rest);
      response = Response.json(
        { errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] },
        { status: 500 },
      );
    }
    let csp = o.apiCsp;
    if ((response.headers.get('content-type') ?? '').startsWith('text/html') && response.body) {
      const html = await response.text();
      csp = await htmlCsp(html, o);
      response = new Response(html, response);
    }
    return editHeaders(response, (headers) => {
      if (o.hsts) headers.set('strict-transport-security', o.hsts);
      headers.set('x-content-type-options', 'nosniff');
      headers.set('x-frame-options', 'DENY');
      headers.set('referrer-policy', 'no-referrer');
      headers.set('content-security-policy', csp);
      headers.delete('x-powered-by');
      headers.delete('server');
    });
  };
}
