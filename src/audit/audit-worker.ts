/**
 * The audit worker thread: runs the group commit of {@link createGroupCommit} (canonical JSON, the hash chain,
 * the INSERT, streaming to the sink, periodic checkpoints and their verification) on a PostgreSQL connection pool
 * of its own, so none of that competes with requests on the serving thread. Entries arrive in the order they were
 * recorded; the worker acknowledges each group it no longer holds (`settled`), and the serving thread keeps
 * every entry until then (worker-group-commit.ts). Log lines go back to the serving thread's logger.
 */
import { importPKCS8 } from 'jose';
import { openDatabase, type Database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { allSigningKeys } from '../auth/signing-keys.ts';
import type { FromAuditWorker, ToAuditWorker } from './audit-worker-protocol.ts';
import { runAsBackgroundThread } from './background-thread.ts';
import { createGroupCommit, type GroupCommit } from './group-commit.ts';

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
// calls run one after another, in the order they came (a flush after the records before it)
let queue: Promise<void> = Promise.resolve();

self.onmessage = (event: MessageEvent<ToAuditWorker>) => {
  const m = event.data;
  switch (m.type) {
    case 'init':
      queue = queue.then(async () => {
        try {
          const { type: _type, databaseUrl, signer, ...options } = m;
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
      if (recorder) recordAll(m.json, m.committed);
      else queue = queue.then(() => recordAll(m.json, m.committed));
      return;
    case 'committed':
      if (recorder) recorder.committed();
      else queue = queue.then(() => recorder?.committed());
      return;
    case 'call':
      queue = queue.then(async () => {
        try {
          if (!recorder) throw new Error('audit worker not initialised');
          if (m.op === 'flush') await recorder.flush();
          else if (m.op === 'checkpoint') await recorder.checkpoint();
          else {
            await recorder.close();
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

function recordAll(json: string, committed: boolean) {
  if (!recorder) return;
  for (const entry of JSON.parse(json) as Record<string, unknown>[]) recorder.record(entry);
  if (committed) recorder.committed();
}
