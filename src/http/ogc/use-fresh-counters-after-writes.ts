/**
 * Read-your-writes for conditional OGC requests: a mutation that committed drops this instance's cached change
 * counter of the writer's jurisdiction at once, so the client's next If-None-Match is compared with the new counter,
 * not answered 304 from the old one until the change feed's next poll (up to its interval later). Other instances
 * learn of the change from the feed.
 */
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { RequestScope } from '../../request-scope.ts';

export function useFreshCountersAfterWrites(forget: (jurisdiction: string) => void): Plugin<{ scope: RequestScope }> {
  return {
    onExecute({ args }) {
      const context = args.contextValue as { scope: RequestScope };
      const jurisdiction = context.scope.principal?.jurisdiction;
      if (!jurisdiction) return;
      // the audit trail (src/audit/use-audit-trail.ts) noted the operation's type when it validated; read anew only
      // where nothing noted it (a pipeline without the audit trail, bench/)
      const type = context.scope.audit.byContext.get(context)?.type ?? getOperationAST(args.document, args.operationName)?.operation;
      if (type !== 'mutation') return;
      return {
        onExecuteDone() {
          forget(jurisdiction);
        },
      };
    },
  };
}
