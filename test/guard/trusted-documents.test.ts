import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { loadPersistedDocuments } from '../../src/guard/persisted-documents.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { setDefaultTimeout } from 'bun:test';

// starts databases and servers: Bun's 5 s default is too short on a busy machine
setDefaultTimeout(120_000);

let t: TestServer;
const docs = loadPersistedDocuments();
const hashOf = (name: string) => [...docs].find(([, text]) => text.includes(` ${name}(`) || text.includes(` ${name} `))![0];

beforeAll(async () => {
  t = await startTestServer({ PERSISTED_ONLY: 'true' });
});
afterAll(() => t.stop());

async function post(body: object, token?: string) {
  const res = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe('trusted documents mode (PERSISTED_ONLY=true)', () => {
  test('the registry holds the documented operations, keyed by the SHA-256 of their text', () => {
    expect(docs.size).toBeGreaterThanOrEqual(8);
    for (const [hash, text] of docs) expect(new Bun.CryptoHasher('sha256').update(text).digest('hex')).toBe(hash);
  });

  test('an unregistered operation from a contractor is refused with QUERY_REJECTED', async () => {
    const tok = await t.token('demo-contractor-a');
    const r = await post({ query: '{ me { clientId } }' }, tok);
    expect(r.status).toBe(400);
    expect(r.body.errors[0].extensions.code).toBe('QUERY_REJECTED');
    expect(r.body.data ?? null).toBeNull();
  });

  test('an unknown document id is refused', async () => {
    const tok = await t.token('demo-contractor-a');
    const r = await post({ documentId: 'f'.repeat(64), variables: {} }, tok);
    expect(r.body.errors[0].extensions.code).toBe('QUERY_REJECTED');
  });

  test('a registered operation runs by hash (documentId and APQ extension forms)', async () => {
    const tok = await t.token('demo-contractor-a');
    const hash = hashOf('PermitStatus');
    const a = await post({ documentId: hash, variables: { number: 'DC-BLD-2024-000001' } }, tok);
    expect(a.status).toBe(200);
    expect(a.body.errors).toBeUndefined();
    const b = await post(
      { extensions: { persistedQuery: { version: 1, sha256Hash: hash } }, variables: { number: 'DC-BLD-2024-000001' } },
      tok,
    );
    expect(b.status).toBe(200);
    expect(b.body.errors).toBeUndefined();
  });

  test('analysts (schema:introspect) may still run arbitrary operations, as in GraphiQL', async () => {
    const r = await post({ query: '{ permitStats(groupBy: STATUS) { key count } }' }, await t.token('demo-analyst'));
    expect(r.status).toBe(200);
    expect(r.body.data.permitStats.length).toBeGreaterThan(0);
  });
});
