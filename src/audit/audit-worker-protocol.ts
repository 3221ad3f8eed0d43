/**
 * Messages between the serving thread's {@link createWorkerGroupCommit} (worker-group-commit.ts) and the audit
 * worker thread (audit-worker.ts). Types only: both sides import them.
 */

/** What the worker needs to run an audit recorder of its own on PostgreSQL (group-commit.ts documents the options). */
export interface AuditWorkerSettings {
  /** The worker's own connection pool (2 connections) opens this database. */
  databaseUrl: string;
  /** The checkpoint signing key as PKCS#8 PEM and its key id (the serving thread's key). */
  signer: { pem: string; kid: string };
  sink?: string;
  spoolFile?: string;
  flushMs?: number;
  checkpointEvery?: number;
  checkpointIntervalMs?: number;
  pendingSweepMs?: number;
  /** Tracing is on in the serving thread: the worker traces its group commits with the same `OTEL_*` variables. */
  otel?: { env: Record<string, string | undefined>; serviceVersion?: string };
}

export type AuditWorkerInit = { type: 'init' } & AuditWorkerSettings;

export type ToAuditWorker =
  | AuditWorkerInit
  /**
   * Entries in the order they were recorded, as one JSON array text; `committed`: staged entries wait too. `links`
   * (tracing on): each entry's recording span as a W3C `traceparent` (or null), then those of the commits.
   */
  | { type: 'record'; json: string; committed: boolean; links?: { entries: (string | null)[]; commits: string[] } }
  | { type: 'committed'; links?: string[] }
  /** `flush` also sends the worker's finished spans (tracing on). */
  | { type: 'call'; id: number; op: 'flush' | 'checkpoint' | 'close' };

export type FromAuditWorker =
  | { type: 'ready' }
  | { type: 'init-failed'; error: string }
  /** `count` more of the entries sent left the worker's memory (appended, spooled or dropped), oldest first. */
  | { type: 'settled'; count: number }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; obj: Record<string, unknown>; msg: string }
  | { type: 'done'; id: number; error?: string };
