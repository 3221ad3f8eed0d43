/**
 * Media types, link objects and error bodies of OGC API – Features. Errors use the standard's exception shape
 * (`{code, description}`, OpenAPI `exception` schema) as `application/json`.
 */
export const MEDIA = {
  json: 'application/json',
  geojson: 'application/geo+json',
  openapi: 'application/vnd.oai.openapi+json;version=3.0',
} as const;

export interface Link {
  href: string;
  rel: string;
  type?: string;
  title?: string;
}

export const link = (href: string, rel: string, type?: string, title?: string): Link => ({
  href,
  rel,
  ...(type ? { type } : {}),
  ...(title ? { title } : {}),
});

/** Answers are per principal (tenant, contractor): private to the client, revalidated with their ETag. */
const PRIVATE = { 'Cache-Control': 'private, no-cache', Vary: 'Authorization' } as const;

/** A JSON body; `body` already serialised is sent as is (GeoJSON built by PostgreSQL). */
export function ogcResponse(body: unknown, type: string, status = 200, headers: Record<string, string> = {}): Response {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return new Response(text, { status, headers: { 'Content-Type': type, ...PRIVATE, ...headers } });
}

/** The OGC exception codes this API answers with (OGC API – Common style). */
export type OgcErrorCode =
  | 'InvalidParameterValue'
  | 'NotFound'
  | 'Unauthorized'
  | 'Forbidden'
  | 'MethodNotAllowed'
  | 'TooManyRequests'
  | 'ServiceUnavailable'
  | 'InternalError';

/** Thrown by parameter parsing and handlers; the route turns it into the response. */
export class OgcError extends Error {
  constructor(
    readonly status: number,
    readonly code: OgcErrorCode,
    description: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(description);
  }
}

export const invalidParameter = (description: string) => new OgcError(400, 'InvalidParameterValue', description);
export const notFoundError = (description: string) => new OgcError(404, 'NotFound', description);

export function errorResponse(e: OgcError): Response {
  return Response.json({ code: e.code, description: e.message }, { status: e.status, headers: { ...PRIVATE, ...e.headers } });
}
