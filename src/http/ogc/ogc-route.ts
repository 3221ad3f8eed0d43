/**
 * OGC API – Features Part 1 under /ogc, on the same footing as /graphql: the request's scope, the bearer token
 * (authenticateRequest), the central policy (each collection shares a Query field's rule), the per-client rate
 * limit (priced by the features a request can return), the circuit breaker and one audit entry per request.
 */
import type { GraphQLSchema } from 'graphql';
import { fieldRule, ruleSatisfied } from '../../auth/policy.ts';
import type { Executor } from '../../db/client.ts';
import { jurisdictionExtent } from '../../domain/parcel-features.ts';
import type { Principal } from '../../domain/principal.ts';
import type { Logger } from '../../logger.ts';
import { logIds, type RequestScope } from '../../request-scope.ts';
import { isDatabaseUnavailable } from '../../resilience/breaker.ts';
import { collectionById, COLLECTIONS, type Collection } from './collections.ts';
import { conditionalAnswer, itemsETag } from './etag.ts';
import { createFeatureTextCache } from './feature-texts.ts';
import { createPageCache } from './page-cache.ts';
import { checkCrs, checkKnownParams, formatOf, parseItemsParams } from './items-params.ts';
import { ogcEntry, type OgcRequestFacts } from './ogc-audit-entry.ts';
import { CRS84, collectionDocument, collectionsDocument, conformance, landingPage, type Extent } from './ogc-documents.ts';
import { errorResponse, link, MEDIA, notFoundError, OgcError, ogcResponse, type Link } from './ogc-responses.ts';
import { openApiDocument } from './openapi.ts';
import { canonicalQuery, pageUrl } from './page-links.ts';

export interface OgcRouteDeps {
  db: Executor;
  /** The served GraphQL schema: its directives carry the access rules the collections share. */
  schema: GraphQLSchema;
  /** Verifies the bearer token (the app's `authenticate`, the same as for /graphql). */
  authenticate: (request: Request, scope: RequestScope) => Promise<{ principal: Principal | null } | { reject: Response }>;
  /** Takes `tokens` from the client's rate-limit bucket; null when rate limits are off. */
  charge: ((scope: RequestScope, tokens: number) => Promise<{ allowed: boolean; retryAfterSeconds: number }>) | null;
  /** Runs database work through the circuit breaker. */
  guard: <T>(fn: () => Promise<T>) => Promise<T>;
  /**
   * The jurisdiction's change counter (ETag source), from memory when it can be (src/db/change-counters.ts): not guarded
   * here, so during an outage a client whose copy is current still gets its 304 (or a page kept in memory).
   */
  changeCounter: (jurisdiction: string) => Promise<number>;
  /** Records the request's audit entry; null when auditing is off. */
  record: ((entry: Record<string, unknown>) => void) | null;
  /** Bytes of feature pages kept in memory (page-cache.ts); 0 turns the cache off. @default 64 MiB */
  pageCacheBytes?: number;
  /** Bytes of single features' JSON kept in memory (feature-texts.ts); 0 turns the cache off. @default 64 MiB */
  featureCacheBytes?: number;
  /** The external base URL (scheme, host, port) links are built on. */
  baseUrl: (request: Request) => string;
  log: Logger;
}

/** Every geometry is CRS84 (longitude, latitude); said in the header Part 2 clients read. */
const CONTENT_CRS = `<${CRS84}>`;

/** Features worth one more rate-limit token: a full 10,000-feature page costs 101 tokens (a burst, at most). */
const FEATURES_PER_TOKEN = 100;

