/**
 * Parcels from a county's GIS: a GeoJSON FeatureCollection (what `ogr2ogr -f GeoJSON -t_srs EPSG:4326` writes) or a
 * CSV with a `wkt` column; upserted by APN. Zoning codes the reference table does not know yet are added to it
 * (description = the code) so a city's own codes load without a separate step.
 */
import { sql } from 'drizzle-orm';
import type { Tx } from '../db/client.ts';
import { rowsOf } from '../db/rows.ts';
import { csvItems, normalizeFields } from './columns.ts';
import { geojsonFeatures, GeoJsonFormatError } from './geojson-features.ts';
import { checkPolygonal, parseWktPolygonal, type Polygonal } from './geometry.ts';
import type { Checked, Dataset, SourceItem } from './run-import.ts';
import { ImportFileError } from './source-file.ts';

export interface ParcelRow {
  apn: string;
  address: string;
  address1: string | null;
  address2: string | null;
  city: string | null;
  state: string | null;
  zip: string | null;
  zoning_code: string;
  longitude: number;
  latitude: number;
  geometry: Polygonal;
}

/**
 * Properties every parcel needs. A file without one (ogr2ogr keeps the county's attribute names, e.g. PARCEL_ID) is
 * one mistake, named once before any row as a CSV's missing column is, not one refusal per feature.
 */
const REQUIRED = ['apn', 'zoning'] as const;

/** The required properties the first feature lacks, as a file-level error naming what it has instead. */
function missingProperties(path: string, index: number, properties: unknown): ImportFileError | null {
  const names = properties && typeof properties === 'object' ? Object.keys(properties) : [];
  const lower = new Set(names.map((n) => n.toLowerCase()));
  const missing = REQUIRED.filter((c) => !lower.has(c));
  if (!missing.length) return null;
  return new ImportFileError(
    `${path}:${index}: missing property(ies) ${missing.join(', ')} (found: ${names.join(', ') || 'none'}): rename them in the file or ` +
      `on the way (ogr2ogr -sql "SELECT <id column> AS apn, <zoning column> AS zoning, … FROM <layer>")`,
  );
}

/** CRS names that mean WGS 84 longitude/latitude; anything else must be reprojected first. */
const WGS84 =
  /^(urn:ogc:def:crs:OGC:1\.3:CRS84|urn:ogc:def:crs:EPSG::4326|EPSG:4326|http:\/\/www\.opengis\.net\/def\/crs\/OGC\/1\.3\/CRS84)$/i;

async function* geojsonItems(path: string, chunks: AsyncIterable<string>): AsyncGenerator<SourceItem> {
  let first = true;
  try {
    for await (const f of geojsonFeatures(chunks, (crs) => {
      const name = (crs as { properties?: { name?: unknown } } | undefined)?.properties?.name;
      if (typeof name === 'string' && !WGS84.test(name)) {
        throw new ImportFileError(
          `${path}: the file's CRS is ${name}, not WGS 84: reproject it (ogr2ogr -f GeoJSON -t_srs EPSG:4326 out.geojson in.shp)`,
        );
      }
    })) {
      if ('error' in f) {
        yield { at: f.index, reason: f.error };
        continue;
      }
      const feature = f.feature as { type?: unknown; properties?: unknown; geometry?: unknown } | null;
      if (!feature || typeof feature !== 'object' || feature.type !== 'Feature') yield { at: f.index, reason: 'not a GeoJSON Feature' };
      else {
        if (first) {
          first = false;
          const missing = missingProperties(path, f.index, feature.properties);
          if (missing) throw missing;
        }
        yield { at: f.index, input: { fields: normalizeFields(feature.properties), geometry: checkPolygonal(feature.geometry) } };
      }
    }
  } catch (err) {
    if (err instanceof GeoJsonFormatError) throw new ImportFileError(`${path}: ${err.message}`);
    throw err;
  }
}

async function* csvParcelItems(path: string, chunks: AsyncIterable<string>): AsyncGenerator<SourceItem> {
  for await (const item of csvItems(path, chunks, [...REQUIRED, 'wkt'])) {
    if ('reason' in item) yield item;
    else {
      const fields = item.input as Record<string, string>;
      yield { at: item.at, input: { fields, geometry: parseWktPolygonal(fields.wkt ?? '') } };
    }
  }
}

