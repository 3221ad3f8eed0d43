import { afterAll, describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { withSecurityHeaders } from '../../src/guard/security-headers.ts';
import { withCors } from '../../src/guard/cors.ts';
import { withBodyLimit } from '../../src/guard/body-limit.ts';
import { useCsrfPrevention } from '../../src/guard/use-csrf-prevention.ts';
import { useArmorLimits } from '../../src/guard/use-armor-limits.ts';
import { useRateLimit } from '../../src/guard/use-rate-limit.ts';
import { startYoga } from './helpers.ts';

const ALLOWED = 'https://permits.example.city';
const EVIL = 'https://evil.example';

// The composition the app should use: headers ∘ cors ∘ bodyLimit ∘ (yoga with csrf, rate limit, armor).
const app = startYoga(
  [
    useCsrfPrevention({ origins: [ALLOWED] }),
    useRateLimit({ policies: { anonymous: { ratePerSec: 0.01, burst: 1000 } } }),
    useArmorLimits(),
  ],
  { cors: false },
  (yogaHandler) => {
    const inner = (req: Request) => {
      if (new URL(req.url).pathname === '/crash') throw new Error('database password is hunter2');
      return yogaHandler(req);
    };
    return withSecurityHeaders(withCors(withBodyLimit(inner, { maxBytes: 1024 }), { origins: [ALLOWED] }));
  },
);
afterAll(() => app.stop());
const base = app.url.replace(/\/graphql$/, '');

const post = (body: string, headers: Record<string, string> = {}, path = '/graphql') =>
  fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
const ok = JSON.stringify({ query: '{ hello }' });

function expectSecurityHeaders(res: Response) {
  expect(res.headers.get('strict-transport-security')).toBe('max-age=63072000; includeSubDomains');
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('x-frame-options')).toBe('DENY');
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  expect(res.headers.has('x-powered-by')).toBe(false);
}

