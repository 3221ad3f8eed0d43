/**
 * Audit of GraphQL traffic, in two parts:
 *  - this Yoga plugin notes what each operation is (type, name, document hash, redacted variables, the records it
 *    returned or changed, the error codes its client received) and, for mutations, appends the entry inside the
 *    mutation's own transaction;
 *  - `auditGraphQLRequest` runs when the HTTP response is ready and records one entry per operation not yet
 *    audited, or one for the request when it was refused before any operation was parsed (401, 413, 429…).
 * So every operation leaves exactly one entry, allowed or denied.
 */
import { defaultFieldResolver, getOperationAST, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Principal } from '../domain/principal.ts';
import { originalRequestOf } from '../guard/body-limit.ts';
import type { GraphQLContext } from '../graphql/context.ts';
import { requestMeta } from '../http/request-meta.ts';
import { codeForStatus, graphqlEntry, newOperation, type OperationRecord } from './audit-entry.ts';
import type { AuditRecorder } from './recorder.ts';

interface RequestAudit {
  /** The operations' parameters as Yoga parsed them from the request, in the request's order (a batch's index). */
  params: readonly unknown[];
  /** One record per operation that reached Yoga's onParams, at its index in `params`. */
  ops: (OperationRecord | undefined)[];
  /** Codes of a request refused as a whole before any operation (invalid JSON, a batch over the limit). */
  requestCodes: string[] | null;
  /** a mutation staged its entry in its transaction (chained by the next group commit) */
  staged: boolean;
}

const audits = new WeakMap<Request, RequestAudit>();
/** The record of each operation by its GraphQL context (one per operation, also per operation of a batch). */
const byContext = new WeakMap<object, OperationRecord>();

function auditOf(request: Request): RequestAudit {
  const key = originalRequestOf(request);
  let a = audits.get(key);
  if (!a) {
    a = { params: [], ops: [], requestCodes: null, staged: false };
    audits.set(key, a);
  }
  return a;
}

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
  const op = byContext.get(context as object);
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
export function useAuditTrail(recorder: AuditRecorder): Plugin<GraphQLContext> {
  return {
    onSchemaChange({ schema }) {
      recordReturnedRecords(schema);
    },
    onRequestParse({ request }) {
      return {
        onRequestParseDone({ requestParserResult }) {
          auditOf(request).params = Array.isArray(requestParserResult) ? requestParserResult : [requestParserResult];
        },
      };
    },
    onParams({ params, request, context }) {
      const a = auditOf(request);
      const op = newOperation(params);
      let i = a.params.indexOf(params);
      if (i < 0 || a.ops[i]) i = Math.max(a.ops.length, a.params.length);
      a.ops[i] = op;
      byContext.set(context, op);
    },
    onValidate({ context, params }) {
      return () => {
        const op = byContext.get(context);
        if (!op) return;
        const operation = getOperationAST(params.documentAST, (context as GraphQLContext).params?.operationName);
        op.type = operation?.operation ?? null;
        op.name ??= operation?.name?.value.slice(0, 128) ?? null;
      };
    },
    onExecute({ args }) {
      const ctx = args.contextValue as GraphQLContext;
      const a = auditOf(ctx.request);
      const op = byContext.get(ctx);
      if (!op) return;
      const operation = getOperationAST(args.document, args.operationName);
      op.type = operation?.operation ?? op.type;
      op.name ??= operation?.name?.value.slice(0, 128) ?? null;
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
    },
    onResultProcess({ request, result }) {
      // the outcome is what the client got: parse and validation failures, refusals before execution included
      const a = auditOf(request);
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
export function auditGraphQLRequest(recorder: AuditRecorder, request: Request, principal: Principal | null, status: number) {
  const key = originalRequestOf(request);
  const a = audits.get(key);
  const meta = requestMeta(request);
  const duration = performance.now() - meta.startedAt;
  if (a?.staged) recorder.committed();
  const ops = a?.ops.filter((op): op is OperationRecord => op !== undefined) ?? [];
  if (ops.length === 0) {
    const refused = a?.requestCodes?.length ? { ...newOperation({}), errorCodes: a.requestCodes } : null;
    recorder.record(graphqlEntry(principal, meta, refused, status, duration));
  } else {
    for (const op of ops) {
      if (!op.auditedInTx) recorder.record(graphqlEntry(principal, meta, op, status, duration));
    }
  }
  audits.delete(key);
}
