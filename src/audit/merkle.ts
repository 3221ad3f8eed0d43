/**
 * RFC 9162 (Certificate Transparency v2, same tree as RFC 6962) Merkle Tree Hash over the audit chain.
 *
 * Why a Merkle tree on top of the hash chain: the chain proves order, but checking one entry against it
 * needs every entry before it. A signed checkpoint carrying the Merkle root lets an outside party check
 * one entry with log2(n) hashes (an inclusion proof), and the standard construction means any RFC 9162
 * verifier agrees with ours.
 *
 * Leaves: the leaf data of entry `seq` is the 32 raw bytes of its chain hash (hex-decoded), leaf index
 * `seq - 1`. Leaf hash = SHA-256(0x00 ‖ data), interior node = SHA-256(0x01 ‖ left ‖ right), the split
 * point is the largest power of two smaller than the size, the empty tree hashes to SHA-256("").
 * All hashes cross this module's boundary as lowercase hex.
 */
import { createHash } from 'node:crypto';

const LEAF_PREFIX = new Uint8Array([0x00]);
const NODE_PREFIX = new Uint8Array([0x01]);
const HEX_32 = /^[0-9a-f]{64}$/;

/** RFC 9162 leaf hash of arbitrary leaf data. */
export function hashLeaf(data: Uint8Array): Uint8Array {
  return createHash('sha256').update(LEAF_PREFIX).update(data).digest();
}

/** RFC 9162 interior node hash. */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

const EMPTY_ROOT = (): Uint8Array => createHash('sha256').digest();

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function fromHex32(hex: string, what: string): Uint8Array {
  if (!HEX_32.test(hex)) throw new TypeError(`${what} must be 64 lowercase hex characters`);
  return Buffer.from(hex, 'hex');
}

/** Largest power of two strictly smaller than n (n ≥ 2): RFC 9162's split point. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH over already-hashed leaves [start, end). */
function subtreeHash(leafHashes: readonly Uint8Array[], start: number, end: number): Uint8Array {
  const n = end - start;
  if (n === 0) return EMPTY_ROOT();
  if (n === 1) return leafHashes[start] as Uint8Array;
  const k = splitPoint(n);
  return hashChildren(subtreeHash(leafHashes, start, start + k), subtreeHash(leafHashes, start + k, end));
}

/** Merkle Tree Hash over leaf hashes (RFC 9162 §2.1.1); exported for the test vectors. */
export function merkleTreeHash(leafHashes: readonly Uint8Array[]): Uint8Array {
  return subtreeHash(leafHashes, 0, leafHashes.length);
}

/** The leaf hash (hex) of one audit entry, given its chain hash (hex). */
export function leafHashOfEntry(entryHash: string): string {
  return toHex(hashLeaf(fromHex32(entryHash, 'entry hash')));
}

/** Merkle root (hex) over the audit entries' chain hashes, in seq order. */
export function merkleRoot(entryHashes: readonly string[]): string {
  return toHex(merkleTreeHash(entryHashes.map((h) => hashLeaf(fromHex32(h, 'entry hash')))));
}

/** PATH(m, D[start:end]) of RFC 9162 §2.1.3.1, innermost sibling first. */
function path(leafHashes: readonly Uint8Array[], m: number, start: number, end: number): Uint8Array[] {
  const n = end - start;
  if (n <= 1) return [];
  const k = splitPoint(n);
  if (m < k) return [...path(leafHashes, m, start, start + k), subtreeHash(leafHashes, start + k, end)];
  return [...path(leafHashes, m - k, start + k, end), subtreeHash(leafHashes, start, start + k)];
}

/** Inclusion proof over leaf hashes (bytes); exported for the test vectors. */
export function inclusionPath(index: number, leafHashes: readonly Uint8Array[]): Uint8Array[] {
  if (!Number.isSafeInteger(index) || index < 0 || index >= leafHashes.length) {
    throw new RangeError(`inclusionPath: index ${index} outside a tree of size ${leafHashes.length}`);
  }
  return path(leafHashes, index, 0, leafHashes.length);
}

/**
 * Inclusion proof (hex, innermost sibling first) that the entry at leaf `index` (= seq - 1) is in the
 * tree made of `entryHashes`.
 */
export function inclusionProof(index: number, entryHashes: readonly string[]): string[] {
  const leaves = entryHashes.map((h) => hashLeaf(fromHex32(h, 'entry hash')));
  return inclusionPath(index, leaves).map(toHex);
}

