/**
 * The audit worker thread: runs the group commit of {@link createGroupCommit} (canonical JSON, the hash chain,
 * the INSERT, streaming to the sink, periodic checkpoints and their verification) on a PostgreSQL connection pool
 * of its own, so none of that competes with requests on the serving thread. Entries arrive in the order they were
 * recorded; the worker acknowledges each group it no longer holds (`settled`), and the serving thread keeps
 * every entry until then (worker-group-commit.ts). Log lines go back to the serving thread's logger.
 *
 * With tracing on in the serving thread, the worker traces too, with the same `OTEL_*` variables and exporter of its
 * own: each group commit is a span (its SQL statements its children) linked to the spans of the requests whose
 * entries it chains, whose W3C `traceparent`s came with the entries.
 */
import { importPKCS8 } from 'jose';
import { openDatabase, type Database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { allSigningKeys } from '../auth/signing-keys.ts';
import type { FromAuditWorker, ToAuditWorker } from './audit-worker-protocol.ts';
import { runAsBackgroundThread } from './background-thread.ts';
import { createGroupCommit, type GroupCommit } from './group-commit.ts';
import { parseEntries } from './append.ts';
import { startTracing, type Tracing } from '../ops/tracing.ts';

declare const self: Worker;

runAsBackgroundThread();

const send = (m: FromAuditWorker) => self.postMessage(m);

/** The subset of pino the recorder uses, forwarded to the serving thread's logger. */
function forwardingLogger(): Logger {
  const at = (level: 'info' | 'warn' | 'error') => (obj: Record<string, unknown> | string, msg?: string) =>
    typeof obj === 'string' ? send({ type: 'log', level, obj: {}, msg: obj }) : send({ type: 'log', level, obj, msg: msg ?? '' });
  return {
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    debug: () => {},
    trace: () => {},
    fatal: at('error'),
  } as unknown as Logger;
}

let database: Database | null = null;
let recorder: GroupCommit | null = null;
let tracing: Tracing | null = null;
// calls run one after another, in the order they came (a flush after the records before it)
let queue: Promise<void> = Promise.resolve();

self.onmessage = (event: MessageEvent<ToAuditWorker>) => {
  const m = event.data;
  switch (m.type) {
    case 'init':
      queue = queue.then(async () => {
        try {
          const { type: _type, databaseUrl, signer, otel, ...options } = m;
          if (otel) tracing = startTracing(otel.env, otel.serviceVersion);
          const key = await importPKCS8(signer.pem, 'ES256');
          database = await openDatabase({ url: databaseUrl, poolMax: 2 });
          const db = database.db;
          recorder = createGroupCommit({
            ...options,
            db,
            log: forwardingLogger(),
            signer: { key, kid: signer.kid },
            publicKeys: async () => ({ keys: await allSigningKeys(db) }),
            // this is the worker already: a checkpoint hashes in this thread
            checkpointHashing: 'inline',
            appender: 'worker',
            onSettled: (count) => send({ type: 'settled', count }),
          });
          send({ type: 'ready' });
        } catch (err) {
          send({ type: 'init-failed', error: (err as Error).message });
        }
      });
      return;
    case 'record':
      // synchronous once started: entries are buffered in the order they came, before any later call runs
      if (recorder) recordAll(m);
      else queue = queue.then(() => recordAll(m));
      return;
    case 'committed':
      if (recorder) commitAll(m.links);
      else queue = queue.then(() => commitAll(m.links));
      return;
    case 'call':
      queue = queue.then(async () => {
        try {
          if (!recorder) throw new Error('audit worker not initialised');
          if (m.op === 'flush') {
            await recorder.flush();
            await tracing?.flush();
          } else if (m.op === 'checkpoint') await recorder.checkpoint();
          else {
            await recorder.close();
            // the last group commits' spans, within the serving thread's shutdown deadline
            if (tracing) await Promise.race([tracing.shutdown(), Bun.sleep(1000)]);
            // answered before the pool closes: the serving thread's shutdown has a deadline
            send({ type: 'done', id: m.id });
            await database?.close();
            return;
          }
          send({ type: 'done', id: m.id });
        } catch (err) {
          send({ type: 'done', id: m.id, error: (err as Error).message });
        }
      });
      return;
  }
};

function recordAll(m: Extract<ToAuditWorker, { type: 'record' }>) {
  if (!recorder) return;
  const entries = parseEntries(m.json) as Record<string, unknown>[];
  entries.forEach((entry, i) => recorder!.record(entry, m.links?.entries[i] ?? undefined));
  if (m.committed) commitAll(m.links?.commits);
}

/** Staged entries committed (one call per commit the serving thread linked, or one without a link). */
function commitAll(links: string[] | undefined) {
  if (!recorder) return;
  if (!links?.length) return recorder.committed();
  for (const link of links) recorder.committed(link);
}
