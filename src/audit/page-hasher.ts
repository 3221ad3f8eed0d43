/**
 * Hashing of audit entries during verification, page by page, off the serving thread.
 *
 * A periodic checkpoint verifies every entry appended since the previous one: it parses, canonicalises and hashes
 * each again (a checkpoint must not vouch for entries it did not check). In a serving process that took a visible share of
 * the thread's time under load, in stretches long enough to show in the latency tail. The worker does the parsing, canonical JSON and
 * SHA-256 of a page (entries cross as JSON text); the chain's order, links and Merkle tree stay on the caller's
 * side, in `ChainVerifier`. If the worker fails, pages are hashed inline, as before.
 */
import { entryHash } from './hash-chain.ts';

/** One entry as stored: its `prev_hash` and the entry's JSON text. */
export interface StoredEntryText {
  prevHash: string;
  entry: string;
}

/** The entry's hash, or why it cannot be hashed. */
export type HashedEntry = string | { error: string };

/** @internal the worker's protocol */
export interface PageRequest {
  id: number;
  rows: StoredEntryText[];
}

export interface PageHasher {
  hash(rows: StoredEntryText[]): Promise<HashedEntry[]>;
  close(): void;
}

/** {@link entryHash} of an entry, or why it cannot be hashed (verification reports it as such). */
export function hashOrReason(prevHash: string, entry: () => unknown): HashedEntry {
  try {
    return entryHash(prevHash, entry());
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** The hashes of a page, in this thread (also what the worker runs). */
export function hashPage(rows: StoredEntryText[]): HashedEntry[] {
  return rows.map((r) => hashOrReason(r.prevHash, () => JSON.parse(r.entry)));
}

export const inlinePageHasher: PageHasher = {
  hash: async (rows) => hashPage(rows),
  close: () => {},
};

/** A worker thread, started on first use; it does not keep the process alive. */
export function createWorkerPageHasher(opts: { onFallback?: (err: unknown) => void; answerMs?: number } = {}): PageHasher {
  const answerMs = opts.answerMs ?? 10_000;
  let worker: Worker | null = null;
  let broken = false;
  let nextId = 1;
  const waiting = new Map<number, { resolve: (h: HashedEntry[]) => void; rows: StoredEntryText[] }>();

  const fallBack = (err: unknown) => {
    if (broken) return;
    broken = true;
    opts.onFallback?.(err);
    worker?.terminate();
    worker = null;
    // pages in flight are hashed here instead
    for (const [id, w] of waiting) {
      waiting.delete(id);
      w.resolve(hashPage(w.rows));
    }
  };

  const start = (): Worker => {
    const w = new Worker(new URL('./entry-hash-worker.ts', import.meta.url).href);
    (w as unknown as { unref?: () => void }).unref?.(); // Bun: the worker does not keep the process alive
    w.onmessage = (event: MessageEvent<{ id: number; hashes: HashedEntry[] }>) => {
      const pending = waiting.get(event.data.id);
      if (!pending) return;
      waiting.delete(event.data.id);
      pending.resolve(event.data.hashes);
    };
    w.onerror = (event) => fallBack(event instanceof ErrorEvent ? (event.error ?? event.message) : event);
    return w;
  };

  return {
    hash(rows) {
      if (broken || rows.length === 0) return Promise.resolve(hashPage(rows));
      try {
        worker ??= start();
        const id = nextId++;
        const result = new Promise<HashedEntry[]>((resolve) => waiting.set(id, { resolve, rows }));
        worker.postMessage({ id, rows } satisfies PageRequest);
        // a worker that stops answering must not stall the checkpoint for good
        const timer = setTimeout(
          () => waiting.has(id) && fallBack(new Error(`no answer from the hashing worker in ${answerMs} ms`)),
          answerMs,
        );
        timer.unref?.();
        return result.finally(() => clearTimeout(timer));
      } catch (err) {
        fallBack(err);
        return Promise.resolve(hashPage(rows));
      }
    },
    close() {
      worker?.terminate();
      worker = null;
      for (const [id, w] of waiting) {
        waiting.delete(id);
        w.resolve(hashPage(w.rows));
      }
    },
  };
}
