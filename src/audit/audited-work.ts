/**
 * The audited unit of work a mutation receives (`context.work`): each change it makes commits together with the
 * operation's audit entry, in the same transaction, or neither does. The audit trail supplies the entry
 * (`AuditFacts`) when the mutation starts; the transaction mechanics live in src/db/unit-of-work.ts.
 */
import type { Db, Tx } from '../db/client.ts';
import type { StatementChange } from '../db/fused-statements.ts';
import { createOneStatementUnit, createUnitOfWork, type CommitHook } from '../db/unit-of-work.ts';
import { inSpan } from '../ops/tracing.ts';

/** What the audit trail knows of the running operation, to write its entry with the change. */
export interface AuditFacts {
  /** The entry's staging statement for the records the change touched (built without I/O). */
  stage: CommitHook;
  /** The entry of an operation accepted into the outbox instead: chained when the replay persists it. */
  deferred(): Record<string, unknown>;
}

export interface AuditedWork {
  /** Runs `work` in one transaction and writes the audit entry, naming `affected(result)`, before COMMIT. */
  transaction<T>(work: (tx: Tx) => Promise<T>, affected: (result: T) => string[]): Promise<T>;
  /** A change made in one statement: the audit entry is a part of that statement (one round trip, one transaction). */
  write<T>(change: StatementChange<T>): Promise<T>;
  /** The audit entry to keep with work accepted into the durable outbox; undefined when nothing is audited. */
  deferredEntry(): Record<string, unknown> | undefined;
}

/** A unit of work writing `facts`' entry with every change; `null` facts: changes without an entry (no audit trail). */
export function createAuditedWork(db: Db, facts: AuditFacts | null): AuditedWork {
  const hooks = facts ? [facts.stage] : [];
  const transaction = createUnitOfWork(db, hooks);
  const write = createOneStatementUnit(db, hooks);
  // the change and its audit entry's staging in one span: a trace of a submission shows where its entry was written
  return {
    transaction: <T>(work: (tx: Tx) => Promise<T>, affected: (result: T) => string[]) =>
      inSpan('audit.append', { 'permit_gateway.audit.in_transaction': true }, () => transaction(work, affected)) as Promise<T>,
    write: <T>(change: StatementChange<T>) =>
      inSpan('audit.append', { 'permit_gateway.audit.in_statement': true }, () => write(change)) as Promise<T>,
    deferredEntry: () => facts?.deferred(),
  };
}
