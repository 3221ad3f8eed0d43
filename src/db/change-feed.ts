/**
 * An instance's view of the committed changes every instance must hear of (table change_events, written by the
 * triggers in the transaction of each change: migration *_change_feed_triggers). It stands where LISTEN/NOTIFY
 * stood: a transaction that notified committed alone, under a database-wide lock held across its WAL flush, and
 * writes stopped sharing flushes (src/db/schema/change-events.ts). Rows are read only once committed, so a rolled-back
 * change is never heard of, and every instance reads every row, whichever instance or process (CLI, import,
 * outbox replay) wrote it.
 *
 * The feed polls while anyone listens (`pollMs`), reading the rows after the last one it saw. Ids come from a
 * sequence in insertion order, not commit order: a missing id is a transaction still in flight (or one that rolled
 * back), so it is asked for again at the next polls, for `gapTimeoutMs` at most. Two changes of one permit keep
 * their order (the second waits for the first's row lock, so its row is inserted after the first committed).
 */
import { type SQL, sql } from 'drizzle-orm';
import { rowsOf } from './rows.ts';

export interface ChangeFeedOptions {
  /** How often the table is read while someone listens. @default 50 */
  pollMs?: number;
  /** How long a missing id is waited for before it counts as rolled back. @default 60000 */
  gapTimeoutMs?: number;
  /** How long rows are kept for slower instances before a feed deletes them. @default 300000 */
  retainMs?: number;
  /** Told when a read fails (the database is down); the feed retries at the next poll. */
  onError?: (err: unknown) => void;
}

interface Subscriber {
  onMessage: (payload: string) => void;
  onReconnect?: () => void;
}

/** Gaps tracked at most: a sequence that jumped (e.g. a large rolled-back import) is not waited for id by id. */
const MAX_GAPS = 10_000;

/** What the feed needs of a database: statements (src/db/client.ts builds the feed, so no import back from it). */
export interface FeedDb {
  execute(query: SQL): PromiseLike<unknown>;
}

export function createChangeFeed(db: FeedDb, opts: ChangeFeedOptions = {}) {
  const pollMs = opts.pollMs ?? 50;
  const gapTimeoutMs = opts.gapTimeoutMs ?? 60_000;
  const retainMs = opts.retainMs ?? 300_000;
  const channels = new Map<string, Set<Subscriber>>();
  /** Missing ids below `last`, with when they were first missed. */
  const gaps = new Map<number, number>();
  /** (time, last id) marks, oldest first: rows up to a mark older than `retainMs` are pruned. */
  const marks: { at: number; last: number }[] = [];
  let last = -1;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let started: Promise<void> | null = null;
  let polling: Promise<void> | null = null;
  let failed = false;
  let closed = false;

  function deliver(channel: string, payload: string) {
    for (const s of channels.get(channel) ?? []) {
      try {
        s.onMessage(payload);
      } catch (err) {
        opts.onError?.(err);
      }
    }
  }

  async function read() {
    const missing = [...gaps.keys()];
    const rows = rowsOf<{ id: string | number; channel: string; payload: string }>(
      await db.execute(sql`select id, channel, payload from change_events
        where id > ${last} ${missing.length ? sql`or id = any(${`{${missing.join(',')}}`}::bigint[])` : sql``} order by id`),
    );
    const now = performance.now();
    for (const row of rows) {
      const id = Number(row.id);
      if (id > last) {
        for (let g = last + 1; g < id && gaps.size < MAX_GAPS; g++) gaps.set(g, now);
        last = id;
      }
      gaps.delete(id);
      deliver(row.channel, row.payload);
    }
    for (const [id, since] of gaps) if (now - since > gapTimeoutMs) gaps.delete(id);
    await prune(now);
  }

  async function prune(now: number) {
    if (marks.length === 0 || now - marks.at(-1)!.at >= retainMs / 5) marks.push({ at: now, last });
    let upTo = -1;
    while (marks.length > 1 && now - marks[0]!.at >= retainMs) upTo = marks.shift()!.last;
    if (upTo > 0) await db.execute(sql`delete from change_events where id <= ${upTo}`);
  }

  async function poll() {
    try {
      if (last < 0) await findStart();
      else await read();
      if (failed) {
        failed = false;
        // rows are not lost while the database was away, but listeners that cache (the change counters) start over
        for (const subs of channels.values()) for (const s of subs) s.onReconnect?.();
      }
    } catch (err) {
      failed = true;
      opts.onError?.(err);
    }
  }

  /** Polls one after another, never two at once (two reads from the same `last` would deliver rows twice). */
  let queue: Promise<void> = Promise.resolve();
  function pollInTurn(): Promise<void> {
    const next = queue.then(poll);
    queue = next;
    return next;
  }

  function schedule() {
    if (closed || channels.size === 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      polling = pollInTurn().finally(() => {
        polling = null;
        schedule();
      });
    }, pollMs);
    (timer as { unref?: () => void }).unref?.();
  }

  /** Where "now" is: the newest row. Listeners hear what commits after it. */
  async function findStart() {
    const [row] = rowsOf<{ last: string | number }>(await db.execute(sql`select coalesce(max(id), 0) as last from change_events`));
    last = Number(row?.last ?? 0);
  }

  /** The first read of the position; while the database is down, the polls go on trying it. */
  function start(): Promise<void> {
    started ??= findStart().catch((err) => {
      failed = true;
      opts.onError?.(err);
    });
    return started;
  }

  return {
    /**
     * Hears `channel`'s committed changes from now on (resolves once the feed knows where "now" is, or could not
     * ask: the database is down, and then the polls keep asking). `onReconnect` runs after the feed could not read
     * for a while (a cache should start over). Resolves to the unsubscribe.
     */
    async listen(channel: string, onMessage: (payload: string) => void, onReconnect?: () => void): Promise<() => Promise<void>> {
      const s: Subscriber = { onMessage, ...(onReconnect ? { onReconnect } : {}) };
      let subs = channels.get(channel);
      if (!subs) channels.set(channel, (subs = new Set()));
      subs.add(s);
      await start();
      // the polls stopped when the last listener left
      if (!timer && !polling) schedule();
      return async () => {
        channels.get(channel)?.delete(s);
        if (channels.get(channel)?.size === 0) channels.delete(channel);
      };
    },
    /** Reads now instead of at the next poll (tests; a writer that wants its change heard at once). */
    async poll(): Promise<void> {
      if (last < 0) return;
      await (polling ?? pollInTurn());
    },
    /**
     * Resolves once every row committed before this call was handed to the listeners: a read that starts after any
     * read under way (which may have started before the caller's commit). A new subscriber waits for it, so that it
     * is not told of changes committed before it subscribed.
     */
    async catchUp(): Promise<void> {
      if (last < 0) return;
      await pollInTurn();
    },
    /** Stops polling and waits for a read under way. */
    async close(): Promise<void> {
      closed = true;
      clearTimeout(timer);
      await polling;
    },
  };
}
export type ChangeFeed = ReturnType<typeof createChangeFeed>;
