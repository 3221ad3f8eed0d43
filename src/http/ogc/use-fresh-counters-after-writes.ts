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
      if (getOperationAST(args.document, args.operationName)?.operation !== 'mutation') return;
      const jurisdiction = (args.contextValue as { scope: RequestScope }).scope.principal?.jurisdiction;
      if (!jurisdiction) return;
      return {
        onExecuteDone() {
          forget(jurisdiction);
        },
      };
    },
  };
}
