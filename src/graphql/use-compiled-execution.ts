/**
 * Executes queries and mutations with graphql-jit: each (document, operation) that keeps coming back is compiled
 * once into plain JavaScript, which saves graphql-js's per-request walk of the selection set (field collection, argument coercion,
 * completion by type). On the nested `permit` read that walk was the largest single share of the app's own CPU.
 *
 * What stays exactly as before, and why:
 * - Everything before execution (parsing, validation, the field policy, the cost and depth guards, the rate limit,
 *   degraded mode): those run in earlier hooks, and any plugin that stops execution still does.
 * - Subscriptions keep Yoga's own executor (their event streams are Yoga's and src/events/'s business).
 * - Variables graphql-jit refuses: its own coercion words errors differently from graphql-js (no `at "input.x"`
 *   path, which src/graphql/input-errors.ts reads), so such a request runs again on Yoga's own executor, which
 *   answers with its usual errors. A refused variable stops the compiled query before any resolver runs, so nothing
 *   runs twice.
 * - A document graphql-jit cannot compile runs on Yoga's own executor.
 * - Fields without a resolver: graphql-jit reads the property, graphql-js's default resolver also calls it when it is
 *   a function (a connection's `totalCount: () => count(…)`, lazily loaded payload parts). Every such field gets
 *   graphql-js's default resolver before the first compilation, which Yoga's executor would use anyway.
 * - Errors: graphql-jit's carry `locations` but no source positions, which Yoga drops when it rebuilds an error
 *   (masking, removing `extensions.http`), and its own errors (null for a non-null field, a value a scalar cannot
 *   serialise) have no `originalError`, so Yoga would not mask them as it masks its executor's. Each is rebuilt as
 *   graphql-js words it (same message, path, positions, extensions and original error), so masking and
 *   src/app.ts's maskError treat them exactly as before.
 * One known difference: when several items of a list break the schema (a null for a non-null field), graphql-jit
 * reports each, graphql-js only the first. Both null the same part of the answer, and each error is masked.
 */
import {
  defaultFieldResolver,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  GraphQLError,
  type GraphQLSchema,
  getOperationAST,
  isObjectType,
  type Source,
} from 'graphql';
import { type CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';
import type { Plugin } from 'graphql-yoga';

/** Compiled operations kept per document (one per operation name it was executed with). */
const PER_DOCUMENT = 16;

/** `null`: not compiled (a subscription, or a document graphql-jit refused); Yoga's own executor runs it. */
type Compiled = CompiledQuery | null;

export interface CompiledExecutionOptions {
  /** Called once per (document, operation) compiled, with whether graphql-jit took it. @default nothing */
  onCompile?: (operationName: string | null, compiled: boolean) => void;
  /**
   * Executions of one (document, operation) on Yoga's executor before it is compiled. Compiling costs many times
   * what one execution saves, so it pays only for a document that runs again and again: a client's fixed document
   * (values in variables) gets there at once, one with its values written into the text is a new document each
   * time and would pay the compilation on every request. @default 5
   */
  compileAfter?: number;
}

export function useCompiledExecution(options: CompiledExecutionOptions = {}): Plugin {
  const compileAfter = options.compileAfter ?? 5;
  /** Per document and operation name: its compiled query (null: never compiled), or how often it ran uncompiled. */
  const compiled = new WeakMap<DocumentNode, Map<string, Compiled | number>>();

  function compiledFor(args: ExecutionArgs): Compiled {
    const name = args.operationName ?? '';
    let perDocument = compiled.get(args.document);
    if (!perDocument) compiled.set(args.document, (perDocument = new Map()));
    const seen = perDocument.get(name) ?? 0;
    if (typeof seen !== 'number') return seen;
    if (perDocument.size >= PER_DOCUMENT && !perDocument.has(name)) return null;
    if (seen + 1 < compileAfter) {
      perDocument.set(name, seen + 1);
      return null;
    }
    let entry: Compiled = null;
    const operation = getOperationAST(args.document, args.operationName);
    if (operation && operation.operation !== 'subscription') {
      withDefaultResolvers(args.schema);
      const result = compileQuery(args.schema, args.document, args.operationName ?? undefined);
      entry = isCompiledQuery(result) ? result : null;
      options.onCompile?.(args.operationName ?? null, entry !== null);
    }
    perDocument.set(name, entry);
    return entry;
  }

  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const query = compiledFor(args);
      if (!query) return;
      // no `data` at all: the variables were refused before execution; Yoga's own executor words that refusal
      const settle = (a: ExecutionArgs, r: ExecutionResult) => ('data' in r ? (r.errors ? asGraphQLJs(r, a.document) : r) : executeFn(a));
      setExecuteFn((a: ExecutionArgs) => {
        const result = query.query(a.rootValue, a.contextValue, a.variableValues);
        return 'then' in result ? result.then((r) => settle(a, r)) : settle(a, result);
      });
    },
  };
}

const resolved = new WeakSet<GraphQLSchema>();

/** Gives every field of the schema's own object types without a resolver graphql-js's default one (once per schema). */
function withDefaultResolvers(schema: GraphQLSchema): void {
  if (resolved.has(schema)) return;
  resolved.add(schema);
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) field.resolve ??= defaultFieldResolver;
  }
}

/** graphql-jit's wording of a list field that resolved to a non-list (graphql-js quotes the field, and shows it). */
const NOT_ITERABLE = /^(Expected Iterable, but did not find one for field )([^"]+)\.$/;

/** The result with each graphql-jit error rebuilt as a graphql-js GraphQLError (see the top of this file). */
function asGraphQLJs(result: ExecutionResult, document: DocumentNode): ExecutionResult {
  const source = document.loc?.source;
  const errors = result.errors!.map((e) => {
    const positions = source && e.locations?.length ? e.locations.map((l) => positionOf(source, l.line, l.column)) : undefined;
    const notIterable = e.originalError ? null : NOT_ITERABLE.exec(e.message);
    // graphql-jit's own errors (null for non-null, a value its scalar cannot serialise) are internal ones, masked
    const originalError = e.originalError ?? (notIterable ? undefined : new Error(e.message));
    const message = notIterable ? `${notIterable[1]}"${notIterable[2]}".` : e.message;
    return new GraphQLError(message, {
      ...(positions ? { source, positions } : {}),
      ...(e.path ? { path: e.path } : {}),
      ...(originalError ? { originalError } : {}),
      ...(e.extensions ? { extensions: e.extensions } : {}),
    });
  });
  return { ...result, errors };
}

/** Character offset of a 1-based line and column in the source (what GraphQLError takes to compute `locations`). */
function positionOf(source: Source, line: number, column: number): number {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const next = source.body.indexOf('\n', offset);
    if (next < 0) break;
    offset = next + 1;
  }
  return offset + column - 1;
}