describe('security headers on every response', () => {
  test('200', async () => {
    const res = await post(ok);
    expect(res.status).toBe(200);
    expectSecurityHeaders(res);
    expect(res.headers.get('content-security-policy')).toStartWith("default-src 'none'");
  });
  test('400 (query rejected), 404, 413, 403 (CSRF)', async () => {
    const rejected = await post(JSON.stringify({ query: '{ hello hello hello }' }));
    expect(rejected.status).toBe(400);
    expectSecurityHeaders(rejected);
    const notFound = await fetch(`${base}/nope`, { headers: { accept: 'application/json' } });
    expect(notFound.status).toBe(404);
    expectSecurityHeaders(notFound);
    const tooLarge = await post(JSON.stringify({ query: '{ hello }', pad: 'x'.repeat(2000) }));
    expect(tooLarge.status).toBe(413);
    expectSecurityHeaders(tooLarge);
    const csrf = await post(ok, { origin: EVIL });
    expect(csrf.status).toBe(403);
    expectSecurityHeaders(csrf);
  });
  test('500 from a crashing handler: masked, with headers', async () => {
    const res = await post(ok, {}, '/crash');
    expect(res.status).toBe(500);
    expectSecurityHeaders(res);
    const text = await res.text();
    expect(text).not.toContain('hunter2');
    expect(text).toContain('INTERNAL_SERVER_ERROR');
  });
  test('resolver errors are masked by Yoga and still carry the headers', async () => {
    const res = await post(JSON.stringify({ query: '{ boom }' }));
    expectSecurityHeaders(res);
    expect(await res.text()).not.toContain('secret internal detail');
  });
  test("GraphiQL page: CSP allows exactly its inline scripts and Yoga's unpkg assets", async () => {
    const res = await fetch(app.url, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expectSecurityHeaders(res);
    const csp = res.headers.get('content-security-policy')!;
    const html = await res.text();
    expect(html).toContain('renderYogaGraphiQL');
    const directive = (name: string) =>
      csp
        .split(';')
        .map((d) => d.trim())
        .find((d) => d.startsWith(`${name} `))
        ?.split(/\s+/)
        .slice(1) ?? [];
    // every inline script's hash is allowed, and nothing like 'unsafe-inline' / 'unsafe-eval' for scripts
    const inline = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    expect(inline.length).toBe(2);
    for (const s of inline) {
      expect(directive('script-src')).toContain(`'sha256-${createHash('sha256').update(s).digest('base64')}'`);
    }
    expect(directive('script-src').some((s) => s.includes('unsafe'))).toBe(false);
    // every external URL of the page is covered by the directive that loads it
    const urls = [...html.matchAll(/https:\/\/[^\s"'>]+/g)].map((m) => m[0]);
    expect(urls.length).toBeGreaterThan(4);
    const covered = (url: string, list: string[]) => list.some((src) => src.startsWith('https://') && url.startsWith(src));
    for (const url of urls) {
      if (url.endsWith('.css')) expect(covered(url, directive('style-src'))).toBe(true);
      else if (url.endsWith('.ico')) expect(covered(url, directive('img-src'))).toBe(true);
      else if (url.includes('worker')) expect(covered(url, directive('connect-src'))).toBe(true);
      else expect(covered(url, directive('script-src'))).toBe(true);
    }
    expect(directive('worker-src')).toEqual(['blob:']);
  });
});

test('a response with immutable headers (obtained from fetch) still gets the security and CORS headers', async () => {
  const upstream = Bun.serve({
    port: 0,
    fetch: () => new Response('upstream', { headers: { 'x-powered-by': 'upstream', 'access-control-allow-origin': '*' } }),
  });
  try {
    const handler = withSecurityHeaders(withCors(() => fetch(`http://127.0.0.1:${upstream.port}/`), { origins: [ALLOWED] }));
    const res = await handler(new Request('http://x/', { headers: { origin: EVIL } }));
    expect(await res.text()).toBe('upstream');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(res.headers.get('access-control-allow-origin')).toBeNull(); // an unlisted origin gets no CORS header
  } finally {
    upstream.stop(true);
  }
});

describe('CORS allowlist', () => {
  test('allowed origin: ACAO is that origin (never *), credentials, Vary', async () => {
    const res = await post(ok, { origin: ALLOWED });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    expect(res.headers.get('vary')).toContain('Origin');
  });
  test('preflight from an allowed origin → 204 with methods and headers', async () => {
    const res = await fetch(app.url, {
      method: 'OPTIONS',
      headers: { origin: ALLOWED, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    expect(res.headers.get('access-control-allow-headers')).toContain('authorization');
    expectSecurityHeaders(res);
  });
  test('disallowed origin: no ACAO on preflight or on the response', async () => {
    const pre = await fetch(app.url, { method: 'OPTIONS', headers: { origin: EVIL, 'access-control-request-method': 'POST' } });
    expect(pre.status).toBe(403);
    expect(pre.headers.has('access-control-allow-origin')).toBe(false);
    const get = await fetch(`${app.url}?query=%7Bhello%7D`, { headers: { origin: EVIL, accept: 'application/json' } });
    expect(get.headers.has('access-control-allow-origin')).toBe(false);
    expect(get.headers.has('access-control-allow-credentials')).toBe(false);
  });
  test("'*' with credentials is refused at start-up", () => {
    expect(() => withCors(() => new Response(), { origins: ['*'], credentials: true })).toThrow();
  });
});

describe('CSRF prevention', () => {
  test('simple-request POST (text/plain, form, none) without a preflight header → 400', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      app.calls.count = 0;
      const res = await post(ok, { 'content-type': type });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('BAD_REQUEST');
      expect(app.calls.count).toBe(0);
    }
    const none = await fetch(app.url, { method: 'POST', body: new Blob([ok]) });
    expect(none.status).toBe(400);
  });
  test('the same with x-graphql-client-name passes the CSRF check', async () => {
    const res = await post(`query=${encodeURIComponent('{ hello }')}`, {
      'content-type': 'application/x-www-form-urlencoded',
      'x-graphql-client-name': 'permit-app',
    });
    expect(res.status).toBe(200);
  });
  test('cross-origin POST from an origin not on the list → 403, even as JSON; listed origin and same origin pass', async () => {
    app.calls.count = 0;
    const evil = await post(ok, { origin: EVIL });
    expect(evil.status).toBe(403);
    expect(app.calls.count).toBe(0);
    expect((await post(ok, { origin: ALLOWED })).status).toBe(200);
    expect((await post(ok, { origin: base })).status).toBe(200);
    expect((await post(ok)).status).toBe(200); // no Origin: a server-side client
  });
});
