/**
 * Outbox replayer (degraded mode, issue 6): once the database is back, sends queued submissions to it, in
 * enqueue order, and records each outcome in the outbox.
 *
 * With `handleBatch`, runs of consecutive items it accepts (`batchable`) are applied together, up to
 * `transactionSize` in one database transaction, and their outcomes recorded in one outbox transaction: one commit
 * and one fsync on each side for the run instead of one per item. When a batch fails other than by the database
 * being unavailable, its items are replayed one at a time, as without batching, so a poisoned item is found and
 * counted alone.
 *
 * Per item the handler answers PERSISTED (with the permit number / inspection id) or REJECTED (with the
 * reason, e.g. the idempotency key already exists with a different input). When the handler fails because
 * the database is unavailable (a connection failure, a timeout, the breaker open), the round stops and the
 * item stays QUEUED for the next round: order is kept and nothing is dropped.
 *
 * Idempotency is the handler's job: it must call the domain's idempotent submit with `item.idempotencyKey`
 * (and the item's principal). That makes a crash between the database commit and `markPersisted` harmless:
 * the item is still QUEUED after restart, its replay finds the same key, and the handler answers PERSISTED
 * with the same permit number instead of creating a second permit. For the same reason two instances
 * draining one outbox cannot duplicate work (repeated `markPersisted` with the same result is a no-op).
 *
 * An item whose handler keeps failing for another reason (a bug, unexpected data) is retried on the next
 * rounds and then REJECTED after `maxUnexpectedFailures`, so one poisoned item cannot block the queue forever.
 */
import { BreakerOpenError, isConnectionFailure } from './breaker.ts';
import { inSpan } from '../ops/tracing.ts';
import { OutboxStateError, type Outbox, type OutboxItem } from './outbox.ts';

export type ReplayResult = { state: 'PERSISTED'; resultId: string } | { state: 'REJECTED'; reason: string };

/** What one drain did. */
export interface DrainReport {
  persisted: number;
  rejected: number;
  /** Why the round ended before the queue was empty, if it did. */
  stoppedBy?: 'unavailable' | 'connection-failure' | 'handler-error' | 'stopped';
  /** QUEUED items left. */
  remaining: number;
}

export interface ReplayerOptions {
  outbox: Outbox;
  /** Applies one item to the database, idempotently by `item.idempotencyKey`. */
  handle(item: OutboxItem): Promise<ReplayResult>;
  /**
   * Applies several items in order in one transaction, idempotently, answering each one's result; throws (and
   * writes nothing) if any fails other than by a refusal. Unset: every item goes through `handle`.
   */
  handleBatch?(items: OutboxItem[]): Promise<ReplayResult[]>;
  /** Which items `handleBatch` takes. @default every item */
  batchable?(item: OutboxItem): boolean;
  /** Items applied in one `handleBatch` transaction at most. @default 50 */
  transactionSize?: number;
  /**
   * How long one batch should take: the next batch holds as many items as the last ones' time per item fits in
   * it (2 to `transactionSize`), and after an outage or timeout it starts again from 2, so that a slow database
   * does not make every batch overrun the breaker's call timeout. @default 400
   */
  batchBudgetMs?: number;
  /** Is the database worth trying now? (e.g. `() => !breaker.isOpen()`). Checked before every item. */
  isAvailable(): boolean;
  /** Pause between rounds while running. @default 1000 */
  intervalMs?: number;
  /** Items read from the outbox at a time. @default 100 */
  batchSize?: number;
  /** Which handler errors mean "database unavailable, try later". @default isConnectionFailure or BreakerOpenError */
  isUnavailableError?: (err: unknown) => boolean;
  /** Unexpected handler failures of one item (in this process) before it is REJECTED. @default 5 */
  maxUnexpectedFailures?: number;
  /** Told about each settled item (metrics, logs). */
  onSettled?: (item: OutboxItem, result: ReplayResult) => void;
  /** Told about handler errors and bookkeeping problems. @default ignore */
  onError?: (err: unknown, item?: OutboxItem) => void;
}

