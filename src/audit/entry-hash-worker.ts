/**
 * Worker thread of {@link createWorkerPageHasher} (page-hasher.ts): hashes a page of stored audit entries, each
 * from its stored `prev_hash` and its entry as JSON text, with the same `hashPage` the main thread falls back to.
 */
import { setPriority } from 'node:os';
import { hashPage, type PageRequest } from './page-hasher.ts';

declare const self: Worker;

// verification is background work: requests on the serving thread come first (Linux: this thread's nice value)
try {
  setPriority(10);
} catch {}

self.onmessage = (event: MessageEvent<PageRequest>) => {
  const { id, rows } = event.data;
  self.postMessage({ id, hashes: hashPage(rows) });
};
