/**
 * Our RFC 9162 verifiers against the published transparency-dev/merkle vectors (data in vectors/): every happy
 * path accepted, every mutated proof refused. The tree behind them is the CT reference tree, so the same vectors
 * also check that proofs we generate are byte-for-byte the published ones.
 */
import { describe, expect, test } from 'bun:test';
import { hashLeaf, inclusionPath, verifyInclusion } from '../../../src/audit/merkle.ts';
import { consistencyPath, verifyConsistency } from '../../../src/audit/transparency/consistency.ts';
import consistencyVectors from './vectors/consistency.json';
import inclusionVectors from './vectors/inclusion.json';

const b = (s: string | null | undefined) => new Uint8Array(Buffer.from(s ?? '', 'base64'));
const hex = (s: string | null | undefined) => Buffer.from(s ?? '', 'base64').toString('hex');

// The CT reference leaves (RFC 6962 test data), from which the vectors' happy paths were computed.
const CT_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) =>
  hashLeaf(new Uint8Array(Buffer.from(h, 'hex'))),
);

interface ConsistencyVector {
  file: string;
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[] | null;
  wantErr: boolean;
}
interface InclusionVector {
  file: string;
  leafIdx: number;
  treeSize: number;
  root: string | null;
  leafHash: string | null;
  proof: string[] | null;
  wantErr: boolean;
}

describe('consistency proofs: published vectors', () => {
  const vectors = consistencyVectors as ConsistencyVector[];
  test('the data set is complete: happy paths and mutations', () => {
    expect(vectors.filter((v) => !v.wantErr).length).toBeGreaterThanOrEqual(5);
    expect(vectors.filter((v) => v.wantErr).length).toBeGreaterThanOrEqual(80);
  });
  for (const v of vectors) {
    test(`${v.file}: ${v.wantErr ? 'refused' : 'accepted'}`, () => {
      const ok = verifyConsistency({
        fromSize: v.size1,
        toSize: v.size2,
        fromRoot: b(v.root1),
        toRoot: b(v.root2),
        proof: (v.proof ?? []).map(b),
      });
      expect(ok).toBe(!v.wantErr);
    });
  }
  test('proofs we generate over the reference tree are the published happy paths', () => {
    const happy = vectors.filter((v) => !v.wantErr && v.size2 <= CT_LEAVES.length && v.size1 >= 1 && v.size1 < v.size2);
    expect(happy.length).toBeGreaterThanOrEqual(3);
    for (const v of happy) {
      const ours = consistencyPath(v.size1, CT_LEAVES.slice(0, v.size2)).map((p) => Buffer.from(p).toString('base64'));
      expect(ours).toEqual(v.proof ?? []);
    }
  });
});

describe('inclusion proofs: published vectors', () => {
  const vectors = inclusionVectors as InclusionVector[];
  for (const v of vectors) {
    test(`${v.file}: ${v.wantErr ? 'refused' : 'accepted'}`, () => {
      const ok = verifyInclusion({
        leafHash: hex(v.leafHash),
        index: v.leafIdx,
        treeSize: v.treeSize,
        rootHash: hex(v.root),
        proof: (v.proof ?? []).map(hex),
      });
      expect(ok).toBe(!v.wantErr);
    });
  }
  test('proofs we generate over the reference tree are the published happy paths', () => {
    for (const v of vectors.filter((x) => !x.wantErr && x.treeSize <= CT_LEAVES.length)) {
      const ours = inclusionPath(v.leafIdx, CT_LEAVES.slice(0, v.treeSize)).map((p) => Buffer.from(p).toString('base64'));
      expect(ours).toEqual(v.proof ?? []);
    }
  });
});
