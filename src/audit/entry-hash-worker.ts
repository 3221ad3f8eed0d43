/**
 * Worker thread of {@link createWorkerPageHasher} (page-hasher.ts): hashes a page of stored audit entries, each
 * from its stored `prev_hash` and its entry as JSON text, exactly as `entryHash` does on the main thread.
 */
import { entryHash } from './hash-chain.ts';
import type { HashedEntry, PageRequest } from './page-hasher.ts';

declare const self: Worker;

self.onmessage = (event: MessageEvent<PageRequest>) => {
  const { id, rows } = event.data;
  const hashes: HashedEntry[] = rows.map((r) => {
    try {
      return entryHash(r.prevHash, JSON.parse(r.entry));
    } catch (err) {
      return { error: (err as Error).message };
    }
  });
  self.postMessage({ id, hashes });
};
