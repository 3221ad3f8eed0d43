/**
 * GraphiQL without a CDN: Yoga's page loads `@graphql-yoga/graphiql` from unpkg.com, which offline hosts (and
 * strict CSPs) cannot reach. This module serves the same built bundle from node_modules under
 * `/graphiql-assets/` and renders the GraphiQL page pointing there (a `renderGraphiQL` for createYoga).
 * Only a fixed list of files is served (no path from the URL reaches the file system).
 * The page keeps Yoga's structure (plus the token note of graphiql-token-help.ts): inline scripts (allowed by hash in the CSP, see
 * src/guard/security-headers.ts), Monaco workers fetched and started from blob: URLs.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { GraphiQLOptions } from 'graphql-yoga';
import { TOKEN_HELP_HTML, TOKEN_HELP_SCRIPT } from './graphiql-token-help.ts';

export const GRAPHIQL_ASSETS_PATH = '/graphiql-assets/';

export interface GraphiQLAssetsOptions {
  /**
   * Directory holding `graphiql.css`, `yoga-graphiql.umd.js` and `monacoeditorwork/`.
   * @default the installed `@graphql-yoga/graphiql/dist`
   */
  distDir?: string;
  /** URL path prefix the assets are served under (ends with `/`). @default '/graphiql-assets/' */
  basePath?: string;
  /** `Cache-Control` of asset responses. @default 'public, max-age=3600' */
  cacheControl?: string;
}

const CSS = 'text/css; charset=utf-8';
const JS = 'text/javascript; charset=utf-8';
/** URL name → [file under dist, content type]. The graphql worker's file name has a double dot upstream. */
const FILES: Record<string, [string, string]> = {
  'graphiql.css': ['graphiql.css', CSS],
  'yoga-graphiql.umd.js': ['yoga-graphiql.umd.js', JS],
  'editor.worker.js': ['monacoeditorwork/editor.worker.bundle.js', JS],
  'json.worker.js': ['monacoeditorwork/json.worker.bundle.js', JS],
  'graphql.worker.js': ['monacoeditorwork/graphql.worker..bundle.js', JS],
};

/** The installed bundle's directory, or null when `@graphql-yoga/graphiql` is not installed. */
export function defaultGraphiQLDist(): string | null {
  try {
    const dir = join(dirname(Bun.resolveSync('@graphql-yoga/graphiql/package.json', import.meta.dir)), 'dist');
    return existsSync(join(dir, 'yoga-graphiql.umd.js')) ? dir : null;
  } catch {
    return null;
  }
}

/**
 * A handler for `GET|HEAD /graphiql-assets/<name>`: the file with its content type, 404 for any other name,
 * `null` when the path is not under `basePath` (the caller routes on).
 */
export function createGraphiQLAssets(options: GraphiQLAssetsOptions = {}) {
  const basePath = options.basePath ?? GRAPHIQL_ASSETS_PATH;
  const cacheControl = options.cacheControl ?? 'public, max-age=3600';
  const distDir = options.distDir ?? defaultGraphiQLDist();
  if (!basePath.startsWith('/') || !basePath.endsWith('/'))
    throw new TypeError(`graphiql assets basePath must start and end with "/": ${basePath}`);

  return {
    basePath,
    /** True when the bundle is installed (else GraphiQL should be turned off rather than render a broken page). */
    available: distDir !== null,
    async response(request: Request): Promise<Response | null> {
      const { pathname } = new URL(request.url);
      if (!pathname.startsWith(basePath)) return null;
      const entry = FILES[pathname.slice(basePath.length)];
      if (!entry || !distDir) return Response.json({ error: 'not_found' }, { status: 404 });
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        return Response.json({ error: 'method not allowed' }, { status: 405, headers: { Allow: 'GET, HEAD' } });
      }
      const file = Bun.file(join(distDir, entry[0]));
      if (!(await file.exists())) return Response.json({ error: 'not_found' }, { status: 404 });
      return new Response(request.method === 'HEAD' ? null : file, {
        headers: { 'content-type': entry[1], 'cache-control': cacheControl, 'content-length': String(file.size) },
      });
    },
    /** `renderGraphiQL` for createYoga: Yoga's page with every asset loaded from `basePath` on this server. */
    render(opts: GraphiQLOptions): string {
      return renderLocalGraphiQL(opts, basePath);
    },
  };
}
export type GraphiQLAssets = ReturnType<typeof createGraphiQLAssets>;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** JSON safe inside a <script> element. */
const scriptJson = (v: unknown) =>
  JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

/**
 * GraphiQL's tabs are framer-motion reorderable items that keep a stale `transform` from the layout animation of the
 * first render (graphiql.css hides it only while the tab has no focus). A mouse press focuses the tab's button, the
 * transform applies, the tab jumps away from the pointer and the click lands on the tab list: the tab never opens.
 * Keeping tabs in place makes a click switch tabs (dragging to reorder loses its visual feedback).
 */
const TAB_STYLE = '.graphiql-tab{transform:none!important}';

export function renderLocalGraphiQL(opts: GraphiQLOptions = {}, basePath = GRAPHIQL_ASSETS_PATH): string {
  // Yoga's page gives GraphiQL an initial query (`?query=`, else `query`, else its welcome text), and GraphiQL puts it
  // in the open tab's editor: preset tabs opened titled by their operation but showing the welcome text. The first
  // preset tab's text as that query makes the editor show it (a later visit finds that tab again in its storage).
  const page = opts.defaultTabs?.[0]?.query ? { ...opts, query: opts.defaultTabs[0].query } : opts;
  const title = escapeHtml(opts.title || 'GraphiQL');
  const a = basePath;
  const workers = { editorWorkerService: `${a}editor.worker.js`, json: `${a}json.worker.js`, graphql: `${a}graphql.worker.js` };
  return (
    `<!doctype html><html lang=en><head><meta charset=utf-8><title>${title}</title>` +
    `<link rel=icon href="data:,"><link rel=stylesheet href="${a}graphiql.css"><style>${TAB_STYLE}</style></head>` +
    `<body id=body class=no-focus-outline><noscript>You need to enable JavaScript to run this app.</noscript>` +
    TOKEN_HELP_HTML +
    `<div id=root>Loading ${title}...</div>` +
    `<script>${TOKEN_HELP_SCRIPT}</script>` +
    `<script>function prepareBlob(r){const o=new Blob([r],{type:"application/javascript"});return URL.createObjectURL(o)}` +
    `const workers={},workerUrls=${scriptJson(workers)};` +
    `function prepareWorkers(){return Promise.all(Object.entries(workerUrls).map(async([r,o])=>{const e=await fetch(o),t=await e.text();workers[r]=prepareBlob(t)}))}` +
    `self.MonacoEnvironment={globalAPI:!1,getWorkerUrl:function(r,o){return workers[o]}}</script>` +
    `<script src="${a}yoga-graphiql.umd.js"></script>` +
    `<script>prepareWorkers().finally(()=>{YogaGraphiQL.renderYogaGraphiQL(root,Object.assign(${scriptJson(page)},pgTokenHelp))})</script>` +
    `</body></html>`
  );
}