export function createOgcRoute(deps: OgcRouteDeps) {
  const query = deps.schema.getQueryType()!;
  const pages = createPageCache(deps.pageCacheBytes === undefined ? {} : { maxBytes: deps.pageCacheBytes });
  const featureTexts = createFeatureTextCache(deps.featureCacheBytes === undefined ? {} : { maxBytes: deps.featureCacheBytes });

  function mayRead(p: Principal, c: Collection): boolean {
    const field = query.getFields()[c.ruleOf];
    return Boolean(field) && ruleSatisfied(fieldRule(query, field!), p.scopes) === 'ok';
  }

  async function charge(scope: RequestScope, tokens: number) {
    if (!deps.charge || tokens <= 0) return;
    const r = await deps.charge(scope, tokens);
    if (!r.allowed) {
      throw new OgcError(429, 'TooManyRequests', `rate limit exceeded; retry after ${r.retryAfterSeconds} s`, {
        'Retry-After': String(r.retryAfterSeconds),
      });
    }
  }

  // a jurisdiction's extent walks every parcel outline: computed again only after the jurisdiction changed
  const extents = new Map<string, { counter: number; extent: Extent }>();
  async function extentOf(p: Principal): Promise<Extent> {
    const counter = await deps.changeCounter(p.jurisdiction);
    const kept = extents.get(p.jurisdiction);
    if (kept?.counter === counter) return kept.extent;
    const extent = await deps.guard(() => jurisdictionExtent(deps.db, p.jurisdiction));
    extents.set(p.jurisdiction, { counter, extent });
    return extent;
  }

  function readable(p: Principal, id: string, facts: OgcRequestFacts): Collection {
    const c = collectionById(id);
    if (!c) throw notFoundError(`no collection "${id.slice(0, 40)}"`);
    facts.collection = c.id;
    if (!mayRead(p, c)) throw new OgcError(403, 'Forbidden', `the token's scopes do not allow reading ${c.id}`);
    return c;
  }

  async function items(request: Request, url: URL, root: string, p: Principal, scope: RequestScope, c: Collection, facts: OgcRequestFacts) {
    const params = parseItemsParams(url.searchParams, c.filters);
    const counter = await deps.changeCounter(p.jurisdiction);
    const selectors = [root, c.id, c.visibilityKey(p), canonicalQuery(url.searchParams)];
    const etag = itemsETag(counter, selectors);
    const notModified = conditionalAnswer(request, etag);
    if (notModified) return notModified;
    // the first token was taken on arrival; the rest grows with the page size
    await charge(scope, Math.ceil(params.limit / FEATURES_PER_TOKEN));
    const walk = [root, c.id, c.visibilityKey(p), canonicalQuery(url.searchParams, ['cursor', 'limit', 'f'])];
    const texts = featureTexts.scope(counter, c.id, p.jurisdiction);
    const page = await pages.get(counter, selectors, walk, (countMatched) =>
      deps.guard(() => c.page(deps.db, p, params, countMatched, texts)),
    );
    facts.returned = page.returned;
    const type = params.format === 'json' ? MEDIA.json : MEDIA.geojson;
    const self = `${root}/collections/${c.id}/items`;
    const links: Link[] = [
      link(
        pageUrl(self, params, params.cursor, 'geojson'),
        params.format === 'geojson' ? 'self' : 'alternate',
        MEDIA.geojson,
        'This page as GeoJSON',
      ),
      link(pageUrl(self, params, params.cursor, 'json'), params.format === 'json' ? 'self' : 'alternate', MEDIA.json, 'This page as JSON'),
      link(`${root}/collections/${c.id}`, 'collection', MEDIA.json, c.title),
    ];
    if (page.hasNext && page.lastKey !== null)
      links.push(link(pageUrl(self, params, { after: page.lastKey }, params.format), 'next', type, 'Next page'));
    if (page.hasPrev && page.firstKey !== null)
      links.push(link(pageUrl(self, params, { before: page.firstKey }, params.format), 'prev', type, 'Previous page'));
    // the features arrive as JSON text from PostgreSQL and are spliced in, never parsed here
    const head = JSON.stringify({
      type: 'FeatureCollection',
      timeStamp: new Date().toISOString(),
      ...(page.matched === null ? {} : { numberMatched: page.matched }),
      numberReturned: page.returned,
      links,
    });
    return ogcResponse(`${head.slice(0, -1)},"features":${page.featuresJson}}`, type, 200, { ETag: etag, 'Content-Crs': CONTENT_CRS });
  }

  async function feature(request: Request, url: URL, root: string, p: Principal, c: Collection, featureId: string) {
    const format = formatOf(url.searchParams.get('f'), true);
    checkKnownParams(url.searchParams, new Set(['f', 'crs']));
    checkCrs('crs', url.searchParams.get('crs'));
    const counter = await deps.changeCounter(p.jurisdiction);
    const etag = itemsETag(counter, [root, c.id, c.visibilityKey(p), featureId, format]);
    const notModified = conditionalAnswer(request, etag);
    if (notModified) return notModified;
    const text = await deps.guard(() => c.one(deps.db, p, featureId));
    if (text === null) throw notFoundError(`no feature "${featureId.slice(0, 64)}" in ${c.id}`);
    const self = `${root}/collections/${c.id}/items/${encodeURIComponent(featureId)}`;
    const links = [
      link(format === 'json' ? `${self}?f=json` : self, 'self', format === 'json' ? MEDIA.json : MEDIA.geojson, 'This feature'),
      link(format === 'json' ? self : `${self}?f=json`, 'alternate', format === 'json' ? MEDIA.geojson : MEDIA.json, 'This feature'),
      link(`${root}/collections/${c.id}`, 'collection', MEDIA.json, c.title),
    ];
    // PostgreSQL's object starts with "{": the links go in front of its members
    return ogcResponse(`{"links":${JSON.stringify(links)},${text.slice(1)}`, format === 'json' ? MEDIA.json : MEDIA.geojson, 200, {
      ETag: etag,
      'Content-Crs': CONTENT_CRS,
    });
  }

  async function dispatch(request: Request, url: URL, scope: RequestScope, p: Principal, facts: OgcRequestFacts): Promise<Response> {
    const root = `${deps.baseUrl(request)}/ogc`;
    const parts = url.pathname
      .replace(/^\/ogc\/?/, '')
      .replace(/\/$/, '')
      .split('/')
      .filter((s, i) => s !== '' || i > 0);
    const docParams = () => {
      checkKnownParams(url.searchParams, new Set(['f']));
      formatOf(url.searchParams.get('f'), false);
    };
    const visible = () => COLLECTIONS.filter((c) => mayRead(p, c));
    const [first, id, sub, featureId, ...rest] = parts.map(safeDecode);
    if (parts.length === 0) {
      facts.resource = 'landing';
      docParams();
      return ogcResponse(landingPage(root), MEDIA.json);
    }
    if (first === 'conformance' && parts.length === 1) {
      facts.resource = 'conformance';
      docParams();
      return ogcResponse(conformance(root), MEDIA.json);
    }
    if (first === 'api' && parts.length === 1) {
      facts.resource = 'api';
      checkKnownParams(url.searchParams, new Set(['f']));
      const f = url.searchParams.get('f');
      if (f !== null && !['json', 'application/json', MEDIA.openapi].includes(f))
        throw new OgcError(400, 'InvalidParameterValue', 'f: the API definition is served as OpenAPI 3.0 JSON only');
      return ogcResponse(openApiDocument(root, COLLECTIONS), MEDIA.openapi);
    }
    if (first === 'collections' && parts.length === 1) {
      facts.resource = 'collections';
      docParams();
      const shown = visible();
      return ogcResponse(
        collectionsDocument(root, shown, shown.length ? await extentOf(p) : { bbox: null, firstUpdate: null }),
        MEDIA.json,
      );
    }
    if (first === 'collections' && id !== undefined && rest.length === 0) {
      if (sub === undefined) {
        facts.resource = 'collection';
        const c = readable(p, id, facts);
        docParams();
        return ogcResponse(collectionDocument(root, c, await extentOf(p)), MEDIA.json);
      }
      if (sub === 'items' && featureId === undefined) {
        facts.resource = 'items';
        return items(request, url, root, p, scope, readable(p, id, facts), facts);
      }
      if (sub === 'items' && featureId !== undefined) {
        facts.resource = 'feature';
        facts.featureId = featureId;
        return feature(request, url, root, p, readable(p, id, facts), featureId);
      }
    }
    throw notFoundError(`no resource at ${url.pathname.slice(0, 100)}`);
  }

  return async function ogcRoute(request: Request, scope: RequestScope, url: URL): Promise<Response> {
    const facts: OgcRequestFacts = { resource: 'unknown', url, status: 500 };
    let response: Response;
    try {
      const auth = await deps.authenticate(request, scope);
      if ('reject' in auth) {
        response = asOgcRefusal(auth.reject);
      } else if (!auth.principal) {
        response = errorResponse(new OgcError(401, 'Unauthorized', 'a bearer token is required', { 'WWW-Authenticate': 'Bearer' }));
      } else {
        scope.principal = auth.principal;
        await charge(scope, 1);
        // answered here, not by the router's generic 405: an OGC exception with HEAD in Allow, charged and audited
        // like any other request (a caller without a token learns nothing more than its 401)
        if (request.method !== 'GET' && request.method !== 'HEAD') {
          throw new OgcError(405, 'MethodNotAllowed', `${request.method.slice(0, 16)}: only GET and HEAD are answered`, {
            Allow: 'GET, HEAD',
          });
        }
        response = await dispatch(request, url, scope, auth.principal, facts);
      }
    } catch (err) {
      response = errorResponse(asOgcError(err, deps.log, scope));
      if (err instanceof OgcError) facts.code = err.code;
    }
    facts.status = response.status;
    deps.record?.(ogcEntry(scope, facts));
    return response;
  };
}

/** authenticateRequest's 401 (GraphQL-shaped) as an OGC exception, with its WWW-Authenticate header. */
function asOgcRefusal(reject: Response): Response {
  const challenge = reject.headers.get('WWW-Authenticate');
  return errorResponse(
    new OgcError(reject.status, 'Unauthorized', 'invalid access token', challenge ? { 'WWW-Authenticate': challenge } : {}),
  );
}

function asOgcError(err: unknown, log: Logger, scope: RequestScope): OgcError {
  if (err instanceof OgcError) return err;
  if (isDatabaseUnavailable(err))
    return new OgcError(503, 'ServiceUnavailable', 'the permit database is unavailable; try again shortly', { 'Retry-After': '5' });
  log.error({ err, ...logIds(scope) }, 'internal error (ogc)');
  return new OgcError(500, 'InternalError', 'internal error');
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw notFoundError('malformed path');
  }
}
