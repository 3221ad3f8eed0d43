/**
 * Durable local outbox (degraded mode, issue 6): while the database is unavailable, `submitPermit` and
 * `scheduleInspection` are validated as usual, written here and answered `QUEUED` with the receipt id.
 *
 * One SQLite file, `outbox.sqlite`, in the given directory (DATA_DIR), opened with
 * `journal_mode=WAL` and `synchronous=FULL`: each `enqueue` is its own transaction and the WAL is fsync'd
 * before it returns, so an acknowledged item survives `kill -9` and power loss.
 *
 * Lifecycle of an item: QUEUED → PERSISTED (with the permit number / inspection id) or QUEUED → REJECTED
 * (with the reason). Items are replayed in enqueue order (see replayer.ts).
 *
 * Enqueue is idempotent per (kind, client, idempotency key): the same request again gets the same receipt;
 * the same key with a different payload is refused with {@link OutboxConflictError}.
 */
import { Database } from 'bun:sqlite';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export type OutboxKind = 'submitPermit' | 'scheduleInspection';
export type OutboxState = 'QUEUED' | 'PERSISTED' | 'REJECTED';
const KINDS: readonly OutboxKind[] = ['submitPermit', 'scheduleInspection'];

/** Who asked: the replay acts on their behalf, with the same ownership and jurisdiction checks. */
export interface OutboxPrincipal {
  clientId: string;
  jurisdiction: string;
  /** Contractor record the client is bound to, if any. */
  contractor?: string | null;
}

/** What is stored as the item's payload JSON. */
export interface OutboxPayload<I = unknown> {
  /** The validated operation input (for scheduleInspection include the permit number). */
  input: I;
  principal: OutboxPrincipal;
  /** The request's audit entry (already redacted), chained when the work is persisted. Not part of the identity. */
  audit?: Record<string, unknown>;
  /**
   * The W3C `traceparent` of the request's span (tracing on), which the replay's span links to. Not part of the
   * identity.
   */
  traceparent?: string;
}

export interface EnqueueRequest<I = unknown> extends OutboxPayload<I> {
  kind: OutboxKind;
  idempotencyKey: string;
}

/** What the client is told: the receipt id to ask `submissionReceipt(id)` with. */
export interface OutboxReceipt {
  id: string;
  kind: OutboxKind;
  state: OutboxState;
  idempotencyKey: string;
  enqueuedAt: string;
  /** True when this request had been queued before (same kind, client and idempotency key). */
  duplicate: boolean;
}

export interface OutboxItem<I = unknown> {
  /** Receipt id (UUID). */
  id: string;
  /** Enqueue order. */
  seq: number;
  kind: OutboxKind;
  payload: OutboxPayload<I>;
  idempotencyKey: string;
  state: OutboxState;
  /** Permit number (submitPermit) or inspection id (scheduleInspection) once PERSISTED. */
  resultId: string | null;
  /** Why it was REJECTED. */
  reason: string | null;
  /** Replay attempts that failed for lack of a database (see `noteAttempt`). */
  attempts: number;
  lastError: string | null;
  enqueuedAt: string;
  updatedAt: string;
}

/** The same idempotency key was already queued with a different payload. */
export class OutboxConflictError extends Error {
  readonly code = 'OUTBOX_CONFLICT';
  constructor(
    readonly idempotencyKey: string,
    readonly existingId: string,
  ) {
    super(`Idempotency key "${idempotencyKey}" was already queued (receipt ${existingId}) with a different input`);
    this.name = 'OutboxConflictError';
  }
}

/** A state change that the item's current state does not allow, or an unknown id. */
export class OutboxStateError extends Error {
  readonly code = 'OUTBOX_STATE';
  constructor(message: string) {
    super(message);
    this.name = 'OutboxStateError';
  }
}

export interface OutboxOptions {
  /** Directory for `outbox.sqlite` (created if missing), normally DATA_DIR. */
  dir: string;
  /** File name inside `dir`. @default 'outbox.sqlite' */
  fileName?: string;
  /** Clock, for tests. @default () => new Date() */
  now?: () => Date;
}

