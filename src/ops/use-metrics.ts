/**
 * Records GraphQL metrics: `graphql_operation_duration_seconds` (request start → execution done, labelled by
 * the executed operation's name, bounded by `Metrics.operationLabel`) in onExecute, and from every result the
 * client receives (onResultProcess, so refusals before execution count too): `graphql_errors_total` by code,
 * `rate_limit_hits_total` by role for RATE_LIMITED, and `auth_failures_total` for UNAUTHENTICATED (no token)
 * and FORBIDDEN (missing scope), and per role `graphql_query_cost` / `graphql_query_depth` from the notes the guard
 * left on the scope (measure-only refusals are counted where they happen, app.ts). Invalid tokens are refused before
 * Yoga runs: count those through
 * `Metrics.recordAuthFailure` from the authentication step.
 */
import { getOperationAST, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { AuthFailureReason, codeLabel, type Metrics } from './metrics.ts';
import { clientClosedCodes } from './abandoned-requests.ts';
import { scopeIfAny, scopeOf } from '../request-scope.ts';

export interface MetricsPluginOptions {
  metrics: Metrics;
  /** The caller's role for `rate_limit_hits_total`, from the server context. @default scope.principal?.role ?? 'anonymous' */
  roleOf?: (context: Record<string, unknown>) => string;
}

const defaultRoleOf = (c: Record<string, unknown>) => scopeIfAny(c)?.principal?.role ?? 'anonymous';

const ROLE_RE = /^[a-z_]{1,32}$/;

function errorCodes(result: unknown): unknown[] {
  if (!result || typeof result !== 'object') return [];
  if (Array.isArray(result)) return result.flatMap(errorCodes);
  if (Symbol.asyncIterator in result) return []; // streamed results (subscriptions, defer): not used by this API
  const errors = (result as ExecutionResult).errors ?? [];
  return errors.map((e) => (e as { extensions?: { code?: unknown } }).extensions?.code);
}

export function useMetrics(options: MetricsPluginOptions): Plugin {
  const { metrics } = options;
  const roleOf = options.roleOf ?? defaultRoleOf;
  return {
    onExecute({ args }) {
      const op = getOperationAST(args.document, args.operationName ?? undefined);
      const labels = { operation: metrics.operationLabel(op?.name?.value, true), type: op?.operation ?? 'query' };
      const t0 = scopeOf(args.contextValue).startedAt;
      return {
        onExecuteDone() {
          metrics.operationDuration.observe(labels, (performance.now() - t0) / 1000);
        },
      };
    },
    onResultProcess({ request, result, serverContext }) {
      const labels = errorCodes(result).map(codeLabel);
      // a client that hung up: its masked abort error is not a server fault (abandoned-requests.ts, as the audit has it)
      const codes = request.signal.aborted ? clientClosedCodes(labels) : labels;
      for (const code of codes) metrics.graphqlErrors.inc({ code });
      // one refusal per request, however many fields or batched operations it named
      const seen = new Set(codes);
      const role = roleOf(serverContext as Record<string, unknown>);
      const roleLabel = { role: ROLE_RE.test(role) ? role : 'other' };
      if (seen.has('RATE_LIMITED')) metrics.rateLimitHits.inc(roleLabel);
      const cost = scopeIfAny(serverContext)?.cost;
      if (Number.isFinite(cost?.estimated)) metrics.queryCost.observe(roleLabel, cost!.estimated!);
      if (cost?.depth !== undefined) metrics.queryDepth.observe(roleLabel, cost.depth);
      if (seen.has('UNAUTHENTICATED')) metrics.recordAuthFailure(AuthFailureReason.MISSING_TOKEN);
      if (seen.has('FORBIDDEN')) metrics.recordAuthFailure(AuthFailureReason.INSUFFICIENT_SCOPE);
    },
  };
}
