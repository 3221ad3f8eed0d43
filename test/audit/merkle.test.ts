import { describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import {
  hashLeaf,
  inclusionPath,
  inclusionProof,
  leafHashOfEntry,
  MerkleAccumulator,
  merkleRoot,
  merkleTreeHash,
  verifyInclusion,
} from '../../src/audit/merkle.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

// RFC 6962 / RFC 9162 reference leaves and roots (transparency-dev/merkle testonly constants), data only.
const CT_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(unhex);
const CT_ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const CT_INCLUSION = [
  {
    index: 0,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    index: 5,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];

const entryHashes = (n: number) => Array.from({ length: n }, (_, i) => createHash('sha256').update(`entry ${i}`).digest('hex'));

describe('RFC 9162 Merkle tree', () => {
  test('the tree hash matches the published reference root for every size 0..8', () => {
    const leaves = CT_LEAVES.map(hashLeaf);
    for (let n = 0; n <= 8; n++) expect(hex(merkleTreeHash(leaves.slice(0, n)))).toBe(CT_ROOTS[n] as string);
  });

  test('inclusion paths match the published reference proofs in the tree of size 8', () => {
    const leaves = CT_LEAVES.map(hashLeaf);
    for (const v of CT_INCLUSION) {
      expect(inclusionPath(v.index, leaves).map(hex)).toEqual(v.proof);
      expect(
        verifyInclusion({
          leafHash: hex(leaves[v.index] as Uint8Array),
          index: v.index,
          treeSize: 8,
          proof: v.proof,
          rootHash: CT_ROOTS[8] as string,
        }),
      ).toBe(true);
    }
  });

  test('an inclusion proof verifies for every index of trees of size 1 to 20', () => {
    const all = entryHashes(20);
    for (let n = 1; n <= 20; n++) {
      const hashes = all.slice(0, n);
      const rootHash = merkleRoot(hashes);
      for (let i = 0; i < n; i++) {
        const proof = inclusionProof(i, hashes);
        expect(verifyInclusion({ entryHash: hashes[i], index: i, treeSize: n, proof, rootHash })).toBe(true);
        expect(verifyInclusion({ leafHash: leafHashOfEntry(hashes[i] as string), index: i, treeSize: n, proof, rootHash })).toBe(true);
      }
    }
  });

  test('a modified leaf, a wrong index, a tampered or padded proof, or the root of a larger tree fails verification', () => {
    const all = entryHashes(21);
    for (let n = 1; n <= 20; n++) {
      const hashes = all.slice(0, n);
      const rootHash = merkleRoot(hashes);
      for (let i = 0; i < n; i++) {
        const proof = inclusionProof(i, hashes);
        const entryHash = hashes[i] as string;
        const modified = createHash('sha256').update(`modified ${i}`).digest('hex');
        expect(verifyInclusion({ entryHash: modified, index: i, treeSize: n, proof, rootHash })).toBe(false);
        if (n > 1) {
          expect(verifyInclusion({ entryHash, index: (i + 1) % n, treeSize: n, proof, rootHash })).toBe(false);
          expect(verifyInclusion({ entryHash, index: i, treeSize: n, proof: proof.slice(1), rootHash })).toBe(false);
          const flipped = proof.map((p, j) => (j === 0 ? `${p.slice(0, 63)}${p[63] === '0' ? '1' : '0'}` : p));
          expect(verifyInclusion({ entryHash, index: i, treeSize: n, proof: flipped, rootHash })).toBe(false);
        }
        // The same proof does not prove membership in the next, larger tree.
        const grownRoot = merkleRoot(all.slice(0, n + 1));
        expect(verifyInclusion({ entryHash, index: i, treeSize: n + 1, proof, rootHash: grownRoot })).toBe(false);
        expect(verifyInclusion({ entryHash, index: i, treeSize: n, proof: [...proof, entryHash], rootHash })).toBe(false);
      }
    }
  });

  test('malformed verification input is rejected without throwing', () => {
    const hashes = entryHashes(4);
    const rootHash = merkleRoot(hashes);
    const proof = inclusionProof(1, hashes);
    expect(verifyInclusion({ entryHash: hashes[1], index: -1, treeSize: 4, proof, rootHash })).toBe(false);
    expect(verifyInclusion({ entryHash: hashes[1], index: 4, treeSize: 4, proof, rootHash })).toBe(false);
    expect(verifyInclusion({ entryHash: 'zz', index: 1, treeSize: 4, proof, rootHash })).toBe(false);
    expect(verifyInclusion({ index: 1, treeSize: 4, proof, rootHash })).toBe(false);
    expect(verifyInclusion({ entryHash: hashes[1], index: 1, treeSize: 4, proof: ['nope'], rootHash })).toBe(false);
  });

  test('the streaming accumulator gives the same root as the whole-tree computation at every size', () => {
    const all = entryHashes(70);
    const acc = new MerkleAccumulator();
    expect(acc.root()).toBe(CT_ROOTS[0] as string);
    all.forEach((h, i) => {
      acc.push(h);
      expect(acc.size).toBe(i + 1);
      expect(acc.root()).toBe(merkleRoot(all.slice(0, i + 1)));
    });
  });
});
