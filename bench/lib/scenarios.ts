/**
 * The four scenarios of issue 7 as wrk request specs, and the inputs they need (permit numbers, parcels, a bbox
 * holding ~500 features), picked from the seeded database before any measurement.
 */
import type { RequestSpec } from './wrk.ts';

export const SCENARIOS = ['permitStatus', 'permit', 'geojson', 'ogcItems', 'ogcNotModified', 'submitPermit'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
export const VARIANTS = ['bare', 'security-off', 'full', 'no-audit'] as const;
export type Variant = (typeof VARIANTS)[number];

export interface BBox {
  minLon: number;
  minLat: number;
  maxLon: number;
  maxLat: number;
}

export interface BenchInputs {
  /** demo-city permit numbers the GIS vendor can read */
  permitNumbers: string[];
  /** demo-city parcels outside the GeoJSON box (submissions must not change what `geojson` measures) */
  submitParcels: string[];
  bbox: BBox;
  bboxFeatures: number;
}

/** Which demo client each scenario acts as (null: anonymous). */
export const ACTS_AS: Record<ScenarioName, string | null> = {
  permitStatus: null,
  permit: 'demo-gis',
  geojson: 'demo-gis',
  ogcItems: 'demo-gis',
  ogcNotModified: 'demo-gis',
  submitPermit: 'demo-contractor-a',
};

/** Issue 21: a 1,000-feature OGC API – Features page (compared with `geojson` in features per second). */
export const OGC_PAGE_FEATURES = 1000;
export const OGC_PAGE = `/ogc/collections/permits/items?limit=${OGC_PAGE_FEATURES}`;

export const PERMIT_STATUS_QUERY = 'query PermitStatus($n: String!) { permitStatus(number: $n) { number status updatedAt stale asOf } }';
export const PERMIT_QUERY =
  'query Permit($n: String!) { permit(number: $n) { id number permitType workClass status description valuation version submittedAt updatedAt ' +
  'parcel { id apn address zoningCode } contractor { id licenseNumber name licenseStatus } ' +
  'inspections { id inspectionType windowStart windowEnd result recordedAt } } }';
const GEOJSON_QUERY = 'query GeoJSON($b: BBoxInput!) { permitsGeoJSON(bbox: $b) }';
export const SUBMIT_MUTATION =
  'mutation Submit($i: SubmitPermitInput!, $k: String!) { submitPermit(input: $i, idempotencyKey: $k) { receipt { id state permitNumber } } }';

/** What every benchmark submission asks for (the peer's too), on the given parcel. */
export const submitInput = (parcelId: string) => ({
  parcelId,
  permitType: 'ELECTRICAL',
  workClass: 'ALTERATION',
  description: 'Benchmark submission: panel replacement',
  valuation: 12500,
  applicant: { name: 'Bench Applicant', email: 'bench@example.com', phone: '+14155550100' },
});

export const geojsonBody = (bbox: BBox) => JSON.stringify({ query: GEOJSON_QUERY, variables: { b: bbox } });

const lua = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** Splits a JSON body around placeholders so Lua can splice per-request values in: `"a" .. expr .. "b"`. */
export function template(body: string, slots: Record<string, string>): string {
  let expr = lua(body);
  for (const [placeholder, luaExpr] of Object.entries(slots)) expr = expr.replace(placeholder, `" .. ${luaExpr} .. "`);
  return expr;
}

export function requestSpec(name: ScenarioName, inputs: BenchInputs, headers: Record<string, string>, variant?: Variant): RequestSpec {
  if (variant === 'bare') {
    const { okStatus: _, ...spec } = appRequestSpec(name, inputs, headers);
    return { ...spec, expect: '"ok":true' } as RequestSpec;
  }
  return appRequestSpec(name, inputs, headers);
}

function appRequestSpec(name: ScenarioName, inputs: BenchInputs, headers: Record<string, string>): RequestSpec {
  const h = { 'content-type': 'application/json', accept: 'application/json', ...headers };
  switch (name) {
    case 'permitStatus':
      return {
        kind: 'dynamic',
        headers: h,
        lists: { numbers: inputs.permitNumbers },
        expect: '"permitStatus":{',
        bodyLua: template(JSON.stringify({ query: PERMIT_STATUS_QUERY, variables: { n: '@N@' } }), { '@N@': 'pick(numbers)' }),
      };
    case 'permit':
      return {
        kind: 'dynamic',
        headers: h,
        lists: { numbers: inputs.permitNumbers },
        expect: '"permit":{',
        bodyLua: template(JSON.stringify({ query: PERMIT_QUERY, variables: { n: '@N@' } }), { '@N@': 'pick(numbers)' }),
      };
    case 'geojson':
      return { kind: 'fixed', headers: h, expect: '"FeatureCollection"', body: geojsonBody(inputs.bbox) };
    // GETs of the same page; the caller adds If-None-Match (the page's ETag) for ogcNotModified
    case 'ogcItems':
      return {
        kind: 'fixed',
        method: 'GET',
        path: OGC_PAGE,
        body: '',
        headers: { accept: 'application/geo+json', ...headers },
        expect: '"FeatureCollection"',
      };
    case 'ogcNotModified':
      return {
        kind: 'fixed',
        method: 'GET',
        path: OGC_PAGE,
        body: '',
        headers: { accept: 'application/geo+json', ...headers },
        okStatus: 304,
      };
    case 'submitPermit': {
      const input = submitInput('@P@');
      return {
        kind: 'dynamic',
        headers: h,
        lists: { parcels: inputs.submitParcels },
        // QUEUED means the breaker sent it to the outbox: not the path being measured
        expect: '"state":"PERSISTED"',
        bodyLua: template(JSON.stringify({ query: SUBMIT_MUTATION, variables: { i: input, k: '@K@' } }), {
          '@P@': 'pick(parcels)',
          '@K@': 'nextKey()',
        }),
      };
    }
  }
}

/** Headers that say who is asking, per variant. */
export function identityHeaders(variant: Variant, clientId: string | null, tokens: Record<string, string>): Record<string, string> {
  if (!clientId || variant === 'bare') return {};
  if (variant === 'security-off') return { 'x-bench-client': clientId };
  const token = tokens[clientId];
  if (!token) throw new Error(`no token for ${clientId}`);
  return { authorization: `Bearer ${token}` };
}
