/**
 * The hashes a recorder computed for the entries it appended since its last checkpoint, by seq (verify-chain.ts,
 * `knownHashes`). Bounded: past `max` entries (checkpoints failing for a long time) the newest are not remembered,
 * and the next checkpoint verifies those in full, as it would without this.
 */
import type { KnownHashes } from './verify-chain.ts';

export interface AppendedHashes extends KnownHashes {
  remember(rows: readonly { seq: number; hash: string }[]): void;
  /** A checkpoint of `size` entries was taken: entries up to it are not verified again. */
  forgetUpTo(size: number): void;
  readonly size: number;
}

export function createAppendedHashes(max = 100_000): AppendedHashes {
  const hashes = new Map<number, string>();
  return {
    get: (seq) => hashes.get(seq),
    remember(rows) {
      for (const r of rows) {
        if (hashes.size >= max) return;
        hashes.set(r.seq, r.hash);
      }
    },
    forgetUpTo(size) {
      // seqs were remembered in increasing order (one recorder appends one group commit at a time)
      for (const seq of hashes.keys()) {
        if (seq > size) break;
        hashes.delete(seq);
      }
    },
    get size() {
      return hashes.size;
    },
  };
}
