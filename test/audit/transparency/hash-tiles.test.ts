/**
 * C2SP tlog-tiles hash tiles (src/audit/transparency/hash-tiles.ts): canonical paths only, and each tile's hashes
 * are the tree's nodes at level 8·L, checked against the Merkle Tree Hash of the leaves they cover (RFC 9162).
 */
import { describe, expect, setDefaultTimeout, test } from 'bun:test';
import { hashLeaf, merkleTreeHash } from '../../../src/audit/merkle.ts';
import { consistencyPath, verifyConsistency } from '../../../src/audit/transparency/consistency.ts';
import { createTileHasher, encodeTileIndex, leavesNeeded, parseTilePath, tilePath } from '../../../src/audit/transparency/hash-tiles.ts';
import { createTileNodeReader } from '../../../src/audit/transparency/tile-proofs.ts';

setDefaultTimeout(120_000);

describe('tile paths', () => {
  test('the index is written in 3-digit elements, all but the last prefixed with x', () => {
    expect(encodeTileIndex(1234067)).toBe('x001/x234/067');
    expect(encodeTileIndex(0)).toBe('000');
    expect(encodeTileIndex(1000)).toBe('x001/000');
    expect(tilePath({ level: 2, index: 1234067, width: 256 })).toBe('tile/2/x001/x234/067');
    expect(tilePath({ level: 0, index: 5, width: 17 })).toBe('tile/0/005.p/17');
  });

  test('canonical paths parse back; anything else is refused', () => {
    expect(parseTilePath('0/x001/x234/067')).toEqual({ level: 0, index: 1234067, width: 256 });
    expect(parseTilePath('1/000.p/3')).toEqual({ level: 1, index: 0, width: 3 });
    for (const bad of [
      '0/5',
      '0/x000/005',
      '00/000',
      '0/000.p/0',
      '0/000.p/256',
      '0/000.p/07',
      '64/000',
      'entries/000',
      '0/000/',
      '0/x1/000',
    ])
      expect(parseTilePath(bad)).toBeNull();
  });

  test('a tile needs the leaves under its last hash', () => {
    expect(leavesNeeded({ level: 0, index: 0, width: 3 })).toBe(3);
    expect(leavesNeeded({ level: 0, index: 1, width: 256 })).toBe(512);
    expect(leavesNeeded({ level: 1, index: 0, width: 2 })).toBe(512);
    expect(leavesNeeded({ level: 40, index: 0, width: 1 })).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('tile hashes are the tree nodes at level 8·L', () => {
  const leaves = Array.from({ length: 65_536 + 700 }, (_, i) => hashLeaf(new TextEncoder().encode(`entry ${i}`)));
  let reads = 0;
  const hasher = createTileHasher(async (start, count) => {
    reads++;
    if (start + count > leaves.length) throw new Error('beyond the log');
    return leaves.slice(start, start + count);
  });
  const split = (bytes: Uint8Array) =>
    Array.from({ length: bytes.length / 32 }, (_, i) => Buffer.from(bytes.subarray(i * 32, i * 32 + 32)));
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

  test('level 0: leaf hashes, full and partial', async () => {
    const full = split(await hasher.tile({ level: 0, index: 3, width: 256 }));
    expect(full.map(hex)).toEqual(leaves.slice(768, 1024).map(hex));
    const partial = split(await hasher.tile({ level: 0, index: 256, width: 5 }));
    expect(partial.map(hex)).toEqual(leaves.slice(65_536, 65_541).map(hex));
  });

  test('level 1: each hash is the root of 256 leaves; level 2: of 65,536', async () => {
    const l1 = split(await hasher.tile({ level: 1, index: 0, width: 256 }));
    expect(l1).toHaveLength(256);
    for (const j of [0, 1, 200, 255]) expect(hex(l1[j]!)).toBe(hex(merkleTreeHash(leaves.slice(j * 256, (j + 1) * 256))));
    const l1b = split(await hasher.tile({ level: 1, index: 1, width: 2 }));
    expect(hex(l1b[1]!)).toBe(hex(merkleTreeHash(leaves.slice(65_536 + 256, 65_536 + 512))));
    const [l2] = split(await hasher.tile({ level: 2, index: 0, width: 1 }));
    expect(hex(l2!)).toBe(hex(merkleTreeHash(leaves.slice(0, 65_536))));
  });

  test('full tiles below are remembered: the level-2 hash reads no leaf again', async () => {
    const before = reads;
    await hasher.tile({ level: 2, index: 0, width: 1 });
    await hasher.tile({ level: 1, index: 0, width: 256 });
    expect(reads).toBe(before);
  });
});

describe('consistency proofs read from tiles (tile-proofs.ts) are the RFC 9162 proofs', () => {
  const leaves = Array.from({ length: 65_536 + 700 }, (_, i) => hashLeaf(new TextEncoder().encode(`leaf ${i}`)));
  const hasher = createTileHasher(async (start, count) => leaves.slice(start, start + count));
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

  test('for small, aligned and multi-level sizes, equal to the proof over the leaves, and it verifies', async () => {
    for (const [m, n] of [
      [1, 2],
      [3, 7],
      [100, 300],
      [255, 256],
      [256, 513],
      [1000, 65_536],
      [257, 65_536 + 700],
      [65_536, 65_536 + 700],
    ] as const) {
      const served: string[] = [];
      const reader = createTileNodeReader(async (t) => {
        // a log of n leaves serves only what its tree holds
        expect(leavesNeeded(t)).toBeLessThanOrEqual(n);
        served.push(tilePath(t));
        return hasher.tile(t);
      }, n);
      const proof = await reader.consistencyProof(m);
      expect({ m, n, proof: proof.map(hex) }).toEqual({ m, n, proof: consistencyPath(m, leaves.slice(0, n)).map(hex) });
      const fromRoot = merkleTreeHash(leaves.slice(0, m));
      const toRoot = merkleTreeHash(leaves.slice(0, n));
      expect(verifyConsistency({ fromSize: m, toSize: n, fromRoot, toRoot, proof })).toBe(true);
      expect(served.length).toBeLessThan(20);
    }
  });
});
