/**
 * Parcel outlines as the importer accepts them: GeoJSON Polygon/MultiPolygon or their WKT, in WGS 84 longitude and
 * latitude. Checked so that what is stored is valid RFC 7946 (closed rings of ≥ 4 positions, finite coordinates in
 * range), reduced to 2D, with the centroid the rest of the app uses as the parcel's point (bbox search, GeoJSON).
 */
import type { MultiPolygon, Polygon } from '../db/schema/parcels.ts';

export type Polygonal = Polygon | MultiPolygon;
export type GeometryCheck = { ok: true; geometry: Polygonal; centroid: [number, number] } | { ok: false; reason: string };

const REPROJECT = 'reproject it to WGS 84 first (ogr2ogr -t_srs EPSG:4326)';

const fail = (reason: string): GeometryCheck => ({ ok: false, reason });

/** Checks one ring; returns it in 2D, or why it is refused. */
function checkRing(ring: unknown, where: string): number[][] | string {
  if (!Array.isArray(ring)) return `${where} is not an array of positions`;
  if (ring.length < 4) return `${where} has ${ring.length} positions; a ring needs at least 4`;
  const out: number[][] = [];
  for (let k = 0; k < ring.length; k++) {
    const p = ring[k] as unknown;
    if (!Array.isArray(p) || p.length < 2) return `${where}, position ${k} is not [longitude, latitude]`;
    const [lon, lat] = p as unknown[];
    if (typeof lon !== 'number' || typeof lat !== 'number' || !Number.isFinite(lon) || !Number.isFinite(lat)) {
      return `${where}, position ${k} has a coordinate that is not a finite number`;
    }
    if (lon < -180 || lon > 180 || lat < -90 || lat > 90) {
      return `${where}, position ${k} (${lon}, ${lat}) is outside WGS 84 longitude/latitude: ${REPROJECT}`;
    }
    out.push([lon, lat]);
  }
  const a = out[0]!;
  const b = out[out.length - 1]!;
  if (a[0] !== b[0] || a[1] !== b[1]) return `${where} is not closed (its first and last positions differ)`;
  return out;
}

function checkPolygon(rings: unknown, where: string): number[][][] | string {
  if (!Array.isArray(rings) || rings.length === 0) return `${where} has no rings`;
  const out: number[][][] = [];
  for (let r = 0; r < rings.length; r++) {
    const ring = checkRing(rings[r], `${where}ring ${r}`);
    if (typeof ring === 'string') return ring;
    out.push(ring);
  }
  return out;
}

/**
 * Signed area and centroid sums of a ring (shoelace), relative to `origin`: products of raw longitudes (~1e2) for a
 * parcel-sized ring (~1e-4) cancel catastrophically, which moved centroids by metres.
 */
function ringMoments(ring: number[][], origin: number[]): { a: number; cx: number; cy: number } {
  let a = 0;
  let cx = 0;
  let cy = 0;
  const [ox, oy] = origin as [number, number];
  for (let i = 0; i < ring.length - 1; i++) {
    const x0 = ring[i]![0]! - ox;
    const y0 = ring[i]![1]! - oy;
    const x1 = ring[i + 1]![0]! - ox;
    const y1 = ring[i + 1]![1]! - oy;
    const f = x0 * y1 - x1 * y0;
    a += f;
    cx += (x0 + x1) * f;
    cy += (y0 + y1) * f;
  }
  return { a: a / 2, cx, cy };
}

/** Area-weighted centroid (holes subtracted); the vertices' mean for a degenerate (zero-area) outline. */
export function centroidOf(polygons: number[][][][]): [number, number] {
  let area = 0;
  let x = 0;
  let y = 0;
  const origin = polygons[0]![0]![0]!;
  for (const rings of polygons) {
    rings.forEach((ring, r) => {
      const m = ringMoments(ring, origin);
      // orientation is not guaranteed in the wild: the outer ring adds, holes subtract, whatever their winding
      const sign = (r === 0 ? 1 : -1) * Math.sign(m.a);
      area += sign * m.a;
      x += (sign * m.cx) / 6;
      y += (sign * m.cy) / 6;
    });
  }
  if (Math.abs(area) > 1e-18) return [origin[0]! + x / area, origin[1]! + y / area];
  const outer = polygons.flatMap((rings) => rings[0]!.slice(0, -1));
  return [outer.reduce((s, p) => s + p[0]!, 0) / outer.length, outer.reduce((s, p) => s + p[1]!, 0) / outer.length];
}

