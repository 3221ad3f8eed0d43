/**
 * Issue 23's done-criterion over real HTTP: the proof material is public. GET /audit/tile/<L>/<N>[.p/<W>] (C2SP
 * tlog-tiles hash tiles) answers anyone without a token, holds only hashes of the tree of the latest signed
 * checkpoint (the tiles rebuild its root), is cacheable, and, like every anonymous read, costs a rate-limit token.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { hashLeaf, merkleTreeHash } from '../../../src/audit/merkle.ts';
import { openCheckpoint } from '../../../src/audit/transparency/checkpoint-note.ts';
import { parseVerifierKey } from '../../../src/audit/transparency/signed-note.ts';
import { rowsOf } from '../../../src/db/rows.ts';
import { startTestServer, type TestServer } from '../../helpers/server.ts';
import { getText } from './support.ts';

setDefaultTimeout(180_000);

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const split = (bytes: Uint8Array) => Array.from({ length: bytes.length / 32 }, (_, i) => bytes.subarray(i * 32, i * 32 + 32));

async function getTile(t: TestServer, path: string) {
  const res = await fetch(`${t.url}/audit/${path}`);
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    cache: res.headers.get('cache-control'),
    bytes: new Uint8Array(await res.arrayBuffer()),
  };
}

describe('hash tiles are public, cover the signed tree and reveal no entry', () => {
  let t: TestServer;
  let size: number;
  let root: string;
  let leaves: Uint8Array[];

  beforeAll(async () => {
    t = await startTestServer();
    const tok = await t.token('demo-clerk');
    // more than one full tile of entries, 20 requests at a time
    for (let i = 0; i < 14; i++) {
      await Promise.all(
        Array.from({ length: 20 }, () => t.gql('query { permit(number: "DC-BLD-2024-000001") { number } }', undefined, tok)),
      );
    }
    await t.running.audit.flush();
    await t.running.audit.checkpoint();
    const cp = openCheckpoint((await getText(`${t.url}/audit/checkpoint`)).body, [
      parseVerifierKey((await getText(`${t.url}/audit/verifier-key`)).body),
    ]);
    size = cp.size;
    root = cp.rootHash;
    const rows = rowsOf<{ hash: string }>(
      await t.tdb.database.db.execute(sql`select hash from audit_entries where seq <= ${size} order by seq`),
    );
    leaves = rows.map((r) => hashLeaf(Buffer.from(r.hash, 'hex')));
  });
  afterAll(() => t?.stop());

  test('a full tile: no token needed, immutable, the leaf hashes of entries 1..256', async () => {
    expect(size).toBeGreaterThan(256);
    const r = await getTile(t, 'tile/0/000');
    expect(r.status).toBe(200);
    expect(r.type).toBe('application/octet-stream');
    expect(r.cache).toBe('public, max-age=31536000, immutable');
    expect(split(r.bytes).map(hex)).toEqual(leaves.slice(0, 256).map(hex));
    const up = await getTile(t, 'tile/1/000.p/1');
    expect(hex(up.bytes)).toBe(hex(merkleTreeHash(leaves.slice(0, 256))));
  });

  test('the partial tile of the checkpoint size completes the tree: the tiles rebuild the signed root', async () => {
    const w = size - 256;
    const r = await getTile(t, `tile/0/001.p/${w}`);
    expect(r.status).toBe(200);
    expect(r.cache).toBe('public, max-age=86400');
    const fromTiles = [...split((await getTile(t, 'tile/0/000')).bytes), ...split(r.bytes)];
    expect(hex(merkleTreeHash(fromTiles))).toBe(root);
  });

  test('nothing beyond the latest checkpoint, no entry tiles, no odd paths: 404', async () => {
    await t.gql('query { permit(number: "DC-BLD-2024-000001") { number } }', undefined, await t.token('demo-clerk'));
    await t.running.audit.flush();
    // entries exist past the checkpoint, but no signed tree covers them yet
    for (const path of [
      `tile/0/001.p/${size - 255}`,
      'tile/0/001',
      'tile/1/000.p/2',
      'tile/entries/000',
      'tile/0/1',
      'tile/0/000.p/256',
      'tile/x',
    ])
      expect({ path, status: (await getTile(t, path)).status }).toEqual({ path, status: 404 });
  });
});

describe('the public audit reads are rate-limited like anonymous GraphQL reads', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ RATE_LIMIT_SCALE: '1' });
  });
  afterAll(() => t?.stop());

  test('past the anonymous burst, /audit/checkpoint, /audit/verifier-key and tiles answer 429 with Retry-After', async () => {
    const paths = ['/audit/checkpoint', '/audit/verifier-key', '/audit/tile/0/000'];
    const statuses: number[] = [];
    let refused: Response | null = null;
    for (let i = 0; i < 30; i++) {
      const res = await fetch(`${t.url}${paths[i % 3]}`);
      statuses.push(res.status);
      if (res.status === 429) refused = res;
      else await res.arrayBuffer();
    }
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(statuses.slice(0, 10).every((s) => s !== 429)).toBe(true);
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await refused!.json()) as { code: string }).code).toBe('RATE_LIMITED');
  });
});
