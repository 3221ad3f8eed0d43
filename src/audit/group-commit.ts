/**
 * The audit group commit on this thread's database: appends the recorder's entries (recorder.ts) to the chain.
 *  - Mutations stage their entry inside their own transaction (the recorder's `stagingFor` → audit_pending): no
 *    change without its entry, and no chain lock held through their commit; `committed()` has them chained next.
 *  - Everything else is group-committed (`record`): entries are buffered for `flushMs` and appended in one
 *    transaction, after the staged mutation entries (which any instance chains, also those of a crashed one);
 *    a failed flush (database down) keeps them for the next attempt; `close()` flushes.
 * Persisted entries are streamed as JSON lines to `AUDIT_SINK` (stdout or a file) for a SIEM, and a signed
 * checkpoint is taken every `checkpointEvery` entries or `checkpointIntervalMs`.
 */
import { sql } from 'drizzle-orm';
import { appendFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import type { Db } from '../db/client.ts';
import { rowsOf } from '../db/rows.ts';
import type { Logger } from '../logger.ts';
import { isConnectionFailure } from '../resilience/breaker.ts';
import { inSpan, tracingOn } from '../ops/tracing.ts';
import { appendAuditEntries, storable, unstorableReason, unstorableRecord, type AppendedAuditEntry } from './append.ts';
import type { CheckpointPublicKeys, CheckpointSigner } from './checkpoint.ts';
import { createWorkerPageHasher, inlinePageHasher, type PageHasher } from './page-hasher.ts';
import { takeCheckpoint, takeNextCheckpoint } from './take-checkpoint.ts';
import { createAppendedHashes } from './appended-hashes.ts';

export interface GroupCommitOptions {
  db: Db;
  log: Logger;
  /** `stdout`, or a file path entries are appended to as JSON lines. @default undefined (no stream) */
  sink?: string;
  /** Signs periodic checkpoints; none are taken without it. */
  signer?: CheckpointSigner;
  /**
   * Public keys of the stored checkpoints (current and retired): with them a periodic checkpoint verifies only
   * what was appended since the last one (takeNextCheckpoint); without, the whole log each time.
   */
  publicKeys?: () => Promise<CheckpointPublicKeys>;
  /**
   * Entries between automatic checkpoints (each verifies the entries since the previous one). @default 10000
   */
  checkpointEvery?: number;
  /** @default 300000 */
  checkpointIntervalMs?: number;
  /** Where periodic checkpoints hash the entries they verify (page-hasher.ts). @default 'worker' */
  checkpointHashing?: 'worker' | 'inline';
  /** How often entries staged in `audit_pending` by other processes are looked for. @default 5000 */
  pendingSweepMs?: number;
  /**
   * Group-commit delay. Read entries wait at most this long in memory (flushed at shutdown; a hard crash loses at
   * most this window of reads, never a mutation's entry). Longer batches mean fewer commits competing with the
   * requests for CPU, which tightens the latency tail under load (measured in the commit that chose it). @default 100
   */
  flushMs?: number;
  /** Entries kept while the database is unreachable; beyond it the oldest are logged and dropped. @default 100000 */
  maxBuffered?: number;
  /**
   * Where entries still unwritten at shutdown (database down) are spooled as JSON lines; they are appended
   * first on the next start. @default undefined (they are logged as lost)
   */
  spoolFile?: string;
  /**
   * Told how many entries taken by `record()` left the recorder's memory, in the order they were recorded:
   * appended to the chain, spooled at shutdown, or dropped (logged) when the buffer overflowed. The worker thread
   * (audit-worker.ts) acknowledges with it, so its caller knows which entries it still holds.
   */
  onSettled?: (count: number) => void;
  /**
   * No group commit is scheduled before this settles (the server's schema check or migration): a first start
   * would otherwise chain into tables that do not exist yet. Explicit flush() and close() do not wait.
   * @default undefined (starts at once)
   */
  startAfter?: Promise<unknown>;
  /** Where this group commit runs, named on its span: on the serving thread or in the audit worker. @default 'inline' */
  appender?: 'inline' | 'worker';
}

/** Links kept for one group commit's span (OpenTelemetry sends at most 128 per span by default). */
const MAX_LINKS = 128;

/**
 * `recorded`: taken by `record()` (counted by `onSettled`), not brought back from the spool; `link`: the W3C
 * `traceparent` of the span that recorded it, which the group commit's span links to.
 */
type Pending = { entry: object; recorded?: boolean; link?: string };
const recordedIn = (ps: Pending[]) => ps.reduce((n, p) => n + (p.recorded ? 1 : 0), 0);

/** What the recorder hands its entries to: this file's group commit, or the worker thread's (worker-group-commit.ts). */
export interface GroupCommit {
  /**
   * Buffers an entry (redacted, storable, with its `entryId`) for the next group commit; `link`: the `traceparent`
   * of the span it was recorded in (tracing on), which the group commit's span links to; `json`: the entry's JSON
   * text when the caller already wrote it (a worker's transport sends it as is).
   */
  record(entry: object, link?: string, json?: string): void;
  /** A transaction with staged entries has committed: chain them with the next group commit (linked to `link`). */
  committed(link?: string): void;
  /** Persists everything recorded so far, staged entries included. */
  flush(): Promise<void>;
  checkpoint(): Promise<void>;
  close(): Promise<void>;
}

export function createGroupCommit(o: GroupCommitOptions): GroupCommit {
  const flushMs = o.flushMs ?? 100;
  const maxBuffered = o.maxBuffered ?? 100_000;
  const every = o.checkpointEvery ?? 10_000;
  let buffer: Pending[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  let flushing: Promise<void> | null = null;
  let checkpointing = false;
  let pageHasher: PageHasher | undefined;
  let appendedSinceStart = 0;
  // staged mutation entries may be waiting (also left by another instance or an earlier run): look at start
  let pendingMaybe = true;
  /** Spans whose transactions staged entries since the last group commit (tracing on): its span links to them. */
  let stagedLinks: string[] = [];

  // what this recorder appended since the last checkpoint: the next one checks those entries against these hashes
  // instead of reading them back and hashing them again (half the cost of auditing a read, in the database and here)
  const appendedHashes = createAppendedHashes();

  const stream = (rows: AppendedAuditEntry[]) => {
    if (!o.sink || rows.length === 0) return;
    const lines = `${rows.map((r) => JSON.stringify({ seq: r.seq, hash: r.hash, prevHash: r.prevHash, entry: r.entry })).join('\n')}\n`;
    try {
      if (o.sink === 'stdout') process.stdout.write(lines);
      else appendFileSync(o.sink, lines, { mode: 0o600 });
    } catch (err) {
      o.log.error({ err: (err as Error).message }, 'audit sink write failed');
    }
  };

  /** Signs a checkpoint when `every` entries were added since the last one (or on `force` when any were). */
  async function maybeCheckpoint(force = false) {
    if (!o.signer || checkpointing) return;
    checkpointing = true;
    try {
      const [row] = rowsOf<{ size: string; last: string }>(
        await o.db.execute(
          sql`select (select coalesce(max(seq), 0) from audit_entries)::text as size, (select coalesce(max(size), 0) from audit_checkpoints)::text as last`,
        ),
      );
      const size = Number(row?.size ?? 0);
      const last = Number(row?.last ?? 0);
      if (size > last && (force || size - last >= every)) {
        // small pages, hashed in a worker thread: the serving thread only fetches them and checks the links
        pageHasher ??=
          o.checkpointHashing === 'inline'
            ? inlinePageHasher
            : createWorkerPageHasher({
                onFallback: (err) =>
                  o.log.warn({ err: String(err) }, 'audit checkpoint hashing worker failed; hashing in the serving thread'),
              });
        const opts = { pageSize: 250, pageHasher, knownHashes: appendedHashes };
        const taken = o.publicKeys
          ? await takeNextCheckpoint(o.db, o.signer, { ...opts, publicKeys: await o.publicKeys() })
          : await takeCheckpoint(o.db, o.signer, opts);
        appendedHashes.forgetUpTo(taken.statement.size);
      }
    } catch (err) {
      if (!isConnectionFailure(err)) o.log.error({ err: (err as Error).message }, 'audit checkpoint failed');
    } finally {
      checkpointing = false;
    }
  }

  async function flushOnce(): Promise<void> {
    if (buffer.length === 0 && !pendingMaybe) return;
    const batch = buffer;
    buffer = [];
    const hadPending = pendingMaybe;
    pendingMaybe = false;
    const linked = stagedLinks;
    stagedLinks = [];
    try {
      // background work: a trace of its own (when tracing is on and the sampler takes it), linked to the spans of the
      // requests whose entries it chains: one commit serves many requests, so no one of them is its parent
      const rows = await inSpan(
        'audit.group_commit',
        { 'permit_gateway.audit.entries': batch.length, 'permit_gateway.audit.appender': o.appender ?? 'inline' },
        () =>
          o.db.transaction((tx) =>
            appendAuditEntries(
              tx,
              batch.map((p) => p.entry),
              { withPending: true },
            ),
          ),
        { root: true, ...(tracingOn() ? { links: [...linked, ...batch.map((p) => p.link)] } : {}) },
      );
      if (spooled) {
        rmSync(spooled, { force: true });
        spooled = null;
      }
      appendedSinceStart += rows.length;
      appendedHashes.remember(rows);
      if (o.onSettled && batch.length) o.onSettled(recordedIn(batch));
      stream(rows);
      if (appendedSinceStart >= every) {
        appendedSinceStart = 0;
        void maybeCheckpoint();
      }
    } catch (err) {
      pendingMaybe ||= hadPending;
      stagedLinks = linked.concat(stagedLinks).slice(-MAX_LINKS);
      buffer = batch.concat(buffer);
      if (buffer.length > maxBuffered) {
        const dropped = buffer.splice(0, buffer.length - maxBuffered);
        o.log.error({ dropped: dropped.length }, 'audit buffer full while the database is unavailable: oldest read entries dropped');
        o.onSettled?.(recordedIn(dropped));
      }
      if (!isConnectionFailure(err)) {
        o.log.error({ err: (err as Error).message }, 'audit append failed');
        // an entry the chain cannot take would fail every later group commit too: it is replaced by an entry
        // that says so, and the rest go on
        if (quarantine()) schedule(0);
      }
      throw err;
    }
  }

  /** Replaces buffered entries that cannot be appended by a record of that; true when any was. */
  function quarantine(): boolean {
    let replaced = 0;
    buffer = buffer.map((p) => {
      const reason = unstorableReason(p.entry);
      if (reason === null) return p;
      replaced++;
      // the record keeps the entry's id: it replaces that entry, once
      const entryId = (p.entry as { entryId?: unknown }).entryId;
      return { ...p, entry: storable({ ...unstorableRecord(reason, p.entry), ...(typeof entryId === 'string' ? { entryId } : {}) }) };
    });
    if (replaced) o.log.error({ replaced }, 'audit entries that cannot be stored were replaced by a record saying so');
    return replaced > 0;
  }

  function flush(): Promise<void> {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    flushing ??= flushOnce().finally(() => {
      flushing = null;
      if (buffer.length || pendingMaybe) schedule(1000);
    });
    return flushing;
  }

  let started = !o.startAfter;
  function schedule(ms = flushMs) {
    if (timer || !started) return;
    timer = setTimeout(() => {
      timer = null;
      flush().catch(() => {});
    }, ms);
    timer.unref?.();
  }

  // chain what earlier runs or other instances staged, and what the spool below brings back
  if (o.startAfter) {
    o.startAfter.then(
      () => {
        started = true;
        schedule(0);
      },
      () => {},
    );
  } else schedule(0);
  // entries spooled by an earlier shutdown during an outage go first; a `.replaying` file left by a start that did
  // not get to append them (killed, or its audit worker failed) is taken again, before the newer spool
  let spooled: string | null = null;
  if (o.spoolFile) {
    const replaying = `${o.spoolFile}.replaying`;
    if (existsSync(o.spoolFile)) {
      const earlier = existsSync(replaying) ? readFileSync(replaying, 'utf8') : '';
      appendFileSync(replaying, (earlier && !earlier.endsWith('\n') ? '\n' : '') + readFileSync(o.spoolFile, 'utf8'), { mode: 0o600 });
      rmSync(o.spoolFile, { force: true });
    }
    if (existsSync(replaying)) {
      spooled = replaying;
      for (const line of readFileSync(replaying, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        let entry: object;
        try {
          entry = storable(JSON.parse(line) as object);
        } catch (err) {
          // a torn or edited line must not stop the start (nor hide the others): recorded as such
          entry = storable({
            kind: 'audit.unstorable',
            reason: `spooled line is not JSON: ${(err as Error).message.slice(0, 120)}`,
            outcome: 'ERROR',
          });
        }
        buffer.push({ entry });
      }
      o.log.warn({ entries: buffer.length }, 'audit entries spooled at the last shutdown are being appended');
    }
  }

  const interval = setInterval(() => void maybeCheckpoint(true), o.checkpointIntervalMs ?? 300_000);
  interval.unref?.();
  // entries staged by a transaction whose commit nobody announced here (another instance that died): swept up
  const sweep = setInterval(() => {
    pendingMaybe = true;
    schedule();
  }, o.pendingSweepMs ?? 5_000);
  sweep.unref?.();

  return {
    /** Buffers an entry for the next group commit (appended once per `entryId`). */
    record(entry: object, link?: string): void {
      buffer.push(link ? { entry, recorded: true, link } : { entry, recorded: true });
      schedule();
    },
    committed(link?: string) {
      pendingMaybe = true;
      if (link && stagedLinks.length < MAX_LINKS) stagedLinks.push(link);
      schedule();
    },
    async flush() {
      pendingMaybe = true;
      do await flush();
      while (buffer.length || pendingMaybe);
    },
    checkpoint: () => maybeCheckpoint(true),
    async close() {
      clearInterval(interval);
      clearInterval(sweep);
      pendingMaybe = true; // chain what this process staged before it goes
      for (let i = 0; i < 3 && (buffer.length || flushing || pendingMaybe); i++) {
        await flush().catch(() => Bun.sleep(200));
      }
      if (buffer.length && o.spoolFile) {
        appendFileSync(o.spoolFile, `${buffer.map((p) => JSON.stringify(p.entry)).join('\n')}\n`, { mode: 0o600 });
        o.log.warn(
          { spooled: buffer.length, file: o.spoolFile },
          'database unavailable at shutdown: audit entries spooled for the next start',
        );
        o.onSettled?.(recordedIn(buffer));
        buffer = []; // on disk now: a flush still scheduled must not append them too
      } else if (buffer.length) {
        o.log.error({ lost: buffer.length }, 'audit entries could not be written before shutdown');
        buffer = [];
      }
      pageHasher?.close();
    },
  };
}
