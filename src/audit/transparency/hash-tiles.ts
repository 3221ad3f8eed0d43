/**
 * C2SP tlog-tiles hash tiles of the audit log's Merkle tree, served to anyone at `GET /audit/tile/<L>/<N>[.p/<W>]`
 * (the tlog-tiles prefix is `/audit`, next to `/audit/checkpoint`): with them and the signed checkpoint an outsider
 * proves inclusion and consistency with any tlog client (Go's `sumdb/tlog.TileHashReader`, Sigstore's and
 * Cloudflare's) and needs no token. A tile holds hashes only (leaf hashes are SHA-256 over an entry's chain hash),
 * never an entry: the entry-bundle tiles (`tile/entries/…`) are not published.
 *
 * Tile height 8: tile (L, N) of width W holds the W consecutive node hashes at tree level 8·L starting at node
 * N·256, each the root of a perfect subtree of 256^L leaves. Level 0 is read from the database; a level above is
 * the roots of the full tiles below it, kept in memory (32 bytes each, immutable: the log is append-only), so
 * reading the whole tree costs each leaf one database read per process. Pure over `readLeaves`, so tests can tile
 * a log of their own (a forged one) with the same code.
 */
import { merkleTreeHash } from '../merkle.ts';

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 2 ** TILE_HEIGHT;
/** tlog-tiles allows levels 0..63; any level above 6 needs more leaves than a safe integer counts. */
const MAX_LEVEL = 63;

export interface TileCoordinate {
  level: number;
  index: number;
  /** Hashes in the tile: 1..256, 256 being a full tile. */
  width: number;
}

const INDEX_PATH = /^(?:x[0-9]{3}\/)*[0-9]{3}$/;

/** `<N>` in 3-digit path elements, all but the last prefixed with `x` (1234067 → `x001/x234/067`). */
export function encodeTileIndex(n: number): string {
  const groups: string[] = [];
  let v = n;
  do {
    groups.unshift(String(v % 1000).padStart(3, '0'));
    v = Math.floor(v / 1000);
  } while (v > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

export function tilePath(t: TileCoordinate): string {
  return `tile/${t.level}/${encodeTileIndex(t.index)}${t.width < TILE_WIDTH ? `.p/${t.width}` : ''}`;
}

/** Parses `<L>/<N>[.p/<W>]` (what follows `tile/`); null unless canonical (no leading zeros, W in 1..255). */
export function parseTilePath(rest: string): TileCoordinate | null {
  const m = /^(0|[1-9][0-9]?)\/(.+?)(?:\.p\/([1-9][0-9]{0,2}))?$/.exec(rest);
  if (!m) return null;
  const level = Number(m[1]);
  const indexPath = m[2] as string;
  if (level > MAX_LEVEL || !INDEX_PATH.test(indexPath)) return null;
  const index = Number(indexPath.replaceAll('x', '').replaceAll('/', ''));
  if (!Number.isSafeInteger(index) || encodeTileIndex(index) !== indexPath) return null;
  if (m[3] !== undefined && Number(m[3]) >= TILE_WIDTH) return null;
  return { level, index, width: m[3] === undefined ? TILE_WIDTH : Number(m[3]) };
}

/** Leaves a tree of `size` must hold for the tile to be complete in it (Infinity beyond safe integers). */
export function leavesNeeded(t: TileCoordinate): number {
  const n = (t.index * TILE_WIDTH + t.width) * 2 ** (TILE_HEIGHT * t.level);
  return Number.isSafeInteger(n) ? n : Number.POSITIVE_INFINITY;
}

/** Leaf hashes [start, start + count) in order (0-based leaf indexes); throws when any is missing. */
export type ReadLeafHashes = (start: number, count: number) => Promise<Uint8Array[]>;

export interface TileHasherOptions {
  /** Roots of full tiles kept (32 bytes each; cleared when full). @default 500_000 */
  maxRoots?: number;
  /** Full tiles kept as served bytes (8 KiB each). @default 256 */
  maxTiles?: number;
}

export function createTileHasher(readLeaves: ReadLeafHashes, o: TileHasherOptions = {}) {
  const maxRoots = o.maxRoots ?? 500_000;
  const maxTiles = o.maxTiles ?? 256;
  const roots = new Map<string, Uint8Array>();
  const tiles = new Map<string, Uint8Array<ArrayBuffer>>();

  const rootKey = (level: number, index: number) => `${level}/${index}`;
  function keepRoot(level: number, index: number, root: Uint8Array) {
    if (roots.size >= maxRoots) roots.clear();
    roots.set(rootKey(level, index), root);
  }

  /** Root of the full tile (level, index): the node at tree level 8·(level + 1). */
  async function fullTileRoot(level: number, index: number): Promise<Uint8Array> {
    const kept = roots.get(rootKey(level, index));
    if (kept) return kept;
    const root = merkleTreeHash(await nodes(level, index * TILE_WIDTH, TILE_WIDTH));
    keepRoot(level, index, root);
    return root;
  }

  /** `count` node hashes at tree level 8·level from node `start`. */
  async function nodes(level: number, start: number, count: number): Promise<Uint8Array[]> {
    if (level === 0) return readLeaves(start, count);
    if (level === 1 && Array.from({ length: count }, (_, j) => !roots.has(rootKey(0, start + j))).some(Boolean)) {
      // the leaves of all `count` level-0 tiles in one paged read rather than one query per tile
      const leaves = await readLeaves(start * TILE_WIDTH, count * TILE_WIDTH);
      for (let j = 0; j < count; j++) keepRoot(0, start + j, merkleTreeHash(leaves.slice(j * TILE_WIDTH, (j + 1) * TILE_WIDTH)));
    }
    const out: Uint8Array[] = [];
    for (let j = 0; j < count; j++) out.push(await fullTileRoot(level - 1, start + j));
    return out;
  }

  return {
    /**
     * The tile's bytes (`width` hashes of 32 bytes). The caller checks first that the tree it publishes holds
     * {@link leavesNeeded} leaves; `readLeaves` throws if the log is shorter.
     */
    async tile(t: TileCoordinate): Promise<Uint8Array<ArrayBuffer>> {
      const key = `${t.level}/${t.index}`;
      if (t.width === TILE_WIDTH) {
        const kept = tiles.get(key);
        if (kept) return kept;
      }
      const hashes = await nodes(t.level, t.index * TILE_WIDTH, t.width);
      const bytes = new Uint8Array(t.width * 32);
      hashes.forEach((h, i) => bytes.set(h, i * 32));
      if (t.width === TILE_WIDTH) {
        if (tiles.size >= maxTiles) tiles.delete(tiles.keys().next().value as string);
        tiles.set(key, bytes);
        keepRoot(t.level, t.index, merkleTreeHash(hashes));
      }
      return bytes;
    },
  };
}

export type TileHasher = ReturnType<typeof createTileHasher>;
