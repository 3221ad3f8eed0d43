/**
 * One pino JSON line per GraphQL request, written when the result is sent:
 * `{ requestId, traceId?, clientId, role, operation, operationType, durationMs, outcome, errorCodes? }`; `traceId`
 * whenever tracing is on, for unsampled requests too (their spans are not recorded, their logs and audit entry are).
 * `outcome` is `ok` or `error`; `errorCodes` lists the distinct `extensions.code` values.
 * Deliberately never logged: variables, the query text, tokens, headers, error messages (which may quote input
 * values) and anything from the result data — so no secrets or personal data can reach the log this way.
 */
import { getOperationAST, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { logIds, scopeOf } from '../request-scope.ts';
import type { Logger } from '../logger.ts';

export interface RequestLogPluginOptions {
  log: Pick<Logger, 'info'>;
  /** Log message of each line. @default 'graphql request' */
  message?: string;
}

const NAME_RE = /^[_A-Za-z][_0-9A-Za-z]{0,63}$/;
const safeName = (n: unknown) => (typeof n === 'string' && NAME_RE.test(n) ? n : null);

function codesOf(result: unknown): string[] {
  if (!result || typeof result !== 'object') return [];
  if (Array.isArray(result)) return result.flatMap(codesOf);
  if (Symbol.asyncIterator in result) return [];
  return ((result as ExecutionResult).errors ?? []).map((e) => {
    const c = (e as { extensions?: { code?: unknown } }).extensions?.code;
    return typeof c === 'string' && /^[A-Z_]{1,64}$/.test(c) ? c : 'UNKNOWN';
  });
}

export function useRequestLog(options: RequestLogPluginOptions): Plugin {
  const { log } = options;
  const message = options.message ?? 'graphql request';
  return {
    onParams({ params, context }) {
      // the name the client asked for; replaced by the parsed operation's name once it executes
      const name = safeName(params.operationName);
      if (name) scopeOf(context).log.names.push(name);
    },
    onExecute({ args }) {
      const op = getOperationAST(args.document, args.operationName ?? undefined);
      const s = scopeOf(args.contextValue).log;
      const name = safeName(op?.name?.value);
      if (name && !s.names.includes(name)) s.names.push(name);
      if (op) s.types.push(op.operation);
    },
    onResultProcess({ result, serverContext }) {
      const scope = scopeOf(serverContext);
      const s = scope.log;
      const principal = scope.principal;
      const codes = [...new Set(codesOf(result))];
      log.info(
        {
          ...logIds(scope),
          clientId: principal?.clientId ?? null,
          role: principal?.role ?? 'anonymous',
          operation: s.names.length ? s.names.join(',') : null,
          ...(s.types.length ? { operationType: [...new Set(s.types)].join(',') } : {}),
          ...(Array.isArray(result) ? { batch: result.length } : {}),
          durationMs: Math.round((performance.now() - scope.startedAt) * 100) / 100,
          outcome: codes.length ? 'error' : 'ok',
          ...(codes.length ? { errorCodes: codes } : {}),
        },
        message,
      );
    },
  };
}
