/**
 * What the audit trail notes about each GraphQL operation of a request while it runs, kept on the request's scope
 * (src/request-scope.ts) until the response is ready and the entries are written.
 */

export interface OperationRecord {
  type: 'query' | 'mutation' | 'subscription' | null;
  name: string | null;
  documentSha256: string | null;
  variables: unknown;
  /** Permit numbers, `inspection:<id>`, `client:<id>` touched or asked for. */
  affected: string[];
  errorCodes: string[];
  /** Set once the entry was appended inside the mutation's transaction. */
  auditedInTx: boolean;
  /** The operation was accepted into the durable outbox (its entry is written on replay). */
  queued?: boolean;
}

export interface RequestAudit {
  ops: OperationRecord[];
  /** The note of each operation by its params object (a batched request has one per operation). */
  byParams: WeakMap<object, OperationRecord>;
  /** A mutation staged its entry in its transaction (chained by the next group commit). */
  staged: boolean;
  /** The request's entries were written (once its response status was known). */
  recorded: boolean;
}

export const newRequestAudit = (): RequestAudit => ({ ops: [], byParams: new WeakMap(), staged: false, recorded: false });
