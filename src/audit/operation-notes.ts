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
  /** The operations' parameters as Yoga parsed them from the request, in the request's order (a batch's index). */
  params: readonly unknown[];
  /** One record per operation that reached Yoga's onParams, at its index in `params`. */
  ops: (OperationRecord | undefined)[];
  /** The record of each operation by its GraphQL context (one per operation, also per operation of a batch). */
  byContext: WeakMap<object, OperationRecord>;
  /** Codes of a request refused as a whole before any operation (invalid JSON, a batch over the limit). */
  requestCodes: string[] | null;
  /** A mutation staged its entry in its transaction (chained by the next group commit). */
  staged: boolean;
  /** The request's entries were written (once its response status was known). */
  recorded: boolean;
}

export const newRequestAudit = (): RequestAudit => ({
  params: [],
  ops: [],
  byContext: new WeakMap(),
  requestCodes: null,
  staged: false,
  recorded: false,
});