/** A GeoJSON geometry as parsed from a feature, checked. */
export function checkPolygonal(g: unknown): GeometryCheck {
  if (g === null || g === undefined) return fail('the feature has no geometry');
  if (typeof g !== 'object') return fail('the geometry is not a GeoJSON object');
  const { type, coordinates } = g as { type?: unknown; coordinates?: unknown };
  if (type === 'Polygon') {
    const rings = checkPolygon(coordinates, '');
    if (typeof rings === 'string') return fail(rings);
    return { ok: true, geometry: { type, coordinates: rings }, centroid: centroidOf([rings]) };
  }
  if (type === 'MultiPolygon') {
    if (!Array.isArray(coordinates) || coordinates.length === 0) return fail('the MultiPolygon has no polygons');
    const polygons: number[][][][] = [];
    for (let p = 0; p < coordinates.length; p++) {
      const rings = checkPolygon(coordinates[p], `polygon ${p}, `);
      if (typeof rings === 'string') return fail(rings);
      polygons.push(rings);
    }
    return { ok: true, geometry: { type, coordinates: polygons }, centroid: centroidOf(polygons) };
  }
  return fail(`geometry type ${typeof type === 'string' ? type : 'unknown'} is not Polygon or MultiPolygon`);
}

/** Parses a parenthesised coordinate list of WKT into nested arrays; positions become number arrays. */
function parseWktList(text: string, at: { i: number }): unknown[] {
  const skip = () => {
    while (at.i < text.length && /\s/.test(text[at.i]!)) at.i++;
  };
  skip();
  if (text[at.i] !== '(') throw new Error(`expected "(" at character ${at.i + 1}`);
  at.i++;
  const items: unknown[] = [];
  for (;;) {
    skip();
    if (text[at.i] === '(') items.push(parseWktList(text, at));
    else {
      const m = /^[^,()]+/.exec(text.slice(at.i, at.i + 200));
      if (!m) throw new Error(`expected a position at character ${at.i + 1}`);
      at.i += m[0].length;
      const nums = m[0].trim().split(/\s+/).map(Number);
      if (nums.length < 2 || nums.length > 4) throw new Error(`"${m[0].trim()}" is not a position`);
      items.push(nums);
    }
    skip();
    if (text[at.i] === ',') {
      at.i++;
      continue;
    }
    if (text[at.i] === ')') {
      at.i++;
      return items;
    }
    throw new Error(`expected "," or ")" at character ${at.i + 1}`);
  }
}

/** WKT (or EWKT with SRID 4326) POLYGON / MULTIPOLYGON, checked like GeoJSON. */
export function parseWktPolygonal(wkt: string): GeometryCheck {
  let text = wkt.trim();
  const srid = /^SRID=(\d+);/i.exec(text);
  if (srid) {
    if (srid[1] !== '4326') return fail(`SRID ${srid[1]} is not WGS 84 (4326): ${REPROJECT}`);
    text = text.slice(srid[0].length);
  }
  const head = /^(MULTIPOLYGON|POLYGON)\s*(ZM|Z|M)?\s*/i.exec(text);
  if (!head) {
    const word = /^[A-Za-z]+/.exec(text)?.[0];
    return fail(word ? `WKT type ${word.toUpperCase()} is not POLYGON or MULTIPOLYGON` : 'the wkt column is empty or not WKT');
  }
  const rest = text.slice(head[0].length);
  if (/^EMPTY\s*$/i.test(rest)) return fail('the geometry is EMPTY');
  let coordinates: unknown[];
  try {
    const at = { i: 0 };
    coordinates = parseWktList(rest, at);
    if (rest.slice(at.i).trim() !== '') throw new Error(`unexpected text after the geometry at character ${head[0].length + at.i + 1}`);
  } catch (err) {
    return fail(`malformed WKT: ${(err as Error).message}`);
  }
  const type = head[1]!.toUpperCase() === 'POLYGON' ? 'Polygon' : 'MultiPolygon';
  return checkPolygonal({ type, coordinates });
}
