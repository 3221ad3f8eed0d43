/**
 * Public status answers (`permitStatus`, `GET /status/{number}`) remembered while the jurisdiction's change counter
 * (src/db/change-counters.ts) vouches for them: any commit that changed a permit of the jurisdiction, on this
 * instance or another, changes the counter's mark and with it every remembered answer of that jurisdiction is
 * read again. A read overtaken by any change notification is not remembered (it may predate the commit), nor is
 * "no such permit" (the number's jurisdiction is not known until a permit has it). An answer is trusted for
 * `maxAgeMs` at most, a bound on a notification that never came.
 */
import { LRUCache } from 'lru-cache';

export interface PublicStatusRow {
  number: string;
  status: string;
  updatedAt: Date;
  jurisdiction: string;
}

export interface ChangeMarks {
  mark(jurisdiction: string): string | undefined;
  heard(): number;
}

export interface PublicStatusMemoOptions {
  /** Answers kept (LRU). @default 50000 */
  max?: number;
  /** Longest an answer is trusted without a read. @default 5000 */
  maxAgeMs?: number;
}

export function createPublicStatusMemo(marks: ChangeMarks, o: PublicStatusMemoOptions = {}) {
  const maxAgeMs = o.maxAgeMs ?? 5_000;
  const memo = new LRUCache<string, { row: PublicStatusRow; mark: string; at: number }>({ max: o.max ?? 50_000 });
  return {
    /** The permit's public status: remembered while still current, else from `read` (and remembered if it can be). */
    async get(number: string, read: () => Promise<PublicStatusRow | null>): Promise<PublicStatusRow | null> {
      const hit = memo.get(number);
      if (hit && hit.mark === marks.mark(hit.row.jurisdiction) && performance.now() - hit.at < maxAgeMs) return hit.row;
      const heard = marks.heard();
      const row = await read();
      if (!row) {
        memo.delete(number);
        return null;
      }
      const mark = marks.heard() === heard ? marks.mark(row.jurisdiction) : undefined;
      if (mark !== undefined) memo.set(number, { row, mark, at: performance.now() });
      else memo.delete(number);
      return row;
    },
  };
}
export type PublicStatusMemo = ReturnType<typeof createPublicStatusMemo>;
