/**
 * The audit recorder: the one place an entry is made ready for the chain (security alerts counted, an `entryId`
 * so that a re-sent entry is appended once, text made storable) before it is handed to a group commit, on this
 * thread (group-commit.ts) or in a worker thread (worker-group-commit.ts, a transport to the same group commit).
 * A mutation's entry is not handed over: it is staged inside the mutation's own transaction (`stagingFor`).
 */
import type { SQL } from 'drizzle-orm';
import type { Tx } from '../db/client.ts';
import { executeStatement, type Shape } from '../db/fused-statements.ts';
import { stagingStatement, storable, storableWithText, withEntryId } from './append.ts';
import { activeTraceparent } from '../ops/tracing.ts';
import { createGroupCommit, type GroupCommit, type GroupCommitOptions } from './group-commit.ts';
import type { SecurityAlerts } from './security-alerts.ts';
import { createWorkerGroupCommit, type WorkerGroupCommitOptions } from './worker-group-commit.ts';

export interface AuditRecorder {
  /** Buffers an entry for the next group commit (reads, denials, token requests); appended once per `entryId`. */
  record(entry: Record<string, unknown>): void;
  /**
   * The statement that stages the entry, for the caller to run inside the transaction of the change it describes
   * (the audited unit of work, before COMMIT); {@link committed} once that transaction committed.
   */
  stagingFor(entry: Record<string, unknown>, produced?: SQL): { statement: SQL; shape: Shape; stagedEntry: string };
  /** Stages the entry inside the caller's transaction (the outbox replay). */
  appendInTx(tx: Tx, entry: Record<string, unknown>): Promise<void>;
  /** A transaction with staged entries has committed: chain them with the next group commit. */
  committed(): void;
  /** Persists everything recorded so far (staged entries included), also entries buffered during an earlier flush. */
  flush(): Promise<void>;
  checkpoint(): Promise<void>;
  close(): Promise<void>;
}

/** Counts authentication failures and refusals for security alerts (the recorder does it for every entry). */
export function alertOn(alerts: SecurityAlerts | undefined, entry: Record<string, unknown>): void {
  if (!alerts) return;
  const status = entry.httpStatus as number | undefined;
  const denied = entry.outcome === 'DENIED' && (status === 401 || status === 403);
  if (denied) {
    alerts.failure(
      [entry.clientId ? `client:${entry.clientId}` : null, entry.ip ? `ip:${entry.ip}` : null].filter((s): s is string => Boolean(s)),
      status === 401 ? 'authentication_failure' : 'forbidden',
    );
  }
}

/** The recorder in front of a group commit. */
export function recorderFor(groupCommit: GroupCommit, alerts?: SecurityAlerts): AuditRecorder {
  const stagingFor = (entry: Record<string, unknown>, produced?: SQL) => {
    alertOn(alerts, entry);
    return stagingStatement(storable(entry), produced);
  };
  return {
    record(entry) {
      alertOn(alerts, entry);
      // the span recording it (the request's): the group commit that chains it links there
      const { entry: safe, json } = storableWithText(withEntryId(entry));
      groupCommit.record(safe, activeTraceparent(), json);
    },
    stagingFor,
    async appendInTx(tx, entry) {
      const { statement, shape } = stagingFor(entry);
      await executeStatement(tx, statement, shape);
    },
    committed: () => groupCommit.committed(activeTraceparent()),
    flush: () => groupCommit.flush(),
    checkpoint: () => groupCommit.checkpoint(),
    close: () => groupCommit.close(),
  };
}

export type AuditRecorderOptions = GroupCommitOptions & { alerts?: SecurityAlerts };

/** Appends on this thread's database. */
export function createAuditRecorder(o: AuditRecorderOptions): AuditRecorder {
  return recorderFor(createGroupCommit(o), o.alerts);
}

export type ThreadedAuditRecorderOptions = WorkerGroupCommitOptions & { alerts?: SecurityAlerts };

/** Appends in a worker thread with a connection pool of its own (PostgreSQL only). */
export function createThreadedAuditRecorder(o: ThreadedAuditRecorderOptions): AuditRecorder {
  // the worker's settings cross a thread: nothing but them goes there
  const { alerts, ...transport } = o;
  return recorderFor(createWorkerGroupCommit(transport), alerts);
}
