/** The items query parameters as OGC API – Features Part 1 defines them (src/http/ogc/items-params.ts). */
import { describe, expect, test } from 'bun:test';
import { parseBBox, parseCursor, parseDatetime, parseItemsParams, parseLimit } from '../../src/http/ogc/items-params.ts';
import { encodeFeatureCursor } from '../../src/domain/feature-page.ts';
import { OgcError } from '../../src/http/ogc/ogc-responses.ts';

const refused = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return e instanceof OgcError && e.status === 400;
  }
  return false;
};

describe('datetime', () => {
  test('instants, dates, intervals with open ends', () => {
    expect(parseDatetime('2025-03-01T10:00:00Z')).toEqual({
      start: new Date('2025-03-01T10:00:00Z'),
      end: new Date('2025-03-01T10:00:00Z'),
    });
    expect(parseDatetime('2025-03-01T12:00:00+02:00')!.start).toEqual(new Date('2025-03-01T10:00:00Z'));
    expect(parseDatetime('2025-03-01')).toEqual({ start: new Date('2025-03-01T00:00:00Z'), end: new Date('2025-03-01T23:59:59.999Z') });
    expect(parseDatetime('2025-03-01T00:00:00Z/..')).toEqual({ start: new Date('2025-03-01T00:00:00Z'), end: null });
    expect(parseDatetime('/2025-03-01')).toEqual({ start: null, end: new Date('2025-03-01T23:59:59.999Z') });
    expect(parseDatetime('2025-01-01/2025-01-31')).toEqual({
      start: new Date('2025-01-01T00:00:00Z'),
      end: new Date('2025-01-31T23:59:59.999Z'),
    });
    expect(parseDatetime('../..')).toBeNull();
    expect(parseDatetime(null)).toBeNull();
  });

  test.each(['2025-02-30', '2025-03-01T10:00:00', '2025-03-01 10:00:00Z', 'now', '2025/2026/2027', '2025-03-02/2025-03-01', ''])(
    '%p → 400',
    (v) => {
      expect(refused(() => parseDatetime(v))).toBe(true);
    },
  );
});

describe('bbox, limit, cursor', () => {
  test('bbox: four or six numbers; antimeridian boxes kept as given', () => {
    expect(parseBBox('-122.5,37.7,-122.4,37.8')).toEqual({ minLon: -122.5, minLat: 37.7, maxLon: -122.4, maxLat: 37.8 });
    expect(parseBBox('-122.5,37.7,0,-122.4,37.8,100')).toEqual({ minLon: -122.5, minLat: 37.7, maxLon: -122.4, maxLat: 37.8 });
    expect(parseBBox('170,-10,-170,10')).toEqual({ minLon: 170, minLat: -10, maxLon: -170, maxLat: 10 });
    for (const bad of ['1,2,3', '1,2,3,4,5', 'a,b,c,d', '0,0,181,1', '0,-91,1,1', '0,10,1,5', '1e999,0,1,1', ''])
      expect(refused(() => parseBBox(bad))).toBe(true);
  });

  test('limit: default 100, larger than 10,000 served as 10,000, not positive or not an integer refused', () => {
    expect(parseLimit(null)).toBe(100);
    expect(parseLimit('10000')).toBe(10000);
    expect(parseLimit('999999999')).toBe(10000);
    for (const bad of ['0', '-1', '1.5', 'ten', '', '1e3']) expect(refused(() => parseLimit(bad))).toBe(true);
  });

  test('cursor: what next/prev links carry, nothing else', () => {
    expect(parseCursor(encodeFeatureCursor({ after: 'DC-BLD-2025-000001' }))).toEqual({ after: 'DC-BLD-2025-000001' });
    expect(parseCursor(encodeFeatureCursor({ before: '100-000-54' }))).toEqual({ before: '100-000-54' });
    for (const bad of ['', 'x', Buffer.from('c:abc').toString('base64url'), 'a'.repeat(400), 'not base64!'])
      expect(refused(() => parseCursor(bad))).toBe(true);
  });

  test('property filters: any of a comma list, case-insensitive, known values only; unknown parameters refused', () => {
    const filters = [{ name: 'StatusCurrent', values: ['ISSUED', 'FINALED'] }];
    expect(parseItemsParams(new URLSearchParams('StatusCurrent=issued,FINALED,ISSUED'), filters).filters).toEqual({
      StatusCurrent: ['ISSUED', 'FINALED'],
    });
    expect(refused(() => parseItemsParams(new URLSearchParams('StatusCurrent=DRAFT'), filters))).toBe(true);
    expect(refused(() => parseItemsParams(new URLSearchParams('offset=10'), filters))).toBe(true);
    expect(refused(() => parseItemsParams(new URLSearchParams('limit=1&limit=2'), filters))).toBe(true);
  });
});
