/**
 * The query parameters of `/collections/{id}/items`, checked as OGC API – Features Part 1 requires:
 * an unknown parameter or an invalid value is a 400 (/req/core/query-param-unknown, -invalid); `limit` above the
 * maximum is served as the maximum (the standard's own example: ask 50,000, get up to 10,000 and a next link).
 */
import type { BBox } from '../../domain/bbox.ts';
import { decodeFeatureCursor, type KeyCursor } from '../../domain/feature-page.ts';
import type { TimeInterval } from '../../domain/permit-features.ts';
import { invalidParameter } from './ogc-responses.ts';

export const LIMIT = { default: 100, max: 10_000 } as const;

/** A property filter: the parameter is the property's name, the value one of `values` (or a comma list). */
export interface PropertyFilter {
  name: string;
  values: readonly string[];
}

export interface ItemsParams {
  limit: number;
  bbox: BBox | null;
  datetime: TimeInterval | null;
  cursor: KeyCursor | null;
  /** Property name → accepted values (any of). */
  filters: Record<string, string[]>;
  /** The representation asked for with `f`. */
  format: 'geojson' | 'json';
}

const ITEMS_PARAMS = new Set(['limit', 'bbox', 'datetime', 'cursor', 'f', 'bbox-crs', 'crs']);

/** CRS84 as clients spell it (Part 2's `bbox-crs` and `crs`): the only CRS served, so the only one accepted. */
const CRS84_NAMES = new Set([
  'http://www.opengis.net/def/crs/OGC/1.3/CRS84',
  'https://www.opengis.net/def/crs/OGC/1.3/CRS84',
  '[OGC:CRS84]',
  'OGC:CRS84',
]);

export function checkCrs(name: string, raw: string | null): void {
  if (raw !== null && !CRS84_NAMES.has(raw.trim())) {
    throw invalidParameter(`${name}: only http://www.opengis.net/def/crs/OGC/1.3/CRS84 is supported`);
  }
}

/** `f` on any OGC resource: json (and geojson for features); anything else is refused. */
export function formatOf(value: string | null, features: boolean): 'geojson' | 'json' {
  if (value === null) return features ? 'geojson' : 'json';
  const v = value.toLowerCase();
  if (v === 'json' || v === 'application/json') return 'json';
  if (features && (v === 'geojson' || v === 'application/geo+json')) return 'geojson';
  throw invalidParameter(`f: unsupported format "${value.slice(0, 40)}" (${features ? 'geojson, json' : 'json'})`);
}

/** Refuses any parameter outside `allowed` (each at most once). */
export function checkKnownParams(search: URLSearchParams, allowed: ReadonlySet<string>): void {
  const seen = new Set<string>();
  for (const name of search.keys()) {
    if (!allowed.has(name)) throw invalidParameter(`unknown query parameter "${name.slice(0, 40)}"`);
    if (seen.has(name)) throw invalidParameter(`query parameter "${name}" given more than once`);
    seen.add(name);
  }
}

