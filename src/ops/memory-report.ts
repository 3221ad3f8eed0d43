/**
 * SIGUSR2: a full garbage collection, then one log line with what the process holds afterwards (RSS, JS heap).
 *
 * What survives a full collection is what a leak would grow. RSS read at an arbitrary moment mostly shows how far
 * the heap happened to grow since the last collection (it swings widely between two identical load runs), so the
 * benchmark's leak check and an operator watching a long-running instance both compare post-collection figures.
 * The collection pauses the process for tens of milliseconds: send the signal when that is acceptable.
 * On the embedded database the JS heap figures include PGlite's WebAssembly memory (reserved, not all resident).
 */
import { heapStats } from 'bun:jsc';
import type { Logger } from '../logger.ts';

export interface MemoryReport {
  rss_mb: number;
  heap_used_mb: number;
  heap_capacity_mb: number;
  objects: number;
  gc_ms: number;
}

const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

/** Runs a full, synchronous collection and reports the memory left. */
export function collectAndReport(): MemoryReport {
  const started = performance.now();
  Bun.gc(true);
  const gcMs = performance.now() - started;
  const heap = heapStats();
  return {
    rss_mb: mb(process.memoryUsage.rss()),
    heap_used_mb: mb(heap.heapSize),
    heap_capacity_mb: mb(heap.heapCapacity),
    objects: heap.objectCount,
    gc_ms: Math.round(gcMs * 10) / 10,
  };
}

/** Installs the SIGUSR2 handler; returns a function that removes it. */
export function reportMemoryOnSignal(log: Logger, signal: NodeJS.Signals = 'SIGUSR2'): () => void {
  // warn: asked for explicitly, it shows at every level but error (the benchmark runs its app at warn)
  const handler = () => log.warn({ memory: collectAndReport(), signal }, 'memory after a full garbage collection');
  process.on(signal, handler);
  return () => process.off(signal, handler);
}
