/** The landing page, the conformance declaration and the collection descriptions (OGC API – Features Part 1). */
import type { Collection } from './collections.ts';
import { link, MEDIA } from './ogc-responses.ts';

export const CONFORMANCE = [
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core',
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson',
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30',
] as const;

export const CRS84 = 'http://www.opengis.net/def/crs/OGC/1.3/CRS84';
const GREGORIAN = 'http://www.opengis.net/def/uom/ISO-8601/0/Gregorian';

/** `root` is the API's base, e.g. `https://permits.example.gov/ogc`. */
export function landingPage(root: string) {
  return {
    title: 'Permit Gateway – OGC API – Features',
    description: "Building permits and parcels of the caller's jurisdiction as GeoJSON features. Bearer token required.",
    links: [
      link(root, 'self', MEDIA.json, 'This document'),
      link(`${root}/api`, 'service-desc', MEDIA.openapi, 'The API definition (OpenAPI 3.0)'),
      link(`${root}/conformance`, 'conformance', MEDIA.json, 'Conformance classes implemented'),
      link(`${root}/collections`, 'data', MEDIA.json, 'The feature collections'),
    ],
  };
}

export function conformance(root: string) {
  return { conformsTo: [...CONFORMANCE], links: [link(`${root}/conformance`, 'self', MEDIA.json)] };
}

export interface Extent {
  bbox: [number, number, number, number] | null;
  firstUpdate: string | null;
}

export function collectionDocument(root: string, c: Collection, extent: Extent) {
  const base = `${root}/collections/${c.id}`;
  return {
    id: c.id,
    title: c.title,
    description: c.description,
    itemType: 'feature',
    crs: [CRS84],
    storageCrs: CRS84,
    extent: {
      spatial: { bbox: [extent.bbox ?? [-180, -90, 180, 90]], crs: CRS84 },
      ...(c.temporal ? { temporal: { interval: [[extent.firstUpdate, null]], trs: GREGORIAN } } : {}),
    },
    links: [
      link(base, 'self', MEDIA.json, c.title),
      link(`${base}/items`, 'items', MEDIA.geojson, `${c.title} as GeoJSON features`),
      link(`${base}/items?f=json`, 'items', MEDIA.json, `${c.title} as features (JSON)`),
    ],
  };
}

export function collectionsDocument(root: string, collections: readonly Collection[], extent: Extent) {
  return {
    links: [link(`${root}/collections`, 'self', MEDIA.json, 'The feature collections')],
    collections: collections.map((c) => collectionDocument(root, c, extent)),
  };
}
