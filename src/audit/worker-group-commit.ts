/**
 * The group commit in a worker thread (PostgreSQL only; audit-worker.ts runs group-commit.ts there): a transport,
 * not a second recorder. The recorder (recorder.ts) prepares each entry on the serving thread as always; this hands
 * the entries of one event-loop turn to the worker as one JSON text.
 *
 * Why: chaining every read's entry (canonical JSON, SHA-256, a large INSERT's parameters, periodic checkpoint
 * verification) took a large share of the serving thread under load, while the machine's other core had time to
 * spare.
 *
 * Nothing acknowledged is lost on the way: every entry stays in this thread's memory until the worker says it
 * left the worker's memory (appended, spooled or dropped, oldest first). If the worker fails, those entries go to
 * a group commit on the serving thread's database, which takes over. Each entry carries the `entryId` the recorder
 * gave it, so one the worker had committed without acknowledging it is not appended twice. Mutations' entries are
 * staged inside their own transaction on this thread; the worker chains them at its next group commit.
 */
import { appendFileSync } from 'node:fs';
import type { Logger } from '../logger.ts';
import { storable, unstorableRecord } from './append.ts';
import type { AuditWorkerInit, AuditWorkerSettings, FromAuditWorker, ToAuditWorker } from './audit-worker-protocol.ts';
import type { GroupCommit } from './group-commit.ts';

type Entry = Record<string, unknown>;

export interface WorkerGroupCommitOptions extends AuditWorkerSettings {
  log: Logger;
  /** The group commit that takes over on this thread if the worker fails to start or stops. */
  fallback: () => GroupCommit;
  /**
   * Longest wait for the worker to flush (or spool) and stop at close before what it still holds is spooled here.
   * Short enough to fit the server's shutdown (main.ts exits at 15 s, after up to 8 s of draining). @default 4000
   */
  closeTimeoutMs?: number;
  /** The worker's script (tests substitute one that fails). @default ./audit-worker.ts */
  workerUrl?: string;
  /** Nothing reaches the worker before this settles (group-commit.ts `startAfter`); entries wait here meanwhile. */
  startAfter?: Promise<unknown>;
}

