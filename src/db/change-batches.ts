/**
 * One-statement changes (src/db/fused-statements.ts) of concurrent requests written together: changes of one group
 * (a submission's: the jurisdiction's permit-number counter row for the year) that arrive while that group's previous
 * statement runs wait for it and then go as ONE multi-row statement, their own transaction. Under load the counter
 * row is then locked by one statement at a time instead of by 64 that wake each other up at every commit, and a
 * batch shares one commit (one WAL flush) and one round trip.
 *
 * A batch is an optimisation only: if its statement fails for any reason, every change in it runs again on its own,
 * so each gets exactly the answer (and the error) it would have had alone; the failed statement left nothing behind.
 * A change alone in its group runs as its own statement, as before.
 */
import type { Executor } from './client.ts';

/** How a change joins a batch: its group, the group's values, its own row, and the batch's multi-row statement. */
export interface ChangeBatching {
  /** Changes with the same group may share a statement (e.g. `submission\0<jurisdiction>\0<year>`). */
  group: string;
  /** Values shared by the whole group (the same for every change in it). */
  params: Record<string, unknown>;
  /** This change's values, one row of the batch. */
  row: Record<string, unknown>;
  /** Writes every row in one statement; answers one result row per input row, in order. */
  run: (db: Executor, params: Record<string, unknown>, rows: Record<string, unknown>[]) => Promise<Record<string, unknown>[]>;
}

interface Member {
  batching: ChangeBatching;
  /** Runs this change alone: the fallback after a failed batch, and the path of a change alone in its group. */
  alone: () => Promise<unknown>;
  /** Reads this change's answer from its row of the batch's result. */
  fromRow: (row: Record<string, unknown>) => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** At most this many changes per statement (the rest wait for the next one). */
const MAX_BATCH = 64;

export interface ChangeBatches {
  /** Runs the change, alone or batched with others of its group; resolves with its own answer. */
  write<T>(batching: ChangeBatching, alone: () => Promise<T>, fromRow: (row: Record<string, unknown>) => T): Promise<T>;
}

const byDatabase = new WeakMap<object, ChangeBatches>();

/** The batches of this database handle (one set per handle, shared by every request). */
export function changeBatchesOf(db: Executor): ChangeBatches {
  let batches = byDatabase.get(db);
  if (!batches) byDatabase.set(db, (batches = createChangeBatches(db)));
  return batches;
}

export function createChangeBatches(db: Executor): ChangeBatches {
  const waiting = new Map<string, Member[]>();
  const running = new Set<string>();

  const settleAlone = (m: Member) => m.alone().then(m.resolve, m.reject);

  async function runBatch(group: string, members: Member[]): Promise<void> {
    if (members.length === 1) return settleAlone(members[0]!);
    const first = members[0]!.batching;
    let rows: Record<string, unknown>[];
    try {
      rows = await first.run(
        db,
        first.params,
        members.map((m) => m.batching.row),
      );
      if (rows.length !== members.length) throw new Error(`change batch ${group}: ${rows.length} rows for ${members.length} changes`);
    } catch {
      // each change again on its own: its own outcome (and, were the database down, one wait for all, not one each)
      await Promise.all(members.map(settleAlone));
      return;
    }
    members.forEach((m, i) => {
      try {
        m.resolve(m.fromRow(rows[i]!));
      } catch (err) {
        m.reject(err);
      }
    });
  }

  function drain(group: string): void {
    const queue = waiting.get(group);
    if (!queue || queue.length === 0 || running.has(group)) return;
    const members = queue.splice(0, MAX_BATCH);
    if (queue.length === 0) waiting.delete(group);
    running.add(group);
    void runBatch(group, members).finally(() => {
      running.delete(group);
      drain(group);
    });
  }

  return {
    write<T>(batching: ChangeBatching, alone: () => Promise<T>, fromRow: (row: Record<string, unknown>) => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        let queue = waiting.get(batching.group);
        const first = !queue;
        if (!queue) waiting.set(batching.group, (queue = []));
        queue.push({ batching, alone, fromRow, resolve: resolve as (v: unknown) => void, reject });
        // the rest of this event-loop turn joins the batch; while the group's statement runs, later ones wait for it
        if (first) setImmediate(() => drain(batching.group));
      });
    },
  };
}
