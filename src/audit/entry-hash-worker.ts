/**
 * Worker thread of {@link createWorkerPageHasher} (page-hasher.ts): hashes a page of stored audit entries, each
 * from its stored `prev_hash` and its entry as JSON text, with the same `hashPage` the main thread falls back to.
 */
import { runAsBackgroundThread } from './background-thread.ts';
import { hashPage, type PageRequest } from './page-hasher.ts';

declare const self: Worker;

runAsBackgroundThread();

self.onmessage = (event: MessageEvent<PageRequest>) => {
  const { id, rows } = event.data;
  self.postMessage({ id, hashes: hashPage(rows) });
};
