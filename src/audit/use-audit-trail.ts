/**
 * Audit of GraphQL traffic, in two parts:
 *  - this Yoga plugin notes what each operation is (type, name, document hash, redacted variables, the records it
 *    returned or changed, the error codes its client received) on the request's scope and, for a mutation, hands its
 *    resolvers an audited unit of work (`context.work`) that writes the entry inside the mutation's own transaction;
 *  - `auditGraphQLRequest` runs when the HTTP response is ready and records one entry per operation not yet
 *    audited, or one for the request when it was refused before any operation was parsed (401, 413, 429…).
 * So every operation leaves exactly one entry, allowed or denied.
 */
import { defaultFieldResolver, getOperationAST, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Db } from '../db/client.ts';
import type { RequestScope, ServerContext } from '../request-scope.ts';
import { codeForStatus, graphqlEntry, newOperation, type OperationRecord } from './audit-entry.ts';
import { type AuditedWork, createAuditedWork } from './audited-work.ts';
import type { AuditRecorder } from './recorder.ts';

/** What this plugin needs of the GraphQL context (src/graphql/context.ts has it all). */
interface AuditedContext {
  scope: RequestScope;
  params: { operationName?: string | null | undefined };
  database: { db: Db };
  work: AuditedWork;
}

/** The scope's audit notes, from a Yoga server context or a GraphQL context built on it. */
const auditOf = (context: unknown) => (context as ServerContext).scope.audit;

/**
 * Root query fields whose answer is a record, and the name the audit gives it. A record enters `affected` only once
 * its resolver returned it: a permit another contractor owns is answered null and was not read, whatever was asked.
 * Mutations name what they changed through their unit of work's commit hook.
 */
const RETURNED_RECORDS: Readonly<Record<string, (value: Record<string, unknown>) => unknown>> = {
  permit: (v) => v.permitNum,
  permitStatus: (v) => v.number,
};

function noteReturned(context: unknown, field: string, value: unknown) {
  if (value === null || typeof value !== 'object') return;
  const op = (context as Partial<ServerContext>).scope?.audit.byContext.get(context as object);
  const name = RETURNED_RECORDS[field]!(value as Record<string, unknown>);
  if (op && typeof name === 'string') op.affected.push(name.slice(0, 64));
}

const wrappedSchemas = new WeakSet<GraphQLSchema>();

/** Wraps the resolvers of {@link RETURNED_RECORDS} so their results are noted (root fields only: nested ones cost nothing). */
function recordReturnedRecords(schema: GraphQLSchema) {
  if (wrappedSchemas.has(schema)) return;
  wrappedSchemas.add(schema);
  const fields = schema.getQueryType()?.getFields() ?? {};
  for (const name of Object.keys(RETURNED_RECORDS)) {
    const field = fields[name];
    if (!field) continue;
    const resolve: GraphQLFieldResolver<unknown, unknown> = field.resolve ?? defaultFieldResolver;
    field.resolve = (source, args, context, info) => {
      const result = resolve(source, args, context, info) as unknown;
      if (result !== null && typeof (result as PromiseLike<unknown>)?.then === 'function') {
        return (result as PromiseLike<unknown>).then((value) => {
          noteReturned(context, name, value);
          return value;
        });
      }
      noteReturned(context, name, result);
      return result;
    };
  }
}

type ResultError = { extensions?: { code?: unknown; http?: { status?: unknown } } } | null | undefined;

/**
 * The codes of one operation's result as the client receives it (after masking and every plugin's mapping); an error
 * without a code is named after its HTTP status when it has one (a client error), else INTERNAL_SERVER_ERROR.
 */
function codesOf(result: unknown): string[] {
  if (!result || typeof result !== 'object' || Symbol.asyncIterator in result) return [];
  const errors = (result as { errors?: readonly ResultError[] }).errors ?? [];
  return errors.map((e) => {
    const code = e?.extensions?.code;
    if (typeof code === 'string') return code;
    const status = e?.extensions?.http?.status;
    return (typeof status === 'number' && codeForStatus(status)) || 'INTERNAL_SERVER_ERROR';
  });
}

/**
 * Put it first among the plugins: its onParams then sees each operation's parameters as the client sent them (before
 * trusted documents replace them) and its onExecute runs whatever later plugin stops the execution.
 */
export function useAuditTrail(recorder: AuditRecorder): Plugin<AuditedContext> {
  return {
    onSchemaChange({ schema }) {
      recordReturnedRecords(schema);
    },
    onRequestParse({ serverContext }) {
      return {
        onRequestParseDone({ requestParserResult }) {
          auditOf(serverContext).params = Array.isArray(requestParserResult) ? requestParserResult : [requestParserResult];
        },
      };
    },
    onParams({ params, context }) {
      const a = auditOf(context);
      const op = newOperation(params);
      let i = a.params.indexOf(params);
      if (i < 0 || a.ops[i]) i = Math.max(a.ops.length, a.params.length);
      a.ops[i] = op;
      a.byContext.set(context, op);
    },
    onValidate({ context, params }) {
      return () => {
        const op = auditOf(context).byContext.get(context);
        if (!op) return;
        const operation = getOperationAST(params.documentAST, (context as AuditedContext).params?.operationName);
        op.type = operation?.operation ?? null;
        op.name ??= operation?.name?.value.slice(0, 128) ?? null;
      };
    },
    onExecute({ args }) {
      const ctx = args.contextValue as AuditedContext;
      const a = ctx.scope.audit;
      const op = a.byContext.get(ctx);
      if (!op) return;
      const operation = getOperationAST(args.document, args.operationName);
      op.type = operation?.operation ?? op.type;
      op.name ??= operation?.name?.value.slice(0, 128) ?? null;
      if (op.type === 'mutation') {
        // the mutation's changes commit with this operation's entry (src/audit/audited-work.ts)
        const entry = (o: OperationRecord) => graphqlEntry(ctx.scope.principal, ctx.scope, o, 200, performance.now() - ctx.scope.startedAt);
        ctx.work = createAuditedWork(ctx.database.db, {
          stage: (affected, produced) => {
            op.affected.push(...affected);
            return {
              ...recorder.stagingFor(entry(op), produced),
              committed: () => {
                op.auditedInTx = true;
                a.staged = true;
              },
            };
          },
          deferred: () => {
            op.auditedInTx = true; // written by the replay, inside its transaction
            return entry({ ...op, queued: true });
          },
        });
      }
    },
    onResultProcess({ result, serverContext }) {
      // the outcome is what the client got: parse and validation failures, refusals before execution included
      const a = auditOf(serverContext);
      if (Array.isArray(result)) {
        result.forEach((r, i) => {
          const op = a.ops[i];
          if (op) op.errorCodes = codesOf(r);
        });
        return;
      }
      const codes = codesOf(result);
      const ops = a.ops.filter((op): op is OperationRecord => op !== undefined);
      if (ops.length === 0) a.requestCodes = codes;
      for (const op of ops) op.errorCodes = codes;
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
  const ops = a.ops.filter((op): op is OperationRecord => op !== undefined);
  if (ops.length === 0) {
    const refused = a.requestCodes?.length ? { ...newOperation({}), errorCodes: a.requestCodes } : null;
    recorder.record(graphqlEntry(scope.principal, scope, refused, status, duration));
  } else {
    for (const op of ops) {
      if (!op.auditedInTx) recorder.record(graphqlEntry(scope.principal, scope, op, status, duration));
    }
  }
}