export interface Outbox {
  /** Path of the SQLite file. */
  readonly path: string;
  /** Stores the request; durable (fsync'd) when this returns. */
  enqueue<I>(request: EnqueueRequest<I>): OutboxReceipt;
  /** QUEUED items in enqueue order. @param limit @default 100 */
  pending(limit?: number): OutboxItem[];
  /** QUEUED → PERSISTED. Repeating it with the same result is a no-op (a replay after a crash). */
  markPersisted(id: string, resultId: string): OutboxItem;
  /** QUEUED → REJECTED. Repeating it is a no-op. */
  markRejected(id: string, reason: string): OutboxItem;
  /** Counts a failed replay attempt (database unavailable); the item stays QUEUED. */
  noteAttempt(id: string, error: string): void;
  /**
   * Runs `marks` (markPersisted/markRejected calls) as one SQLite transaction: one fsync for them all instead of
   * one each. Fine for a replay's marks: lost in a crash, their items are replayed and find their idempotency keys.
   */
  settleTogether<T>(marks: () => T): T;
  get(id: string): OutboxItem | undefined;
  /** Number of QUEUED items. */
  depth(): number;
  close(): void;
}

interface Row {
  seq: number;
  id: string;
  kind: OutboxKind;
  payload: string;
  client_id: string;
  idempotency_key: string;
  state: OutboxState;
  result_id: string | null;
  reason: string | null;
  attempts: number;
  last_error: string | null;
  enqueued_at: string;
  updated_at: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox (
  seq             INTEGER PRIMARY KEY AUTOINCREMENT,
  id              TEXT    NOT NULL UNIQUE,
  kind            TEXT    NOT NULL CHECK (kind IN ('submitPermit', 'scheduleInspection')),
  payload         TEXT    NOT NULL,
  client_id       TEXT    NOT NULL,
  idempotency_key TEXT    NOT NULL,
  state           TEXT    NOT NULL DEFAULT 'QUEUED' CHECK (state IN ('QUEUED', 'PERSISTED', 'REJECTED')),
  result_id       TEXT,
  reason          TEXT,
  attempts        INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT,
  enqueued_at     TEXT    NOT NULL,
  updated_at      TEXT    NOT NULL,
  UNIQUE (kind, client_id, idempotency_key)
);
CREATE INDEX IF NOT EXISTS outbox_queued ON outbox (seq) WHERE state = 'QUEUED';
`;

const toItem = (r: Row): OutboxItem => ({
  id: r.id,
  seq: r.seq,
  kind: r.kind,
  payload: JSON.parse(r.payload) as OutboxPayload,
  idempotencyKey: r.idempotency_key,
  state: r.state,
  resultId: r.result_id,
  reason: r.reason,
  attempts: r.attempts,
  lastError: r.last_error,
  enqueuedAt: r.enqueued_at,
  updatedAt: r.updated_at,
});

function required(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`outbox: ${what} must be a non-empty string`);
  }
  return value;
}

/** Opens (or creates) the outbox in `opts.dir`. */
export function openOutbox(opts: OutboxOptions): Outbox {
  mkdirSync(opts.dir, { recursive: true });
  const path = join(opts.dir, opts.fileName ?? 'outbox.sqlite');
  const now = opts.now ?? (() => new Date());
  const db = new Database(path, { create: true, strict: true });
  try {
    const mode = db.query<{ journal_mode: string }, []>('PRAGMA journal_mode = WAL').get();
    if (mode?.journal_mode.toLowerCase() !== 'wal') {
      throw new Error(`outbox: could not switch ${path} to WAL mode (got ${mode?.journal_mode ?? 'nothing'})`);
    }
    db.run('PRAGMA synchronous = FULL');
    // Another process (the CLI, a second instance) may hold the write lock for a moment.
    db.run('PRAGMA busy_timeout = 5000');
    db.exec(SCHEMA);
  } catch (err) {
    db.close();
    throw err;
  }

  const insert = db.query<Row, Record<string, string>>(
    `INSERT INTO outbox (id, kind, payload, client_id, idempotency_key, state, enqueued_at, updated_at)
     VALUES ($id, $kind, $payload, $client_id, $idempotency_key, 'QUEUED', $now, $now)
     ON CONFLICT (kind, client_id, idempotency_key) DO NOTHING
     RETURNING *`,
  );
  const byKey = db.query<Row, [string, string, string]>('SELECT * FROM outbox WHERE kind = ? AND client_id = ? AND idempotency_key = ?');
  const byId = db.query<Row, [string]>('SELECT * FROM outbox WHERE id = ?');
  const queued = db.query<Row, [number]>("SELECT * FROM outbox WHERE state = 'QUEUED' ORDER BY seq LIMIT ?");
  const count = db.query<{ n: number }, []>("SELECT count(*) AS n FROM outbox WHERE state = 'QUEUED'");
  const finish = db.query<Row, Record<string, string | null>>(
    `UPDATE outbox SET state = $state, result_id = $result_id, reason = $reason, updated_at = $now
     WHERE id = $id AND state = 'QUEUED' RETURNING *`,
  );
  const attempt = db.query<null, Record<string, string>>(
    `UPDATE outbox SET attempts = attempts + 1, last_error = $error, updated_at = $now
     WHERE id = $id AND state = 'QUEUED'`,
  );

  const receipt = (r: Row, duplicate: boolean): OutboxReceipt => ({
    id: r.id,
    kind: r.kind,
    state: r.state,
    idempotencyKey: r.idempotency_key,
    enqueuedAt: r.enqueued_at,
    duplicate,
  });

  function transition(id: string, state: 'PERSISTED' | 'REJECTED', resultId: string | null, reason: string | null) {
    const updated = finish.get({ id, state, result_id: resultId, reason, now: now().toISOString() });
    if (updated) return toItem(updated);
    const existing = byId.get(id);
    if (!existing) throw new OutboxStateError(`outbox: no item with receipt id ${id}`);
    const same = existing.state === state && (state === 'PERSISTED' ? existing.result_id === resultId : true);
    if (same) return toItem(existing);
    throw new OutboxStateError(
      `outbox: item ${id} is already ${existing.state}` +
        (existing.result_id ? ` (${existing.result_id})` : '') +
        `; cannot mark it ${state}` +
        (resultId ? ` (${resultId})` : ''),
    );
  }

  return {
    path,
    enqueue(request) {
      if (!KINDS.includes(request.kind)) {
        throw new TypeError(`outbox: kind must be one of ${KINDS.join(', ')}, got ${String(request.kind)}`);
      }
      const key = required(request.idempotencyKey, 'idempotencyKey');
      const clientId = required(request.principal?.clientId, 'principal.clientId');
      required(request.principal?.jurisdiction, 'principal.jurisdiction');
      if (request.input === undefined) throw new TypeError('outbox: input is missing');
      const identity = JSON.stringify({ input: request.input, principal: request.principal });
      const payload = JSON.stringify({
        input: request.input,
        principal: request.principal,
        ...(request.audit ? { audit: request.audit } : {}),
        ...(request.traceparent ? { traceparent: request.traceparent } : {}),
      });
      const inserted = insert.get({
        id: crypto.randomUUID(),
        kind: request.kind,
        payload,
        client_id: clientId,
        idempotency_key: key,
        now: now().toISOString(),
      });
      if (inserted) return receipt(inserted, false);
      const existing = byKey.get(request.kind, clientId, key);
      if (!existing) throw new Error(`outbox: enqueue of ${key} neither inserted nor found`);
      const stored = JSON.parse(existing.payload) as OutboxPayload;
      if (JSON.stringify({ input: stored.input, principal: stored.principal }) !== identity)
        throw new OutboxConflictError(key, existing.id);
      return receipt(existing, true);
    },
    pending(limit = 100) {
      if (!Number.isInteger(limit) || limit < 1) {
        throw new RangeError(`outbox: pending(limit) needs a positive integer, got ${String(limit)}`);
      }
      return queued.all(limit).map(toItem);
    },
    markPersisted(id, resultId) {
      return transition(id, 'PERSISTED', required(resultId, 'resultId'), null);
    },
    markRejected(id, reason) {
      return transition(id, 'REJECTED', null, required(reason, 'reason'));
    },
    noteAttempt(id, error) {
      attempt.run({ id, error, now: now().toISOString() });
    },
    settleTogether(marks) {
      return db.transaction(marks)();
    },
    get(id) {
      const row = byId.get(id);
      return row ? toItem(row) : undefined;
    },
    depth() {
      return count.get()?.n ?? 0;
    },
    close() {
      db.close();
    },
  };
}
