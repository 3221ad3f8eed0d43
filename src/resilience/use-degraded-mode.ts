/**
 * While the database breaker is open, operations that have no fallback fail fast with SERVICE_DEGRADED (503)
 * instead of waiting for a connection; those with one (public status from the cache, submissions and inspection
 * requests into the outbox, receipts from the outbox, `me`) run as usual.
 */
import { getOperationAST, Kind } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { serviceDegraded } from '../errors.ts';

export const FALLBACK_FIELDS: ReadonlySet<string> = new Set([
  'permitStatus',
  'submitPermit',
  'scheduleInspection',
  'submissionReceipt',
  'me',
  '__typename',
]);

/** `isDown`: the breaker is open or the database was not reached since start. */
export function useDegradedMode({ isDown }: { isDown: () => boolean }): Plugin {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      if (!isDown()) return;
      const op = getOperationAST(args.document, args.operationName);
      const roots =
        op?.selectionSet.selections.filter((s) => s.kind === Kind.FIELD).map((s) => (s.kind === Kind.FIELD ? s.name.value : '')) ?? [];
      if (roots.every((f) => FALLBACK_FIELDS.has(f))) return;
      setResultAndStopExecution({ errors: [serviceDegraded()] });
    },
  };
}
