/**
 * The client side of C2SP tlog-tiles: RFC 9162 consistency proofs built from a log's public hash tiles, so a
 * witness (`cli audit witness` without a token) needs nothing but the log's public endpoints.
 *
 * Why nothing read here is checked: the proof is only ever used through verifyConsistency against the two signed
 * roots, so a wrong tile makes the proof fail (as a rewritten log would); a tile of the wrong length is refused.
 */
import { hashChildren, merkleTreeHash } from '../merkle.ts';
import { TILE_HEIGHT, TILE_WIDTH, type TileCoordinate } from './hash-tiles.ts';

/** Largest power of two strictly smaller than n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** Node hashes of the tree of `treeSize` leaves, read from its tiles (each tile fetched once). */
export function createTileNodeReader(fetchTile: (t: TileCoordinate) => Promise<Uint8Array>, treeSize: number) {
  const tiles = new Map<string, Promise<Uint8Array>>();

  function tile(t: TileCoordinate): Promise<Uint8Array> {
    const key = `${t.level}/${t.index}/${t.width}`;
    let p = tiles.get(key);
    if (!p) {
      p = fetchTile(t).then((bytes) => {
        if (bytes.length !== t.width * 32) throw new Error(`tile ${key}: ${bytes.length} bytes, expected ${t.width * 32}`);
        return bytes;
      });
      tiles.set(key, p);
    }
    return p;
  }

  /** The root of the perfect subtree of 2^height leaves starting at leaf index·2^height. */
  async function node(height: number, index: number): Promise<Uint8Array> {
    const level = Math.floor(height / TILE_HEIGHT);
    const span = 2 ** (height % TILE_HEIGHT);
    const first = index * span;
    const n = Math.floor(first / TILE_WIDTH);
    // the widest tile the tree holds at that row: what the log serves for this tree size
    const width = Math.min(TILE_WIDTH, Math.floor(treeSize / 2 ** (TILE_HEIGHT * level)) - n * TILE_WIDTH);
    const bytes = await tile({ level, index: n, width });
    const offset = first - n * TILE_WIDTH;
    const hashes = Array.from({ length: span }, (_, i) => bytes.subarray((offset + i) * 32, (offset + i + 1) * 32));
    return merkleTreeHash(hashes);
  }

  /** MTH(D[start:end]) (RFC 9162 §2.1.1), from the fewest tile hashes. */
  async function subtreeHash(start: number, end: number): Promise<Uint8Array> {
    const n = end - start;
    let height = 0;
    while (2 ** height < n) height++;
    if (2 ** height === n && start % n === 0) return node(height, start / n);
    const k = splitPoint(n);
    return hashChildren(await subtreeHash(start, start + k), await subtreeHash(start + k, end));
  }

  /** SUBPROOF(m, D[start:end], complete) of RFC 9162 §2.1.4.1, outermost hash last. */
  async function subproof(m: number, start: number, end: number, complete: boolean): Promise<Uint8Array[]> {
    const n = end - start;
    if (m === n) return complete ? [] : [await subtreeHash(start, end)];
    const k = splitPoint(n);
    if (m <= k) return [...(await subproof(m, start, start + k, complete)), await subtreeHash(start + k, end)];
    return [...(await subproof(m - k, start + k, end, false)), await subtreeHash(start, start + k)];
  }

  return {
    /** Consistency proof from the tree of `fromSize` leaves to this tree (0 < fromSize ≤ treeSize). */
    async consistencyProof(fromSize: number): Promise<Uint8Array[]> {
      if (!Number.isSafeInteger(fromSize) || fromSize < 1 || fromSize > treeSize) {
        throw new RangeError(`consistency proof from size ${fromSize} in a tree of ${treeSize}`);
      }
      return fromSize === treeSize ? [] : subproof(fromSize, 0, treeSize, true);
    },
  };
}