const opt = (s: string | undefined, max: number) => (s ? s.slice(0, max) : null);

function checkParcel(input: unknown): Checked<ParcelRow> {
  const { fields, geometry } = input as { fields: Record<string, string>; geometry: ReturnType<typeof checkPolygonal> };
  const apn = fields.apn ?? '';
  if (!apn) return { reason: 'apn is empty' };
  if (apn.length > 64) return { reason: 'apn is longer than 64 characters' };
  if (!geometry.ok) return { reason: `apn ${apn}: ${geometry.reason}` };
  const zoning = fields.zoning ?? '';
  if (!zoning) return { reason: `apn ${apn}: zoning is empty` };
  if (zoning.length > 32) return { reason: `apn ${apn}: zoning "${zoning.slice(0, 40)}" is longer than 32 characters` };
  const zip = fields.zip ?? '';
  if (zip && !/^\d{5}(-\d{4})?$/.test(zip)) return { reason: `apn ${apn}: zip "${zip}" is not a US ZIP code (12345 or 12345-6789)` };
  const state = fields.state ?? '';
  if (state && !/^[A-Za-z]{2}$/.test(state)) return { reason: `apn ${apn}: state "${state}" is not a two-letter code` };
  const address1 = opt(fields.address1, 200);
  const address2 = opt(fields.address2, 200);
  return {
    key: `apn ${apn}`,
    row: {
      apn,
      address: [address1, address2].filter(Boolean).join(' '),
      address1,
      address2,
      city: opt(fields.city, 100),
      state: state ? state.toUpperCase() : null,
      zip: zip || null,
      zoning_code: zoning,
      longitude: geometry.centroid[0],
      latitude: geometry.centroid[1],
      geometry: geometry.geometry,
    },
  };
}

async function writeParcels(tx: Tx, jurisdiction: { id: string }, rows: ParcelRow[]) {
  const json = JSON.stringify(rows);
  await tx.execute(sql`
    insert into zoning_codes (code, description, category)
    select distinct r.zoning_code, r.zoning_code, 'imported' from json_to_recordset(${json}::json) as r(zoning_code text)
    on conflict (code) do nothing`);
  const result = rowsOf<{ inserted: boolean }>(
    await tx.execute(sql`
      insert into parcels (jurisdiction_id, apn, address, address1, address2, city, state, zip, zoning_code, longitude, latitude, geometry)
      select ${jurisdiction.id}, r.apn, r.address, r.address1, r.address2, r.city, r.state, r.zip, r.zoning_code, r.longitude, r.latitude, r.geometry
      from json_to_recordset(${json}::json) as r(apn text, address text, address1 text, address2 text, city text, state text, zip text,
        zoning_code text, longitude double precision, latitude double precision, geometry jsonb)
      on conflict (jurisdiction_id, apn) do update set
        address = excluded.address, address1 = excluded.address1, address2 = excluded.address2, city = excluded.city,
        state = excluded.state, zip = excluded.zip, zoning_code = excluded.zoning_code, longitude = excluded.longitude,
        latitude = excluded.latitude, geometry = excluded.geometry
      where (parcels.address, parcels.address1, parcels.address2, parcels.city, parcels.state, parcels.zip, parcels.zoning_code,
             parcels.longitude, parcels.latitude, parcels.geometry)
        is distinct from (excluded.address, excluded.address1, excluded.address2, excluded.city, excluded.state, excluded.zip,
             excluded.zoning_code, excluded.longitude, excluded.latitude, excluded.geometry)
      returning (xmax = 0) as inserted`),
  );
  const inserted = result.filter((r) => r.inserted).length;
  return { inserted, updated: result.length - inserted };
}

export const parcelsDataset: Dataset<ParcelRow> = {
  name: 'parcels',
  tables: ['parcels', 'zoning_codes'],
  records: (path, chunks) => (/\.csv$/i.test(path) ? csvParcelItems(path, chunks) : geojsonItems(path, chunks)),
  check: checkParcel,
  write: writeParcels,
};
