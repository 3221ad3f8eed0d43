/**
 * The OpenAPI 3.0 definition served at /ogc/api (conformance class OAS30): every path with its parameters,
 * the bearer-token requirement and the responses, so generic clients (GDAL, QGIS) learn the limits from it.
 */
import type { Collection } from './collections.ts';
import { LIMIT } from './items-params.ts';
import { MEDIA } from './ogc-responses.ts';

const ref = (name: string) => ({ $ref: `#/components/parameters/${name}` });
const json = (schema: object) => ({ [MEDIA.json]: { schema } });
const errors = {
  '400': { $ref: '#/components/responses/InvalidParameter' },
  '401': { $ref: '#/components/responses/Unauthorized' },
  '403': { $ref: '#/components/responses/Forbidden' },
  '429': { $ref: '#/components/responses/TooManyRequests' },
  '503': { $ref: '#/components/responses/ServiceUnavailable' },
};
const docOp = (summary: string, operationId: string, extra: object = {}) => ({
  get: {
    summary,
    operationId,
    parameters: [ref('f')],
    responses: { '200': { description: summary, content: json({ type: 'object' }) }, ...errors },
    ...extra,
  },
});

function collectionPaths(c: Collection) {
  const filters = c.filters.map((f) => ({
    name: f.name,
    in: 'query',
    required: false,
    description: `Only features whose ${f.name} is this value (or one of a comma-separated list).`,
    style: 'form',
    explode: false,
    schema: { type: 'array', items: { type: 'string', enum: [...f.values] } },
  }));
  const features = {
    [MEDIA.geojson]: { schema: { $ref: '#/components/schemas/FeatureCollection' } },
    [MEDIA.json]: { schema: { $ref: '#/components/schemas/FeatureCollection' } },
  };
  const feature = {
    [MEDIA.geojson]: { schema: { $ref: '#/components/schemas/Feature' } },
    [MEDIA.json]: { schema: { $ref: '#/components/schemas/Feature' } },
  };
  return {
    [`/collections/${c.id}`]: docOp(`Describes the ${c.id} collection`, `describe_${c.id}`),
    [`/collections/${c.id}/items`]: {
      get: {
        summary: `${c.title} as GeoJSON features`,
        operationId: `get_${c.id}_items`,
        parameters: [ref('limit'), ref('bbox'), ref('bbox-crs'), ref('datetime'), ref('cursor'), ref('crs'), ref('f'), ...filters],
        responses: {
          '200': {
            description: 'A page of features; follow the `next` link for the rest.',
            headers: { ETag: { schema: { type: 'string' } } },
            content: features,
          },
          '304': { description: 'Not modified since the ETag sent in If-None-Match.' },
          ...errors,
        },
      },
    },
    [`/collections/${c.id}/items/{featureId}`]: {
      get: {
        summary: `One feature of ${c.id}`,
        operationId: `get_${c.id}_feature`,
        parameters: [{ name: 'featureId', in: 'path', required: true, schema: { type: 'string' } }, ref('crs'), ref('f')],
        responses: {
          '200': { description: 'The feature', content: feature },
          '404': { $ref: '#/components/responses/NotFound' },
          ...errors,
        },
      },
    },
  };
}

