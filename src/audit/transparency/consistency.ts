/**
 * RFC 9162 §2.1.4 consistency proofs: that the tree of `toSize` leaves extends the tree of `fromSize` leaves,
 * checked with log2(n) hashes and the two roots only, so an auditor holding two checkpoints needs no database.
 *
 * The verifier uses plain arithmetic rather than bit operators (sizes may exceed 2^31) and refuses what the
 * published test vectors refuse: a proof from the empty tree (it proves nothing), equal sizes with a non-empty
 * proof, and any proof with hashes left over or missing. Depends on node:crypto only.
 */
import { hashChildren, merkleTreeHash } from '../merkle.ts';

/** Largest power of two strictly smaller than n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** SUBPROOF(m, D[start:end], b) of RFC 9162 §2.1.4.1, outermost hash last. */
function subproof(m: number, leaves: readonly Uint8Array[], start: number, end: number, complete: boolean): Uint8Array[] {
  const n = end - start;
  if (m === n) return complete ? [] : [merkleTreeHash(leaves.slice(start, end))];
  const k = splitPoint(n);
  if (m <= k) return [...subproof(m, leaves, start, start + k, complete), merkleTreeHash(leaves.slice(start + k, end))];
  return [...subproof(m - k, leaves, start + k, end, false), merkleTreeHash(leaves.slice(start, start + k))];
}

/** Consistency proof between the first `fromSize` leaves and all of `leafHashes` (0 < fromSize ≤ length). */
export function consistencyPath(fromSize: number, leafHashes: readonly Uint8Array[]): Uint8Array[] {
  const n = leafHashes.length;
  if (!Number.isSafeInteger(fromSize) || fromSize < 1 || fromSize > n) {
    throw new RangeError(`consistencyPath: size ${fromSize} is not within 1..${n}`);
  }
  if (fromSize === n) return [];
  return subproof(fromSize, leafHashes, 0, n, true);
}

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
const isOdd = (x: number) => x % 2 === 1;
const half = (x: number) => Math.floor(x / 2);

function isPowerOfTwo(x: number): boolean {
  let v = x;
  while (v > 1 && v % 2 === 0) v /= 2;
  return v === 1;
}

export interface ConsistencyClaim {
  fromSize: number;
  toSize: number;
  fromRoot: Uint8Array;
  toRoot: Uint8Array;
  proof: readonly Uint8Array[];
}

/** RFC 9162 §2.1.4.2: true only when `proof` shows the tree `toRoot` extends the tree `fromRoot`. Never throws. */
export function verifyConsistency(c: ConsistencyClaim): boolean {
  const { fromSize: m, toSize: n, fromRoot, toRoot, proof } = c;
  if (!Number.isSafeInteger(m) || !Number.isSafeInteger(n) || m < 1 || m > n) return false;
  if (m === n) return proof.length === 0 && equal(fromRoot, toRoot);
  if (proof.length === 0 || proof.some((p) => p.length !== 32)) return false;
  // a power-of-two old tree is itself a node of the new one, so its root starts the path
  const path = isPowerOfTwo(m) ? [fromRoot, ...proof] : [...proof];
  let fn = m - 1;
  let sn = n - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0] as Uint8Array;
  let sr = path[0] as Uint8Array;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && equal(fr, fromRoot) && equal(sr, toRoot);
}

const HEX_32 = /^[0-9a-f]{64}$/;

/** {@link verifyConsistency} over lowercase hex hashes, as the API and the CLI carry them. */
export function verifyConsistencyHex(c: {
  fromSize: number;
  toSize: number;
  fromRoot: string;
  toRoot: string;
  proof: readonly string[];
}): boolean {
  if (!HEX_32.test(c.fromRoot) || !HEX_32.test(c.toRoot) || !c.proof.every((p) => HEX_32.test(p))) return false;
  const b = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
  return verifyConsistency({ ...c, fromRoot: b(c.fromRoot), toRoot: b(c.toRoot), proof: c.proof.map(b) });
}