export function parseLimit(raw: string | null): number {
  if (raw === null) return LIMIT.default;
  if (!/^\d{1,9}$/.test(raw.trim())) throw invalidParameter('limit: must be a positive integer');
  const n = Number(raw);
  if (n < 1) throw invalidParameter('limit: must be at least 1');
  return Math.min(n, LIMIT.max);
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** `minLon,minLat,maxLon,maxLat` (or six numbers with heights, which are ignored), CRS84. */
export function parseBBox(raw: string | null): BBox | null {
  if (raw === null) return null;
  const parts = raw.split(',').map((s) => s.trim());
  if ((parts.length !== 4 && parts.length !== 6) || !parts.every((s) => NUMBER.test(s))) {
    throw invalidParameter('bbox: four (or six) comma-separated numbers: minLon,minLat,maxLon,maxLat');
  }
  const n = parts.map(Number);
  const [minLon, minLat, maxLon, maxLat] = parts.length === 6 ? [n[0]!, n[1]!, n[3]!, n[4]!] : [n[0]!, n[1]!, n[2]!, n[3]!];
  if (![minLon, maxLon].every((v) => v >= -180 && v <= 180)) throw invalidParameter('bbox: longitudes must be within -180..180');
  if (![minLat, maxLat].every((v) => v >= -90 && v <= 90)) throw invalidParameter('bbox: latitudes must be within -90..90');
  if (minLat > maxLat) throw invalidParameter('bbox: the lower latitude is above the upper one');
  // minLon > maxLon is allowed: a box across the antimeridian
  return { minLon, minLat, maxLon, maxLat };
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
const DAY_MS = 86_400_000;

/** One end of an interval, or an instant: RFC 3339 date-time, or a date standing for its whole (UTC) day. */
function parseMoment(raw: string): { start: Date; end: Date } {
  if (DATE.test(raw)) {
    const start = new Date(`${raw}T00:00:00Z`);
    if (Number.isNaN(start.getTime()) || start.toISOString().slice(0, 10) !== raw)
      throw invalidParameter(`datetime: "${raw}" is not a date`);
    return { start, end: new Date(start.getTime() + DAY_MS - 1) };
  }
  if (!DATE_TIME.test(raw))
    throw invalidParameter(`datetime: "${raw.slice(0, 40)}" is not an RFC 3339 date-time (with Z or an offset) or a date`);
  const t = new Date(raw.toUpperCase());
  if (Number.isNaN(t.getTime())) throw invalidParameter(`datetime: "${raw.slice(0, 40)}" is not a valid date-time`);
  return { start: t, end: t };
}

/** An instant, or an interval `start/end` whose open ends are `..` or empty (both inclusive). */
export function parseDatetime(raw: string | null): TimeInterval | null {
  if (raw === null) return null;
  const parts = raw.split('/');
  if (parts.length === 1) return parseMoment(raw);
  if (parts.length !== 2) throw invalidParameter('datetime: an instant or one interval start/end');
  const open = (s: string) => s === '' || s === '..';
  const start = open(parts[0]!) ? null : parseMoment(parts[0]!).start;
  const end = open(parts[1]!) ? null : parseMoment(parts[1]!).end;
  if (start && end && start > end) throw invalidParameter('datetime: the interval ends before it starts');
  return start || end ? { start, end } : null;
}

export function parseCursor(raw: string | null): KeyCursor | null {
  if (raw === null) return null;
  const c = decodeFeatureCursor(raw);
  if (!c) throw invalidParameter('cursor: not a cursor this API issued (follow the next and prev links)');
  return c;
}

function parseFilter(f: PropertyFilter, raw: string): string[] {
  const out: string[] = [];
  for (const part of raw.split(',')) {
    const v = f.values.find((x) => x.toLowerCase() === part.trim().toLowerCase());
    if (!v) throw invalidParameter(`${f.name}: "${part.slice(0, 40)}" is not one of ${f.values.join(', ')}`);
    out.push(v);
  }
  return [...new Set(out)];
}

export function parseItemsParams(search: URLSearchParams, filters: readonly PropertyFilter[]): ItemsParams {
  checkKnownParams(search, new Set([...ITEMS_PARAMS, ...filters.map((f) => f.name)]));
  const chosen: Record<string, string[]> = {};
  for (const f of filters) {
    const raw = search.get(f.name);
    if (raw !== null) chosen[f.name] = parseFilter(f, raw);
  }
  checkCrs('bbox-crs', search.get('bbox-crs'));
  checkCrs('crs', search.get('crs'));
  return {
    limit: parseLimit(search.get('limit')),
    bbox: parseBBox(search.get('bbox')),
    datetime: parseDatetime(search.get('datetime')),
    cursor: parseCursor(search.get('cursor')),
    filters: chosen,
    format: formatOf(search.get('f'), true),
  };
}
