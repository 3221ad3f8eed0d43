/**
 * Audit of GraphQL traffic, in two parts:
 *  - this Yoga plugin notes what each operation is (type, name, document hash, redacted variables, records it
 *    names, error codes) on the request's scope and, for a mutation, hands its resolvers an audited unit of work
 *    (`context.work`) that writes the entry inside the mutation's own transaction;
 *  - `auditGraphQLRequest` runs when the HTTP response is ready and records one entry per operation not yet
 *    audited, or one for the request when it was refused before any operation was parsed (401, 413, 429…).
 * So every operation leaves exactly one entry, allowed or denied.
 */
import { getOperationAST, Kind, type DocumentNode, type GraphQLError, type ValueNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Db } from '../db/client.ts';
import type { RequestScope, ServerContext } from '../request-scope.ts';
import { graphqlEntry, newOperation } from './audit-entry.ts';
import { createAuditedWork } from './audited-work.ts';
import type { AuditRecorder } from './recorder.ts';
import type { AuditedWork } from './audited-work.ts';

/** What this plugin needs of the GraphQL context (src/graphql/context.ts has it all). */
interface AuditedContext {
  scope: RequestScope;
  params: { operationName?: string | null | undefined };
  database: { db: Db };
  work: AuditedWork;
}

const RECORD_ARGS = new Set(['number', 'permitNumber']);

/** Permit numbers named in the root fields' arguments (literals or variables). */
function namedRecords(document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown> | undefined): string[] {
  const op = getOperationAST(document, operationName);
  const out: string[] = [];
  const valueOf = (v: ValueNode): unknown => (v.kind === Kind.VARIABLE ? variables?.[v.name.value] : v.kind === Kind.STRING ? v.value : undefined);
  for (const sel of op?.selectionSet.selections ?? []) {
    if (sel.kind !== Kind.FIELD) continue;
    for (const arg of sel.arguments ?? []) {
      const v = valueOf(arg.value);
      if (RECORD_ARGS.has(arg.name.value) && typeof v === 'string') out.push(v.slice(0, 64));
      if (arg.name.value === 'inspectionId' && typeof v === 'string') out.push(`inspection:${v.slice(0, 64)}`);
    }
  }
  return out;
}

const codesOf = (errors: readonly GraphQLError[] | undefined) =>
  (errors ?? []).map((e) => String(e.extensions?.code ?? 'INTERNAL_SERVER_ERROR'));

export function useAuditTrail(recorder: AuditRecorder): Plugin<AuditedContext> {
  return {
    onParams({ params, context }) {
      const a = (context as ServerContext).scope.audit;
      const op = newOperation(params);
      a.ops.push(op);
      a.byParams.set(params, op);
    },
    onValidate({ context, params }) {
      return ({ result }) => {
        const ctx = context as AuditedContext;
        const op = ctx.scope.audit.byParams.get(ctx.params);
        if (!op) return;
        const operation = getOperationAST(params.documentAST, ctx.params.operationName);
        op.type = operation?.operation ?? null;
        op.name ??= operation?.name?.value.slice(0, 128) ?? null;
        if (result.length) op.errorCodes.push(...codesOf(result as readonly GraphQLError[]));
      };
    },
    onExecute({ args }) {
      const ctx = args.contextValue as AuditedContext;
      const a = ctx.scope.audit;
      const op = a.byParams.get(ctx.params);
      if (!op) return;
      const operation = getOperationAST(args.document, args.operationName);
      op.type = operation?.operation ?? op.type;
      op.name ??= operation?.name?.value.slice(0, 128) ?? null;
      op.affected.push(...namedRecords(args.document, args.operationName, args.variableValues ?? undefined));
      if (op.type === 'mutation') {
        // the mutation's changes commit with this operation's entry (src/audit/audited-work.ts)
        ctx.work = createAuditedWork(ctx.database.db, {
          stage: (affected, produced) => {
            op.affected.push(...affected);
            return {
              ...recorder.stagingFor(graphqlEntry(ctx.scope.principal, ctx.scope, op, 200, performance.now() - ctx.scope.startedAt), produced),
              committed: () => {
                op.auditedInTx = true;
                a.staged = true;
              },
            };
          },
          deferred: () => {
            op.auditedInTx = true; // written by the replay, inside its transaction
            return graphqlEntry(ctx.scope.principal, ctx.scope, { ...op, queued: true }, 200, performance.now() - ctx.scope.startedAt);
          },
        });
      }
      return {
        onExecuteDone({ result }) {
          if ('errors' in result && result.errors) op.errorCodes.push(...codesOf(result.errors));
        },
      };
    },
  };
}

/** Records the entries of a GraphQL HTTP request once its response status is known. */
export function auditGraphQLRequest(recorder: AuditRecorder, scope: RequestScope, status: number) {
  const a = scope.audit;
  if (a.recorded) return;
  a.recorded = true;
  const duration = performance.now() - scope.startedAt;
  if (a.staged) recorder.committed();
  if (a.ops.length === 0) {
    recorder.record(graphqlEntry(scope.principal, scope, null, status, duration));
  } else {
    for (const op of a.ops) {
      if (!op.auditedInTx) recorder.record(graphqlEntry(scope.principal, scope, op, status, duration));
    }
  }
}
