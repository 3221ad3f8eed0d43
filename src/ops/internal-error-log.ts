/**
 * The log line of a GraphQL internal error (masked for the client as `INTERNAL_SERVER_ERROR`): Yoga's `maskError`
 * knows the error but not the request, so the original waits beside the masked error and is logged when the
 * request's result is processed, named by the request's ids (request id, and trace id even when not sampled: the
 * logger's mixin knows sampled requests only). A masked error that no processed result carries (a subscription's
 * event) is logged a second later with the sampled trace id active when it was masked, rather than not at all.
 */
import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../logger.ts';
import { activeTraceId } from './tracing.ts';
import { logIds, scopeIfAny } from '../request-scope.ts';

const UNCLAIMED_AFTER_MS = 1_000;

export function createInternalErrorLog(log: Pick<Logger, 'error'>) {
  const originals = new WeakMap<object, { err: unknown; unclaimed: ReturnType<typeof setTimeout> }>();
  const write = (masked: object, ids: object) => {
    const pending = originals.get(masked);
    if (!pending) return;
    originals.delete(masked);
    clearTimeout(pending.unclaimed);
    log.error({ err: pending.err, ...ids }, 'internal error');
  };
  const plugin: Plugin = {
    onResultProcess({ result, serverContext }) {
      const scope = scopeIfAny(serverContext);
      if (!scope) return;
      for (const r of Array.isArray(result) ? result : [result]) {
        if (!r || typeof r !== 'object' || Symbol.asyncIterator in r) continue;
        for (const e of (r as ExecutionResult).errors ?? []) write(e, logIds(scope));
      }
    },
  };
  return {
    /** `maskError` replaced `original` by `masked`: log it with the request that gets it. */
    masked(masked: object, original: unknown): void {
      const traceId = activeTraceId();
      const unclaimed = setTimeout(() => write(masked, traceId ? { traceId } : {}), UNCLAIMED_AFTER_MS);
      unclaimed.unref();
      originals.set(masked, { err: original, unclaimed });
    },
    plugin,
  };
}