export interface Replayer {
  /** Drains until the queue is empty or the database is unavailable. Concurrent calls share one drain. */
  drainOnce(): Promise<DrainReport>;
  /** Drains every `intervalMs` in the background. */
  start(): void;
  /** Ask for a round now (e.g. when the breaker closes) instead of waiting for the interval. */
  wake(): void;
  /**
   * Stops the background rounds; a running drain ends after its current item, and this waits for it.
   * `drainOnce()` still works afterwards (e.g. a last bounded flush on shutdown).
   */
  stop(): Promise<void>;
  readonly running: boolean;
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

export function createReplayer(opts: ReplayerOptions): Replayer {
  const { outbox, handle, isAvailable } = opts;
  const intervalMs = opts.intervalMs ?? 1000;
  const batchSize = opts.batchSize ?? 100;
  const maxUnexpected = opts.maxUnexpectedFailures ?? 5;
  const transactionSize = opts.transactionSize ?? 50;
  const batchBudgetMs = opts.batchBudgetMs ?? 400;
  /** The next batch's size, from the time per item of the last one. */
  let nextBatch = Math.min(2, transactionSize);
  const batchable = opts.batchable ?? (() => true);
  for (const [name, v] of [
    ['intervalMs', intervalMs],
    ['batchSize', batchSize],
    ['transactionSize', transactionSize],
    ['batchBudgetMs', batchBudgetMs],
    ['maxUnexpectedFailures', maxUnexpected],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`createReplayer: ${name} must be a positive integer, got ${v}`);
  }
  const isUnavailable = opts.isUnavailableError ?? ((err: unknown) => err instanceof BreakerOpenError || isConnectionFailure(err));
  const onError = opts.onError ?? (() => {});
  const unexpectedFailures = new Map<string, number>();

  let running = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let current: Promise<DrainReport> | undefined;
  /** Set by stop(): the running drain ends after its current item. */
  let interrupt = false;

  function settle(item: OutboxItem, result: ReplayResult): 'persisted' | 'rejected' {
    try {
      if (result.state === 'PERSISTED') outbox.markPersisted(item.id, result.resultId);
      else outbox.markRejected(item.id, result.reason);
    } catch (err) {
      // Another replayer settled it first (same outbox, two instances): its record stands.
      if (!(err instanceof OutboxStateError)) throw err;
      onError(err, item);
    }
    unexpectedFailures.delete(item.id);
    try {
      opts.onSettled?.(item, result);
    } catch (err) {
      onError(err, item); // a metrics hook must not stop the replay
    }
    return result.state === 'PERSISTED' ? 'persisted' : 'rejected';
  }

  function checkResult(result: unknown): ReplayResult {
    const r = result as Partial<{ state: string; resultId: unknown; reason: unknown }> | null | undefined;
    if (r?.state === 'PERSISTED' && typeof r.resultId === 'string' && r.resultId) return r as ReplayResult;
    if (r?.state === 'REJECTED' && typeof r.reason === 'string' && r.reason) return r as ReplayResult;
    throw new TypeError(
      `replayer: handler must answer {state:'PERSISTED', resultId} or {state:'REJECTED', reason}, got ${JSON.stringify(result)}`,
    );
  }

  /**
   * The next run of batchable items from `start` (at most `transactionSize`), applied in one transaction and
   * settled together. Answers how many it settled (0: no such run), `{ failed }` the end of a run that failed other
   * than by an outage (its items then go one at a time), or null when the database is unavailable.
   */
  async function applyRun(batch: OutboxItem[], start: number, report: DrainReport): Promise<number | { failed: number } | null> {
    if (!opts.handleBatch) return 0;
    let end = start;
    while (end < batch.length && end - start < nextBatch && batchable(batch[end]!)) end++;
    if (end - start < 2) return 0;
    const run = batch.slice(start, end);
    let results: ReplayResult[];
    const began = performance.now();
    try {
      results = await inSpan('outbox.replay', { 'permit_gateway.outbox.items': run.length }, () => opts.handleBatch!(run), {
        root: true,
        links: run.map((item) => item.payload.traceparent),
      });
      if (results.length !== run.length)
        throw new TypeError(`replayer: handleBatch answered ${results.length} results for ${run.length} items`);
      results = results.map(checkResult);
    } catch (err) {
      onError(err, run[0]);
      if (isUnavailable(err)) {
        nextBatch = Math.min(2, transactionSize);
        for (const item of run) outbox.noteAttempt(item.id, messageOf(err));
        return null;
      }
      return { failed: end };
    }
    const perItem = Math.max(0.01, (performance.now() - began) / run.length);
    nextBatch = Math.max(2, Math.min(transactionSize, Math.floor(batchBudgetMs / perItem)));
    outbox.settleTogether(() => {
      for (const [i, item] of run.entries()) report[settle(item, results[i]!)]++;
    });
    return run.length;
  }

  async function drain(): Promise<DrainReport> {
    const report: DrainReport = { persisted: 0, rejected: 0, remaining: 0 };
    outer: for (;;) {
      const batch = outbox.pending(batchSize);
      if (batch.length === 0) break;
      /** Items before this index go one at a time (their batch failed). */
      let soloUntil = 0;
      for (let i = 0; i < batch.length; i++) {
        const item = batch[i]!;
        if (interrupt) {
          report.stoppedBy = 'stopped';
          break outer;
        }
        if (!isAvailable()) {
          report.stoppedBy = 'unavailable';
          break outer;
        }
        const together = i < soloUntil ? 0 : await applyRun(batch, i, report);
        if (together === null) {
          report.stoppedBy = 'connection-failure';
          break outer;
        }
        if (typeof together === 'object') soloUntil = together.failed;
        else if (together > 0) {
          i += together - 1;
          continue;
        }
        let result: ReplayResult | undefined;
        let settled: 'persisted' | 'rejected';
        try {
          // a trace of its own, linked to the request that queued the item: the replay runs long after that request's
          // span ended (or in a later process), so it cannot be its child. Settling runs inside, so the group commit
          // chaining the replay's audit entry links here
          settled = await inSpan(
            'outbox.replay',
            { 'permit_gateway.outbox.item': item.id, 'permit_gateway.outbox.kind': item.kind },
            async (span) => {
              const r = checkResult(await handle(item));
              result = r;
              span?.setAttribute('permit_gateway.outbox.state', r.state);
              return settle(item, r);
            },
            { root: true, links: [item.payload.traceparent] },
          );
        } catch (err) {
          // the item was replayed but recording that failed: not the handler's failure, the round ends as before
          if (result) throw err;
          outbox.noteAttempt(item.id, messageOf(err));
          onError(err, item);
          if (isUnavailable(err)) {
            report.stoppedBy = 'connection-failure';
            break outer;
          }
          const failures = (unexpectedFailures.get(item.id) ?? 0) + 1;
          unexpectedFailures.set(item.id, failures);
          if (failures >= maxUnexpected) {
            const reason = `replay failed ${failures} times: ${messageOf(err)}`;
            report[settle(item, { state: 'REJECTED', reason })]++;
            continue;
          }
          // Keep the order: retry this item next round rather than skipping past it.
          report.stoppedBy = 'handler-error';
          break outer;
        }
        report[settled]++;
      }
    }
    report.remaining = outbox.depth();
    return report;
  }

  function drainOnce(): Promise<DrainReport> {
    if (!current) {
      current = drain().finally(() => {
        current = undefined;
      });
    }
    return current;
  }

  function schedule(delay: number) {
    if (!running) return;
    clearTimeout(timer);
    timer = setTimeout(tick, delay);
    // The server keeps the process alive; the replayer alone should not.
    (timer as { unref?: () => void }).unref?.();
  }

  async function tick() {
    timer = undefined;
    try {
      await drainOnce();
    } catch (err) {
      onError(err);
    }
    schedule(intervalMs);
  }

  return {
    drainOnce,
    start() {
      if (running) return;
      running = true;
      schedule(0);
    },
    wake() {
      if (running && !current) schedule(0);
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      timer = undefined;
      if (current) {
        interrupt = true;
        await current.catch(() => {});
        interrupt = false;
      }
    },
    get running() {
      return running;
    },
  };
}
