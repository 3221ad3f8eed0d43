/**
 * Audit of GraphQL traffic, in two parts:
 *  - this Yoga plugin notes what each operation is (type, name, document hash, redacted variables, records it
 *    names, error codes) and, for mutations, appends the entry inside the mutation's own transaction;
 *  - `auditGraphQLRequest` runs when the HTTP response is ready and records one entry per operation not yet
 *    audited, or one for the request when it was refused before any operation was parsed (401, 413, 429…).
 * So every operation leaves exactly one entry, allowed or denied.
 */
import { getOperationAST, Kind, type DocumentNode, type GraphQLError, type ValueNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Principal } from '../domain/principal.ts';
import { originalRequestOf } from '../guard/body-limit.ts';
import type { GraphQLContext } from '../graphql/context.ts';
import { requestMeta } from '../http/request-meta.ts';
import { graphqlEntry, newOperation, type OperationRecord } from './audit-entry.ts';
import type { AuditRecorder } from './recorder.ts';

interface RequestAudit {
  ops: OperationRecord[];
  byParams: WeakMap<object, OperationRecord>;
  /** a mutation staged its entry in its transaction (chained by the next group commit) */
  staged: boolean;
}

const audits = new WeakMap<Request, RequestAudit>();

function auditOf(request: Request): RequestAudit {
  const key = originalRequestOf(request);
  let a = audits.get(key);
  if (!a) {
    a = { ops: [], byParams: new WeakMap(), staged: false };
    audits.set(key, a);
  }
  return a;
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

export function useAuditTrail(recorder: AuditRecorder): Plugin<GraphQLContext> {
  return {
    onParams({ params, request }) {
      const a = auditOf(request);
      const op = newOperation(params);
      a.ops.push(op);
      a.byParams.set(params, op);
    },
    onValidate({ context, params }) {
      return ({ result }) => {
        const ctx = context as GraphQLContext;
        const op = auditOf(ctx.request).byParams.get(ctx.params);
        if (!op) return;
        const operation = getOperationAST(params.documentAST, ctx.params.operationName);
        op.type = operation?.operation ?? null;
        op.name ??= operation?.name?.value.slice(0, 128) ?? null;
        if (result.length) op.errorCodes.push(...codesOf(result as readonly GraphQLError[]));
      };
    },
    onExecute({ args }) {
      const ctx = args.contextValue as GraphQLContext;
      const a = auditOf(ctx.request);
      const op = a.byParams.get(ctx.params);
      if (!op) return;
      const operation = getOperationAST(args.document, args.operationName);
      op.type = operation?.operation ?? op.type;
      op.name ??= operation?.name?.value.slice(0, 128) ?? null;
      op.affected.push(...namedRecords(args.document, args.operationName, args.variableValues ?? undefined));
      if (op.type === 'mutation') {
        ctx.deferAudit = () => {
          op.auditedInTx = true; // written by the replay, inside its transaction
          return graphqlEntry(ctx.principal, ctx.meta, { ...op, queued: true }, 200, performance.now() - ctx.meta.startedAt);
        };
        ctx.commitHooks.push((affected, produced) => {
          op.affected.push(...affected);
          return {
            ...recorder.stagingFor(graphqlEntry(ctx.principal, ctx.meta, op, 200, performance.now() - ctx.meta.startedAt), produced),
            committed: () => {
              op.auditedInTx = true;
              a.staged = true;
            },
          };
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
export function auditGraphQLRequest(recorder: AuditRecorder, request: Request, principal: Principal | null, status: number) {
  const key = originalRequestOf(request);
  const a = audits.get(key);
  const meta = requestMeta(request);
  const duration = performance.now() - meta.startedAt;
  if (a?.staged) recorder.committed();
  const pending = a?.ops.filter((op) => !op.auditedInTx) ?? [];
  if (!a || a.ops.length === 0) {
    recorder.record(graphqlEntry(principal, meta, null, status, duration));
  } else {
    for (const op of pending) {
      recorder.record(graphqlEntry(principal, meta, op, status, duration));
    }
  }
  audits.delete(key);
}
