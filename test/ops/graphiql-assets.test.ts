import { describe, expect, test } from 'bun:test';
import { htmlCsp } from '../../src/guard/security-headers.ts';
import { createGraphiQLAssets, renderLocalGraphiQL } from '../../src/ops/graphiql-assets.ts';

const assets = createGraphiQLAssets();
const get = (path: string, method = 'GET') => assets.response(new Request(`http://gw.test${path}`, { method }));

describe('GraphiQL assets served locally', () => {
  test('the bundle is installed', () => {
    expect(assets.available).toBe(true);
  });

  test('CSS, the UMD bundle and the three Monaco workers are served with their content types', async () => {
    const css = (await get('/graphiql-assets/graphiql.css'))!;
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    for (const f of ['yoga-graphiql.umd.js', 'editor.worker.js', 'json.worker.js', 'graphql.worker.js']) {
      const r = (await get(`/graphiql-assets/${f}`))!;
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(Number(r.headers.get('content-length'))).toBeGreaterThan(1000);
    }
  });

  test('unknown names and path tricks are 404, other paths are left to the router', async () => {
    for (const p of [
      '/graphiql-assets/',
      '/graphiql-assets/package.json',
      '/graphiql-assets/monacoeditorwork/json.worker.bundle.js',
      '/graphiql-assets/graphiql.css%00',
    ]) {
      expect((await get(p))?.status).toBe(404);
    }
    // dot segments are resolved by URL parsing before the prefix check: they leave /graphiql-assets/ entirely
    expect(await get('/graphiql-assets/../package.json')).toBeNull();
    expect(await get('/graphiql-assets/%2e%2e/package.json')).toBeNull();
    expect(await get('/graphql')).toBeNull();
    expect((await get('/graphiql-assets/graphiql.css', 'POST'))?.status).toBe(405);
    const head = (await get('/graphiql-assets/graphiql.css', 'HEAD'))!;
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  test('the page loads every asset from this server and nothing from a CDN', () => {
    const html = renderLocalGraphiQL({ title: 'Permit Gateway' });
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).toContain('src="/graphiql-assets/yoga-graphiql.umd.js"');
    expect(html).toContain('href="/graphiql-assets/graphiql.css"');
  });

  test('options cannot break out of the inline script or the title', () => {
    const html = renderLocalGraphiQL({ title: '</title><script>alert(1)</script>', defaultQuery: '</script><script>alert(2)</script>' });
    expect(html).not.toContain('<script>alert');
    // Yoga's two inline scripts and its bundle, plus the token note's script (src/ops/graphiql-token-help.ts)
    expect(html.match(/<\/script>/g)).toHaveLength(4);
  });

  test("with graphiqlAssets \"'self'\" the CSP allows the page's inline scripts by hash and nothing off-site", async () => {
    const csp = await htmlCsp(renderLocalGraphiQL({ title: 'Permit Gateway' }), { graphiqlAssets: "'self'", graphiqlFavicon: "'self'" });
    expect(csp).toMatch(/script-src 'sha256-[^']+' 'sha256-[^']+' 'sha256-[^']+' 'self'/);
    expect(csp).not.toContain('unpkg');
    expect(csp).not.toContain('unsafe-eval');
  });
});