export function createWorkerGroupCommit(o: WorkerGroupCommitOptions): GroupCommit {
  const closeTimeoutMs = o.closeTimeoutMs ?? 4_000;
  /** Entries sent to the worker and not yet settled there, oldest first. */
  let unsettled: Record<string, unknown>[] = [];
  /** Entries of this event-loop turn, not yet sent. */
  let outgoing: Record<string, unknown>[] = [];
  /** The JSON text of each outgoing entry when the recorder's storable check wrote it (sent as is). */
  let outgoingTexts: (string | undefined)[] = [];
  /**
   * Tracing on: the W3C `traceparent` of the span each outgoing entry was recorded in (null: none), and of each
   * commit of staged entries; they cross the thread with the entries so that the worker's group-commit span links to
   * the requests it chains (W3C text, as the propagator writes it: a span context is not a message a thread can take).
   */
  let outgoingLinks: (string | null)[] = [];
  let commitLinks: string[] = [];
  let committedSince = false;
  let sendScheduled = false;
  let inline: GroupCommit | null = null;
  let nextId = 1;
  let closing: Promise<void> | null = null;
  let terminated = false;
  let closed = false;
  /** Entries recorded once close() began: they are spooled (or handed to the inline recorder) after it. */
  let late: Record<string, unknown>[] = [];
  const calls = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();

  const worker = new Worker(o.workerUrl ?? new URL('./audit-worker.ts', import.meta.url).href);
  (worker as unknown as { unref?: () => void }).unref?.();
  // held until `startAfter`: the worker's first group commit must not run before the schema exists
  let held: ToAuditWorker[] | null = o.startAfter ? [] : null;
  const post = (m: ToAuditWorker) => (held ? held.push(m) : worker.postMessage(m));
  o.startAfter?.then(
    () => {
      const messages = held ?? [];
      held = null;
      for (const m of messages) worker.postMessage(m);
    },
    () => {},
  );

  /** The worker is gone: the inline recorder takes every entry it had not settled. */
  function takeOver(reason: string) {
    if (inline) return;
    o.log.error(
      { reason, entries: unsettled.length + outgoing.length },
      'audit worker failed: the serving thread appends audit entries from now on',
    );
    try {
      inline = o.fallback();
    } catch (err) {
      // nothing can append them now: they stay here and are spooled at close
      o.log.error({ err: (err as Error).message }, 'audit fallback recorder could not be created');
      return;
    }
    for (const e of [...unsettled, ...outgoing]) inline.record(e);
    unsettled = [];
    outgoing = [];
    outgoingTexts = [];
    outgoingLinks = [];
    commitLinks = [];
    if (committedSince) inline.committed();
    committedSince = false;
    for (const [id, c] of calls) {
      calls.delete(id);
      // what the call was for is now the inline recorder's to do
      c.resolve();
    }
    terminated = true;
    void worker.terminate();
  }

  worker.onmessage = (event: MessageEvent<FromAuditWorker>) => {
    const m = event.data;
    switch (m.type) {
      case 'settled':
        if (!inline) unsettled.splice(0, m.count);
        return;
      case 'log':
        o.log[m.level](m.obj, m.msg);
        return;
      case 'done': {
        const c = calls.get(m.id);
        if (!c) return;
        calls.delete(m.id);
        if (m.error) c.reject(new Error(m.error));
        else c.resolve();
        return;
      }
      case 'init-failed':
        takeOver(m.error);
        return;
      case 'ready':
        return;
    }
  };
  worker.onerror = (event) => takeOver(event instanceof ErrorEvent ? String(event.error ?? event.message) : 'worker error');
  // a worker that ends by itself (not terminated by close) has stopped appending
  worker.addEventListener('close', () => {
    if (!closing) takeOver('audit worker exited');
  });

  const { log: _log, fallback: _fallback, closeTimeoutMs: _close, workerUrl: _url, startAfter: _start, ...settings } = o;
  const init: AuditWorkerInit = { type: 'init', ...settings };
  post(init);

  /** Sends this turn's entries (and a pending `committed`) as one message. */
  function sendOutgoing() {
    sendScheduled = false;
    if (inline || (outgoing.length === 0 && !committedSince)) return;
    const linked = outgoingLinks.some(Boolean) || commitLinks.length > 0;
    const links = { entries: outgoingLinks, commits: commitLinks };
    outgoingLinks = [];
    commitLinks = [];
    if (outgoing.length === 0) {
      post(linked ? { type: 'committed', links: links.commits } : { type: 'committed' });
    } else {
      const batch = outgoing;
      const texts = outgoingTexts;
      outgoing = [];
      outgoingTexts = [];
      for (const e of batch) unsettled.push(e);
      post({ type: 'record', json: serialise(batch, texts), committed: committedSince, ...(linked ? { links } : {}) });
    }
    committedSince = false;
  }

  /**
   * The entries as one JSON array text, of the texts the recorder's storable check already wrote where it did (the
   * serving thread wrote each read's entry out twice before). An entry JSON cannot carry (a BigInt, a cycle: not
   * built by this app's entry builders, which redact into plain JSON) is sent as a record saying so, as the inline
   * recorder would store it.
   */
  function serialise(batch: Record<string, unknown>[], texts: (string | undefined)[]): string {
    const parts = batch.map((e, i) => {
      try {
        return texts[i] ?? JSON.stringify(e) ?? JSON.stringify(unstorableRecord('entry has no JSON text', e));
      } catch (err) {
        return JSON.stringify(unstorableRecord((err as Error).message, e));
      }
    });
    return `[${parts.join(',')}]`;
  }

  function scheduleSend() {
    if (sendScheduled) return;
    sendScheduled = true;
    setImmediate(sendOutgoing);
  }

  function call(op: 'flush' | 'checkpoint' | 'close', timeoutMs?: number): Promise<void> {
    sendOutgoing();
    if (inline || terminated) return Promise.resolve();
    const id = nextId++;
    return new Promise<void>((resolve, reject) => {
      calls.set(id, { resolve, reject });
      post({ type: 'call', id, op });
      if (timeoutMs !== undefined) {
        const timer = setTimeout(() => {
          if (!calls.delete(id)) return;
          reject(new Error(`audit worker did not answer ${op} in ${timeoutMs} ms`));
        }, timeoutMs);
        timer.unref?.();
      }
    });
  }

  return {
    record(object: object, link?: string, json?: string): void {
      const entry = object as Entry;
      if (inline) return inline.record(entry, link);
      if (closed) return spoolOrLose([entry]);
      if (closing) {
        late.push(entry);
        return;
      }
      // the id given here stays with the entry wherever it goes next (worker, fallback, spool): appended once
      outgoing.push(entry);
      outgoingTexts.push(json);
      outgoingLinks.push(link ?? null);
      scheduleSend();
    },
    committed(link?: string) {
      if (inline) return inline.committed(link);
      committedSince = true;
      if (link && commitLinks.length < 128) commitLinks.push(link);
      scheduleSend();
    },
    async flush() {
      if (inline) return inline.flush();
      await call('flush');
      if (inline) await (inline as GroupCommit).flush();
    },
    async checkpoint() {
      if (inline) return inline.checkpoint();
      await call('checkpoint');
    },
    close() {
      closing ??= closeOnce();
      return closing;
    },
  } satisfies GroupCommit;

  async function closeOnce(): Promise<void> {
    if (inline) return inline.close();
    try {
      // a worker never started holds nothing: what waits here is spooled below
      if (!held) await call('close', closeTimeoutMs);
    } catch (err) {
      o.log.error({ err: (err as Error).message }, 'audit worker did not stop in time');
    } finally {
      terminated = true;
      await worker.terminate();
    }
    // what the worker did not settle (it timed out, or the entries reached it after it closed) and what was recorded
    // meanwhile: spooled where the next start appends it from (one the worker did commit is skipped then: same entryId)
    const left = [...unsettled, ...outgoing, ...late];
    unsettled = [];
    outgoing = [];
    outgoingTexts = [];
    late = [];
    if (inline) {
      // taken over while closing
      for (const e of left) (inline as GroupCommit).record(e);
      return (inline as GroupCommit).close();
    }
    closed = true;
    spoolOrLose(left);
  }

  /** After close: entries go where the next start appends them from, or are logged as lost. */
  function spoolOrLose(left: Record<string, unknown>[]) {
    if (left.length && o.spoolFile) {
      appendFileSync(o.spoolFile, `${left.map((e) => serialise([storable(e)], []).slice(1, -1)).join('\n')}\n`, { mode: 0o600 });
      o.log.warn({ spooled: left.length, file: o.spoolFile }, 'audit entries the worker had not settled were spooled for the next start');
    } else if (left.length) {
      o.log.error({ lost: left.length }, 'audit entries could not be written before shutdown');
    }
  }
}
