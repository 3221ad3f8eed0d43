/**
 * A parcel file whose attributes kept the county's names (what plain `ogr2ogr -f GeoJSON` of a shapefile gives) is
 * one mistake: it is named once, before any row, with the names the file has instead, for GeoJSON as for CSV. Without
 * this every feature was refused on its own as "apn is empty", one line per parcel of the county.
 */
import { describe, expect, test } from 'bun:test';
import { parcelsDataset } from '../../src/import/parcels.ts';
import { ImportFileError } from '../../src/import/source-file.ts';

async function* chunksOf(text: string) {
  yield text;
}

async function readAll(path: string, text: string) {
  const items = [];
  for await (const item of parcelsDataset.records(path, chunksOf(text))) items.push(item);
  return items;
}

const ring = [
  [
    [-89.65, 39.78],
    [-89.649, 39.78],
    [-89.649, 39.781],
    [-89.65, 39.78],
  ],
];
const feature = (properties: unknown) => ({ type: 'Feature', properties, geometry: { type: 'Polygon', coordinates: ring } });
const collection = (properties: unknown[]) => JSON.stringify({ type: 'FeatureCollection', features: properties.map(feature) });

describe('parcel files without the required columns', () => {
  test('GeoJSON whose features kept the county names: one file-level error naming what is missing and what is there', async () => {
    const text = collection([
      { PARCEL_ID: '14-33-101-001', SITUS: '800 E Monroe St', ZONE: 'B-2' },
      { PARCEL_ID: '14-33-101-002', SITUS: '802 E Monroe St', ZONE: 'R-1' },
    ]);
    const err = await readAll('county.geojson', text).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImportFileError);
    expect((err as Error).message).toStartWith('county.geojson:0: missing property(ies) apn, zoning (found: PARCEL_ID, SITUS, ZONE)');
    expect((err as Error).message).toContain('ogr2ogr -sql');
  });

  test('GeoJSON: names are case-insensitive, and a null value is an empty cell, refused on its row, not a missing column', async () => {
    const items = await readAll(
      'ok.geojson',
      collection([
        { APN: '1', Zoning: 'R-1' },
        { apn: null, zoning: 'R-1' },
      ]),
    );
    expect(items).toHaveLength(2);
    expect(parcelsDataset.check((items[1] as { input: unknown }).input, {} as never)).toEqual({ reason: 'apn is empty' });
  });

  test('GeoJSON: the first Feature decides; an earlier element that is not a Feature is refused on its own', async () => {
    const text = JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Point' }, feature({ id: 'x' })] });
    const err = await readAll('mixed.geojson', text).catch((e: unknown) => e);
    expect((err as Error).message).toStartWith('mixed.geojson:1: missing property(ies) apn, zoning (found: id)');
  });

  test('CSV without a zoning column stops at the header, as one without apn or wkt does', async () => {
    const err = await readAll('parcels.csv', 'apn,wkt\n1,"POLYGON ((0 0, 1 0, 1 1, 0 0))"\n').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImportFileError);
    expect((err as Error).message).toStartWith('parcels.csv:1: missing column(s) zoning (found: apn, wkt)');
  });
});
