/**
 * GraphQL's part of a request's trace (src/ops/tracing.ts, the request span from src/ops/request-span.ts):
 * - a `graphql.validate` span: the guards that run as validation rules (armor's depth, aliases and cost, the
 *   slicing-argument rule) and the field policy;
 * - with `OTEL_INSTRUMENTATION_GRAPHQL_CAPTURE_DOCUMENT=true`, `graphql.document` on the request span, every literal
 *   replaced (values a client typed never reach the trace);
 * - the trace id in the `extensions` of every result with errors, so a client's report leads to the spans and logs.
 * With tracing off every hook returns at once.
 */
import { trace } from '@opentelemetry/api';
import { Kind, print, visit, type DocumentNode, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { scopeIfAny } from '../request-scope.ts';
import { startSpan, tracingOn } from './tracing.ts';

/** The document with every literal value replaced: its shape, not what the client typed. */
export function sanitizedDocument(document: DocumentNode): string {
  return print(
    visit(document, {
      StringValue: () => ({ kind: Kind.STRING, value: '' }),
      IntValue: () => ({ kind: Kind.INT, value: '0' }),
      FloatValue: () => ({ kind: Kind.FLOAT, value: '0' }),
    }),
  );
}

export interface TracingPluginOptions {
  /** Record the sanitized document on the request span. @default false */
  captureDocument?: boolean;
}

export function useTracing(options: TracingPluginOptions = {}): Plugin {
  return {
    onValidate({ params }) {
      const span = startSpan('graphql.validate');
      if (!span) return;
      if (options.captureDocument) trace.getActiveSpan()?.setAttribute('graphql.document', sanitizedDocument(params.documentAST));
      return ({ valid }) => {
        if (!valid) span.setAttribute('permit_gateway.refused', true);
        span.end();
      };
    },
    onResultProcess({ result, setResult, serverContext }) {
      const traceId = tracingOn() ? scopeIfAny(serverContext)?.traceId : undefined;
      if (!traceId) return;
      const withId = (r: unknown) =>
        r && typeof r === 'object' && !(Symbol.asyncIterator in r) && (r as ExecutionResult).errors?.length
          ? { ...(r as ExecutionResult), extensions: { ...(r as ExecutionResult).extensions, traceId } }
          : r;
      setResult((Array.isArray(result) ? result.map(withId) : withId(result)) as typeof result);
    },
  };
}
