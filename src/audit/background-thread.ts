/**
 * Worker threads doing background work (audit group commit, checkpoint hashing) run niced, so requests on the
 * serving thread and PostgreSQL come first when the cores are busy. On Linux the nice value of PRIO_PROCESS 0 is
 * the calling thread's own; where lowering it is not possible the thread runs at normal priority.
 */
import { setPriority } from 'node:os';

/** Nice value of background worker threads (0 normal, 19 lowest). */
const BACKGROUND_NICE = 10;

/** Lowers the calling thread's priority; call at the top of a worker's script. */
export function runAsBackgroundThread(): void {
  try {
    setPriority(BACKGROUND_NICE);
  } catch {}
}