export interface InclusionClaim {
  /** RFC 9162 leaf hash, SHA-256(0x00 ‖ entry hash bytes); give this or `entryHash`. */
  leafHash?: string;
  /** The entry's chain hash (the `hash` column); the leaf hash is derived from it. */
  entryHash?: string;
  /** Zero-based leaf index: seq - 1. */
  index: number;
  /** Number of entries the root covers: the checkpoint's `size`. */
  treeSize: number;
  /** Sibling hashes, innermost first, as produced by {@link inclusionProof}. */
  proof: readonly string[];
  /** The Merkle root to check against: the signed checkpoint's `rootHash`. */
  rootHash: string;
}

/**
 * Standalone RFC 9162 §2.1.3.2 inclusion verification: true only if the proof links the leaf to the
 * root. Never throws: malformed input is simply not a valid proof. Depends on nothing but node:crypto,
 * so an auditor can copy it out.
 */
export function verifyInclusion(claim: InclusionClaim): boolean {
  const { index, treeSize, proof, rootHash } = claim;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(treeSize) || index < 0 || index >= treeSize) return false;
  if (!HEX_32.test(rootHash) || !proof.every((p) => HEX_32.test(p))) return false;
  let leaf: Uint8Array;
  if (claim.leafHash !== undefined && claim.entryHash === undefined && HEX_32.test(claim.leafHash)) {
    leaf = Buffer.from(claim.leafHash, 'hex');
  } else if (claim.entryHash !== undefined && claim.leafHash === undefined && HEX_32.test(claim.entryHash)) {
    leaf = hashLeaf(Buffer.from(claim.entryHash, 'hex'));
  } else {
    return false;
  }
  // Plain arithmetic instead of bit operators: sizes may exceed 2^31.
  let fn = index;
  let sn = treeSize - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    const sibling = Buffer.from(p, 'hex');
    if (fn % 2 === 1 || fn === sn) {
      r = hashChildren(sibling, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn /= 2;
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = hashChildren(r, sibling);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && toHex(r) === rootHash;
}

/** One perfect subtree of the accumulator's right edge: its leaf count (a power of two) and root (hex). */
export interface FrontierNode {
  size: number;
  hash: string;
}

/**
 * Streaming Merkle root: O(log n) memory, one leaf at a time. Why: verification walks millions of
 * entries page by page and needs the root at every checkpoint size without keeping every hash.
 * Holds the roots of the perfect subtrees ("compact range"); folding them right to left gives the MTH.
 */
export class MerkleAccumulator {
  readonly #stack: { size: number; hash: Uint8Array }[] = [];
  #size = 0;

  /**
   * Resumes from a saved {@link frontier} (e.g. stored with a signed checkpoint): pushing the leaves after it
   * gives the same roots as pushing every leaf from the start, without them.
   */
  static fromFrontier(frontier: readonly FrontierNode[]): MerkleAccumulator {
    const acc = new MerkleAccumulator();
    let previous = Infinity;
    for (const n of frontier) {
      if (!Number.isSafeInteger(n.size) || n.size < 1 || (n.size & (n.size - 1)) !== 0 || n.size >= previous) {
        throw new TypeError('Merkle frontier: sizes must be strictly decreasing powers of two');
      }
      previous = n.size;
      acc.#stack.push({ size: n.size, hash: fromHex32(n.hash, 'frontier hash') });
      acc.#size += n.size;
    }
    return acc;
  }

  /** The right edge of the tree: enough to go on appending without the leaves before. */
  frontier(): FrontierNode[] {
    return this.#stack.map((n) => ({ size: n.size, hash: toHex(n.hash) }));
  }

  get size(): number {
    return this.#size;
  }

  /** Appends the leaf for one entry chain hash (hex). */
  push(entryHash: string): void {
    let node = hashLeaf(fromHex32(entryHash, 'entry hash'));
    let height = 1;
    for (let top = this.#stack.at(-1); top && top.size === height; top = this.#stack.at(-1)) {
      node = hashChildren(top.hash, node);
      this.#stack.pop();
      height *= 2;
    }
    this.#stack.push({ size: height, hash: node });
    this.#size += 1;
  }

  /** Merkle root (hex) of the leaves pushed so far. */
  root(): string {
    const last = this.#stack.at(-1);
    if (!last) return toHex(EMPTY_ROOT());
    let r = last.hash;
    for (let i = this.#stack.length - 2; i >= 0; i--) r = hashChildren((this.#stack[i] as { hash: Uint8Array }).hash, r);
    return toHex(r);
  }
}
