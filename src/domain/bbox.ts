/** The bounding box GraphQL and OGC searches take, checked once here so both refuse a bad box with the same words. */
import { badInput } from '../errors.ts';

export interface BBox {
  minLon: number;
  minLat: number;
  maxLon: number;
  maxLat: number;
}

/** WGS 84 bounds, min ≤ max; antimeridian-crossing boxes are not supported (split them). */
export function checkBBox(b: BBox, path = 'bbox'): BBox {
  const inRange = (v: number, lim: number) => Number.isFinite(v) && v >= -lim && v <= lim;
  if (!inRange(b.minLon, 180) || !inRange(b.maxLon, 180)) throw badInput(`${path}.minLon`, 'longitudes must be within -180..180');
  if (!inRange(b.minLat, 90) || !inRange(b.maxLat, 90)) throw badInput(`${path}.minLat`, 'latitudes must be within -90..90');
  if (b.minLon > b.maxLon) throw badInput(`${path}.maxLon`, 'maxLon must not be less than minLon');
  if (b.minLat > b.maxLat) throw badInput(`${path}.maxLat`, 'maxLat must not be less than minLat');
  return b;
}
