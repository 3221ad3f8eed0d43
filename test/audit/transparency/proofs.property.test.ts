/**
 * Property tests (fast-check) over random tree sizes: every proof we generate verifies, and any change to the
 * proof, the sizes or the roots is refused. Complements the published vectors, which stop at 8 leaves.
 */
import { describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import { hashLeaf, inclusionPath, merkleTreeHash, verifyInclusion } from '../../../src/audit/merkle.ts';
import { consistencyPath, verifyConsistency } from '../../../src/audit/transparency/consistency.ts';

const leaves = (n: number) => Array.from({ length: n }, (_, i) => hashLeaf(new TextEncoder().encode(`leaf ${i}`)));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const flip = (b: Uint8Array, bit: number) => {
  const c = new Uint8Array(b);
  const i = (bit >> 3) % c.length;
  c[i] = (c[i] ?? 0) ^ (1 << (bit & 7));
  return c;
};

const ALL = leaves(300);

describe('consistency proofs over random sizes', () => {
  test('a generated proof verifies, and a mutated one does not', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 299 }), fc.nat(255), fc.nat(), (n, mRaw, bit, pick) => {
        const m = (mRaw % n) + 1;
        const tree = ALL.slice(0, n);
        const fromRoot = merkleTreeHash(tree.slice(0, m));
        const toRoot = merkleTreeHash(tree);
        const proof = consistencyPath(m, tree);
        expect(verifyConsistency({ fromSize: m, toSize: n, fromRoot, toRoot, proof })).toBe(true);
        // a flipped bit anywhere in the proof or either root is refused
        if (proof.length) {
          const i = pick % proof.length;
          const bad = proof.map((p, j) => (j === i ? flip(p, bit) : p));
          expect(verifyConsistency({ fromSize: m, toSize: n, fromRoot, toRoot, proof: bad })).toBe(false);
          expect(verifyConsistency({ fromSize: m, toSize: n, fromRoot, toRoot, proof: proof.slice(0, -1) })).toBe(false);
          expect(verifyConsistency({ fromSize: m, toSize: n, fromRoot, toRoot, proof: [...proof, toRoot] })).toBe(false);
        }
        expect(verifyConsistency({ fromSize: m, toSize: n, fromRoot: flip(fromRoot, bit), toRoot, proof })).toBe(false);
        expect(verifyConsistency({ fromSize: m, toSize: n, fromRoot, toRoot: flip(toRoot, bit), proof })).toBe(false);
        // the same proof does not vouch for a larger tree
        if (n < 300) {
          const otherRoot = merkleTreeHash(ALL.slice(0, n + 1));
          expect(verifyConsistency({ fromSize: m, toSize: n + 1, fromRoot, toRoot: otherRoot, proof })).toBe(false);
        }
      }),
      { numRuns: 400 },
    );
  });

  test('a tree that rewrote an old leaf is not consistent with the old root', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 200 }), fc.nat(), fc.nat(), (n, mRaw, changedRaw) => {
        const m = (mRaw % (n - 1)) + 1;
        const changed = changedRaw % m;
        const forked = ALL.slice(0, n).map((l, i) => (i === changed ? hashLeaf(new TextEncoder().encode('forged')) : l));
        const proof = consistencyPath(m, forked);
        const honestOldRoot = merkleTreeHash(ALL.slice(0, m));
        expect(verifyConsistency({ fromSize: m, toSize: n, fromRoot: honestOldRoot, toRoot: merkleTreeHash(forked), proof })).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});

describe('inclusion proofs over random sizes', () => {
  test('a generated proof verifies for its index only', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.nat(), fc.nat(255), (n, iRaw, bit) => {
        const i = iRaw % n;
        const tree = ALL.slice(0, n);
        const rootHash = hex(merkleTreeHash(tree));
        const proof = inclusionPath(i, tree).map(hex);
        const leafHash = hex(tree[i]!);
        expect(verifyInclusion({ leafHash, index: i, treeSize: n, rootHash, proof })).toBe(true);
        if (n > 1) expect(verifyInclusion({ leafHash, index: (i + 1) % n, treeSize: n, rootHash, proof })).toBe(false);
        expect(verifyInclusion({ leafHash: hex(flip(tree[i]!, bit)), index: i, treeSize: n, rootHash, proof })).toBe(false);
        if (proof.length) {
          const bad = [...proof];
          bad[bit % bad.length] = hex(flip(Buffer.from(bad[bit % bad.length]!, 'hex'), bit));
          expect(verifyInclusion({ leafHash, index: i, treeSize: n, rootHash, proof: bad })).toBe(false);
        }
      }),
      { numRuns: 400 },
    );
  });
});
