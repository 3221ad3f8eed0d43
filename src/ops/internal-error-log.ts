/**
 * The log line of a GraphQL internal error (masked for the client as `INTERNAL_SERVER_ERROR`): Yoga's `maskError`
 * knows the error but not the request, so the original waits beside the masked error and is logged when the
 * request's result is processed, named by the request's ids (request id, and trace id even when not sampled: the
 * logger's mixin knows sampled requests only). A masked error that no processed result carries (a subscription's
 * event) is logged without them a second later rather than not at all.
 */
import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../logger.ts';
import { logIds, scopeIfAny } from '../request-scope.ts';

const UNCLAIMED_AFTER_MS = 1_000;

export function createInternalErrorLog(log: Pick<Logger, 'error'>) {
  const originals = new WeakMap<object, unknown>();
  const write = (masked: object, ids: object) => {
    if (!originals.has(masked)) return;
    const err = originals.get(masked);
    originals.delete(masked);
    log.error({ err, ...ids }, 'internal error');
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
      originals.set(masked, original);
      setTimeout(() => write(masked, {}), UNCLAIMED_AFTER_MS).unref();
    },
    plugin,
  };
}