export function openApiDocument(root: string, collections: readonly Collection[]) {
  const exception = { $ref: '#/components/schemas/exception' };
  const errorResponse = (description: string) => ({ description, content: json(exception) });
  return {
    openapi: '3.0.3',
    info: {
      title: 'Permit Gateway – OGC API – Features',
      version: '1.0.0',
      description:
        "Building permits and parcels of the caller's jurisdiction. Every request needs a bearer token (OAuth 2.0 client credentials).",
    },
    servers: [{ url: root }],
    security: [{ bearerAuth: [] }],
    paths: {
      '/': docOp('Landing page', 'getLandingPage'),
      '/conformance': docOp('Conformance classes', 'getConformanceDeclaration'),
      '/api': {
        get: {
          summary: 'This document',
          operationId: 'getApi',
          responses: { '200': { description: 'OpenAPI 3.0', content: { [MEDIA.openapi]: { schema: { type: 'object' } } } }, ...errors },
        },
      },
      '/collections': docOp('The feature collections', 'getCollections'),
      ...Object.assign({}, ...collections.map(collectionPaths)),
    },
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      parameters: {
        limit: {
          name: 'limit',
          in: 'query',
          required: false,
          description: `Features per page. Larger values are served as ${LIMIT.max}.`,
          style: 'form',
          explode: false,
          schema: { type: 'integer', minimum: 1, maximum: LIMIT.max, default: LIMIT.default },
        },
        bbox: {
          name: 'bbox',
          in: 'query',
          required: false,
          description: 'minLon,minLat,maxLon,maxLat in CRS84 (six numbers with heights are accepted; heights are ignored).',
          style: 'form',
          explode: false,
          schema: { type: 'array', minItems: 4, maxItems: 6, items: { type: 'number' } },
        },
        'bbox-crs': {
          name: 'bbox-crs',
          in: 'query',
          required: false,
          description: 'The CRS of bbox: CRS84 only (the default).',
          style: 'form',
          explode: false,
          schema: { type: 'string', format: 'uri', enum: ['http://www.opengis.net/def/crs/OGC/1.3/CRS84'] },
        },
        crs: {
          name: 'crs',
          in: 'query',
          required: false,
          description: 'The CRS of the geometries: CRS84 only (the default).',
          style: 'form',
          explode: false,
          schema: { type: 'string', format: 'uri', enum: ['http://www.opengis.net/def/crs/OGC/1.3/CRS84'] },
        },
        datetime: {
          name: 'datetime',
          in: 'query',
          required: false,
          description:
            'An RFC 3339 instant or interval (`start/end`, open ends `..`), on the last update of a permit. Parcels carry no time and ignore it.',
          style: 'form',
          explode: false,
          schema: { type: 'string' },
        },
        cursor: {
          name: 'cursor',
          in: 'query',
          required: false,
          description: 'Where a page starts; issued in next and prev links only.',
          style: 'form',
          explode: false,
          schema: { type: 'string' },
        },
        f: {
          name: 'f',
          in: 'query',
          required: false,
          description: 'Representation: json, or geojson for features (the default).',
          style: 'form',
          explode: false,
          schema: { type: 'string', enum: ['json', 'geojson'] },
        },
      },
      schemas: {
        exception: { type: 'object', required: ['code'], properties: { code: { type: 'string' }, description: { type: 'string' } } },
        link: {
          type: 'object',
          required: ['href', 'rel'],
          properties: { href: { type: 'string' }, rel: { type: 'string' }, type: { type: 'string' }, title: { type: 'string' } },
        },
        Feature: {
          type: 'object',
          required: ['type', 'geometry', 'properties'],
          properties: {
            type: { type: 'string', enum: ['Feature'] },
            id: { type: 'string' },
            geometry: { type: 'object' },
            properties: { type: 'object', nullable: true },
            links: { type: 'array', items: { $ref: '#/components/schemas/link' } },
          },
        },
        FeatureCollection: {
          type: 'object',
          required: ['type', 'features'],
          properties: {
            type: { type: 'string', enum: ['FeatureCollection'] },
            features: { type: 'array', items: { $ref: '#/components/schemas/Feature' } },
            links: { type: 'array', items: { $ref: '#/components/schemas/link' } },
            timeStamp: { type: 'string', format: 'date-time' },
            numberMatched: { type: 'integer', minimum: 0 },
            numberReturned: { type: 'integer', minimum: 0 },
          },
        },
      },
      responses: {
        InvalidParameter: errorResponse('A query parameter is unknown or has an invalid value.'),
        Unauthorized: errorResponse('No bearer token, or an invalid one.'),
        Forbidden: errorResponse('The token lacks the scope this collection needs.'),
        NotFound: errorResponse('No such collection or feature (or not visible to the caller).'),
        TooManyRequests: errorResponse('Rate limit; retry after the Retry-After header.'),
        ServiceUnavailable: errorResponse('The permit database is unavailable.'),
      },
    },
  };
}
