/**
 * A mutation operation may select one root field: each mutation is one transaction with exactly one audit
 * entry, and a partial success of several writes would leave the caller guessing what happened.
 */
import { GraphQLError, Kind, type ValidationRule } from 'graphql';
import { ErrorCode } from '../errors.ts';

export const SingleMutationFieldRule: ValidationRule = (context) => ({
  OperationDefinition(node) {
    if (node.operation !== 'mutation') return;
    const fields = node.selectionSet.selections.filter((s) => s.kind === Kind.FIELD && !s.name.value.startsWith('__'));
    if (fields.length > 1 || node.selectionSet.selections.some((s) => s.kind !== Kind.FIELD)) {
      context.reportError(
        new GraphQLError(`A mutation operation may select one root field, not ${fields.length}; send separate operations`, {
          nodes: [node],
          extensions: { code: ErrorCode.QUERY_REJECTED, http: { status: 400 } },
        }),
      );
    }
  },
});
