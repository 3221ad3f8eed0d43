/**
 * Issue 25's cost contract, downloaded: GET /schema.graphql answers the SDL with the cost directives the limits read
 * (introspection cannot carry applied directives), to whoever may introspect (`schema:introspect`); a client prices a
 * query from it and the server charges what it said.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { type FieldDefinitionNode, Kind, parse } from 'graphql';
import { SNAPSHOT_FILE } from '../../src/ops/schema-snapshot.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

setDefaultTimeout(120_000);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
}, 180_000);
afterAll(() => t?.stop());

const sdl = (token?: string) => fetch(`${t.url}/schema.graphql`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

/** The Query field's directive argument, read from the downloaded SDL as a client would. */
function queryFieldArg(text: string, field: string, directive: string, arg: string): number {
  const query = parse(text).definitions.find((d) => d.kind === Kind.OBJECT_TYPE_DEFINITION && d.name.value === 'Query');
  const fields = query?.kind === Kind.OBJECT_TYPE_DEFINITION ? (query.fields ?? []) : ([] as readonly FieldDefinitionNode[]);
  const def = fields.find((f) => f.name.value === field);
  const value = def?.directives?.find((d) => d.name.value === directive)?.arguments?.find((a) => a.name.value === arg)?.value;
  if (value?.kind !== Kind.INT) throw new Error(`no @${directive}(${arg}:) on Query.${field}`);
  return Number(value.value);
}

test('an analyst downloads the published SDL with its cost directives, and the server charges by them', async () => {
  const analyst = await t.token('demo-analyst');
  const r = await sdl(analyst);
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toStartWith('application/graphql');
  const text = await r.text();
  expect(text).toBe(readFileSync(SNAPSHOT_FILE, 'utf8'));
  // a default permitsGeoJSON page: its assumed size (no `first`) times its weight per feature, plus the field itself
  const priced = queryFieldArg(text, 'permitsGeoJSON', 'listSize', 'assumedSize') * queryFieldArg(text, 'permitsGeoJSON', 'cost', 'weight');
  const q = await t.gql('{ permitsGeoJSON(bbox: { minLon: -1, minLat: -1, maxLon: 1, maxLat: 1 }) }', {}, analyst);
  const estimated = (q.body as { extensions?: { cost?: { estimated?: number } } }).extensions?.cost?.estimated;
  expect(estimated).toBeGreaterThanOrEqual(priced);
  expect(estimated).toBeLessThanOrEqual(priced + 1);
});

test('without schema:introspect the SDL is refused like introspection: 403 with a token, 401 without', async () => {
  const contractor = await sdl(await t.token('demo-contractor-a'));
  expect(contractor.status).toBe(403);
  expect(await contractor.text()).not.toContain('type Query');
  const anonymous = await sdl();
  expect(anonymous.status).toBe(401);
  expect(anonymous.headers.get('www-authenticate')).toStartWith('Bearer');
  const forged = await sdl('not-a-token');
  expect(forged.status).toBe(401);
});
